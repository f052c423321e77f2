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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench._read_data import CountingProxy, Endpoints, bucket_store
from ursa_lib import IngestResult, QueryResult
from ursa_lib.delivery import AssetSource, Window, read_recording, stream_windows
from ursa_lib.delivery._assets import Opened
from ursa_lib.delivery._sampled import physical_values
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
    warmups: list[float]
    """The warm-up windows' start times (s)."""


def _eeg_window(src: AssetSource, result: QueryResult, t0: float) -> Any:
    data = read_recording(src, result, Window(t0, t0 + WINDOW_S), ["eeg"])
    assert data.eeg.signal.data.shape == (int(WINDOW_S * 1000), 64)
    return data


def window_reads(
    ep: Endpoints, result: QueryResult, rng: np.random.Generator, total_s: float, n_windows: int
) -> WindowFigures:
    """Random 10 s EEG windows after 3 warm-ups; then the first 10 again, counted."""
    source, counted, counted_source = ep.source, ep.counted, ep.counted_source
    warmups = [float(rng.uniform(0, total_s - WINDOW_S)) for _ in range(3)]
    for t0 in warmups:
        _eeg_window(source, result, t0)
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
        p50_ms=w50,
        p95_ms=w95,
        requests=requests,
        bytes=window_bytes,
        starts=starts,
        warmups=warmups,
    )


# -- (a) raw EDF segments + MNE crop -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawFigures:
    p50_ms: float
    bytes: list[int]
    """EDF bytes downloaded for each window (the warm-up included)."""
    download_p50_ms: float
    """The downloads' part of the timed windows."""


def raw_edf_reads(
    server: RcloneS3, stored: IngestResult, scratch: Path, starts: Any, n_raw: int
) -> RawFigures:
    """Path (a): download the EDF segments that cover a window, crop them with MNE."""
    import mne

    raw_ro = bucket_store(server.ro.url, server, RAW_BUCKET, writable=False)
    prefix = stored.prefix.rstrip("/")

    raw_bytes: list[int] = []
    downloads: list[float] = []

    def raw_mne(t0: float) -> None:
        first, last = int(t0 // 60), int((t0 + WINDOW_S - 1e-9) // 60)
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            paths = []
            started = time.perf_counter()
            for seg in range(first, last + 1):
                dest = Path(tmp) / f"seg_{seg:05d}.edf"
                raw_ro.download(f"{prefix}/eeg_0/seg_{seg:05d}.edf", dest, fsync=False)
                paths.append(dest)
            downloads.append(time.perf_counter() - started)
            raw_bytes.append(sum(p.stat().st_size for p in paths))
            parts = [mne.io.read_raw_edf(p, preload=False, verbose="error") for p in paths]
            edf = mne.concatenate_raws(parts, verbose="error") if len(parts) > 1 else parts[0]
            tmin = t0 - first * 60
            edf.crop(tmin, tmin + WINDOW_S, include_tmax=False, verbose="error")
            data = edf.get_data()
            assert data.shape == (64, int(WINDOW_S * 1000)), data.shape

    raw_mne(float(starts[0]))
    del downloads[:]
    raw_times = [_timed(lambda t=t: raw_mne(float(t))) for t in starts[:n_raw]]
    raw_p50 = statistics.median(raw_times) * 1000
    download_p50 = statistics.median(downloads) * 1000
    print(f"raw EDF + MNE p50 {raw_p50:.0f} ms (downloads {download_p50:.0f} ms)", flush=True)
    return RawFigures(p50_ms=raw_p50, bytes=raw_bytes, download_p50_ms=download_p50)


# -- where a window's time goes: its chunks fetched alone ---------------------------------


def chunk_fetches(
    source: AssetSource, eeg_key: str, read: list[float], total_s: float, n: int
) -> float:
    """p50 (ms) of fetching, all at once and without decoding, the chunk objects of
    ``n`` random 10 s windows none of whose chunks was read before (by the windows
    starting at ``read``, or by an earlier one of these): the store's share of a
    cold window read. The chunks are fetched as the reader fetches them, through
    its zarr store on zarr's loop."""
    import asyncio

    import zarr
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    store = zarr_store(source.store, published=True)
    array: Any = zarr.open_array(store=store, path=f"{eeg_key}/data", mode="r", zarr_format=3)
    step, prototype = int(array.chunks[0]), default_buffer_prototype()
    length = int(WINDOW_S * 1000)

    def chunks_of(t0: float) -> set[int]:
        a = round(t0 * 1000)
        return set(range(a // step, (a + length - 1) // step + 1))

    touched = set().union(*(chunks_of(t0) for t0 in read))

    async def fetch(keys: list[str]) -> list[Any]:
        return list(await asyncio.gather(*(store.get(key, prototype) for key in keys)))

    rng, times = np.random.default_rng(8), []
    for _ in range(100 * n):  # a short recording may run out of untouched chunks
        if len(times) == n:
            break
        numbers = chunks_of(float(rng.uniform(0, total_s - WINDOW_S)))
        if numbers & touched:
            continue
        touched |= numbers
        keys = [f"{eeg_key}/data/{array.metadata.encode_chunk_key((c, 0))}" for c in numbers]
        started = time.perf_counter()
        assert all(chunk is not None for chunk in sync(fetch(keys)))
        times.append(time.perf_counter() - started)
    fetch_p50 = statistics.median(times) * 1000 if times else float("nan")
    print(f"a window's chunks fetched alone: p50 {fetch_p50:.1f} ms", flush=True)
    return fetch_p50


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
    """Store requests of one window, counted, once its assets are open."""
    first_ms: float
    """The first window read through a fresh source (every asset opened), median."""
    first_requests: int
    """Store requests of that first window, counted."""


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
    # A fresh source opens every asset again: what the first window of a session costs.
    firsts = [
        _timed(lambda t=t: multimodal(float(t), False, replace(source, opened=Opened())))
        for t in multi_starts[: n_multi // 3]
    ]
    first_ms = statistics.median(firsts) * 1000
    multimodal(float(multi_starts[0]), False, replace(counted_source, opened=Opened()))
    first_requests = len(counted.take())
    print(
        f"multimodal p50 {m50:.0f} ms (decoding every frame {d50:.0f} ms; first window "
        f"{first_ms:.0f} ms, {first_requests} requests)",
        flush=True,
    )
    return MultimodalFigures(
        p50_ms=m50,
        p95_ms=m95,
        decode_p50_ms=d50,
        requests=multi_requests,
        first_ms=first_ms,
        first_requests=first_requests,
    )


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
            # The reader's own scaling, so that the two passes differ only in how they read.
            physical = physical_values(np.asarray(array[a : a + step]), gain, offset)
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
