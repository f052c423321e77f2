"""Audited delete: readers stop seeing the recording first, then its objects and
rows go, the audit row stays, and a delete killed at any point completes when
run again — locally and on a real S3 server."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ursa_lib import (
    ConfigError,
    DataInterface,
    DeletedRecordingError,
    LocalProfile,
    NothingMatchedError,
    S3Profile,
    WritesNotEnabledError,
    augment,
    landing_deleted,
    scan_landing,
    uncatalogued_landing,
)
from ursa_lib.catalog import Deletion, DeletionStatus, Event, Modality, PipelineAsset
from ursa_lib.testing import (
    MotoS3,
    RecordingSpec,
    one_error,
    run_cli,
    write_recording,
    write_session,
)

REPO = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000_000_000_000
ROLES = ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW")


@dataclass
class Lab:
    ursa: DataInterface
    processed: str
    """p1's recording, its eeg processed, with an event row."""
    other: str
    """p2's recording, raw only."""

    def keys(self, recording_hash: str) -> list[str]:
        rec = {"rec_gone": self.processed, "rec_kept": self.other}
        rec_id = next(k for k, v in rec.items() if v == recording_hash)
        raw = [o.key for o in self.ursa.store("raw_ro").list(f"recordings/{rec_id}/")]
        assets = self.ursa.store("assets_ro").list(f"processed/{recording_hash}/")
        return raw + [o.key for o in assets]

    def rows(self, recording_hash: str) -> int:
        catalog, where = self.ursa.catalog(), {"recording_hash": recording_hash}
        return sum(catalog.count(m, where) for m in (Modality, Event, PipelineAsset)) + (
            catalog.get_recording(recording_hash) is not None
        )


def build(profile: LocalProfile | S3Profile, rig: Path) -> Lab:
    ursa = DataInterface(profile).enable_writes()
    spec = RecordingSpec(
        rec_id="rec_gone", start_time_ns=T0, segments=2, segment_s=2, audio=False, video=False
    )
    write_recording(rig, spec)
    processed = ursa.ingest(rig / "rec_gone").recording_hash
    ursa.process(processed, modalities=["eeg"])
    ursa.catalog(writable=True).add_event(
        Event(event_id="ev-1", recording_hash=processed, event_time=1.0, event_type="prompt")
    )
    other = ursa.ingest(write_session(rig, "rec_kept", {"eeg_0": [500]}), "p2").recording_hash
    return Lab(ursa, processed, other)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return build(LocalProfile(root=tmp_path / "ursa"), tmp_path / "rig")


def test_a_dry_run_plans_exactly_and_changes_nothing(lab: Lab) -> None:
    keys, rows = lab.keys(lab.processed), lab.rows(lab.processed)
    plan = lab.ursa.delete(recording="rec_gone", reason="consent withdrawn", dry_run=True)
    (one,) = plan.deletions
    assert (one.recording_hash, one.deletion_id, plan.dry_run) == (lab.processed, None, True)
    assert one.objects == len(keys) > 4  # raw files, manifest and processed objects
    assert one.rows == rows
    assert lab.keys(lab.processed) == keys
    assert lab.ursa.catalog().rows(Deletion) == []


def test_a_delete_removes_objects_and_rows_and_keeps_the_audit(lab: Lab) -> None:
    keys = lab.keys(lab.processed)
    done = lab.ursa.delete(recording=lab.processed, reason="consent withdrawn")
    assert done.objects == len(keys)
    assert lab.keys(lab.processed) == []
    assert lab.rows(lab.processed) == 0
    assert [r.rec_id for r in lab.ursa.query(status="all")] == ["rec_kept"]
    (audit,) = lab.ursa.catalog().rows(Deletion)
    assert audit.status is DeletionStatus.COMPLETED
    assert (audit.reason, audit.profile, audit.rec_id) == ("consent withdrawn", "local", "rec_gone")
    assert (audit.objects, audit.participant_ids) == (len(keys), ["p001"])
    assert audit.completed_at is not None
    assert audit.completed_at >= audit.requested_at
    assert lab.keys(lab.other) != []  # the other recording is untouched


def test_a_participants_recordings_and_row_go(lab: Lab) -> None:
    done = lab.ursa.delete(participant="p2", reason="consent withdrawn")
    assert [d.rec_id for d in done.deletions] == ["rec_kept"]
    assert lab.ursa.catalog().get_participant("p2") is None
    assert lab.keys(lab.other) == []
    assert [r.rec_id for r in lab.ursa.query(status="all")] == ["rec_gone"]


def test_a_read_only_interface_cannot_delete_and_a_reason_is_required(lab: Lab) -> None:
    reader = DataInterface(lab.ursa.profile)
    with pytest.raises(WritesNotEnabledError, match="delete"):
        reader.delete(recording="rec_gone", reason="consent withdrawn")
    with pytest.raises(ValueError, match="reason"):
        lab.ursa.delete(recording="rec_gone", reason=" ")
    assert lab.rows(lab.processed) > 0


