"""JSON-lines and CSV events → a Lance table indexed on time, and parsed rows."""

from __future__ import annotations

import json
from pathlib import Path

import lancedb
import pytest

from ursa_lib.processing import (
    ConversionRequest,
    EventParseError,
    EventRow,
    StreamDescription,
    StreamKind,
)
from ursa_lib.processing._events import EventsConverter

from .contract import ConverterContract
from .helpers import segments

JSONL = StreamDescription(kind=StreamKind.EVENTS, format="jsonl", clock_offset_s=10.0)
CSV = StreamDescription(kind=StreamKind.EVENTS, format="csv")


def request(
    tmp_path: Path, files: list[Path], desc: StreamDescription = JSONL
) -> ConversionRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ConversionRequest(
        segments=segments(tmp_path, files), description=desc, modality="events", out=out
    )


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = [
    json.dumps({"time": 2.5, "type": "stimulus", "prompt": "left", "trial": 1}),
    "",
    json.dumps({"time": 1.0, "type": "cue", "duration": 0.5, "metadata": {"tone": 440}}),
    json.dumps({"event_time": 3.0, "event_type": "response", "response": "left"}),
]


class TestEventsContract(ConverterContract):
    converter = EventsConverter()

    def good_input(self, tmp_path: Path) -> ConversionRequest:
        return request(tmp_path, [write_lines(tmp_path / "events_0" / "seg_0.jsonl", GOOD)])

    def bad_input(self, tmp_path: Path) -> ConversionRequest:
        bad = [*GOOD, "{not json"]
        return request(tmp_path, [write_lines(tmp_path / "events_0" / "seg_0.jsonl", bad)])


def test_jsonl_events_become_a_time_indexed_table(tmp_path: Path) -> None:
    files = [
        write_lines(tmp_path / "events_0" / "seg_0.jsonl", GOOD),
        write_lines(
            tmp_path / "events_0" / "seg_1.jsonl", [json.dumps({"time": 0.5, "type": "start"})]
        ),
    ]
    result = EventsConverter().convert(request(tmp_path, files))
    assert result.events == (
        EventRow(time_s=10.5, duration_s=0.0, type="start"),
        EventRow(time_s=11.0, duration_s=0.5, type="cue", metadata={"tone": 440}),
        EventRow(
            time_s=12.5, duration_s=0.0, type="stimulus", prompt="left", metadata={"trial": 1}
        ),
        EventRow(time_s=13.0, duration_s=0.0, type="response", response="left"),
    )
    assert result.domain_intervals == ((10.5, 13.0),)
    table = lancedb.connect(str(tmp_path / "out")).open_table("events")
    rows = table.to_arrow().to_pylist()
    assert [r["time"] for r in rows] == [10.5, 11.0, 12.5, 13.0]
    assert json.loads(rows[2]["metadata"]) == {"trial": 1}
    assert rows[0]["segment"] == "events_0/seg_1.jsonl"
    indices = table.list_indices()
    assert [(i.columns, i.index_type) for i in indices] == [(["time"], "BTree")]
    hits = table.search().where("time >= 12.0 AND time < 13.0").to_list()
    assert [h["type"] for h in hits] == ["stimulus"]


def test_csv_events(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "events_0" / "seg_0.csv",
        ["time,type,duration,response,block", "1.5,press,0.1,yes,A", "0.5,tone,,,B"],
    )
    result = EventsConverter().convert(request(tmp_path, [path], CSV))
    assert result.events == (
        EventRow(time_s=0.5, duration_s=0.0, type="tone", metadata={"block": "B"}),
        EventRow(time_s=1.5, duration_s=0.1, type="press", response="yes", metadata={"block": "A"}),
    )


def test_a_csv_row_with_too_many_fields_names_its_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "events_0" / "seg_0.csv", ["time,type", "1,a", "2,b,extra"])
    with pytest.raises(EventParseError, match=r"events_0/seg_0\.csv line 3 has more fields"):
        EventsConverter().convert(request(tmp_path, [path], CSV))


def test_a_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "events_0" / "seg_0.jsonl", [GOOD[0], "", "{oops"])
    with pytest.raises(EventParseError, match=r"events_0/seg_0\.jsonl line 3 is not JSON"):
        EventsConverter().convert(request(tmp_path, [path]))
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"type": "cue"}', "needs 'time' and 'type'"),
        ('{"time": "soon", "type": "cue"}', "time 'soon' is not a finite number"),
        ("[1, 2]", "is a JSON list, not an object"),
    ],
)
def test_events_that_cannot_be_used_are_refused(tmp_path: Path, line: str, message: str) -> None:
    path = write_lines(tmp_path / "events_0" / "seg_0.jsonl", [line])
    with pytest.raises(EventParseError, match=rf"events_0/seg_0\.jsonl line 1.*{message}"):
        EventsConverter().convert(request(tmp_path, [path]))
