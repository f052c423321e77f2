"""query(): filters inside LanceDB, deterministic order, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ursa_lib import QuerySpec, query
from ursa_lib.catalog import Catalog, IngestionStatus, Modality
from ursa_lib.testing import LAB_T0, Lab, build_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return build_lab(tmp_path_factory.mktemp("lab"))


def names(results: list) -> list[tuple[str, list[str]]]:  # type: ignore[type-arg]
    return [(r.rec_id, list(r.modalities)) for r in results]


def test_default_status_is_processed_rows_only(lab: Lab) -> None:
    assert names(lab.ursa.query()) == [("rec_a", ["eeg"])]


def test_raw_and_all(lab: Lab) -> None:
    assert names(lab.ursa.query(status="raw")) == [
        ("rec_a", ["events"]),
        ("rec_b", ["camera", "eeg"]),
        ("rec_c", ["audio", "eeg"]),
    ]
    assert names(lab.ursa.query(status="all"))[0] == ("rec_a", ["eeg", "events"])


def test_filters_combine(lab: Lab) -> None:
    q = lab.ursa.query
    assert names(q(status="all", participants="p2")) == [("rec_c", ["audio", "eeg"])]
    assert names(q(status="all", participants=["p1"], modalities=["eeg"])) == [
        ("rec_a", ["eeg"]),
        ("rec_b", ["eeg"]),
    ]
    assert names(q(status="all", metadata={"task": "rest"}, modalities="eeg")) == [
        ("rec_a", ["eeg"]),
        ("rec_c", ["eeg"]),
    ]
    assert names(q(status="all", recording_hash=lab.hashes["rec_b"])) == [
        ("rec_b", ["camera", "eeg"])
    ]
    assert names(q(status="all", limit=2)) == names(q(status="all"))[:2]
    # A recording with nothing left after filtering is not returned.
    assert q(status="all", modalities="camera", participants="p2") == []
    assert q(status="all", metadata={"task": "nothing"}) == []


def test_spec_or_keywords_never_both(lab: Lab) -> None:
    spec = QuerySpec(participants=("p1",), status="raw")
    assert lab.ursa.query(spec) == lab.ursa.query(participants="p1", status="raw")
    with pytest.raises(TypeError, match="either a QuerySpec or keyword filters"):
        lab.ursa.query(spec, limit=1)
    with pytest.raises(ValueError, match="unknown"):
        lab.ursa.query(participant="p1")  # typo: one letter short
    with pytest.raises(ValueError, match="participants is empty"):
        lab.ursa.query(participants=[])


def test_time_range(lab: Lab) -> None:
    inside = (LAB_T0 + 10 * 10**9, LAB_T0 + 20 * 10**9)
    after_domain = (LAB_T0 + 400 * 10**9, LAB_T0 + 500 * 10**9)
    assert names(lab.ursa.query(time_range=inside)) == [("rec_a", ["eeg"])]
    # rec_a lasts 600 s but its processed eeg covers only 0-300 s.
    assert lab.ursa.query(time_range=after_domain) == []
    with pytest.raises(ValueError, match="raw bytes have no time index"):
        lab.ursa.query(status="raw", time_range=inside)


def test_orphan_rows_never_show(lab: Lab, tmp_path: Path) -> None:
    # A modality whose recording row was never written (an ingest killed during
    # registration) is invisible.
    catalog = Catalog(str(lab.profile.catalog_uri), writable=True)
    orphan = "f" * 64
    catalog.add_modality(
        Modality(
            recording_hash=orphan,
            modality="eeg",
            worker_id="0",
            ingestion_status=IngestionStatus.RAW,
            raw_storage_uri=f"{lab.profile.bucket_uri('raw')}recordings/ghost/eeg_0/",
        )
    )
    assert orphan not in {r.recording_hash for r in query(catalog, status="all")}


def test_results_convert_to_tables(lab: Lab) -> None:
    results = lab.ursa.query(status="all", participants="p1")
    table = results.to_arrow()
    assert table.num_rows == 4
    assert table.column("modality").to_pylist() == ["eeg", "events", "camera", "eeg"]
    frame = results.to_pandas()
    assert list(frame["rec_id"]) == ["rec_a", "rec_a", "rec_b", "rec_b"]