def test_a_deleted_recording_is_not_ingested_again_unless_allowed(lab: Lab, tmp_path: Path) -> None:
    rig = tmp_path / "rig"
    lab.ursa.delete(recording="rec_gone", reason="consent withdrawn")
    # Still on the rig: ingest, its dry run, a sweep's scan and the CLI all refuse it.
    with pytest.raises(DeletedRecordingError, match=r"rec_gone.*was deleted on .* UTC"):
        lab.ursa.ingest(rig / "rec_gone")
    with pytest.raises(DeletedRecordingError, match="allow_deleted=True"):
        lab.ursa.ingest(rig / "rec_gone", dry_run=True)
    assert lab.keys(lab.processed) == []
    assert lab.rows(lab.processed) == 0
    sessions, _ = scan_landing([rig])
    assert sorted(s.rec_id for s in sessions) == ["rec_gone", "rec_kept"]
    catalog = lab.ursa.catalog()
    assert uncatalogued_landing(sessions, catalog) == []
    ((gone, audit),) = landing_deleted(sessions, catalog)
    assert (gone.rec_id, audit.reason) == ("rec_gone", "consent withdrawn")
    root = str(lab.ursa.profile.root)  # type: ignore[union-attr]
    refused = run_cli("ingest", str(rig / "rec_gone"), "--root", root)
    one_error(refused, 1, "was deleted on", "--allow-deleted")
    # Uploaded again on purpose, it is not registered by a backfill unless allowed too.
    lab.ursa.ingest(rig / "rec_gone", register=False, allow_deleted=True)
    with pytest.raises(DeletedRecordingError, match="Nothing was uploaded or registered"):
        lab.ursa.backfill("rec_gone")
    assert lab.rows(lab.processed) == 0
    lab.ursa.backfill("rec_gone", allow_deleted=True)
    assert sorted(r.rec_id for r in lab.ursa.query(status="all")) == ["rec_gone", "rec_kept"]
    # Back on purpose, it is live: ingesting it again is the usual no-op, not a refusal.
    again = lab.ursa.ingest(rig / "rec_gone")
    assert (again.files_uploaded, again.recording_hash) == (0, lab.processed)
    assert lab.ursa.ingest(rig / "rec_gone", dry_run=True).recording_hash == lab.processed
    sessions, _ = scan_landing([rig])
    assert landing_deleted(sessions, lab.ursa.catalog()) == []


def test_a_session_with_no_stream_folder_is_deleted_whole(lab: Lab, tmp_path: Path) -> None:
    # Files at the session's top level make no modality row: the raw prefix is found
    # from the recording itself, and goes, raw first, its manifest first of all.
    flat = tmp_path / "rig" / "rec_flat"
    flat.mkdir(parents=True)
    (flat / "a.bin").write_bytes(b"data1")
    (flat / "b.bin").write_bytes(b"data2")
    manifest = {"rec_id": "rec_flat", "start_time": T0, "duration": 1, "participant_id": "p3"}
    (flat / "manifest.json").write_text(json.dumps(manifest))
    augment(flat)
    h = lab.ursa.ingest(flat).recording_hash
    raw = lab.ursa.store("raw_rw")
    assert sorted(o.key for o in raw.list("recordings/rec_flat/")) == [
        "recordings/rec_flat/a.bin", "recordings/rec_flat/b.bin",
        "recordings/rec_flat/manifest.json",
    ]  # fmt: skip
    gone: list[str] = []
    delete = raw.delete
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(raw), "delete", lambda self, key: (gone.append(key), delete(key))[1])
        (one,) = lab.ursa.delete(recording="rec_flat", reason="consent withdrawn").deletions
    assert one.objects == 3
    assert list(raw.list("recordings/rec_flat/")) == []
    assert gone[0] == "recordings/rec_flat/manifest.json"
    assert one.prefixes[0].endswith("recordings/rec_flat/")  # raw before processed
    assert lab.ursa.catalog().get_recording(h) is None
    assert lab.keys(lab.other) != []


def test_an_unknown_participant_or_recording_deletes_nothing_and_says_so(lab: Lab) -> None:
    with pytest.raises(NothingMatchedError, match="no participant 'p0O1' in the catalog"):
        lab.ursa.delete(participant="p0O1", reason="consent withdrawn")
    with pytest.raises(NothingMatchedError, match="no recording 'rec_nope' in the catalog"):
        lab.ursa.delete(recording="rec_nope", reason="consent withdrawn")
    assert lab.ursa.catalog().rows(Deletion) == []
    assert lab.rows(lab.processed) > 0


