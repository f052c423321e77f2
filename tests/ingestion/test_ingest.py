"""Ingest on the local profile and on a real S3 server: upload, resume, register."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ursa_lib import (
    CopiedSessionError,
    IngestProgress,
    InvalidKeyError,
    InvalidValueError,
    LocalProfile,
    ManifestError,
    ObjectNotFoundError,
    SourceChangedError,
    Store,
    augment,
    ingest,
    ingest_from_store,
    open_store,
)
from ursa_lib.catalog import Catalog, IngestionStatus, Modality, Recording
from ursa_lib.testing import MotoS3, RcloneS3, s3_store, write_rig_session


@pytest.fixture
def local(tmp_path: Path) -> tuple[Store, Catalog, Path]:
    profile = LocalProfile(root=tmp_path / "ursa")
    session = write_rig_session(tmp_path / "rig")
    augment(session)
    return open_store(profile, "raw_rw"), Catalog.open(profile, writable=True), session


def copy_session(session: Path, rec_id: str) -> Path:
    """The session folder copied under another name, its manifest saying ``rec_id``."""
    copy = shutil.copytree(session, session.parent / rec_id)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["rec_id"] = rec_id
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_copied_session_is_refused_by_name_before_any_upload(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    before = sorted(i.key for i in raw.list("recordings/"))
    copy = copy_session(session, "rec_renamed")
    for dry_run in (True, False):
        with pytest.raises(CopiedSessionError) as refused:
            ingest(copy / "manifest.json", raw=raw, catalog=catalog, dry_run=dry_run)
        message = str(refused.value)
        assert "'rec_renamed'" in message
        assert "'rec_20261121T101500_rig3'" in message
        assert "Nothing was uploaded" in message
    assert sorted(i.key for i in raw.list("recordings/")) == before
    assert [r.rec_id for r in catalog.list_recordings()] == [first.manifest.rec_id]  # type: ignore[union-attr]


def test_what_ingest_would_find_half_way_is_refused_before_any_upload(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    manifest = session / "manifest.json"
    for dry_run in (True, False):
        with pytest.raises(InvalidValueError, match="participant id 'p 1' may hold only"):
            ingest(manifest, participant_id="p 1", raw=raw, catalog=catalog, dry_run=dry_run)
    with pytest.raises(InvalidValueError, match="whole number of 1 or more, got '3'"):
        ingest(manifest, raw=raw, catalog=catalog, max_concurrent_files="3")  # type: ignore[arg-type]
    # A file whose object key would pass 1024 bytes (five nested 200-character folders).
    deep = session / "eeg_0" / "/".join(["d" * 200] * 5)
    deep.mkdir(parents=True)
    (deep / "seg.bin").write_bytes(b"deep")
    augment(session)
    for dry_run in (True, False):
        with pytest.raises(InvalidKeyError, match="rename or move it in the session"):
            ingest(manifest, raw=raw, catalog=catalog, dry_run=dry_run)
    assert list(raw.list("recordings/")) == []  # no prefix claimed, nothing sent
    assert catalog.list_recordings() == []


def test_a_copy_already_in_the_raw_bucket_is_not_backfilled(
    local: tuple[Store, Catalog, Path], tmp_path: Path
) -> None:
    raw, catalog, session = local
    ingest(session / "manifest.json", raw=raw, catalog=catalog)
    # Uploaded by an ingest that kept another catalog, before this one knew the recording.
    copy = copy_session(session, "rec_renamed")
    ingest(copy / "manifest.json", raw=raw, catalog=Catalog(str(tmp_path / "other"), writable=True))
    with pytest.raises(CopiedSessionError, match=r"delete .*recordings/rec_renamed/ from the raw"):
        ingest_from_store("rec_renamed", raw=raw, catalog=catalog)
    assert [r.rec_id for r in catalog.list_recordings()] == ["rec_20261121T101500_rig3"]
    uris = [m.raw_storage_uri for m in catalog.list_modalities()]
    assert uris
    assert not [u for u in uris if "rec_renamed" in u]


def test_ingest_uploads_then_registers(local: tuple[Store, Catalog, Path]) -> None:
    raw, catalog, session = local
    events: list[IngestProgress] = []
    result = ingest(session / "manifest.json", raw=raw, catalog=catalog, progress=events.append)
    assert not result.paused
    assert (result.files_uploaded, result.files_skipped) == (6, 0)
    assert result.bytes_uploaded == sum(f.stat().st_size for f in session.rglob("seg_*"))
    prefix = "recordings/rec_20261121T101500_rig3"
    assert result.prefix == prefix
    keys = [i.key for i in raw.list(prefix)]
    assert f"{prefix}/manifest.json" in keys
    assert len(keys) == 7
    seg = f"{prefix}/eeg_0/seg_00001.bin"
    data = (session / "eeg_0" / "seg_00001.bin").read_bytes()
    assert raw.head(seg).metadata == {"sha256": hashlib.sha256(data).hexdigest()}
    assert raw.get(seg) == data
    recording = catalog.get_recording(result.recording_hash)
    assert recording == result.recording
    assert recording is not None
    assert recording.participant_ids == ["p001"]
    modalities = {
        m.modality: m for m in catalog.list_modalities({"recording_hash": result.recording_hash})
    }
    assert sorted(modalities) == ["camera", "eeg", "events"]
    assert modalities["eeg"].worker_id == "0"
    assert modalities["eeg"].ingestion_status is IngestionStatus.RAW
    assert modalities["eeg"].raw_storage_uri == f"{raw.base_uri}{prefix}/eeg_0/"
    assert [e.files_done for e in events] == list(range(1, 7))
    assert events[-1].bytes_processed == events[-1].bytes_total


def test_rerun_is_a_no_op_and_resume_sends_only_what_is_missing(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    again = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert (again.files_uploaded, again.files_skipped, again.bytes_uploaded) == (0, 6, 0)
    assert again.recording == first.recording
    raw.delete(f"{first.prefix}/eeg_0/seg_00002.bin")
    raw.delete(f"{first.prefix}/camera_0/seg_00000.bin")
    resumed = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert (resumed.files_uploaded, resumed.files_skipped) == (2, 4)
    forced = ingest(session / "manifest.json", raw=raw, catalog=catalog, overwrite=True)
    assert forced.files_uploaded == 6
    assert catalog.count(Recording) == 1
    assert catalog.count(Modality) == 3


def test_same_rec_id_with_changed_bytes_gets_a_new_row_and_leaves_the_old_alone(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    old = raw.get(f"{first.prefix}/eeg_0/seg_00000.bin")
    (session / "eeg_0" / "seg_00000.bin").write_bytes(b"X" * len(old))  # same size
    augment(session)
    second = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert second.recording_hash != first.recording_hash
    assert second.prefix == f"{first.prefix}~{second.recording_hash[:12]}"
    assert raw.get(f"{first.prefix}/eeg_0/seg_00000.bin") == old
    assert raw.get(f"{second.prefix}/eeg_0/seg_00000.bin") == b"X" * len(old)
    assert catalog.get_recording(first.recording_hash) == first.recording
    assert catalog.count(Recording) == 2


def test_a_file_changed_since_augment_is_not_stored_or_registered(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    prefix = "recordings/rec_20261121T101500_rig3/"
    seg = session / "eeg_0" / "seg_00001.bin"
    seg.write_bytes(b"Z" * seg.stat().st_size)  # same size, other bytes
    with pytest.raises(SourceChangedError, match="seg_00001") as caught:
        ingest(session / "manifest.json", raw=raw, catalog=catalog, max_concurrent_files=1)
    assert catalog.count(Recording) == 0
    # The manifest can never be registered: what it claimed is gone, not left for
    # scrub to report as an uncatalogued session that no backfill can finish.
    assert [i.key for i in raw.list(prefix)] == []
    message = str(caught.value)
    assert "no longer matches the session's manifest (it changed after augment)" in message
    assert f"were removed; run `ursa manifest augment {session}`, then ingest again" in message
    # Augmented again, the session goes to its own prefix, not to an alternate one.
    augment(session)
    again = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert again.prefix == prefix.rstrip("/")
    assert raw.get(prefix + "eeg_0/seg_00001.bin") == seg.read_bytes()


def test_a_session_stored_whole_before_its_file_changed_is_kept(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    stored = ingest(session / "manifest.json", raw=raw, catalog=catalog, register=False)
    objects = {i.key: raw.get(i.key) for i in raw.list(stored.prefix + "/")}
    seg = session / "eeg_0" / "seg_00001.bin"
    seg.write_bytes(b"Z" * seg.stat().st_size)
    with pytest.raises(SourceChangedError, match="so nothing was removed; `ursa backfill"):
        ingest(session / "manifest.json", raw=raw, catalog=catalog, overwrite=True)
    assert {i.key: raw.get(i.key) for i in raw.list(stored.prefix + "/")} == objects


def after_the_upload(monkeypatch: pytest.MonkeyPatch, then: Callable[[Store, str], None]) -> None:
    """Ingest's upload, then ``then(store, key of its first upload)``: what another
    process does to the prefix between the upload and the registration."""
    import ursa_lib.ingestion._ingest as ingest_module

    transfer = ingest_module.transfer_files

    def uploaded(store: Store, uploads: list[Any], **kwargs: Any) -> Any:
        tally = transfer(store, uploads, **kwargs)
        then(store, uploads[0].key)
        return tally

    monkeypatch.setattr(ingest_module, "transfer_files", uploaded)


def test_objects_gone_between_upload_and_registration_register_nothing(
    local: tuple[Store, Catalog, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, catalog, session = local
    # Another ingest of the session met a changed file and removed what it claimed.
    after_the_upload(monkeypatch, lambda store, key: store.delete(key))
    with pytest.raises(ObjectNotFoundError, match="are no longer under") as caught:
        ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert "Nothing was registered" in str(caught.value)
    assert catalog.count(Recording) == 0


def test_a_manifest_replaced_during_the_upload_registers_nothing(
    local: tuple[Store, Catalog, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, catalog, session = local

    def replaced(store: Store, uploaded: str) -> None:
        key = uploaded.rsplit("/", 2)[0] + "/manifest.json"
        other = json.loads(store.get(key))
        store.put(key, json.dumps({**other, "recording_hash": "0" * 64}).encode())

    after_the_upload(monkeypatch, replaced)
    with pytest.raises(ObjectNotFoundError, match="no longer holds this session's manifest"):
        ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert catalog.count(Recording) == 0


def test_a_changed_file_of_an_archived_session_leaves_the_archive_alone(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    stored = {i.key: raw.get(i.key) for i in raw.list(first.prefix + "/")}
    seg = session / "eeg_0" / "seg_00001.bin"
    seg.write_bytes(b"Z" * seg.stat().st_size)
    with pytest.raises(SourceChangedError, match="the archive keeps its verified bytes"):
        ingest(session / "manifest.json", raw=raw, catalog=catalog, overwrite=True)
    assert {i.key: raw.get(i.key) for i in raw.list(first.prefix + "/")} == stored
    assert catalog.get_recording(first.recording_hash) == first.recording


def test_a_participant_or_metadata_edited_after_the_ingest_is_refused_before_any_write(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    stored = {i.key: raw.get(i.key) for i in raw.list(first.prefix + "/")}
    manifest = json.loads((session / "manifest.json").read_text())
    participant = first.recording.participant_ids if first.recording else []
    # The recording hash is over the files alone: the edit leaves it as it was.
    edited = {**manifest, "participant_id": "p999", "metadata": {"site": "b"}}
    (session / "manifest.json").write_text(json.dumps(edited))
    expected = (
        f"session {manifest['rec_id']!r} is catalogued with other values (participant_ids "
        f"{participant!r}, now ['p999']; metadata {manifest.get('metadata', {})!r}, now "
        "{'site': 'b'}); ingest never changes a catalogued recording: put the catalogued "
        "values back in the manifest (CLI: --participant). Nothing was written"
    )
    for dry_run in (False, True):
        with pytest.raises(ManifestError) as caught:
            ingest(session / "manifest.json", raw=raw, catalog=catalog, dry_run=dry_run)
        assert str(caught.value) == expected
    with pytest.raises(ManifestError, match=r"participant_ids \['"):
        ingest_from_store(manifest["rec_id"], "p999", raw=raw, catalog=catalog)
    assert [p.participant_id for p in catalog.list_participants()] == participant
    assert {i.key: raw.get(i.key) for i in raw.list(first.prefix + "/")} == stored
    assert catalog.get_recording(first.recording_hash) == first.recording
    # The catalogued values back: the same ingest is a no-op again.
    (session / "manifest.json").write_text(json.dumps(manifest))
    again = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert (again.files_uploaded, again.recording) == (0, first.recording)


def test_pause_stops_within_a_chunk_and_registers_nothing(tmp_path: Path) -> None:
    profile = LocalProfile(root=tmp_path / "ursa")
    session = tmp_path / "rig" / "rec_big"
    (session / "eeg_0").mkdir(parents=True)
    for i in range(6):
        (session / "eeg_0" / f"seg_{i:05d}.bin").write_bytes(bytes([i]) * (9 * 1024 * 1024))
    (session / "manifest.json").write_text(
        json.dumps({"rec_id": "rec_big", "start_time": 1, "duration": 1.0, "participant_id": "p1"})
    )
    augment(session)
    raw = open_store(profile, "raw_rw")
    catalog = Catalog.open(profile, writable=True)
    polls = 0

    def is_active() -> bool:
        nonlocal polls
        polls += 1
        return polls > 5  # the rig starts recording again after a few chunks

    result = ingest(
        session / "manifest.json",
        raw=raw,
        catalog=catalog,
        is_active=is_active,
        max_concurrent_files=2,
    )
    assert result.paused
    assert result.recording is None
    assert catalog.count(Recording) == 0
    stored = sum(i.size for i in raw.list("recordings/rec_big/eeg_0"))
    assert stored < 6 * 9 * 1024 * 1024
    done = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert not done.paused
    assert done.files_skipped == stored // (9 * 1024 * 1024)


def test_paused_before_start_sends_nothing(local: tuple[Store, Catalog, Path]) -> None:
    raw, catalog, session = local
    result = ingest(session / "manifest.json", raw=raw, catalog=catalog, is_active=lambda: True)
    assert result.paused
    assert list(raw.list("")) == []


def test_progress_callback_errors_are_logged_not_fatal(
    local: tuple[Store, Catalog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    raw, catalog, session = local

    def broken(_: IngestProgress) -> None:
        raise RuntimeError("progress bar crashed")

    with caplog.at_level(logging.ERROR, logger="ursa.ingest"):
        result = ingest(session / "manifest.json", raw=raw, catalog=catalog, progress=broken)
    assert result.recording is not None
    assert "progress callback failed" in caplog.text


def test_multi_camera_rigs_keep_directory_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profile = LocalProfile(root=tmp_path / "ursa")
    session = write_rig_session(tmp_path / "rig")
    (session / "camera_1").mkdir()
    (session / "camera_1" / "seg_00000.bin").write_bytes(b"cam1")
    augment(session)
    with caplog.at_level(logging.WARNING, logger="ursa.ingest"):
        result = ingest(
            session / "manifest.json",
            raw=open_store(profile, "raw_rw"),
            catalog=Catalog.open(profile, writable=True),
        )
    # The whole session keeps its directory names, as the spec says.
    assert sorted(m.modality for m in result.modalities) == [
        "camera_0",
        "camera_1",
        "eeg_0",
        "events_0",
    ]
    assert "collapse to the same modality" in caplog.text


def test_ingest_to_a_real_s3_server(rclone_s3: RcloneS3, tmp_path: Path, ns: str) -> None:
    session = write_rig_session(tmp_path / "rig", name=f"rec_{ns}")
    data = json.loads((session / "manifest.json").read_text())
    data["rec_id"] = f"rec_{ns}"
    (session / "manifest.json").write_text(json.dumps(data))
    augment(session)
    raw = s3_store(rclone_s3.rw)
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    result = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert result.files_uploaded == 6
    again = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    assert (again.files_uploaded, again.files_skipped) == (0, 6)
    assert raw.head(f"rec_{ns}".join(["recordings/", "/eeg_0/seg_00000.bin"])).metadata


def test_backfill_registers_what_is_already_stored(
    local: tuple[Store, Catalog, Path], tmp_path: Path
) -> None:
    raw, catalog, session = local
    uploaded = ingest(
        session / "manifest.json", raw=raw, catalog=Catalog(str(tmp_path / "other"), writable=True)
    )
    result = ingest_from_store("rec_20261121T101500_rig3", raw=raw, catalog=catalog)
    assert result.recording_hash == uploaded.recording_hash
    assert result.files_uploaded == 0
    assert catalog.get_recording(result.recording_hash) is not None
    assert catalog.count(Modality) == 3
    again = ingest_from_store("rec_20261121T101500_rig3", raw=raw, catalog=catalog)
    assert again.recording == result.recording


def test_backfill_refuses_an_incomplete_upload(local: tuple[Store, Catalog, Path]) -> None:
    raw, catalog, session = local
    first = ingest(session / "manifest.json", raw=raw, catalog=Catalog("memory://", writable=True))
    raw.delete(f"{first.prefix}/eeg_0/seg_00001.bin")
    with pytest.raises(ManifestError, match=r"eeg_0/seg_00001\.bin \(missing\)"):
        ingest_from_store("rec_20261121T101500_rig3", raw=raw, catalog=catalog)
    with pytest.raises(ManifestError, match="no manifest at"):
        ingest_from_store("rec_never", raw=raw, catalog=catalog)
    assert catalog.count(Recording) == 0


def test_legacy_backfill_uses_object_metadata_and_names_what_lacks_it(
    local: tuple[Store, Catalog, Path],
) -> None:
    raw, catalog, _ = local
    prefix = "recordings/rec_legacy"
    rig_part = {"rec_id": "rec_legacy", "start_time": 5, "duration": 2.0, "participant_id": "p7"}
    raw.put(f"{prefix}/manifest.json", json.dumps(rig_part).encode())
    for name, body in (("eeg_0/a.bin", b"aaa"), ("eeg_0/b.bin", b"bb")):
        raw.put(f"{prefix}/{name}", body, metadata={"sha256": hashlib.sha256(body).hexdigest()})
    raw.put(f"{prefix}/audio_0/c.bin", b"c")  # no sha256 metadata
    with pytest.raises(
        ManifestError, match=r"no sha256 metadata: recordings/rec_legacy/audio_0/c\.bin"
    ):
        ingest_from_store("rec_legacy", raw=raw, catalog=catalog)
    raw.delete(f"{prefix}/audio_0/c.bin")
    result = ingest_from_store("rec_legacy", raw=raw, catalog=catalog)
    assert result.recording is not None
    assert result.recording.participant_ids == ["p7"]
    assert [m.modality for m in result.modalities] == ["eeg"]


def test_cli_ingest_and_backfill_on_the_local_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ursa_lib.cli import app

    session = write_rig_session(tmp_path / "rig")
    root = tmp_path / "ursa"
    runner = CliRunner()
    result = runner.invoke(app, ["manifest", "augment", str(session)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["ingest", str(session), "--participant", "p9", "--root", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "6 uploaded, 0 skipped" in result.output
    result = runner.invoke(
        app, ["ingest", str(session), "--participant", "p9", "--root", str(root)]
    )
    assert "0 uploaded, 6 skipped" in result.output
    backfill = ["backfill", "rec_20261121T101500_rig3", "--root", str(root)]
    result = runner.invoke(app, [*backfill, "--participant", "p9"])
    assert result.exit_code == 0, result.output
    assert "registered" in result.output
    # Without --participant the manifest's p001 would contradict the stored row.
    result = runner.invoke(app, backfill)
    assert "participant_ids" in str(result.exception)


def test_cli_against_an_s3_profile(moto_s3: MotoS3, tmp_path: Path, ns: str) -> None:
    """The commands as a user runs them, configured only by environment variables."""
    session = write_rig_session(tmp_path / "rig", name=f"rec_{ns}")
    manifest = json.loads((session / "manifest.json").read_text())
    (session / "manifest.json").write_text(json.dumps({**manifest, "rec_id": f"rec_{ns}"}))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "COLUMNS": "200",  # rich wraps output at the terminal's width
        "URSA_PROFILE": "lab",
        "URSA_PROFILES__LAB__ENDPOINT": moto_s3.rw.url,
        "URSA_PROFILES__LAB__REGION": "us-east-1",
        "URSA_PROFILES__LAB__RAW_BUCKET": "ursa-raw",
        "URSA_PROFILES__LAB__ASSETS_BUCKET": "ursa-assets",
        "URSA_PROFILES__LAB__CATALOG_URI": f"s3://ursa-assets/{ns}/catalog",
    }
    for role in ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW"):
        env[f"URSA_LAB_{role}_ACCESS_KEY_ID"] = moto_s3.rw.access_key_id
        env[f"URSA_LAB_{role}_SECRET_ACCESS_KEY"] = moto_s3.rw.secret_access_key

    def ursa(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ursa_lib.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert moto_s3.rw.secret_access_key not in done.stdout + done.stderr
        return done.stdout

    assert "6 files" in ursa("manifest", "augment", str(session))
    assert "6 uploaded, 0 skipped" in ursa("ingest", str(session), "--participant", "p9")
    assert "0 uploaded, 6 skipped" in ursa("ingest", str(session), "--participant", "p9")
    assert "3 modalities, 6 files" in ursa("backfill", f"rec_{ns}", "--participant", "p9")
    stored = s3_store(moto_s3.rw).list(f"recordings/rec_{ns}")
    assert len(list(stored)) == 7
