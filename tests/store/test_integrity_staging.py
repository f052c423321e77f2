"""The local backend's staging folder: what a killed upload left is swept away,
and a live upload's staged file, in another process, is never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ursa_lib import LocalProfile, augment, ingest, open_store
from ursa_lib.catalog import Catalog, Recording
from ursa_lib.store import STAGING_DIR

REPO = Path(__file__).resolve().parents[2]

MiB = 1024 * 1024


def _session(root: Path) -> Path:
    session = root / "rec_20261128T100000_rig2"
    (session / "eeg_0").mkdir(parents=True)
    (session / "eeg_0" / "seg_00000.bin").write_bytes(os.urandom(24 * MiB))
    (session / "eeg_0" / "seg_00001.bin").write_bytes(b"small")
    (session / "manifest.json").write_text(
        json.dumps(
            {"rec_id": session.name, "start_time": 1, "duration": 1.0, "participant_id": "p1"}
        )
    )
    augment(session)
    return session


def _frozen_upload(root: Path, session: Path, marker: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.staging_child", str(root), str(session), str(marker)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the upload ended before freezing: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the upload never reached its freeze point")
        time.sleep(0.05)
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def _staged(root: Path) -> list[Path]:
    return sorted((root / "raw" / STAGING_DIR).glob("*"))


def test_a_killed_upload_leaves_nothing_staged_after_the_rerun(tmp_path: Path) -> None:
    root = tmp_path / "ursa"
    session = _session(tmp_path / "rig")
    _kill(_frozen_upload(root, session, tmp_path / "frozen"))
    debris = _staged(root)
    assert len(debris) == 1  # the killed upload's half-written file
    assert debris[0].stat().st_size >= 4 * MiB
    profile = LocalProfile(root=root)
    result = ingest(
        session / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog.open(profile, writable=True),
    )
    assert result.recording is not None
    assert _staged(root) == []


def test_a_live_upload_in_another_process_keeps_its_staged_file(tmp_path: Path) -> None:
    root = tmp_path / "ursa"
    session = _session(tmp_path / "rig")
    proc = _frozen_upload(root, session, tmp_path / "frozen")
    try:
        live = _staged(root)
        assert len(live) == 1
        raw = open_store(LocalProfile(root=root), "raw_rw")
        raw.put("elsewhere/object.bin", b"a write sweeps the staging folder")
        assert raw.clean_staging() == 0
        assert _staged(root) == live  # held by the frozen upload: kept
        assert proc.poll() is None
    finally:
        _kill(proc)
    assert raw.clean_staging() == 1  # the documented cleanup, once the upload is dead
    assert _staged(root) == []
    assert Catalog.open(LocalProfile(root=root)).count(Recording) == 0
