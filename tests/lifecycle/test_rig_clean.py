"""Rig cleanup deletes a session only once the archive provably holds all of it,
locally and on a real S3 server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ursa_lib import (
    DataInterface,
    LocalProfile,
    S3Credentials,
    S3Profile,
    augment,
    ingest,
    open_store,
)
from ursa_lib.catalog import Catalog
from ursa_lib.lifecycle import RigCleanRefused, RigCleanResult, clean_session
from ursa_lib.testing import MotoS3

REC = "rec_20261121T101500_rig3"


def rig_session(root: Path) -> Path:
    session = root / REC
    for worker, count in (("eeg_0", 3), ("events_0", 1)):
        (session / worker).mkdir(parents=True)
        for i in range(count):
            (session / worker / f"seg_{i:05d}.bin").write_bytes(f"{worker}-{i}".encode() * 100)
    rig = {"rec_id": REC, "start_time": 1, "duration": 1.0, "participant_id": "p001"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    return session


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, LocalProfile]:
    profile = LocalProfile(root=tmp_path / "ursa")
    session = rig_session(tmp_path / "rig")
    raw = open_store(profile, "raw_rw")
    ingest(session / "manifest.json", raw=raw, catalog=Catalog.open(profile, writable=True))
    return session, profile


def clean(session: Path, profile: LocalProfile, *, dry_run: bool = False) -> RigCleanResult:
    return clean_session(
        session,
        raw=open_store(profile, "raw_ro"),
        catalog=Catalog.open(profile),
        dry_run=dry_run,
    )


def test_a_dry_run_checks_everything_and_deletes_nothing(
    stored: tuple[Path, LocalProfile],
) -> None:
    session, profile = stored
    before = sorted(p for p in session.rglob("*"))
    result = clean(session, profile, dry_run=True)
    assert (result.files, result.dry_run, result.deleted) == (4, True, False)
    assert result.raw_prefix.endswith(f"recordings/{REC}/")
    assert sorted(p for p in session.rglob("*")) == before


def test_a_verified_session_is_deleted_from_the_rig(stored: tuple[Path, LocalProfile]) -> None:
    session, profile = stored
    result = clean(session, profile)
    assert result.deleted
    assert not session.exists()
    raw = open_store(profile, "raw_ro")
    assert len(list(raw.list(f"recordings/{REC}"))) == 5  # the archive is untouched


def test_a_missing_object_is_named_and_nothing_is_deleted(
    stored: tuple[Path, LocalProfile],
) -> None:
    session, profile = stored
    open_store(profile, "raw_rw").delete(f"recordings/{REC}/eeg_0/seg_00001.bin")
    with pytest.raises(RigCleanRefused, match=r"eeg_0/seg_00001\.bin \(missing\)"):
        clean(session, profile)
    assert (session / "eeg_0" / "seg_00001.bin").exists()


def test_differing_sha256_metadata_is_refused(stored: tuple[Path, LocalProfile]) -> None:
    session, profile = stored
    raw = open_store(profile, "raw_rw")
    key = f"recordings/{REC}/events_0/seg_00000.bin"
    raw.put(key, raw.get(key), metadata={"sha256": "0" * 64})
    with pytest.raises(RigCleanRefused, match=r"events_0/seg_00000\.bin \(stored sha256"):
        clean(session, profile)
    assert (session / "events_0" / "seg_00000.bin").exists()


def test_stored_bytes_that_rotted_keep_the_rigs_copy(stored: tuple[Path, LocalProfile]) -> None:
    # Same size, sha256 metadata intact, bytes flipped: only reading them back tells.
    session, profile = stored
    raw = open_store(profile, "raw_rw")
    key = f"recordings/{REC}/eeg_0/seg_00002.bin"
    good = raw.get(key)
    metadata = raw.head(key).metadata
    raw.put(key, bytes([good[0] ^ 0xFF]) + good[1:], metadata=metadata)
    with pytest.raises(RigCleanRefused, match=r"eeg_0/seg_00002\.bin \(the stored bytes no longer"):
        clean(session, profile)
    assert (session / "eeg_0" / "seg_00002.bin").read_bytes() == good


def test_a_rig_file_changed_at_its_size_after_augment_is_kept(
    stored: tuple[Path, LocalProfile],
) -> None:
    # The archive holds what augment hashed; the rig's copy is now something else.
    session, profile = stored
    seg = session / "eeg_0" / "seg_00001.bin"
    changed = b"Z" * seg.stat().st_size
    seg.write_bytes(changed)
    with pytest.raises(RigCleanRefused, match=r"the rig's copy of eeg_0/seg_00001\.bin changed"):
        clean(session, profile, dry_run=True)
    with pytest.raises(RigCleanRefused):
        clean(session, profile)
    assert seg.read_bytes() == changed
    assert (session / "manifest.json").exists()


def test_a_recording_rig_or_an_unregistered_session_is_refused(tmp_path: Path) -> None:
    profile = LocalProfile(root=tmp_path / "ursa")
    session = rig_session(tmp_path / "rig")
    raw = open_store(profile, "raw_rw")
    ingest(
        session / "manifest.json",
        raw=raw,
        catalog=Catalog.open(profile, writable=True),
        register=False,
    )
    with pytest.raises(RigCleanRefused, match="the catalog has no recording row"):
        clean(session, profile)
    (session / ".recording").touch()
    with pytest.raises(RigCleanRefused, match="is being recorded"):
        clean(session, profile)
    assert (session / "manifest.json").exists()


def test_on_s3_a_missing_object_or_a_differing_sha256_is_refused(
    moto_s3: MotoS3, ns: str, tmp_path: Path
) -> None:
    client = moto_s3.rw.boto()
    client.create_bucket(Bucket=f"{ns}-raw")
    client.create_bucket(Bucket=f"{ns}-assets")
    profile = S3Profile(
        name="lab",
        endpoint=moto_s3.rw.url,
        region="us-east-1",
        raw_bucket=f"{ns}-raw",
        assets_bucket=f"{ns}-assets",
        catalog_uri=f"s3://{ns}-assets/catalog",
    )
    keys = S3Credentials(
        access_key_id=moto_s3.rw.access_key_id, secret_access_key=moto_s3.rw.secret_access_key
    )
    ursa = DataInterface(
        profile, credentials={r: keys for r in ("raw_ro", "raw_rw", "assets_ro", "assets_rw")}
    ).enable_writes()
    session = rig_session(tmp_path / "rig")
    ursa.ingest(session)
    raw = ursa.store("raw_rw")
    missing = f"recordings/{REC}/eeg_0/seg_00002.bin"
    body = raw.get(missing)
    raw.delete(missing)
    with pytest.raises(RigCleanRefused, match=r"eeg_0/seg_00002\.bin \(missing\)"):
        ursa.clean_rig(session)
    raw.put(missing, body, metadata={"sha256": "f" * 64})
    with pytest.raises(RigCleanRefused, match=r"eeg_0/seg_00002\.bin \(stored sha256"):
        ursa.clean_rig(session)
    assert (session / "eeg_0" / "seg_00002.bin").exists()
    ursa.ingest(session, overwrite=True)
    assert ursa.clean_rig(session).deleted
    assert not session.exists()
