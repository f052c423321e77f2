"""A stored session checked against its manifest and the catalog, and the raw
bucket's sessions the catalog lacks: real local store, real catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ursa_lib import (
    LocalProfile,
    ManifestError,
    Store,
    augment,
    ingest,
    landing_copies,
    load_manifest,
    open_store,
    scan_landing,
    uncatalogued_landing,
    uncatalogued_sessions,
    verify_session,
)
from ursa_lib._layout import MANIFEST_NAME, RECORDINGS_ROOT, SessionPrefix
from ursa_lib.catalog import Catalog
from ursa_lib.ingestion import load_stored_manifest
from ursa_lib.lifecycle import SizeMismatch


def make_session(root: Path, rec_id: str, files: dict[str, bytes]) -> Path:
    session = root / rec_id
    for rel, body in files.items():
        (session / rel).parent.mkdir(parents=True, exist_ok=True)
        (session / rel).write_bytes(body)
    rig = {"rec_id": rec_id, "start_time": 1, "duration": 1.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    return session


FILES = {"eeg_0/a.bin": b"a" * 10, "eeg_0/b.bin": b"b" * 20, "audio_0/c.wav": b"c" * 5}


@pytest.fixture
def profile(tmp_path: Path) -> LocalProfile:
    return LocalProfile(root=tmp_path / "ursa")


@pytest.fixture
def raw(profile: LocalProfile) -> Store:
    return open_store(profile, "raw_rw")


def upload(
    tmp_path: Path,
    raw: Store,
    catalog: Catalog,
    rec_id: str,
    register: bool = False,
    files: dict[str, bytes] = FILES,
) -> SessionPrefix:
    session = make_session(tmp_path / "rig", rec_id, files)
    result = ingest(session / "manifest.json", raw=raw, catalog=catalog, register=register)
    return SessionPrefix.parse(result.prefix)


def test_a_complete_session_verifies(tmp_path: Path, raw: Store, profile: LocalProfile) -> None:
    catalog = Catalog.open(profile, writable=True)
    prefix = upload(tmp_path, raw, catalog, "rec_ok", register=True)
    report = verify_session(raw, prefix, load_stored_manifest(raw, prefix), catalog=catalog)
    assert report.objects_match
    assert report.ok
    assert (report.files_expected, report.files_stored) == (3, 3)
    assert report.bytes_expected == report.bytes_stored == 35
    assert report.rows is not None
    assert report.rows.modalities_expected == report.rows.modalities_found == ("audio", "eeg")
    assert report.rows.complete


def test_missing_resized_and_extra_objects_are_reported(
    tmp_path: Path, raw: Store, profile: LocalProfile
) -> None:
    prefix = upload(tmp_path, raw, Catalog.open(profile, writable=True), "rec_bad")
    manifest = load_stored_manifest(raw, prefix)
    raw.delete(prefix.file_key("eeg_0/a.bin"))
    raw.put(prefix.file_key("eeg_0/b.bin"), b"short")
    raw.put(prefix.file_key("eeg_0/stray.bin"), b"?")
    # A neighbour whose name starts with this rec_id is not part of it.
    raw.put(SessionPrefix("rec_bad2").file_key("x.bin"), b"x")
    report = verify_session(raw, prefix, manifest)
    assert report.missing == ("eeg_0/a.bin",)
    assert report.wrong_size == (SizeMismatch(rel_path="eeg_0/b.bin", expected=20, stored=5),)
    assert report.extra == ("eeg_0/stray.bin",)
    assert (report.files_stored, report.bytes_stored) == (3, 11)
    assert report.rows is None
    assert not report.objects_match
    assert not report.ok


def test_rows_report_names_what_the_catalog_lacks(
    tmp_path: Path, raw: Store, profile: LocalProfile
) -> None:
    catalog = Catalog.open(profile, writable=True)
    prefix = upload(tmp_path, raw, catalog, "rec_rows")  # bytes only, no rows
    report = verify_session(raw, prefix, load_stored_manifest(raw, prefix), catalog=catalog)
    assert report.objects_match
    assert report.rows is not None
    assert not report.rows.recording_row
    assert report.rows.missing_modalities == ("audio", "eeg")
    assert not report.rows.complete
    assert not report.ok


def test_a_manifest_without_files_cannot_be_verified(tmp_path: Path, raw: Store) -> None:
    session = make_session(tmp_path, "rec_plain", FILES)
    manifest = load_manifest(session / "manifest.json", session)
    bare = manifest.model_copy(update={"files": None, "recording_hash": None})
    with pytest.raises(ManifestError, match="not augmented"):
        verify_session(raw, SessionPrefix("rec_plain"), bare)


def test_uncatalogued_sessions_are_those_without_a_recording_row(
    tmp_path: Path, raw: Store, profile: LocalProfile
) -> None:
    catalog = Catalog.open(profile, writable=True)
    assert uncatalogued_sessions(raw, catalog) == []
    upload(tmp_path, raw, catalog, "rec_known", register=True)
    orphan = upload(tmp_path, raw, catalog, "rec_orphan", files={"eeg_0/a.bin": b"orphan"})
    # A second session under a catalogued rec_id lands at its alternate prefix.
    other = make_session(tmp_path / "rig2", "rec_known", {"eeg_0/a.bin": b"other"})
    alternate = SessionPrefix.parse(
        ingest(other / "manifest.json", raw=raw, catalog=catalog, register=False).prefix
    )
    assert alternate.hash12 is not None
    # Neither a session's manifest nor a session prefix: not sessions.
    raw.put(SessionPrefix("rec_loose").file_key("eeg_0/" + MANIFEST_NAME), b"{}")
    raw.put(f"{RECORDINGS_ROOT}odd~nothex/{MANIFEST_NAME}", b"{}")
    assert uncatalogued_sessions(raw, catalog) == [alternate, orphan]  # in key order


def test_uncatalogued_landing_sessions_are_those_without_a_recording_row(
    tmp_path: Path, raw: Store, profile: LocalProfile
) -> None:
    catalog = Catalog.open(profile, writable=True)
    landing = tmp_path / "landing"
    done = make_session(landing, "rec_done", FILES)
    make_session(landing, "rec_new", {"eeg_0/a.bin": b"new"})
    ingest(done / MANIFEST_NAME, raw=raw, catalog=catalog)
    sessions, _ = scan_landing([landing])
    assert sorted(s.rec_id for s in sessions) == ["rec_done", "rec_new"]
    assert [s.rec_id for s in uncatalogued_landing(sessions, catalog)] == ["rec_new"]
    assert uncatalogued_landing([], catalog) == []


def test_a_landing_session_counts_as_ingested_only_with_its_rec_id_and_hash_registered(
    tmp_path: Path, raw: Store, profile: LocalProfile
) -> None:
    catalog = Catalog.open(profile, writable=True)
    landing = tmp_path / "landing"
    done = make_session(landing, "rec_done", FILES)
    ingest(done / MANIFEST_NAME, raw=raw, catalog=catalog)
    # Stopped part-way: every object stored, no recording row yet.
    half = make_session(landing, "rec_half", {"eeg_0/a.bin": b"half"})
    ingest(half / MANIFEST_NAME, raw=raw, catalog=catalog, register=False)
    make_session(landing, "rec_copy", FILES)  # rec_done's bytes under another name
    sessions, _ = scan_landing([landing])
    todo = uncatalogued_landing(sessions, catalog)
    assert sorted(s.rec_id for s in todo) == ["rec_copy", "rec_half"]
    # The copy is named with the recording whose files it holds; the half-done one is not a copy.
    assert [(s.rec_id, rec_id) for s, rec_id in landing_copies(todo, catalog)] == [
        ("rec_copy", "rec_done")
    ]
    assert landing_copies([], catalog) == []
