"""A synthetic session moved through the store layer on the local profile.

`run_demo` is what ``ursa demo`` runs: it writes a small rig session (EEG,
camera, audio and event segments) to a landing folder, uploads every file to
the raw bucket with its sha256 as user metadata, reads the listing back,
downloads everything through the read-only role and checks each byte.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ._config import LocalProfile
from ._errors import ChecksumMismatchError, ObjectStoreError
from ._layout import SessionPrefix
from .store import open_store

__all__ = ["DemoSummary", "make_synthetic_session", "run_demo"]

MiB = 1024 * 1024
_STREAMS = {"eeg_0": ".bin", "camera_0": ".mp4", "audio_0": ".wav", "events_0": ".jsonl"}


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    rec_id: str
    files: int
    bytes: int
    upload_s: float
    download_s: float
    raw_uri: str
    download_dir: Path

    @property
    def upload_mb_s(self) -> float:
        return self.bytes / MiB / max(self.upload_s, 1e-9)

    @property
    def download_mb_s(self) -> float:
        return self.bytes / MiB / max(self.download_s, 1e-9)


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


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def run_demo(profile: LocalProfile, *, segments: int = 12, segment_bytes: int = MiB) -> DemoSummary:
    """Upload a synthetic session to the raw bucket and download it back, verified."""
    rec_id = time.strftime("rec_%Y%m%dT%H%M%S_demo", time.gmtime())
    session = make_synthetic_session(
        profile.root / "landing", rec_id, segments=segments, segment_bytes=segment_bytes
    )
    files = sorted(p for p in session.rglob("*") if p.is_file())
    digests = {p: _sha256(p) for p in files}
    raw_rw = open_store(profile, "raw_rw")
    session_prefix = SessionPrefix(rec_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda p: raw_rw.put(
                    session_prefix.file_key(p.relative_to(session).as_posix()),
                    p,
                    metadata={"sha256": digests[p]},
                ),
                files,
            )
        )
    upload_s = time.perf_counter() - started

    raw_ro = open_store(profile, "raw_ro")
    listed = list(raw_ro.list(session_prefix.key))
    if len(listed) != len(files):
        raise ObjectStoreError(
            f"uploaded {len(files)} files but the listing shows {len(listed)}",
            uri=raw_ro.base_uri + session_prefix.key,
        )
    dest = profile.root / "demo-download" / rec_id
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        infos = list(
            pool.map(
                lambda info: raw_ro.download(info.key, dest / session_prefix.rel_path(info.key)),
                listed,
            )
        )
    download_s = time.perf_counter() - started
    for path in files:
        copy = dest / path.relative_to(session)
        if _sha256(copy) != digests[path]:
            raise ChecksumMismatchError(f"{copy} does not match {path}", uri=str(copy))
    for info in infos:
        if (info.metadata or {}).get("sha256") is None:
            raise ObjectStoreError(f"{info.key} lost its sha256 metadata", uri=info.key)
    return DemoSummary(
        rec_id=rec_id,
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        upload_s=upload_s,
        download_s=download_s,
        raw_uri=raw_ro.base_uri + session_prefix.key + "/",
        download_dir=dest,
    )
