"""Scrub: every planted fault is found, nothing is ever deleted, and repair heals
what it claims — on a local profile and on a real S3 server."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ursa_lib import DataInterface, LocalProfile, ObjectChangedError, S3Profile
from ursa_lib.catalog import IngestionStatus, Recording
from ursa_lib.lifecycle import ScrubReport, _scrub
from ursa_lib.processing import ConverterRegistry, process_recording
from ursa_lib.processing._timeseries import EdfConverter
from ursa_lib.store import Store
from ursa_lib.testing import MotoS3, RecordingSpec, run_cli, write_recording, write_session

T0 = 1_790_000_000_000_000_000
DEAD_LEASE = {"processing_lease": {"owner": "elsewhere:1", "since_ns": 1}}
ROLES = ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW")


@dataclass
class Archive:
    ursa: DataInterface
    rig: Path
    hash: str
    """The recording whose eeg is processed; its events stay raw."""
    prefix: str
    """Its session prefix in the raw bucket (``recordings/<rec_id>``)."""

    @property
    def raw(self) -> Store:
        return self.ursa.store("raw_rw")

    @property
    def assets(self) -> Store:
        return self.ursa.store("assets_rw")

    def eeg_asset(self) -> str:
        row = self.ursa.catalog().get_modality(self.hash, "eeg")
        assert row is not None
        assert row.storage_uri is not None
        return row.storage_uri[len(self.assets.base_uri) :].rstrip("/")

    def everything(self) -> dict[str, int]:
        return {
            **{o.key: o.size for o in self.raw.list("")},
            **{"assets:" + o.key: o.size for o in self.assets.list("processed/")},
        }


def build(profile: LocalProfile | S3Profile, rig: Path, rec_id: str) -> Archive:
    ursa = DataInterface(profile).enable_writes()
    spec = RecordingSpec(
        rec_id=rec_id, start_time_ns=T0, segments=2, segment_s=2, audio=False, video=False
    )
    write_recording(rig, spec)
    result = ursa.ingest(rig / rec_id)
    ursa.process(result.recording_hash, modalities=["eeg"])
    return Archive(ursa, rig, result.recording_hash, result.prefix)


def found(report: ScrubReport) -> set[tuple[str, str]]:
    """(kind, the uri's last two path parts) of each finding."""
    return {(f.kind, "/".join(f.uri.rstrip("/").split("/")[-2:])) for f in report.findings}


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return build(LocalProfile(root=tmp_path / "ursa"), tmp_path / "rig", "rec_scrub")


def test_a_true_archive_scrubs_clean_with_every_object_rehashed(archive: Archive) -> None:
    report = archive.ursa.scrub(sample=1.0)
    assert report.clean, report.findings
    assert (report.sessions, report.raw_objects) == (1, 4)
    assert report.asset_objects == 3
    # Every raw file but the manifest, and every object of the processed asset.
    assert report.sampled_objects == 3 + 3


def test_a_missing_raw_object_and_a_wrong_size_are_found(archive: Archive) -> None:
    archive.raw.delete(f"{archive.prefix}/eeg_0/seg_00000.edf")
    key = f"{archive.prefix}/events_0/events.jsonl"
    archive.raw.put(key, archive.raw.get(key) + b"\n")
    assert found(archive.ursa.scrub()) == {
        ("missing_object", "eeg_0/seg_00000.edf"),
        ("wrong_size", "events_0/events.jsonl"),
    }


def test_objects_no_row_accounts_for_are_found(archive: Archive) -> None:
    archive.raw.put(f"{archive.prefix}/eeg_0/stray.bin", b"left behind")
    archive.raw.put("recordings/loose.bin", b"not in a session")
    old = archive.eeg_asset().replace(f"edf-{EdfConverter.version}/", "edf-0/")
    archive.assets.put(f"{old}/zarr.json", b"{}")
    report = archive.ursa.scrub()
    assert found(report) == {
        ("unaccounted_object", "eeg_0/stray.bin"),
        ("unaccounted_object", "recordings/loose.bin"),
        ("unaccounted_object", "eeg.zarr/zarr.json"),
    }
    old_version = next(f for f in report.findings if "edf-0" in f.uri)
    assert "ursa.timeseries.edf-0" in old_version.detail


def test_a_session_is_catalogued_by_its_recording_row(archive: Archive, tmp_path: Path) -> None:
    # Files outside any stream folder make no modality row: still catalogued.
    archive.ursa.ingest(write_session(tmp_path / "rig", "rec_flat", {"": [5]}))
    assert archive.ursa.scrub().clean
    # A registration killed before the recording row: modality rows, no recording.
    archive.ursa.catalog(writable=True).delete_where(Recording, {"recording_hash": archive.hash})
    report = archive.ursa.scrub()
    assert ("uncatalogued_session", "recordings/rec_scrub") in found(report)
    repaired = archive.ursa.scrub(repair=True)
    assert [f.repaired for f in repaired.findings if f.kind == "uncatalogued_session"] == [True]
    assert archive.ursa.catalog().get_recording(archive.hash) is not None
    assert archive.ursa.scrub().clean


class EdfV2(EdfConverter):
    version = str(int(EdfConverter.version) + 1)


def test_an_older_asset_version_kept_beside_the_new_is_counted_not_found(
    archive: Archive, tmp_path: Path
) -> None:
    old = archive.eeg_asset()
    old_objects = {o.key: o.size for o in archive.assets.list(old + "/")}
    process_recording(
        archive.hash,
        raw=archive.raw,
        assets=archive.assets,
        catalog=archive.ursa.catalog(writable=True),
        registry=ConverterRegistry([EdfV2()]),
        modalities=["eeg"],
    )
    assert archive.eeg_asset() != old
    report = archive.ursa.scrub()
    assert report.clean, report.findings
    assert report.superseded_objects == len(old_objects) > 0
    assert report.superseded_bytes == sum(old_objects.values())
    assert {o.key: o.size for o in archive.assets.list(old + "/")} == old_objects  # kept
    # The CLI says so beside a clean result, and exits 0.
    shown = run_cli("scrub", "--root", str(archive.ursa.profile.root))  # type: ignore[union-attr]
    assert shown.exit_code == 0, shown.output
    assert f"({len(old_objects)} of older asset versions, " in shown.output
    # An object the old version's row does not list is still unaccounted for.
    archive.assets.put(f"{old}/stray.bin", b"left behind")
    assert found(archive.ursa.scrub()) == {("unaccounted_object", "eeg.zarr/stray.bin")}


def test_a_missing_or_damaged_asset_is_found(archive: Archive) -> None:
    asset = archive.eeg_asset()
    archive.assets.delete(f"{asset}/data/zarr.json")
    assert ("missing_object", "data/zarr.json") in found(archive.ursa.scrub())
    # Same size, wrong bytes: only opening the asset tells.
    size = len(archive.assets.get(f"{asset}/zarr.json"))
    archive.assets.put(f"{asset}/zarr.json", b"{" * size)
    kinds = {f.kind for f in archive.ursa.scrub().findings}
    assert "unreadable_asset" in kinds


def test_bit_rot_is_found_by_a_full_sample(archive: Archive) -> None:
    key = f"{archive.prefix}/eeg_0/seg_00001.edf"
    good = archive.raw.get(key)
    sha = hashlib.sha256(good).hexdigest()
    rotten = bytes([good[0] ^ 0xFF]) + good[1:]
    archive.raw.put(key, rotten, metadata={"sha256": sha})
    assert archive.ursa.scrub(sample=0.0).clean  # sizes alone cannot tell
    assert found(archive.ursa.scrub(sample=1.0)) == {("bit_rot", "eeg_0/seg_00001.edf")}


def test_a_processed_object_rotted_at_its_size_is_found_by_a_full_sample(
    archive: Archive,
) -> None:
    asset = archive.eeg_asset()
    key = max(o.key for o in archive.assets.list(asset + "/") if "/data/c/" in o.key)
    good = archive.assets.get(key)
    archive.assets.put(key, good[:-1] + bytes([good[-1] ^ 0xFF]))
    assert archive.ursa.scrub(sample=0.0).clean  # sizes alone cannot tell, nor opening it
    report = archive.ursa.scrub(sample=1.0)
    assert found(report) == {("bit_rot", "/".join(key.split("/")[-2:]))}
    assert report.findings[0].uri == archive.assets.base_uri + key
    assert report.findings[0].recording_hash == archive.hash
    assert "publication recorded" in report.findings[0].detail
    # Made again, its bytes are those publication recorded.
    archive.ursa.process(archive.hash, modalities=["eeg"], again=True)
    assert archive.ursa.scrub(sample=1.0).clean


def test_an_object_gone_while_a_sample_reads_it_is_missing_not_a_crash(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_key = max(o.key for o in archive.assets.list(archive.eeg_asset() + "/"))
    raw_key = f"{archive.prefix}/eeg_0/seg_00001.edf"
    doomed = {asset_key: archive.assets, raw_key: archive.raw}
    rehash = _scrub.stored_sha256

    def removed_first(store: Store, at: str) -> str:
        if at in doomed:  # deleted after the listing, before its re-hash
            doomed.pop(at).delete(at)
        return rehash(store, at)

    monkeypatch.setattr(_scrub, "stored_sha256", removed_first)
    report = archive.ursa.scrub(sample=1.0)
    assert found(report) == {
        ("missing_object", "/".join(asset_key.split("/")[-2:])),
        ("missing_object", "eeg_0/seg_00001.edf"),
    }
    assert not doomed
    assert report.sampled_objects == 6 - 2  # the two gone were not re-hashed


def test_a_seeded_sample_is_the_same_whatever_order_the_objects_were_listed_in() -> None:
    pool = [f"recordings/rec_{i:02d}/eeg_0/seg.edf" for i in range(40)]
    first = _scrub._sampled(pool, 0.25, 7, key=str)
    assert len(first) == 10
    assert first == sorted(first)
    assert _scrub._sampled(pool[::-1], 0.25, 7, key=str) == first
    assert _scrub._sampled(list(reversed(pool)), 1.0, None, key=str) == pool


def test_a_fraction_is_rounded_up_but_float_error_is_not() -> None:
    assert [_scrub._size(100, f) for f in (0.07, 0.14, 0.55, 0.071)] == [7, 14, 55, 8]
    assert (_scrub._size(3, 0.01), _scrub._size(0, 0.5), _scrub._size(5, 1.0)) == (1, 0, 5)


def test_a_small_fraction_of_a_small_archive_still_rehashes_one_object_of_each_bucket(
    archive: Archive,
) -> None:
    # 3 raw objects and 3 asset objects: 1 % of them rounds up to one of each.
    assert archive.ursa.scrub(sample=0.01, seed=1).sampled_objects == 2


def test_an_object_replaced_while_a_sample_reads_it_is_left_for_the_next_scrub(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    def replaced(store: Store, key: str) -> str:
        raise ObjectChangedError(f"{key} changed while it was read")

    monkeypatch.setattr(_scrub, "stored_sha256", replaced)
    report = archive.ursa.scrub(sample=1.0)
    assert report.clean, report.findings
    assert report.sampled_objects == 0  # none was re-hashed whole


def test_a_stuck_row_is_found_and_repair_hands_it_to_processing(archive: Archive) -> None:
    catalog = archive.ursa.catalog(writable=True)
    catalog.start_ingesting(archive.hash, "events", metadata=DEAD_LEASE)
    report = archive.ursa.scrub()
    assert found(report) == {("stuck_ingesting", f"{archive.hash}/events")}
    healed = archive.ursa.scrub(repair=True)
    assert [f.repaired for f in healed.findings] == [True]
    row = catalog.get_modality(archive.hash, "events")
    assert row is not None
    assert row.ingestion_status is IngestionStatus.FAILED
    assert archive.ursa.scrub().clean


def test_an_uncatalogued_session_is_found_and_backfilled_by_repair(
    archive: Archive, tmp_path: Path
) -> None:
    from ursa_lib import ingest

    spec = RecordingSpec(
        rec_id="rec_orphan", start_time_ns=T0, segments=1, segment_s=2, audio=False, video=False
    )
    write_recording(archive.rig, spec)
    ingest(
        archive.rig / "rec_orphan" / "manifest.json",
        raw=archive.raw,
        catalog=archive.ursa.catalog(writable=True),
        register=False,
    )
    assert found(archive.ursa.scrub()) == {("uncatalogued_session", "recordings/rec_orphan")}
    healed = archive.ursa.scrub(repair=True)
    assert [(f.kind, f.repaired) for f in healed.findings] == [("uncatalogued_session", True)]
    assert [r.rec_id for r in archive.ursa.query(status="all")] == ["rec_orphan", "rec_scrub"]
    assert archive.ursa.scrub().clean


def test_an_unfinished_ingest_is_named_as_one_and_not_backfilled(archive: Archive) -> None:
    from ursa_lib import ingest

    spec = RecordingSpec(rec_id="rec_cut", start_time_ns=T0, segments=2, segment_s=2, video=False)
    write_recording(archive.rig, spec)
    ingest(
        archive.rig / "rec_cut" / "manifest.json",
        raw=archive.raw,
        catalog=archive.ursa.catalog(writable=True),
        register=False,
    )
    archive.raw.delete("recordings/rec_cut/eeg_0/seg_00001.edf")  # killed before its last file
    for report in (archive.ursa.scrub(), archive.ursa.scrub(repair=True)):
        [finding] = [f for f in report.findings if "rec_cut" in f.uri]
        assert (finding.kind, finding.repaired) == ("uncatalogued_session", False)
        assert finding.detail == (
            "no recording row; 1 of its manifest's files are not stored: an ingest that did "
            "not finish; run it again from the rig (ursa ingest DIR). If the session changed "
            "since, its new ingest takes another prefix: delete this one's objects from the "
            "raw bucket"
        )
    ingest(
        archive.rig / "rec_cut" / "manifest.json",
        raw=archive.raw,
        catalog=archive.ursa.catalog(writable=True),
    )
    assert archive.ursa.scrub().clean


def test_scrub_never_deletes_and_reading_needs_no_write_keys(archive: Archive) -> None:
    archive.raw.delete(f"{archive.prefix}/eeg_0/seg_00000.edf")
    archive.raw.put(f"{archive.prefix}/stray.bin", b"x")
    archive.assets.put(f"{archive.eeg_asset()}/extra", b"x")
    before = archive.everything()
    reader = DataInterface(archive.ursa.profile)
    report = reader.scrub(sample=1.0)
    assert len(report.findings) == 3
    assert archive.everything() == before
    assert not reader.writes_enabled


# -- on a real S3 server --------------------------------------------------------------


@pytest.fixture
def s3_profile(moto_s3: MotoS3, ns: str, monkeypatch: pytest.MonkeyPatch) -> S3Profile:
    """A profile on buckets of its own: scrub walks whole buckets."""
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


def test_on_s3_every_planted_fault_is_found_and_repair_heals(
    s3_profile: S3Profile, tmp_path: Path, ns: str
) -> None:
    rec_id = f"rec_{ns.replace('-', '_')}"
    archive = build(s3_profile, tmp_path / "rig", rec_id)
    archive.raw.delete(f"{archive.prefix}/eeg_0/seg_00000.edf")
    key = f"{archive.prefix}/events_0/events.jsonl"
    good = archive.raw.get(key)
    archive.raw.put(key, b"#" + good[1:], metadata={"sha256": hashlib.sha256(good).hexdigest()})
    archive.raw.put(f"{archive.prefix}/stray.bin", b"x")
    old = archive.eeg_asset().replace(f"edf-{EdfConverter.version}/", "edf-0/")
    archive.assets.put(f"{old}/zarr.json", b"{}")
    archive.ursa.catalog(writable=True).start_ingesting(archive.hash, "events", metadata=DEAD_LEASE)
    before = archive.everything()
    report = archive.ursa.scrub(sample=1.0)
    assert found(report) == {
        ("missing_object", "eeg_0/seg_00000.edf"),
        ("bit_rot", "events_0/events.jsonl"),
        ("unaccounted_object", f"{rec_id}/stray.bin"),
        ("unaccounted_object", "eeg.zarr/zarr.json"),
        ("stuck_ingesting", f"{archive.hash}/events"),
    }
    assert report.requests < 40  # listings per prefix, not requests per object
    assert archive.everything() == before
    archive.ursa.scrub(repair=True)
    row = archive.ursa.catalog().get_modality(archive.hash, "events")
    assert row is not None
    assert row.ingestion_status is IngestionStatus.FAILED
