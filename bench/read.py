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
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._read_data import (  # noqa: E402
    CountingProxy,
    ingest_and_process,
    start_endpoints,
    write_data,
)
from bench._read_paths import (  # noqa: E402
    WINDOW_S,
    ClipFigures,
    MultimodalFigures,
    RawFigures,
    StreamFigures,
    WholeZarrFigures,
    WindowFigures,
    chunk_fetches,
    clip_reads,
    multimodal_reads,
    raw_edf_reads,
    stream_vs_sequential,
    whole_zarr_reads,
    window_reads,
)
from bench._report import update_section  # noqa: E402
from bench.store import SERVER_ARGS  # noqa: E402
from ursa_lib.processing import chunk_length  # noqa: E402
from ursa_lib.processing._zarr_sink import MIN_CHUNK_BYTES, MIN_CHUNK_SECONDS  # noqa: E402
from ursa_lib.testing import RcloneS3  # noqa: E402

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sizes:
    minutes: int
    video_minutes: int
    n_windows: int
    n_raw: int
    n_whole: int
    n_multi: int


def _sizes(quick: bool) -> Sizes:
    minutes, video_minutes = (6, 2) if quick else (60, 10)
    n_windows, n_raw, n_whole, n_multi = (10, 3, 2, 5) if quick else (60, 10, 3, 30)
    return Sizes(minutes, video_minutes, n_windows, n_raw, n_whole, n_multi)


@dataclass(frozen=True, slots=True)
class Figures:
    window: WindowFigures
    raw: RawFigures
    whole: WholeZarrFigures
    multi: MultimodalFigures
    stream: StreamFigures
    clip: ClipFigures
    fetch_p50_ms: float
    """A window's chunks fetched alone (fresh windows), without decoding."""

    @property
    def x_raw(self) -> float:
        return self.raw.p50_ms / self.window.p50_ms

    @property
    def x_whole(self) -> float:
        return self.whole.p50_ms / self.window.p50_ms

    @property
    def max_requests(self) -> int:
        return max(self.window.requests)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    args = parser.parse_args()
    sizes = _sizes(args.quick)

    data_dir = ROOT / "bench" / ".data" / ("read-quick" if args.quick else "read")
    session = write_data(data_dir, sizes.minutes, sizes.video_minutes)
    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    server = RcloneS3(scratch / "server", extra_args=SERVER_ARGS, ro_dir_cache_time=None).start()
    proxies: list[CountingProxy] = []
    try:
        figures = _measure(session, server, scratch, proxies, sizes)
    finally:
        for proxy in proxies:
            proxy.stop()
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    table = "\n".join([*_table_rows(figures, sizes), *_table_notes(figures, sizes)])
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "read", "Reading processed data", table)
    print(_bench_line(figures))


