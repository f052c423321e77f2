"""The read benchmark's measured paths, each timed on its own and returning its figures.

Every path reads the same processed recording in one process, in the order
``bench/read.py`` calls them; the windows' start times come from one seeded
generator, drawn in that order.
"""

from __future__ import annotations

import concurrent.futures as cf
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._read_data import CountingProxy, Endpoints, bucket_store
from ursa_lib import IngestResult, QueryResult
from ursa_lib.delivery import AssetSource, Window, read_recording, stream_windows
from ursa_lib.delivery._video import read_video
from ursa_lib.store import zarr_store
from ursa_lib.testing import RAW_BUCKET, RcloneS3

MiB = 1024 * 1024
WINDOW_S = 10.0
CLIP_S = 5.0


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# -- the EEG window, Ursa -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowFigures:
    p50_ms: float
    p95_ms: float
    requests: list[int]
    """Store requests of each of the first 10 windows, read again through the counting proxy."""
    bytes: list[int]
    """Response bytes of the same windows."""
    starts: Any
    """The timed windows' start times (s), which the peer paths read too."""


def _eeg_window(src: AssetSource, result: QueryResult, t0: float) -> Any:
    data = read_recording(src, result, Window(t0, t0 + WINDOW_S), ["eeg"])
    assert data.eeg.signal.data.shape == (int(WINDOW_S * 1000), 64)
    return data


def window_reads(
    ep: Endpoints, result: QueryResult, rng: np.random.Generator, total_s: float, n_windows: int
) -> WindowFigures:
    """Random 10 s EEG windows after 3 warm-ups; then the first 10 again, counted."""
    source, counted, counted_source = ep.source, ep.counted, ep.counted_source
    for _ in range(3):
        _eeg_window(source, result, float(rng.uniform(0, total_s - WINDOW_S)))
    starts = rng.uniform(0, total_s - WINDOW_S, n_windows)
    window_times = [_timed(lambda t=t: _eeg_window(source, result, float(t))) for t in starts]
    w50, w95 = _ms(window_times)
    counted.take()
    requests: list[int] = []
    window_bytes: list[int] = []
    for t in starts[:10]:
        _eeg_window(counted_source, result, float(t))
        seen = counted.take()
        requests.append(len(seen))
        window_bytes.append(sum(n for _, _, n in seen))
    print("requests of one window:", *(f"{m} {p}" for m, p, _ in seen), flush=True)
    print(f"window p50 {w50:.1f} ms p95 {w95:.1f} ms requests {requests}", flush=True)
    return WindowFigures(
        p50_ms=w50, p95_ms=w95, requests=requests, bytes=window_bytes, starts=starts
    )


# -- (a) raw EDF segments + MNE crop -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawFigures:
    p50_ms: float
    bytes: list[int]
    """EDF bytes downloaded for each window (the warm-up included)."""


def raw_edf_reads(
    server: RcloneS3, stored: IngestResult, scratch: Path, starts: Any, n_raw: int
) -> RawFigures:
    """Path (a): download the EDF segments that cover a window, crop them with MNE."""
    import mne

    raw_ro = bucket_store(server.ro.url, server, RAW_BUCKET, writable=False)
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
    return RawFigures(p50_ms=raw_p50, bytes=raw_bytes)


# -- (b) the whole processed Zarr, then a slice ----------------------------------------------


@dataclass(frozen=True, slots=True)
class WholeZarrFigures:
    p50_ms: float
    bytes: int
    """Size of the EEG Zarr, all its objects."""
    objects: int


def whole_zarr_reads(
    source: AssetSource, eeg_key: str, scratch: Path, starts: Any, n_whole: int
) -> WholeZarrFigures:
    """Path (b): download the whole processed Zarr (4 objects at a time), slice a window."""
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
                    lambda o: reader.download(o.key, root / o.key[len(eeg_key) + 1 :], fsync=False),
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
    return WholeZarrFigures(p50_ms=whole_p50, bytes=zarr_bytes, objects=len(objects))


# -- the multimodal window ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MultimodalFigures:
    p50_ms: float
    p95_ms: float
    decode_p50_ms: float
    """The same windows (a third of them), decoding every frame, all reads via the 206 proxy."""
    requests: int
    """Store requests of one window, counted."""


def multimodal_reads(
    ep: Endpoints, result: QueryResult, rng: np.random.Generator, video_s: float, n_multi: int
) -> MultimodalFigures:
    """Aligned 10 s windows of every modality, frames decoded on demand or all of them."""
    source, counted, counted_source = ep.source, ep.counted, ep.counted_source
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
    return MultimodalFigures(p50_ms=m50, p95_ms=m95, decode_p50_ms=d50, requests=multi_requests)


# -- stream vs one sequential pass --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamFigures:
    stream_s: float
    sequential_s: float
    x: float
    """Sequential time over stream time."""


def stream_vs_sequential(source: AssetSource, result: QueryResult, eeg_key: str) -> StreamFigures:
    """``stream_windows`` over the whole EEG against one chunk-by-chunk pass, best of two."""
    import zarr

    reader = source.store

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
    x_stream = seq_s / stream_s
    print(f"stream {stream_s:.2f} s, sequential {seq_s:.2f} s", flush=True)
    return StreamFigures(stream_s=stream_s, sequential_s=seq_s, x=x_stream)


# -- a 5 s video clip ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClipFigures:
    runs: list[tuple[int, int, int, int]]
    """Per clip, through the 206 proxy: wire bytes, own packet bytes, requests, frames."""
    ratio: float
    as_is: list[tuple[int, int, int, int]]
    """The same for two clips through a proxy that passes rclone's answers on unchanged."""
    as_is_ratio: float
    mp4_bytes: int


def clip_reads(
    ep: Endpoints, result: QueryResult, rng: np.random.Generator, video_s: float
) -> ClipFigures:
    """5 s clips: MP4 bytes over the wire against the clip's own packet bytes."""
    source = ep.source
    cam_row = result.modalities["camera"]
    cam_key = source.key_of(cam_row.storage_uri or "")
    cam_domain = [(i.start, i.end) for i in cam_row.domain_intervals]
    index = source.open_lance(cam_key + ".lance").to_arrow()
    times = np.asarray(index.column("time_s").to_numpy())
    sizes = np.asarray(index.column("size").to_numpy())
    mp4_size = source.store.head(cam_key).size

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
    clip_runs = [clip(ep.counted_source, ep.counted, float(t)) for t in clip_starts]
    clip_ratio = statistics.median(w / o for w, o, _, _ in clip_runs)
    as_is = [clip(ep.as_is_source, ep.as_is_proxy, float(t)) for t in clip_starts[:2]]
    as_is_ratio = statistics.median(w / o for w, o, _, _ in as_is)
    print(f"clip: {clip_runs} ratio {clip_ratio:.2f}; as-is {as_is}", flush=True)
    return ClipFigures(
        runs=clip_runs, ratio=clip_ratio, as_is=as_is, as_is_ratio=as_is_ratio, mp4_bytes=mp4_size
    )
