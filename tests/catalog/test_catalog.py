"""The catalog on real LanceDB: schemas, verbs, invariants, registration, status."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ursa_lib import (
    CatalogReadOnlyError,
    CatalogRowExists,
    InvalidRowError,
    InvalidTransitionError,
    LocalProfile,
    PrimaryKeyConflict,
    S3Profile,
)
from ursa_lib.catalog import (
    ROW_TYPES,
    Catalog,
    Event,
    IngestionStatus,
    Interval,
    Modality,
    Participant,
    Recording,
    Row,
    StorageFormat,
    arrow_schema,
    from_records,
    to_table,
)
from ursa_lib.catalog._sql import in_clauses
from ursa_lib.testing import MotoS3, modality, participant, recording, rhash

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "catalog_schemas.txt"
PROFILE = S3Profile(name="lab", raw_bucket="lab-raw", assets_bucket="lab-assets")


def render_schemas() -> str:
    out = []
    for model in ROW_TYPES:
        schema = arrow_schema(model)
        out.append(f"== {model.__table__} (key: {', '.join(model.__key__)})")
        for field in schema:
            meta = dict(field.metadata or {})
            pk = " PK" if meta.get(b"lance-schema:unenforced-primary-key") == b"true" else ""
            null = "" if field.nullable else " not null"
            out.append(f"{field.name}: {field.type}{null}{pk}")
    return "\n".join(out) + "\n"


def test_derived_schemas_match_the_snapshot() -> None:
    assert render_schemas() == SNAPSHOT.read_text(), (
        "catalog schemas changed; if intended, regenerate tests/snapshots/catalog_schemas.txt"
    )


def test_every_field_is_documented_in_the_schema() -> None:
    for model in ROW_TYPES:
        for name in model.model_fields:
            field = arrow_schema(model).field(name)
            assert (field.metadata or {}).get(b"description"), f"{model.__name__}.{name}"


@pytest.fixture
def catalog() -> Catalog:
    return Catalog("memory://", writable=True, profile=PROFILE)


def test_add_get_list(catalog: Catalog) -> None:
    catalog.add_participant(participant("p001"))
    catalog.add_recording(recording(1))
    catalog.add_recording(recording(2, participants=("p001", "p002"), metadata={"site": "lab2"}))
    assert catalog.get_participant("p001") == participant("p001")
    assert catalog.get_participant("nobody") is None
    assert catalog.get_recording(rhash(2)) == recording(
        2, participants=("p001", "p002"), metadata={"site": "lab2"}
    )
    assert {r.rec_id for r in catalog.recordings_of_participant("p002")} == {"rec_2"}
    assert len(catalog.recordings_of_participant("p001")) == 2
    assert [r.rec_id for r in catalog.list_recordings({"metadata": {"site": "lab2"}})] == ["rec_2"]
    assert [r.rec_id for r in catalog.list_recordings({"rec_id": "rec_1"})] == ["rec_1"]
    assert len(catalog.list_recordings(limit=1)) == 1
    assert len(catalog.list_recordings("duration > 100")) == 2


def test_strict_add_refuses_an_existing_key(catalog: Catalog) -> None:
    catalog.add_recording(recording(1))
    with pytest.raises(PrimaryKeyConflict, match="recordings: primary key already stored"):
        catalog.add_recording(recording(1, duration=5.0))
    with pytest.raises(PrimaryKeyConflict, match="repeated in one batch"):
        catalog.add_many([recording(3), recording(3)])
    assert catalog.count(Recording) == 1


def test_batch_insert(catalog: Catalog) -> None:
    assert catalog.add_many([modality(n, m) for n in range(50) for m in ("eeg", "audio")]) == 100
    assert catalog.count(Modality) == 100
    assert len(catalog.list_modalities({"recording_hash": rhash(7)})) == 2


def test_register_is_idempotent_and_reports_a_field_diff(catalog: Catalog) -> None:
    first = catalog.register_recording(recording(1))
    assert catalog.register_recording(recording(1)) == first
    with pytest.raises(CatalogRowExists) as info:
        catalog.register_recording(recording(1, duration=601.5, metadata={"site": "lab9"}))
    assert info.value.diff == {
        "duration": (600.0, 601.5),
        "metadata": ({"site": "lab1", "task": "rest"}, {"site": "lab9"}),
    }
    assert "duration" in str(info.value)
    catalog.register_participant(participant("p9"))
    catalog.register_participant(participant("p9"))
    catalog.register_modality(modality(1))
    catalog.register_event(
        Event(event_id="e1", recording_hash=rhash(1), event_time=1.5, event_type="cue")
    )
    assert catalog.count(Participant) == 1


def test_status_transitions_never_touch_the_raw_uri(catalog: Catalog) -> None:
    row = catalog.add_modality(modality(1, raw_root="s3://lab-raw"))
    ingesting = catalog.start_ingesting(row.recording_hash, "eeg")
    assert ingesting.ingestion_status is IngestionStatus.INGESTING
    with pytest.raises(InvalidTransitionError, match="from ingesting to ingesting"):
        catalog.start_ingesting(row.recording_hash, "eeg")
    done = catalog.mark_processed(
        row.recording_hash,
        "eeg",
        storage_uri=f"s3://lab-assets/processed/{row.recording_hash}/eeg/eeg.zarr",
        format=StorageFormat.ZARR,
        sampling_rate=500.0,
        domain_intervals=[Interval(start=0, end=600)],
        channel_spec={"channels": ["Fz", "Cz"]},
    )
    stored = catalog.get_modality(row.recording_hash, "eeg")
    assert stored == done
    assert stored is not None
    assert stored.raw_storage_uri == row.raw_storage_uri
    assert stored.domain_intervals == [Interval(start=0, end=600)]
    with pytest.raises(InvalidTransitionError, match="from processed to ingesting"):
        catalog.start_ingesting(row.recording_hash, "eeg")


def test_failed_can_be_retried(catalog: Catalog) -> None:
    row = catalog.add_modality(modality(2))
    catalog.start_ingesting(row.recording_hash, "eeg")
    failed = catalog.mark_failed(row.recording_hash, "eeg", reason="decoder crashed")
    assert failed.metadata["failure"] == "decoder crashed"
    again = catalog.start_ingesting(row.recording_hash, "eeg")
    assert again.ingestion_status is IngestionStatus.INGESTING


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: participant("bad id!"), "participant_id"),
        (lambda: participant(""), "participant_id"),
        (lambda: participant("x" * 129), "participant_id"),
        (lambda: recording(1, recording_hash="ABC"), "recording_hash"),
        (lambda: recording(1, recording_hash=rhash(1).upper()), "recording_hash"),
        (lambda: participant("p1", metadata={"when": object()}), "metadata must hold only JSON"),
        (lambda: participant("p1", metadata={"x": float("nan")}), "metadata must hold only JSON"),
        (lambda: participant("p1", enrolled_at=-1), "enrolled_at"),
        (lambda: recording(1, participant_ids=[]), "participant_ids"),
        (lambda: modality(1, raw_root="http://lab-raw"), "raw_storage_uri"),
        (lambda: modality(1, ingestion_status="processed"), "needs storage_uri and format"),
        (lambda: participant("p1", unknown=1), "unknown"),
    ],
)
def test_bad_rows_name_the_field_and_rule(build: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()  # type: ignore[operator]


def test_raw_uri_must_point_into_the_raw_bucket(catalog: Catalog) -> None:
    with pytest.raises(InvalidRowError, match=r"raw_storage_uri must point into the raw bucket"):
        catalog.add_modality(modality(1, raw_root="s3://lab-assets"))
    with pytest.raises(InvalidRowError, match="neither the raw bucket"):
        catalog.add_modality(modality(1, raw_root="s3://elsewhere"))
    assert catalog.count(Modality) == 0


def test_processed_uri_must_sit_in_its_formats_tier(catalog: Catalog) -> None:
    h = rhash(1)
    wrong = {
        f"s3://lab-raw/processed/{h}/eeg/eeg.zarr": "must point into the assets bucket",
        f"s3://lab-assets/elsewhere/{h}/eeg/eeg.zarr": "must live at processed/",
        f"s3://lab-assets/processed/{h}/eeg/eeg.parquet": r"must live at processed/.*\.zarr",
        f"s3://lab-assets/processed/{rhash(2)}/eeg/eeg.zarr": "must live at processed/",
    }
    for uri, message in wrong.items():
        row = modality(1, ingestion_status="processed", storage_uri=uri, format="zarr")
        with pytest.raises(InvalidRowError, match=message):
            catalog.add_modality(row)
    ok = modality(
        1,
        ingestion_status="processed",
        format="zarr",
        storage_uri=f"s3://lab-assets/processed/{h}/eeg/eeg.zarr",
    )
    catalog.add_modality(ok)


def test_local_profile_catalog_on_disk(tmp_path: Path) -> None:
    profile = LocalProfile(root=tmp_path)
    raw = profile.bucket_uri("raw")
    writer = Catalog.open(profile, writable=True)
    writer.add_modality(modality(1, raw_root=raw.rstrip("/")))
    reader = Catalog.open(profile)
    assert reader.get_modality(rhash(1), "eeg") is not None
    assert (tmp_path / "catalog" / "modalities.lance").is_dir()


def test_read_only_catalog_refuses_writes_before_any_request() -> None:
    # Nothing listens there: a request would fail differently.
    dead = Catalog(
        "s3://lab-assets/catalog",
        writable=False,
        storage_options={
            "aws_endpoint": "http://127.0.0.1:9",
            "allow_http": "true",
            "aws_access_key_id": "dead-key-id",
            "aws_secret_access_key": "dead-secret-key",
            "aws_region": "us-east-1",
        },
    )
    for call in (
        lambda: dead.add_participant(participant()),
        lambda: dead.add_many([participant()]),
        lambda: dead.start_ingesting(rhash(1), "eeg"),
        dead.optimize,
    ):
        with pytest.raises(CatalogReadOnlyError, match="open read-only"):
            call()


def test_optimize_indexes_every_table_and_rebuilds_an_index_of_another_kind(
    tmp_path: Path,
) -> None:
    import lancedb
    from lancedb.index import BTree

    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    catalog.add_many([modality(n) for n in range(20)])
    # A catalog written by an older Ursa: a BTREE where a BITMAP is wanted now.
    table = lancedb.connect(str(tmp_path / "catalog")).open_table("modalities")
    table.create_index("recording_hash", config=BTree())
    catalog.optimize()

    kinds = {
        tuple(i.columns): i.index_type
        for i in lancedb.connect(str(tmp_path / "catalog")).open_table("modalities").list_indices()
    }
    assert kinds == {
        ("recording_hash",): "Bitmap",
        ("modality",): "Bitmap",
        ("ingestion_status",): "Bitmap",
        ("metadata_labels",): "LabelList",
    }
    reader = Catalog(str(tmp_path / "catalog"), writable=False)
    assert reader.get_modality(rhash(7), "eeg") == modality(7)
    assert [m.recording_hash for m in reader.rows_in(Modality, "recording_hash", [rhash(3)])] == [
        rhash(3)
    ]


def _from_columns(path: Path, model: type[Row]) -> list[Row]:
    """Rows rebuilt from the typed columns alone, bypassing row_json."""
    import lancedb

    data = lancedb.connect(str(path)).open_table(model.__table__).to_arrow()
    columns = [name for name in data.column_names if name in model.model_fields]
    return from_records(model, data.select(columns).to_pylist())


def test_row_json_and_the_columns_hold_the_same_row_after_every_write(tmp_path: Path) -> None:
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    odd = recording(
        1, metadata={"note": "Ünïcode ☃", "nested": {"a": [1, 2.5, None]}, "big": 2**62}
    )
    catalog.add_recording(odd)
    catalog.add_many([modality(1, name) for name in ("eeg", "camera", "audio")])
    catalog.start_ingesting(rhash(1), "eeg")
    catalog.mark_processed(
        rhash(1),
        "eeg",
        storage_uri=f"s3://lab-assets/processed/{rhash(1)}/eeg/eeg.zarr",
        format=StorageFormat.ZARR,
        sampling_rate=512.0,
        domain_intervals=[Interval(start=0.1, end=599.9)],
        channel_spec={"names": ["Fz", "Cz"], "unit": "µV"},
    )
    catalog.start_ingesting(rhash(1), "camera")
    catalog.mark_failed(rhash(1), "camera", reason="codec")

    stored = catalog.list_modalities()
    assert {m.modality: m.ingestion_status for m in stored} == {
        "eeg": IngestionStatus.PROCESSED,
        "camera": IngestionStatus.FAILED,
        "audio": IngestionStatus.RAW,
    }
    assert catalog.get_modality(rhash(1), "eeg").domain_intervals == [
        Interval(start=0.1, end=599.9)
    ]
    assert sorted(stored, key=lambda m: m.modality) == sorted(
        _from_columns(tmp_path / "catalog", Modality), key=lambda m: m.modality
    )
    assert (
        catalog.get_recording(rhash(1)) == odd == _from_columns(tmp_path / "catalog", Recording)[0]
    )


def test_a_table_made_before_row_json_is_read_and_written_column_by_column(
    tmp_path: Path,
) -> None:
    import lancedb

    db = lancedb.connect(str(tmp_path / "catalog"))
    schema = arrow_schema(Modality)
    old = schema.remove(schema.get_field_index("row_json"))
    db.create_table("modalities", schema=old).add(to_table(Modality, [modality(1)], row_json=False))

    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    catalog.add_many([modality(n) for n in range(2, 6)])
    catalog.start_ingesting(rhash(3), "eeg")
    assert catalog.get_modality(rhash(1), "eeg") == modality(1)
    assert catalog.get_modality(rhash(3), "eeg").ingestion_status is IngestionStatus.INGESTING
    assert len(catalog.rows_in(Modality, "recording_hash", [rhash(n) for n in range(6)])) == 5
    assert "row_json" not in db.open_table("modalities").schema.names


def test_large_in_lists_are_split_and_every_row_comes_back(tmp_path: Path) -> None:
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    catalog.add_many([modality(n) for n in range(2_500)])
    hashes = [rhash(n) for n in range(2_600)]  # 100 of them stored nowhere
    assert len(in_clauses("recording_hash", hashes)) >= 3  # a thousand values at most each
    found = catalog.rows_in(Modality, "recording_hash", hashes)
    assert sorted(m.recording_hash for m in found) == sorted(hashes[:2_500])
    assert len(catalog.rows_in(Modality, "recording_hash", hashes[:150], "worker_id = '0'")) == 150
    with pytest.raises(PrimaryKeyConflict, match=rhash(2_499)):
        catalog.add_many([modality(n) for n in range(2_499, 2_502)])


@pytest.mark.parametrize("cores", [1, 2, 8])
def test_in_clauses_cover_each_value_once_within_the_size_bounds(
    cores: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    for n in (0, 1, 100, 101, 250, 1_000, 2_345):
        values = [f"v{i:05d}" for i in range(n)]
        clauses = in_clauses("c", reversed(values))
        got = [
            v.strip("'") for c in clauses for v in c.removeprefix("c IN (").rstrip(")").split(", ")
        ]
        assert got == (values if n else []), n
        sizes = [c.count("'") // 2 for c in clauses]
        assert all(size <= 1_000 for size in sizes)
        if 100 < n <= 1_000:
            assert len(clauses) == min(cores, -(-n // 100))


def test_first_modality_read_loads_the_recording_hash_index_in_the_background(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = Catalog(str(tmp_path / "catalog"), writable=True)
    writer.add_many([modality(n) for n in range(50)])
    writer.optimize()
    reader = Catalog(str(tmp_path / "catalog"), writable=False)
    with caplog.at_level("DEBUG", logger="ursa.catalog"):
        assert reader.get_modality(rhash(7), "eeg") == modality(7)
        reader._prewarming["modalities"].result(timeout=60)
    assert not [r for r in caplog.records if "prewarming" in r.getMessage()]
    assert len(reader.rows_in(Modality, "recording_hash", [rhash(n) for n in range(50)])) == 50


def test_status_counts(catalog: Catalog) -> None:
    catalog.add_many([modality(n) for n in range(3)])
    catalog.start_ingesting(rhash(0), "eeg")
    status = catalog.status()
    assert status["modalities"] == 3
    assert status["modalities_by_status"] == {"raw": 2, "ingesting": 1, "processed": 0, "failed": 0}


def test_s3_catalog_through_a_profile(
    moto_s3: MotoS3, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("ASSETS_RO", "ASSETS_RW"):
        monkeypatch.setenv(f"URSA_MOTO_{role}_ACCESS_KEY_ID", moto_s3.rw.access_key_id)
        monkeypatch.setenv(f"URSA_MOTO_{role}_SECRET_ACCESS_KEY", moto_s3.rw.secret_access_key)
    profile = S3Profile(
        name="moto",
        endpoint=moto_s3.rw.url,
        region="us-east-1",
        raw_bucket="ursa-raw",
        assets_bucket="ursa-assets",
        catalog_uri=f"s3://ursa-assets/{ns}/catalog",
    )
    writer = Catalog.open(profile, writable=True)
    writer.add_modality(modality(1, raw_root="s3://ursa-raw"))
    writer.optimize()
    reader = Catalog.open(profile)
    assert reader.get_modality(rhash(1), "eeg") == modality(1, raw_root="s3://ursa-raw")
    assert moto_s3.rw.access_key_id not in repr(reader)
    with pytest.raises(CatalogReadOnlyError):
        reader.add_modality(modality(2, raw_root="s3://ursa-raw"))
    keys = [
        o["Key"]
        for o in moto_s3.rw.boto().list_objects_v2(Bucket="ursa-assets", Prefix=f"{ns}/catalog/")[
            "Contents"
        ]
    ]
    assert any(k.startswith(f"{ns}/catalog/modalities.lance/") for k in keys)