def _measure(
    session: Path, server: RcloneS3, scratch: Path, proxies: list[CountingProxy], sizes: Sizes
) -> Figures:
    """Every measured path, in order, on the recording ingested and processed afresh."""
    stored, result = ingest_and_process(session, server, scratch)
    ep = start_endpoints(server, proxies)
    eeg_row = result.modalities["eeg"]
    eeg_key = ep.source.key_of(eeg_row.storage_uri or "").rstrip("/")
    total_s = sizes.minutes * 60.0
    rng = np.random.default_rng(7)
    window = window_reads(ep, result, rng, total_s, sizes.n_windows)
    read = [*window.warmups, *window.starts]
    fetch = chunk_fetches(ep.source, eeg_key, read, total_s, sizes.n_windows // 3)
    raw = raw_edf_reads(server, stored, scratch, window.starts, sizes.n_raw)
    whole = whole_zarr_reads(ep.source, eeg_key, scratch, window.starts, sizes.n_whole)
    video_s = sizes.video_minutes * 60.0
    multi = multimodal_reads(ep, result, rng, video_s, sizes.n_multi)
    stream = stream_vs_sequential(ep.source, result, eeg_key)
    clip = clip_reads(ep, result, rng, video_s)
    return Figures(
        window=window,
        raw=raw,
        whole=whole,
        multi=multi,
        stream=stream,
        clip=clip,
        fetch_p50_ms=fetch,
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _table_rows(f: Figures, s: Sizes) -> list[str]:
    """The set-up paragraph and the table, one row per measured read."""
    minutes, video_minutes = s.minutes, s.video_minutes
    n_windows, n_raw, n_whole, n_multi = s.n_windows, s.n_raw, s.n_whole, s.n_multi
    w50, w95, requests = f.window.p50_ms, f.window.p95_ms, f.window.requests
    max_requests = f.max_requests
    raw_p50, x_raw, whole_p50, x_whole = f.raw.p50_ms, f.x_raw, f.whole.p50_ms, f.x_whole
    zarr_bytes, n_objects = f.whole.bytes, f.whole.objects
    m50, m95, d50 = f.multi.p50_ms, f.multi.p95_ms, f.multi.decode_p50_ms
    stream_s, seq_s, x_stream = f.stream.stream_s, f.stream.sequential_s, f.stream.x
    eeg_mb = minutes * 60 * 1000 * 64 * 2 / 1e6
    mp4_size, clip_ratio = f.clip.mp4_bytes, f.clip.ratio
    clip_own = statistics.median(o for _, o, _, _ in f.clip.runs)
    clip_wire = statistics.median(w for w, _, _, _ in f.clip.runs)
    return [
        f"Recording: {minutes} min of 64-channel 1 kHz EEG (one-minute EDF segments) and "
        f"16 kHz audio (WAV), {video_minutes} min of H.264 video (320×240, 25 fps, "
        f"{mp4_size / MiB:.1f} MiB), {minutes * 60} events; processed with "
        "`process_recording`; the EEG Zarr is "
        f"{zarr_bytes / MiB:.0f} MiB in {n_objects} objects. Server `rclone serve s3 "
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
    ]


def _table_notes(f: Figures, s: Sizes) -> list[str]:
    """What the table's figures are made of: bytes per window, requests, the clip's proxy."""
    window_bytes, raw_bytes = f.window.bytes, f.raw.bytes
    samples = s.minutes * 60 * 1000 * 64 * 2  # int16
    chunk_s = chunk_length(1000.0, 64, 2) / 1000.0
    multi_requests, as_is, as_is_ratio = f.multi.requests, f.clip.as_is, f.clip.as_is_ratio
    return [
        "",
        f"Bytes moved per 10 s window: Ursa {statistics.median(window_bytes) / MiB:.1f} MiB "
        f"(median; the whole chunks the window touches: chunks of {chunk_s:g} s, as they "
        f"hold at least {MIN_CHUNK_SECONDS:g} s and {MIN_CHUNK_BYTES // 1024} KiB, see "
        "`ursa_lib/processing/_zarr_sink.py`; this synthetic EEG's chunks are "
        f"{samples / f.whole.bytes:.2f}× smaller than its samples; the array's metadata is "
        "read once, by the first window an interface reads); path (a) "
        f"{statistics.median(raw_bytes) / MiB:.1f} MiB (one or two one-minute EDF "
        "segments), then MNE reads only the window from local disk.",
        "",
        "Where a window's time goes (p50): Ursa's chunks, fetched alone (those of "
        f"{len(f.window.starts) // 3} other random windows that no read had touched yet, all "
        f"at once, not decoded), take {f.fetch_p50_ms:.1f} ms of its "
        f"{f.window.p50_ms:.1f} ms; the rest is what decoding, scaling to float64 and "
        "building the `temporaldata` objects add (each chunk is decoded and scaled as it "
        "arrives, while the others still download). Path (a) downloads in "
        f"{f.raw.download_p50_ms:.0f} ms of its {f.raw.p50_ms:.0f} ms; the rest is MNE. "
        "Both paths pay mostly per byte moved: on this machine `rclone serve s3` delivers "
        "about 400 MB/s to one client (its `serve http` of the same files about 950 MB/s), "
        "on the two cores the client runs on.",
        "",
        f"The multimodal window makes {multi_requests} store requests once an interface has "
        "opened its assets (the Zarr chunks and the Lance tables' data; the MP4 header is "
        "not read until a frame is decoded). The first window an interface reads opens "
        f"them: {f.multi.first_requests} requests (the arrays' metadata, the Lance tables' "
        f"manifests and indices), {f.multi.first_ms:.0f} ms (median of {s.n_multi // 3}). "
        "Video frames decode on demand, so the multimodal row reads the "
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


def _bench_line(f: Figures) -> str:
    w50, w95, m50 = f.window.p50_ms, f.window.p95_ms, f.multi.p50_ms
    max_requests, x_raw, x_whole = f.max_requests, f.x_raw, f.x_whole
    x_stream, clip_ratio = f.stream.x, f.clip.ratio
    return (
        f"BENCH read window_p50_ms={w50:.1f} window_p95_ms={w95:.1f} "
        f"window_requests={max_requests} window_x_vs_raw_mne={x_raw:.1f} "
        f"window_x_vs_whole_zarr={x_whole:.1f} multimodal_p50_ms={m50:.0f} "
        f"stream_x_vs_sequential={x_stream:.2f} clip_bytes_ratio={clip_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
