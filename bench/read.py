"""Windowed reads of processed data vs the paths a user would otherwise take.

    .venv/bin/python bench/read.py            # full run (1 h EEG + audio, 10 min video, events)
    .venv/bin/python bench/read.py --quick    # small smoke run, not recorded

One recording is written once into bench/.data/read (64-channel 1 kHz EEG as
one-minute EDF segments, 16 kHz audio as WAV, a ten-minute H.264 video in
one-minute MP4 segments, events as JSON lines), ingested into
``rclone serve s3 --no-checksum`` on loopback and processed with
``process_recording``. Reads go through the server's read-only endpoint, as
analysts' do, in one process:

* a random 10 s EEG window (``read_recording``): p50/p95 latency, against
  (a) downloading the raw EDF segments that cover it and cropping them with
  MNE, and (b) downloading the whole processed Zarr (4 objects at a time) and
  slicing it;
* one aligned multimodal 10 s window (EEG, audio, events, video frames);
* ``stream_windows`` over the whole hour in 10 s windows, against one
  sequential pass over the same Zarr, chunk by chunk, with the same scaling;
* a 5 s video clip: bytes read against the clip's own packet bytes (from the
  frame index).

Store requests and bytes are counted in separate passes through a counting
HTTP proxy in front of the same endpoint (latencies are measured without it).
The table replaces the "read" section of docs/benchmarks.md; the last line
printed is ``BENCH read ...``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import email.message
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench.store import SERVER_ARGS  # noqa: E402
from ursa_lib import Store, TransferSettings, ingest, query  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402
from ursa_lib.delivery import AssetSource, Window, read_recording, stream_windows  # noqa: E402
from ursa_lib.delivery._video import read_video  # noqa: E402
from ursa_lib.processing import process_recording  # noqa: E402
from ursa_lib.store import ObstoreBackend, zarr_store  # noqa: E402
from ursa_lib.testing import (  # noqa: E402
    ASSETS_BUCKET,
    RAW_BUCKET,
    FaultProxy,
    RcloneS3,
    RecordingSpec,
    write_recording,
)

MiB = 1024 * 1024
T0 = 1_795_000_000_000_000_000
WINDOW_S = 10.0
CLIP_S = 5.0


class CountingProxy(FaultProxy):
    """Forwards S3 requests and counts them and their response bytes.

    With ``partial=True`` a ranged GET that the server answers with status 200
    and a ``Content-Range`` (what ``rclone serve s3`` does) is passed on as
    206, as S3 answers it; the body is unchanged.
    """

    def __init__(self, upstream_url: str, *, partial: bool) -> None:
        super().__init__(upstream_url)
        # Headers and body go out as two writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK hold the body back ~40 ms.
        self.server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        self.partial = partial
        self.log: list[tuple[str, str, int]] = []
        self._count_lock = threading.Lock()

    def _forward(
        self, method: str, target: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, out_headers, data = super()._forward(method, target, headers, body)
        ranged = any(k.lower() == "content-range" for k, _ in out_headers)
        if self.partial and method == "GET" and status == 200 and ranged and headers.get("Range"):
            status = 206
        with self._count_lock:
            self.log.append((method, target.split("?")[0], len(data)))
        return status, out_headers, data

    def take(self) -> list[tuple[str, str, int]]:
        with self._count_lock:
            out, self.log = self.log, []
        return out


def _store(url: str, server: RcloneS3, bucket: str, *, writable: bool) -> Store:
    endpoint = server.rw if writable else server.ro
    backend = ObstoreBackend.s3(
        bucket=bucket,
        endpoint=url,
        region="us-east-1",
        credentials=endpoint.credentials,
        supports_create=False,
    )
    role = ("raw" if bucket == RAW_BUCKET else "assets") + ("_rw" if writable else "_ro")
    return Store(backend, role=role, writable=writable, transfer=TransferSettings())  # type: ignore[arg-type]


def _source(url: str, server: RcloneS3, lance_url: str) -> AssetSource:
    options = {
        "aws_access_key_id": server.ro.access_key_id,
        "aws_secret_access_key": server.ro.secret_access_key,
        "aws_region": "us-east-1",
        "aws_endpoint": lance_url,
        "allow_http": "true",
    }
    return AssetSource(_store(url, server, ASSETS_BUCKET, writable=False), options)


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    args = parser.parse_args()
    minutes, video_minutes = (6, 2) if args.quick else (60, 10)
    n_windows, n_raw, n_whole, n_multi = (10, 3, 2, 5) if args.quick else (60, 10, 3, 30)

    data_dir = ROOT / "bench" / ".data" / ("read-quick" if args.quick else "read")
    rec_id = f"read_{minutes}min"
    if not (data_dir / rec_id / "manifest.json").exists():
        print(f"writing a {minutes} min recording ...", flush=True)
        write_recording(
            data_dir,
            RecordingSpec(
                rec_id=rec_id,
                start_time_ns=T0,
                segments=minutes,
                segment_s=60,
                eeg_channels=64,
                eeg_rate=1000,
                audio_rate=16_000,
                video_segments=video_minutes,
                video_fps=25,
                video_size=(320, 240),
                events_per_segment=60,
            ),
        )
    session = data_dir / rec_id
    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    server = RcloneS3(scratch / "server", extra_args=SERVER_ARGS, ro_dir_cache_time=None).start()
    proxies: list[CountingProxy] = []
    try:
        raw = _store(server.rw.url, server, RAW_BUCKET, writable=True)
        assets = _store(server.rw.url, server, ASSETS_BUCKET, writable=True)
        catalog = Catalog(str(scratch / "catalog"), writable=True)
        stored = ingest(session / "manifest.json", raw=raw, catalog=catalog)
        started = time.perf_counter()
        processed = process_recording(
            stored.recording_hash, raw=raw, assets=assets, catalog=catalog, workdir=scratch
        )
        print(f"processed in {time.perf_counter() - started:.1f} s", flush=True)
        bad = [o for o in processed.outcomes if o.outcome != "processed"]
        if bad:
            raise SystemExit(f"not processed: {bad}")
        (result,) = query(catalog, recording_hash=stored.recording_hash)
        names = sorted(result.modalities)
        print(f"modalities: {names}", flush=True)
        # Lance (object_store) refuses rclone's status-200 answers to ranged GETs:
        # its reads go through a proxy that passes them on as 206.
        lance_proxy = CountingProxy(server.ro.url, partial=True).start()
        counted = CountingProxy(server.ro.url, partial=True).start()
        as_is_proxy = CountingProxy(server.ro.url, partial=False).start()
        proxies += [lance_proxy, counted, as_is_proxy]
        source = _source(server.ro.url, server, lance_proxy.url)
        counted_source = _source(counted.url, server, counted.url)
        as_is_source = _source(as_is_proxy.url, server, counted.url)
        eeg_row = result.modalities["eeg"]
        eeg_key = source.key_of(eeg_row.storage_uri or "").rstrip("/")
        total_s = minutes * 60.0
        rng = np.random.default_rng(7)

        def eeg_window(src: AssetSource, t0: float) -> Any:
            data = read_recording(src, result, Window(t0, t0 + WINDOW_S), ["eeg"])
            assert data.eeg.signal.data.shape == (int(WINDOW_S * 1000), 64)
            return data

        # -- the EEG window, Ursa --------------------------------------------------------
        for _ in range(3):
            eeg_window(source, float(rng.uniform(0, total_s - WINDOW_S)))
        starts = rng.uniform(0, total_s - WINDOW_S, n_windows)
        window_times = [_timed(lambda t=t: eeg_window(source, float(t))) for t in starts]
        w50, w95 = _ms(window_times)
        counted.take()
        requests: list[int] = []
        window_bytes: list[int] = []
        for t in starts[:10]:
            eeg_window(counted_source, float(t))
            seen = counted.take()
            requests.append(len(seen))
            window_bytes.append(sum(n for _, _, n in seen))
        print("requests of one window:", *(f"{m} {p}" for m, p, _ in seen), flush=True)
        print(f"window p50 {w50:.1f} ms p95 {w95:.1f} ms requests {requests}", flush=True)

        # -- (a) raw EDF segments + MNE crop ---------------------------------------------
        import mne

        raw_ro = _store(server.ro.url, server, RAW_BUCKET, writable=False)
        prefix = stored.prefix.rstrip("/")

        raw_bytes: list[int] = []

        def raw_mne(t0: float) -> None:
            first, last = int(t0 // 60), int((t0 + WINDOW_S - 1e-9) // 60)
            with tempfile.TemporaryDirectory(dir=scratch) as tmp:
                paths = []
                for seg in range(first, last + 1):
                    dest = Path(tmp) / f"seg_{seg:05d}.edf"
                    raw_ro.download(f"{prefix}/eeg_0/seg_{seg:05d}.edf", dest, fsync=False)
                    paths.append(dest)
                raw_bytes.append(sum(p.stat().st_size for p in paths))
                parts = [mne.io.read_raw_edf(p, preload=False, verbose="error") for p in paths]
                edf = mne.concatenate_raws(parts, verbose="error") if len(parts) > 1 else parts[0]
                tmin = t0 - first * 60
                edf.crop(tmin, tmin + WINDOW_S, include_tmax=False, verbose="error")
                data = edf.get_data()
                assert data.shape == (64, int(WINDOW_S * 1000)), data.shape

        raw_mne(float(starts[0]))
        raw_times = [_timed(lambda t=t: raw_mne(float(t))) for t in starts[:n_raw]]
        raw_p50 = statistics.median(raw_times) * 1000
        print(f"raw EDF + MNE p50 {raw_p50:.0f} ms", flush=True)

        # -- (b) the whole processed Zarr, then a slice ------------------------------------
        import zarr

        reader = source.store
        objects = list(reader.list(eeg_key + "/"))
        zarr_bytes = sum(o.size for o in objects)

        def whole_zarr(t0: float) -> None:
            with (
                tempfile.TemporaryDirectory(dir=scratch) as tmp,
                cf.ThreadPoolExecutor(4) as pool,
            ):
                root = Path(tmp)
                list(
                    pool.map(
                        lambda o: reader.download(
                            o.key, root / o.key[len(eeg_key) + 1 :], fsync=False
                        ),
                        objects,
                    )
                )
                array: Any = zarr.open_array(zarr.storage.LocalStore(root), path="data", mode="r")
                a = round(t0 * 1000)
                block = np.asarray(array[a : a + int(WINDOW_S * 1000)])
                assert block.shape == (int(WINDOW_S * 1000), 64)

        whole_times = [_timed(lambda t=t: whole_zarr(float(t))) for t in starts[:n_whole]]
        whole_p50 = statistics.median(whole_times) * 1000
        print(f"whole Zarr p50 {whole_p50:.0f} ms ({zarr_bytes / MiB:.0f} MiB)", flush=True)

        # -- the multimodal window ----------------------------------------------------------
        video_s = video_minutes * 60.0
        multi_starts = rng.uniform(0, video_s - WINDOW_S, n_multi)

        def multimodal(t0: float, decode: bool, src: AssetSource = source) -> None:
            data = read_recording(src, result, Window(t0, t0 + WINDOW_S))
            assert data.eeg.signal.data.shape[0] == int(WINDOW_S * 1000)
            assert data.audio.signal.data.shape[0] == int(WINDOW_S * 16_000)
            assert len(data.camera) == int(WINDOW_S * 25)
            if decode:
                frames = list(data.camera)
                assert len(frames) == len(data.camera)
            data.camera.close()

        multimodal(float(multi_starts[0]), False)
        multi_times = [_timed(lambda t=t: multimodal(float(t), False)) for t in multi_starts]
        decode_times = [
            _timed(lambda t=t: multimodal(float(t), True, counted_source))
            for t in multi_starts[: n_multi // 3]
        ]
        m50, m95 = _ms(multi_times)
        d50 = statistics.median(decode_times) * 1000
        counted.take()
        multimodal(float(multi_starts[0]), False, counted_source)
        multi_requests = len(counted.take())
        print(f"multimodal p50 {m50:.0f} ms (decoding every frame {d50:.0f} ms)", flush=True)

        # -- stream vs one sequential pass ------------------------------------------------
        def streamed() -> int:
            n = 0
            for item in stream_windows(source, [result], WINDOW_S, modalities=["eeg"]):
                n += item.data.eeg.signal.data.shape[0]
            return n

        def sequential() -> int:
            array: Any = zarr.open_array(
                store=zarr_store(reader), path=f"{eeg_key}/data", mode="r", zarr_format=3
            )
            gain = np.asarray(array.attrs["gain"], dtype=np.float64)
            offset = np.asarray(array.attrs["offset"], dtype=np.float64)
            step, n = array.chunks[0], 0
            for a in range(0, array.shape[0], step):
                digital = np.asarray(array[a : a + step])
                physical = digital.astype(np.float64)
                physical += offset
                physical *= gain
                n += physical.shape[0]
            return n

        for i, item in enumerate(stream_windows(source, [result], WINDOW_S, modalities=["eeg"])):
            direct = read_recording(source, result, Window(item.start, item.end), ["eeg"])
            assert np.array_equal(item.data.eeg.signal.digital, direct.eeg.signal.digital)
            if i == 5:
                break
        seq_s = _timed(sequential)
        stream_s = _timed(streamed)
        seq_s = min(seq_s, _timed(sequential))
        stream_s = min(stream_s, _timed(streamed))
        eeg_mb = minutes * 60 * 1000 * 64 * 2 / 1e6
        x_stream = seq_s / stream_s
        print(f"stream {stream_s:.2f} s, sequential {seq_s:.2f} s", flush=True)

        # -- a 5 s video clip ----------------------------------------------------------------
        cam_row = result.modalities["camera"]
        cam_key = source.key_of(cam_row.storage_uri or "")
        cam_domain = [(i.start, i.end) for i in cam_row.domain_intervals]
        index = source.open_lance(cam_key + ".lance").to_arrow()
        times = np.asarray(index.column("time_s").to_numpy())
        sizes = np.asarray(index.column("size").to_numpy())
        mp4_size = reader.head(cam_key).size

        def clip(src: AssetSource, proxy: CountingProxy, t0: float) -> tuple[int, int, int, int]:
            frames = read_video(src, cam_key, Window(t0, t0 + CLIP_S), cam_domain, "camera")
            proxy.take()
            decoded = sum(1 for _ in frames)
            frames.close()
            log = proxy.take()
            wire = sum(n for m, path, n in log if m == "GET" and path.endswith(cam_key))
            own = int(sizes[(times >= t0) & (times < t0 + CLIP_S)].sum())
            return wire, own, len(log), decoded

        clip_starts = rng.uniform(0, video_s - CLIP_S, 5)
        clip_runs = [clip(counted_source, counted, float(t)) for t in clip_starts]
        clip_ratio = statistics.median(w / o for w, o, _, _ in clip_runs)
        as_is = [clip(as_is_source, as_is_proxy, float(t)) for t in clip_starts[:2]]
        as_is_ratio = statistics.median(w / o for w, o, _, _ in as_is)
        print(f"clip: {clip_runs} ratio {clip_ratio:.2f}; as-is {as_is}", flush=True)
    finally:
        for proxy in proxies:
            proxy.stop()
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    x_raw = raw_p50 / w50
    x_whole = whole_p50 / w50
    max_requests = max(requests)
    clip_own = statistics.median(o for _, o, _, _ in clip_runs)
    clip_wire = statistics.median(w for w, _, _, _ in clip_runs)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    table = "\n".join(
        [
            f"Recording: {minutes} min of 64-channel 1 kHz EEG (one-minute EDF segments) and "
            f"16 kHz audio (WAV), {video_minutes} min of H.264 video (320×240, 25 fps, "
            f"{mp4_size / MiB:.1f} MiB), {minutes * 60} events; processed with "
            "`process_recording`; the EEG Zarr is "
            f"{zarr_bytes / MiB:.0f} MiB in {len(objects)} objects. Server `rclone serve s3 "
            "--no-checksum` on loopback, read through its read-only endpoint; random windows "
            f"(seed 7); {n_windows} EEG windows after 3 warm-ups, {n_raw} for path (a), "
            f"{n_whole} for path (b), {n_multi} multimodal windows; one process; 2 cores "
            "shared with other work. Requests and bytes are counted in separate passes "
            "through a counting proxy in front of the same endpoint. `rclone serve s3` "
            "answers ranged GETs with status 200 (and the range's bytes), which Lance's "
            "object store refuses, so every Lance read (events, frame index) goes through a "
            "loopback proxy that passes such answers on as 206, as S3 does; that proxy's own "
            "latency is in the multimodal figures.",
            "",
            "| read | ursa | peer | ursa × peer | target |",
            "|---|---:|---:|---:|---|",
            f"| 10 s EEG window, p50 (p95) | {w50:.1f} ms ({w95:.1f} ms) | — | — "
            f"| p50 ≤ 50 ms: {verdict(w50 <= 50)} |",
            f"| store requests per 10 s window (max of 10; median) | {max_requests} "
            f"({statistics.median(requests):g}) | — | — | ≤ 4: {verdict(max_requests <= 4)} |",
            f"| vs (a) download the covering EDF segments, MNE `read_raw_edf` + `crop` | "
            f"{w50:.1f} ms | {raw_p50:.0f} ms | {x_raw:.1f} | ≥ 5×: {verdict(x_raw >= 5)} |",
            f"| vs (b) download the whole processed Zarr (4 at a time), slice | {w50:.1f} ms "
            f"| {whole_p50:.0f} ms | {x_whole:.1f} | ≥ 20×: {verdict(x_whole >= 20)} |",
            f"| aligned 10 s window: EEG, audio, events, video frame index (p50, p95) "
            f"| {m50:.0f} ms ({m95:.0f} ms) | — | — | p50 ≤ 150 ms: {verdict(m50 <= 150)} |",
            f"| the same, decoding all {int(WINDOW_S * 25)} video frames, all reads via the "
            f"206 proxy (p50) | {d50:.0f} ms "
            "| — | — | — |",
            f"| `stream` over {minutes} min in 10 s windows vs one sequential chunk-by-chunk "
            f"pass with the same scaling | {stream_s:.2f} s ({eeg_mb / stream_s:.0f} MB/s) "
            f"| {seq_s:.2f} s ({eeg_mb / seq_s:.0f} MB/s) | {x_stream:.2f} "
            f"| ≥ 0.8×: {verdict(x_stream >= 0.8)} |",
            f"| 5 s video clip, MP4 bytes over the wire vs the clip's packet bytes (median of "
            f"5) | {clip_wire / 1024:.0f} KiB | {clip_own / 1024:.0f} KiB | {clip_ratio:.2f} "
            f"| ≤ 3×: {verdict(clip_ratio <= 3)} |",
            "",
            f"Bytes moved per 10 s window: Ursa {statistics.median(window_bytes) / MiB:.1f} MiB "
            "(median; the array metadata and the one or two whole chunks the window touches: "
            "chunks hold at least 10 s and 4 MiB, see `ursa_lib/processing/_zarr_sink.py`, and "
            "this synthetic EEG does not compress); path (a) "
            f"{statistics.median(raw_bytes) / MiB:.1f} MiB (one or two one-minute EDF "
            "segments), then MNE reads only the window from local disk. On loopback both paths "
            "are bound by bytes moved, so path (a) stays within a small factor of Ursa.",
            "",
            f"The multimodal window makes {multi_requests} store requests (the Lance tables' "
            "manifests and fragments, the Zarr chunks, the MP4 header is not read until a "
            "frame is decoded). Video frames decode on demand, so the multimodal row reads the "
            "frame index; the row below it decodes every frame of the window.",
            "",
            "The clip is read through the 206 proxy, the way S3 answers ranged GETs: against "
            "rclone as is, obstore refuses the status-200 answers and the store falls back "
            "to whole-object reads — there the same clip "
            f"moves {statistics.median(w for w, _, _, _ in as_is) / MiB:.1f} MiB "
            f"({as_is_ratio:.0f}× its packets). The counting proxy passes such answers on as "
            "206, unchanged otherwise.",
            "",
            "Command: `.venv/bin/python bench/read.py`",
        ]
    )
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "read", "Reading processed data", table)
    print(
        f"BENCH read window_p50_ms={w50:.1f} window_p95_ms={w95:.1f} "
        f"window_requests={max_requests} window_x_vs_raw_mne={x_raw:.1f} "
        f"window_x_vs_whole_zarr={x_whole:.1f} multimodal_p50_ms={m50:.0f} "
        f"stream_x_vs_sequential={x_stream:.2f} clip_bytes_ratio={clip_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
