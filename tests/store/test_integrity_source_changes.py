"""A source file that changes while it is uploaded: `SourceChangedError`, nothing stored.

Every way a file can change mid-upload (it grows, shrinks, is edited in place
at the same size, or only its mtime moves) is refused with `SourceChangedError`
naming the file, on the local profile and on a real S3 server; no object is
left at its key and no catalog row is added. The CLI says so in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ursa_lib import LocalProfile, SourceChangedError, Store, UrsaError, augment, ingest, open_store
from ursa_lib.catalog import Catalog, Modality, Recording
from ursa_lib.testing import RcloneS3, s3_store

MiB = 1024 * 1024
REC_ID = "rec_20261128T090000_rig1"
SIZE = 6 * MiB  # two 4 MiB file reads; a multipart upload with 5 MiB parts on S3


def _session(root: Path, size: int = SIZE) -> Path:
    session = root / REC_ID
    (session / "eeg_0").mkdir(parents=True)
    (session / "eeg_0" / "seg_00000.bin").write_bytes(os.urandom(size))
    (session / "manifest.json").write_text(
        json.dumps({"rec_id": REC_ID, "start_time": 1, "duration": 1.0, "participant_id": "p1"})
    )
    augment(session)
    return session


def _grow(path: Path) -> None:
    with open(path, "ab") as out:
        out.write(b"more")


def _shrink(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 5 * MiB // 4)


def _edit_same_size(path: Path) -> None:
    # Bytes already sent: only the file's stat shows the change.
    with open(path, "r+b") as out:
        first = out.read(1)
        out.seek(0)
        out.write(bytes([first[0] ^ 0xFF]))


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _replace(path: Path) -> None:
    # The rig rewrote the file and renamed the new one over it: same bytes, new inode.
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(path.read_bytes())
    os.replace(fresh, path)


def _remove(path: Path) -> None:
    path.unlink()


CHANGES: dict[str, Callable[[Path], None]] = {
    "grow": _grow,
    "replaced": _replace,
    "removed": _remove,
    "shrink": _shrink,
    "same-size-edit": _edit_same_size,
    "mtime": _touch,
}


@pytest.fixture(params=["local", "rclone"])
def raw(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return open_store(LocalProfile(root=tmp_path / "ursa"), "raw_rw")
    server: RcloneS3 = request.getfixturevalue("rclone_s3")
    return s3_store(server.rw, supports_create=server.conditional_writes)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_source_changed_mid_upload_is_refused_and_nothing_is_kept(
    change: str, raw: Store, tmp_path: Path
) -> None:
    session = _session(tmp_path / f"rig-{os.getpid()}-{time.monotonic_ns()}")
    seg = session / "eeg_0" / "seg_00000.bin"
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    polls = 0

    def is_active() -> bool:
        # Polled once before the upload, then after every chunk read: change
        # the file once the first chunk of it has been read.
        nonlocal polls
        polls += 1
        if polls == 2:
            CHANGES[change](seg)
        return False

    with pytest.raises(SourceChangedError, match=r"seg_00000\.bin") as caught:
        ingest(session / "manifest.json", raw=raw, catalog=catalog, is_active=is_active)
    assert isinstance(caught.value, UrsaError)
    assert polls >= 2
    keys = [i.key for i in raw.list(f"recordings/{REC_ID}")]
    assert not [k for k in keys if k.endswith("seg_00000.bin")]
    assert catalog.count(Recording) == 0
    assert catalog.count(Modality) == 0


def test_the_cli_reports_a_growing_source_in_one_line(tmp_path: Path) -> None:
    session = _session(tmp_path / "rig", size=96 * MiB)
    seg = session / "eeg_0" / "seg_00000.bin"
    root = tmp_path / "ursa"
    stop = threading.Event()

    def grow_once_uploading() -> None:
        # The rig keeps writing: append as soon as the upload has begun.
        while not stop.is_set():
            if any(root.glob("*/.ursa-staging/*")):
                while not stop.is_set():
                    _grow(seg)
                    time.sleep(0.001)
            time.sleep(0.001)

    writer = threading.Thread(target=grow_once_uploading, daemon=True)
    writer.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ursa_lib.cli", "ingest", str(session), "--root", str(root)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, "COLUMNS": "1000"},
        )
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert "seg_00000.bin" in result.stderr
    assert len(lines) == 1, result.stderr
