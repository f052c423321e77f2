"""Ingest under stress on a real S3 server: kill -9 at known points, two ingests
racing, cancellation, transient faults, and the cost of a resume."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ursa_lib import Store, TransferSettings, ingest, load_manifest
from ursa_lib.catalog import Catalog, Modality, Participant, Recording
from ursa_lib.testing import (
    Endpoint,
    Fault,
    FaultProxy,
    MotoS3,
    RcloneS3,
    s3_store,
    write_session,
)

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


# Six files; the eeg segments are multipart uploads with the tests' 5 MiB parts.
KILL_LAYOUT = {"camera_0": [MiB, MiB], "eeg_0": [12 * MiB] * 3, "events_0": [1000]}


def spawn(
    session: Path, catalog: Path, endpoint: Endpoint, conditional: bool, stop_at: str, marker: Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ingest_child",
            str(session),
            str(catalog),
            endpoint.url,
            endpoint.access_key_id,
            endpoint.secret_access_key,
            "1" if conditional else "0",
            stop_at,
            str(marker),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_frozen(proc: subprocess.Popen[str], marker: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the ingest process ended before freezing: {err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the ingest process never reached its freeze point")
        time.sleep(0.05)


def stored_sizes(raw: Store, prefix: str) -> dict[str, int]:
    return {i.key[len(prefix) + 1 :]: i.size for i in raw.list(prefix)}


def rows(catalog: Catalog) -> tuple[list[Recording], list[Modality]]:
    return catalog.list_recordings(), sorted(catalog.list_modalities(), key=lambda m: m.modality)


@pytest.mark.parametrize("point", ["mid-file", "between-files", "registration"])
def test_kill_9_leaves_no_recording_and_a_rerun_sends_only_what_is_missing(
    point: str, rclone_s3: RcloneS3, tmp_path: Path, ns: str
) -> None:
    session = write_session(tmp_path / "rig", f"rec_{ns}", KILL_LAYOUT)
    manifest = load_manifest(session / "manifest.json", session)
    catalog_dir = tmp_path / "catalog"
    marker = tmp_path / "frozen"
    proc = spawn(session, catalog_dir, rclone_s3.rw, False, point, marker)
    wait_frozen(proc, marker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    raw = s3_store(rclone_s3.rw, supports_create=False)
    catalog = Catalog(str(catalog_dir), writable=True)
    assert catalog.count(Recording) == 0  # nothing a reader could mistake for a session
    prefix = f"recordings/rec_{ns}"
    before = stored_sizes(raw, prefix)
    complete = [f for f in manifest.files or () if before.get(f.rel_path) == f.size]
    # No object is ever partial: each one present is a whole file.
    assert set(before) - {"manifest.json"} == {f.rel_path for f in complete}
    expected_done = {"mid-file": 2, "between-files": 2, "registration": 6}[point]
    assert len(complete) == expected_done
    if point == "registration":
        # Modalities go in before the recording row, which was never written.
        assert catalog.count(Modality) == 3

    rerun = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert (rerun.files_skipped, rerun.files_uploaded) == (expected_done, 6 - expected_done)
    for entry in manifest.files or ():
        assert raw.head(f"{prefix}/{entry.rel_path}").metadata == {"sha256": entry.sha256}

    reference = Catalog(str(tmp_path / "reference"), writable=True)
    ingest(session / "manifest.json", raw=raw, catalog=reference)
    assert rows(catalog) == rows(reference)
    assert (catalog.count(Recording), catalog.count(Modality), catalog.count(Participant)) == (
        1,
        3,
        1,
    )


def test_two_ingests_of_one_session_at_once_end_with_one_set_of_rows(
    moto_s3: MotoS3, tmp_path: Path, ns: str
) -> None:
    session = write_session(
        tmp_path / "rig", f"rec_{ns}", {"eeg_0": [7 * MiB, MiB, MiB], "audio_0": [MiB] * 4}
    )
    catalog_dir = tmp_path / "catalog"
    procs = [
        spawn(session, catalog_dir, moto_s3.rw, True, "none", tmp_path / f"unused{i}")
        for i in range(2)
    ]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert results[0]["recording_hash"] == results[1]["recording_hash"]
    catalog = Catalog(str(catalog_dir), writable=False)
    assert (catalog.count(Recording), catalog.count(Modality), catalog.count(Participant)) == (
        1,
        2,
        1,
    )
    raw = s3_store(moto_s3.rw)
    assert sorted(stored_sizes(raw, f"recordings/rec_{ns}")) == [
        "audio_0/seg_00000.bin",
        "audio_0/seg_00001.bin",
        "audio_0/seg_00002.bin",
        "audio_0/seg_00003.bin",
        "eeg_0/seg_00000.bin",
        "eeg_0/seg_00001.bin",
        "eeg_0/seg_00002.bin",
        "manifest.json",
    ]


def test_cancellation_sends_at_most_the_documented_bound(
    fault_proxy: FaultProxy, rclone_s3: RcloneS3, tmp_path: Path, ns: str
) -> None:
    transfer = TransferSettings(
        single_put_limit=5 * MiB, part_size=5 * MiB, part_concurrency=2, file_read_size=MiB
    )
    files, concurrency = 4, 2
    session = write_session(tmp_path / "rig", f"rec_{ns}", {"eeg_0": [30 * MiB] * files})
    raw = s3_store(rclone_s3.rw, url=fault_proxy.url, supports_create=False, transfer=transfer)
    flipped_at: list[float] = []

    def is_active() -> bool:
        if not flipped_at and sum(e.body_bytes for e in fault_proxy.requests()) > 20 * MiB:
            flipped_at.append(time.monotonic())
        return bool(flipped_at)

    result = ingest(
        session / "manifest.json",
        raw=raw,
        catalog=Catalog(str(tmp_path / "catalog"), writable=True),
        max_concurrent_files=concurrency,
        is_active=is_active,
    )
    assert result.paused
    assert result.recording is None
    sent_after = sum(e.body_bytes for e in fault_proxy.requests() if e.at > flipped_at[0])
    bound = concurrency * (transfer.part_concurrency * transfer.part_size + transfer.file_read_size)
    assert sent_after <= bound, f"{sent_after / MiB:.1f} MiB sent after the pause"
    assert sum(e.body_bytes for e in fault_proxy.requests()) < files * 30 * MiB
    # Nothing visible was left half-done: only whole files (or none) are stored.
    stored = stored_sizes(raw, f"recordings/rec_{ns}")
    assert all(size == 30 * MiB for name, size in stored.items() if name != "manifest.json")


def test_transient_faults_mid_upload_are_survived_with_identical_bytes(
    fault_proxy: FaultProxy, rclone_s3: RcloneS3, tmp_path: Path, ns: str
) -> None:
    session = write_session(
        tmp_path / "rig",
        f"rec_{ns}",
        {"eeg_0": [12 * MiB, 11 * MiB], "camera_0": [MiB] * 3, "events_0": [300]},
    )
    faults = [
        Fault("status", method="PUT", query_contains="partNumber=2", status=503),
        Fault("reset", method="PUT", query_contains="partNumber=1", skip=1),
        Fault("status", method="PUT", path_contains="camera_0/seg_00001", status=500),
        Fault("status", method="POST", query_contains="uploads", status=503),
        Fault("status", method="POST", query_contains="uploadId", status=429),
        Fault("reset", method="GET", query_contains="list-type=2"),
    ]
    fault_proxy.add(*faults)
    raw = s3_store(rclone_s3.rw, url=fault_proxy.url, supports_create=False)
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    result = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert result.recording is not None
    assert [f.fired for f in faults] == [1] * len(faults)
    direct = s3_store(rclone_s3.rw, supports_create=False)
    for entry in load_manifest(session / "manifest.json", session).files or ():
        body = direct.get(f"{result.prefix}/{entry.rel_path}")
        assert hashlib.sha256(body).hexdigest() == entry.sha256, entry.rel_path


def test_resume_requests_grow_with_modalities_not_files(
    fault_proxy: FaultProxy, rclone_s3: RcloneS3, tmp_path: Path, ns: str
) -> None:
    raw = s3_store(rclone_s3.rw, url=fault_proxy.url, supports_create=False)
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)

    def resume_requests(name: str, layout: dict[str, list[int]]) -> int:
        session = write_session(tmp_path / "rig", f"{name}_{ns}", layout)
        ingest(session / "manifest.json", raw=raw, catalog=catalog)
        fault_proxy.clear()
        again = ingest(session / "manifest.json", raw=raw, catalog=catalog)
        assert again.files_uploaded == 0
        return len(fault_proxy.requests())

    few = resume_requests("few", {w: [100] * 2 for w in ("eeg_0", "audio_0", "events_0")})
    many = resume_requests("many", {w: [100] * 60 for w in ("eeg_0", "audio_0", "events_0")})
    wider = resume_requests(
        "wider", {w: [100] * 2 for w in ("eeg_0", "audio_0", "events_0", "a_0", "b_0", "c_0")}
    )
    assert few == many  # 180 files cost what 6 do
    assert wider == few + 3  # one listing per extra modality
    assert few <= 1 + 3  # the manifest, then one listing per modality
