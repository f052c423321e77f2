"""Rig cleanup deletes a session only once the archive provably holds all of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ursa_lib import LocalProfile, augment, ingest, open_store
from ursa_lib.catalog import Catalog
from ursa_lib.lifecycle import RigCleanRefused, RigCleanResult, clean_session

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
