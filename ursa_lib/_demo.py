"""``ursa demo``: one realistic session through the whole path, on the local profile.

`run_demo` is what ``ursa demo`` runs, with the library alone (no Dagster):

1. a rig session lands in ``<root>/landing``, each stream written by its
   field's own writer (EEG as EDF+, audio as WAV, video as H.264 MP4, events
   as JSON lines; the shipped testing kit's `write_recording`), augmented;
2. it is ingested (every file uploaded with its sha256, then registered in
   the catalog) and processed (Zarr, MP4 with its frame index, Lance);
3. the default query finds it, a 5 s window of every modality is read back
   as arrays, and its processed assets are downloaded and verified against
   what publication recorded.

The Dagster version of the same path is ``make demo`` (``ursa_pipelines.demo``).
`make_synthetic_session` writes a session of random segments, for store-level
benchmarks and tests.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._config import LocalProfile
from ._errors import ChecksumMismatchError
from ._text import counted

__all__ = ["DemoSummary", "make_synthetic_session", "run_demo"]

MiB = 1024 * 1024
_STREAMS = {"eeg_0": ".bin", "camera_0": ".mp4", "audio_0": ".wav", "events_0": ".jsonl"}


WINDOW_S = (2.0, 7.0)
"""The window the demo reads back, in seconds from the session start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    rec_id: str
    recording_hash: str
    files: int
    """Files of the session, uploaded."""
    bytes: int
    ingest_s: float
    process_s: float
    modalities: dict[str, str]
    """Each modality and the format it was processed into."""
    window: dict[str, str]
    """What the 5 s window read back holds, by modality (shape, frames, events)."""
    download_files: int
    download_bytes: int
    download_dir: Path
    raw_uri: str

    @property
    def verified(self) -> bool:
        return True  # run_demo raises otherwise


def make_synthetic_session(
    parent: Path, rec_id: str, *, segments: int = 12, segment_bytes: int = MiB
) -> Path:
    """Write a session folder with one worker directory per stream."""
    session = parent / rec_id
    rng = os.urandom
    for worker, suffix in _STREAMS.items():
        folder = session / worker
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(segments):
            (folder / f"seg_{index:05d}{suffix}").write_bytes(rng(segment_bytes))
    return session


def run_demo(profile: LocalProfile, *, segments: int = 3) -> DemoSummary:
    """Land, ingest, process, query, read and download one realistic session of
    ``segments`` 10 s segments per stream; every step is checked (see the module)."""
    from ._interface import DataInterface
    from .delivery import files_of
    from .testing import RecordingSpec, write_recording

    now = time.time_ns()
    rec_id = time.strftime("rec_%Y%m%dT%H%M%S_demo", time.gmtime(now / 1e9))
    spec = RecordingSpec(rec_id=rec_id, start_time_ns=now, segments=segments, seed=now % 2**32)
    landing = profile.root / "landing"
    manifest = write_recording(landing, spec)
    session = landing / rec_id
    ursa = DataInterface(profile).enable_writes()
    started = time.perf_counter()
    ingested = ursa.ingest(session)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    ursa.process(ingested.recording_hash)
    process_s = time.perf_counter() - started
    (found,) = ursa.query(recording_hash=ingested.recording_hash)
    data = ursa.materialize(found, time_range=WINDOW_S)
    dest = profile.root / "demo-download" / rec_id
    paths = ursa.download(found, dest, names="rec_id")
    report = ursa.verify(dest)
    if not report.ok:
        raise ChecksumMismatchError(
            f"the demo's download in {dest} does not verify: {report}", uri=str(dest)
        )
    written = files_of(paths)
    return DemoSummary(
        rec_id=rec_id,
        recording_hash=ingested.recording_hash,
        files=len(manifest.files or []),
        bytes=manifest.total_bytes,
        ingest_s=ingest_s,
        process_s=process_s,
        modalities={name: str(row.format) for name, row in sorted(found.modalities.items())},
        window=_window(data, sorted(found.modalities)),
        download_files=len(written),
        download_bytes=sum(f.stat().st_size for f in written),
        download_dir=dest,
        raw_uri=ursa.store("raw_ro").base_uri + ingested.prefix + "/",
    )


def _window(data: Any, names: list[str]) -> dict[str, str]:
    """What each modality ``names`` of a read window holds, in words."""
    from .delivery._video import VideoFrames

    held = {}
    for name in names:
        part = getattr(data, name)
        if isinstance(part, VideoFrames):
            held[name] = counted(len(part), "video frame")
        elif hasattr(part, "signal"):
            rows, columns = part.signal.data.shape
            held[name] = f"{counted(rows, 'sample')} x {counted(columns, 'channel')}"
        elif hasattr(part, "timestamps"):
            held[name] = counted(len(part.timestamps), "event")
    return held