def test_a_recording_is_named_by_the_hash_prefix_that_query_shows(lab: Lab) -> None:
    plan = lab.ursa.delete(recording=lab.processed[:12], reason="test", dry_run=True)
    assert [d.recording_hash for d in plan.deletions] == [lab.processed]
    done = lab.ursa.delete(recording=lab.processed[:12].upper(), reason="test")
    assert [d.recording_hash for d in done.deletions] == [lab.processed]
    assert lab.rows(lab.processed) == 0
    assert lab.rows(lab.other) > 0


def test_a_rec_id_naming_two_recordings_needs_the_hash(lab: Lab, tmp_path: Path) -> None:
    again = write_session(tmp_path / "rig2", "rec_kept", {"eeg_0": [400]})  # same rec_id
    second = lab.ursa.ingest(again, "p2").recording_hash
    with pytest.raises(ValueError, match="names 2 recordings"):
        lab.ursa.delete(recording="rec_kept", reason="test", dry_run=True)
    (one,) = lab.ursa.delete(recording=second, reason="test").deletions
    assert any(p.endswith(f"recordings/rec_kept~{second[:12]}/") for p in one.prefixes)
    assert lab.keys(lab.other) != []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("step", "count"), [("journaled", 1), ("hidden", 1), ("object", 3), ("rows", 1)]
)
def test_a_delete_killed_at_any_step_completes_when_run_again(
    lab: Lab, step: str, count: int
) -> None:
    keys = lab.keys(lab.processed)
    killed = kill_during_delete(lab.ursa.profile, "rec_gone", step, count)
    assert killed.returncode == -9, killed.stderr
    (audit,) = lab.ursa.catalog().rows(Deletion)
    assert audit.status is DeletionStatus.STARTED
    if step != "journaled":  # from the hiding step on, no reader sees the recording
        assert [r.rec_id for r in lab.ursa.query(status="all")] == ["rec_kept"]
    assert "unfinished_delete" in lab.ursa.scrub().by_kind()
    done = lab.ursa.delete(recording="rec_gone", reason="consent withdrawn")
    assert [d.resumed for d in done.deletions] == [True]
    assert (lab.keys(lab.processed), lab.rows(lab.processed)) == ([], 0)
    (audit,) = lab.ursa.catalog().rows(Deletion)
    assert (audit.status, audit.objects) == (DeletionStatus.COMPLETED, len(keys))
    assert lab.ursa.scrub().clean  # nothing of the recording is left behind


def kill_during_delete(
    profile: LocalProfile | S3Profile, recording: str, step: str, count: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tests.delete_child import main; main(sys.argv[1:])",
            profile.model_dump_json(),
            recording,
            step,
            str(count),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- on a real S3 server --------------------------------------------------------------


@pytest.fixture
def s3_profile(moto_s3: MotoS3, ns: str, monkeypatch: pytest.MonkeyPatch) -> S3Profile:
    for role in ROLES:
        monkeypatch.setenv(f"URSA_LAB_{role}_ACCESS_KEY_ID", moto_s3.rw.access_key_id)
        monkeypatch.setenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY", moto_s3.rw.secret_access_key)
    client = moto_s3.rw.boto()
    for bucket in (f"{ns}-raw", f"{ns}-assets"):
        client.create_bucket(Bucket=bucket)
    return S3Profile(
        name="lab",
        endpoint=moto_s3.rw.url,
        region="us-east-1",
        raw_bucket=f"{ns}-raw",
        assets_bucket=f"{ns}-assets",
        catalog_uri=f"s3://{ns}-assets/catalog",
    )


@pytest.mark.slow
def test_on_s3_a_killed_delete_completes_and_read_only_keys_cannot_delete(
    s3_profile: S3Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = build(s3_profile, tmp_path / "rig")
    killed = kill_during_delete(s3_profile, "rec_gone", "object", 2)
    assert killed.returncode == -9, killed.stderr
    assert [r.rec_id for r in lab.ursa.query(status="all")] == ["rec_kept"]
    lab.ursa.delete(recording="rec_gone", reason="consent withdrawn")
    assert (lab.keys(lab.processed), lab.rows(lab.processed)) == ([], 0)
    (audit,) = DataInterface(s3_profile).catalog().rows(Deletion)
    assert audit.status is DeletionStatus.COMPLETED

    for role in ("RAW_RW", "ASSETS_RW"):  # a profile holding only read-only keys
        monkeypatch.delenv(f"URSA_LAB_{role}_ACCESS_KEY_ID")
        monkeypatch.delenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY")
    with pytest.raises(ConfigError, match="URSA_LAB_RAW_RW_ACCESS_KEY_ID"):
        DataInterface(s3_profile).enable_writes().delete(recording="rec_kept", reason="test")
    assert lab.keys(lab.other) != []
