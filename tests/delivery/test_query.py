"""query(): filters inside LanceDB, deterministic order, clear refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ursa_lib import InvalidValueError, QuerySpec, query
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
    # The first 8 or more characters of a hash (`ursa query` prints 12) select it too.
    h_b = lab.hashes["rec_b"]
    assert names(q(status="all", recording_hash=h_b[:12])) == [("rec_b", ["camera", "eeg"])]
    both = q(status="all", recording_hash=[h_b[:8], lab.hashes["rec_c"]])
    assert [r.rec_id for r in both] == ["rec_b", "rec_c"]
    # Upper case as someone copied it; too short or not hex is refused, not empty.
    assert names(q(status="all", recording_hash=h_b[:12].upper())) == names(
        q(status="all", recording_hash=h_b[:12])
    )
    for wrong in (h_b[:7], "rec_b", h_b + "0"):
        with pytest.raises(InvalidValueError, match="is not a recording hash: give its 64"):
            q(status="all", recording_hash=wrong)
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
    # None leaves an end open: since a time, or until one.
    assert names(lab.ursa.query(time_range=(inside[0], None))) == [("rec_a", ["eeg"])]
    assert names(lab.ursa.query(time_range=(None, inside[1]))) == [("rec_a", ["eeg"])]
    assert lab.ursa.query(time_range=(after_domain[0], None)) == []
    assert lab.ursa.query(time_range=(None, LAB_T0 - 10**9)) == []
    with pytest.raises(ValueError, match=r"time_range \(None, None\) filters nothing"):
        lab.ursa.query(time_range=(None, None))
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


def test_results_print_as_lines_a_person_reads(lab: Lab) -> None:
    results = lab.ursa.query(status="all", participants="p1")
    first = results[0]
    start = dt.datetime.fromtimestamp(first.start_time / 1e9, tz=dt.UTC)
    assert (
        repr(first)
        == str(first)
        == (
            f"QueryResult(rec_id='rec_a', recording_hash='{first.recording_hash[:12]}…', "
            f"participants={first.participant_ids!r}, start='{start:%Y-%m-%d %H:%M:%S} UTC', "
            "duration='10m00s', modalities={'eeg': 'processed', 'events': 'raw'})"
        )
    )
    lines = repr(results).splitlines()
    assert lines == ["QueryResults([", *(f"  {r!r}," for r in results), "])"]
    assert "storage_uri" not in repr(results)  # the rows stay one attribute away
    assert first.modalities["eeg"].storage_uri is not None
    assert repr(lab.ursa.query(participants="nobody")) == "QueryResults([])"


@pytest.mark.parametrize(
    ("filters", "said"),
    [
        ({"status": "processed"}, "query filter status must be one of 'ingested'"),
        ({"participants": 1}, "query filter participants must be a participant id or a list"),
        ({"limit": 0}, "query filter limit must be a whole number of recordings greater than 0"),
        ({"metadata": ["task"]}, "query filter metadata must be a dict"),
        (
            {"metadata": {"task": object()}},
            r"metadata must hold only JSON values .*: Object of type object is not JSON",
        ),
        (
            {"metadata": {"score": float("nan")}},
            r"metadata must hold only JSON values .*: Out of range float values",
        ),
        ({"time_range": (1, 2, 3)}, r"query filter time_range must be \(start, end\)"),
        ({"time_range": (LAB_T0 + 10, LAB_T0)}, r"time_range must end after it starts"),
        ({"time_range": (20, 10)}, "absolute time in epoch nanoseconds, and 20 is before 1970"),
        ({"time_range": (10.0, 20.0)}, "and 10.0 is before 1970-01-12"),
        ({"time_range": ("soon", "later")}, "'soon' is neither epoch nanoseconds nor an ISO"),
        ({"time_range": (True, LAB_T0)}, "time_range is an absolute time: .* got True"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_a_filter_value_it_cannot_take_is_one_clear_refusal(
    lab: Lab, filters: dict[str, object], said: str
) -> None:
    with pytest.raises(InvalidValueError, match=said) as caught:
        lab.ursa.query(**filters)
    assert "pydantic" not in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(InvalidValueError, match=said):
        QuerySpec(**filters)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=said):
        QuerySpec.model_validate(filters)  # a spec kept as a dict, say in a run's config


def test_a_spec_read_from_json_is_refused_the_same_way() -> None:
    spec = QuerySpec.model_validate_json('{"participants": "p001", "limit": 2}')
    assert spec == QuerySpec(participants="p001", limit=2)
    said = "query filter limit must be a whole number of recordings greater than 0; got 0"
    with pytest.raises(InvalidValueError, match=said):
        QuerySpec.model_validate_json('{"limit": 0}')
    with pytest.raises(InvalidValueError, match="query filters: Invalid JSON"):
        QuerySpec.model_validate_json('{"limit": ')


def test_time_range_takes_datetimes_and_iso_8601(lab: Lab) -> None:
    start, end = LAB_T0 + 10 * 10**9, LAB_T0 + 20 * 10**9
    moment = dt.datetime.fromtimestamp(start / 1e9, tz=dt.UTC)
    naive = dt.datetime.fromtimestamp(end / 1e9, tz=dt.UTC).replace(tzinfo=None)
    iso = (moment.isoformat().replace("+00:00", "Z"), naive.isoformat())
    expected = names(lab.ursa.query(time_range=(start, end)))
    assert expected == [("rec_a", ["eeg"])]
    assert names(lab.ursa.query(time_range=(moment, naive))) == expected
    assert names(lab.ursa.query(time_range=iso)) == expected
    assert QuerySpec(time_range=iso).time_range == (start, end)  # type: ignore[arg-type]
    paris = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert QuerySpec(time_range=(paris, naive)).time_range == (start, end)  # type: ignore[arg-type]
