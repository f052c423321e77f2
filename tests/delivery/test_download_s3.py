"""Delivery on a real S3 server: read verbs use only read-only keys, kill -9
mid-download, and transient faults mid-body."""

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

from ursa_lib import ConfigError, DataInterface, S3Profile, download, ingest, query
from ursa_lib.catalog import Catalog
from ursa_lib.testing import Fault, FaultProxy, RcloneS3, s3_store, write_session

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
LAYOUT = {"eeg_0": [3 * MiB, 2 * MiB, 100_000], "camera_0": [MiB, 4000]}
ROLES = ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW")


def sources(session: Path) -> dict[str, bytes]:
    """``worker/file`` → bytes, as on the rig."""
    return {
        p.relative_to(session).as_posix(): p.read_bytes()
        for p in sorted(session.rglob("seg_*.bin"))
    }


def downloaded(dest: Path) -> dict[str, bytes]:
    """``worker/file`` → bytes, from a by_recording download (modality dir → worker dir)."""
    return {f"{p.parent.name}_0/{p.name}": p.read_bytes() for p in sorted(dest.rglob("seg_*.bin"))}


@pytest.fixture
def lab_profile(rclone_s3: RcloneS3, ns: str, monkeypatch: pytest.MonkeyPatch) -> S3Profile:
    for role in ROLES:
        endpoint = rclone_s3.ro if role.endswith("_RO") else rclone_s3.rw
        monkeypatch.setenv(f"URSA_LAB_{role}_ACCESS_KEY_ID", endpoint.access_key_id)
        monkeypatch.setenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY", endpoint.secret_access_key)
    return S3Profile(
        name="lab",
        endpoint=rclone_s3.rw.url,
        role_endpoints={"raw_ro": rclone_s3.ro.url, "assets_ro": rclone_s3.ro.url},
        region="us-east-1",
        raw_bucket="ursa-raw",
        assets_bucket="ursa-assets",
        catalog_uri=f"s3://ursa-assets/{ns}/catalog",
        conditional_writes=False,
    )


def test_read_verbs_never_touch_read_write_keys(
    lab_profile: S3Profile, tmp_path: Path, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = write_session(tmp_path / "rig", f"rec_{ns}", LAYOUT)
    writer = DataInterface(lab_profile).enable_writes()
    stored = writer.ingest(session)
    assert stored.files_uploaded == 5
    # From here on only the read-only keys exist: any use of a read-write role
    # would fail with ConfigError.
    for role in ("RAW_RW", "ASSETS_RW"):
        monkeypatch.delenv(f"URSA_LAB_{role}_ACCESS_KEY_ID")
        monkeypatch.delenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY")
    reader = DataInterface(lab_profile)
    results = reader.query(status="raw", recording_hash=stored.recording_hash)
    assert [list(r.modalities) for r in results] == [["camera", "eeg"]]
    reader.download(results, tmp_path / "out")
    assert downloaded(tmp_path / "out") == sources(session)
    segments = reader.materialize(results[0])
    assert len(segments["eeg"].segments) == 3
    assert reader.get_recording(stored.recording_hash) == stored.recording
    assert reader.status()["recordings"] >= 1
    reader.enable_writes()
    with pytest.raises(ConfigError, match="URSA_LAB_RAW_RW_ACCESS_KEY_ID"):
        reader.ingest(session)


def test_kill_9_mid_download_leaves_only_complete_files(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, tmp_path: Path, ns: str
) -> None:
    session = write_session(tmp_path / "rig", f"rec_{ns}", LAYOUT)
    catalog_dir = tmp_path / "catalog"
    ingest(
        session / "manifest.json",
        raw=s3_store(rclone_s3.rw, supports_create=False),
        catalog=Catalog(str(catalog_dir), writable=True),
    )
    fault_proxy.add(
        Fault(
            "stall", method="GET", path_contains="eeg_0/seg_00000.bin", after_bytes=1000, stall_s=60
        )
    )
    dest = tmp_path / "out"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tests.download_child import main; main(sys.argv[1:])",
            str(catalog_dir),
            fault_proxy.url,
            rclone_s3.rw.access_key_id,
            rclone_s3.rw.secret_access_key,
            str(dest),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (list(dest.rglob("*.part")) and fault_proxy.fired()):
        if child.poll() is not None:
            pytest.fail(f"the download ended early: {child.communicate()[1][-2000:]}")
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    time.sleep(0.5)  # let the other transfers finish or stay in flight
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    fault_proxy.clear()

    expected = sources(session)
    got = downloaded(dest)
    assert "eeg_0/seg_00000.bin" not in got  # the one stuck mid-body
    assert all(body == expected[name] for name, body in got.items())  # the rest: whole

    results = query(Catalog(str(catalog_dir), writable=False), status="raw")
    raw = s3_store(rclone_s3.rw, writable=False)
    download(results, dest, raw=raw, existing="skip")
    assert downloaded(dest) == expected


def test_transient_faults_mid_body_give_identical_files(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, tmp_path: Path, ns: str
) -> None:
    session = write_session(tmp_path / "rig", f"rec_{ns}", LAYOUT)
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    ingest(
        session / "manifest.json",
        raw=s3_store(rclone_s3.rw, supports_create=False),
        catalog=catalog,
    )
    faults = [
        Fault("truncate", method="GET", path_contains="eeg_0/seg_00000.bin", after_bytes=MiB),
        Fault("reset", method="GET", path_contains="eeg_0/seg_00001.bin"),
        Fault("status", method="GET", path_contains="camera_0/seg_00000.bin", status=503),
        Fault("status", method="GET", query_contains="list-type=2", status=500),
        Fault("truncate", method="GET", path_contains="manifest.json", after_bytes=10),
    ]
    fault_proxy.add(*faults)
    raw = s3_store(rclone_s3.rw, url=fault_proxy.url, writable=False)
    paths = download(query(catalog, status="raw"), tmp_path / "out", raw=raw)
    assert [f.fired for f in faults] == [1] * len(faults)
    assert len(paths) == 5
    assert downloaded(tmp_path / "out") == sources(session)
    digests = json.loads((session / "manifest.json").read_text())["files"]
    for entry in digests:
        assert (
            hashlib.sha256((session / entry["rel_path"]).read_bytes()).hexdigest()
            == entry["sha256"]
        )
