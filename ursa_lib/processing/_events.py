"""Events: JSON lines or CSV → a Lance table with a BTREE index on time.

Each event has ``time`` (seconds on the stream clock; ``event_time`` also
accepted), ``type`` (or ``event_type``), and optionally ``duration``,
``prompt``, ``response`` and ``metadata`` (an object). Any other field is
kept in ``metadata``. In the table, ``time`` and ``duration`` are
session-relative seconds and ``metadata`` is JSON text.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import lancedb
import pyarrow as pa
from lancedb.index import BTree

from ._conversion import ConversionOutput, ConversionRequest, CountUnit, EventRow, Segment
from ._describe import StreamKind
from ._errors import EventParseError, SegmentReadError
from ._staging import staged, total_size

__all__ = ["EVENTS_SCHEMA", "EventsConverter"]

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("time", pa.float64(), nullable=False),
        pa.field("duration", pa.float64(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("prompt", pa.string()),
        pa.field("response", pa.string()),
        pa.field("metadata", pa.string(), nullable=False),
        pa.field("segment", pa.string(), nullable=False),
    ]
)

_KNOWN = {"time", "event_time", "type", "event_type", "duration", "prompt", "response", "metadata"}


def _records(segment: Segment, fmt: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        with segment.path.open(encoding="utf-8", newline="") as f:
            if fmt == "csv":
                reader = csv.DictReader(f)
                for row in reader:
                    if None in row:
                        raise EventParseError(
                            f"{segment.rel_path} line {reader.line_num} has more fields than "
                            "the header; quote fields that contain commas"
                        )
                    yield reader.line_num, {k: v for k, v in row.items() if v not in ("", None)}
                return
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EventParseError(
                        f"{segment.rel_path} line {number} is not JSON ({exc.msg}); "
                        "write one JSON object per line"
                    ) from None
                if not isinstance(value, dict):
                    raise EventParseError(
                        f"{segment.rel_path} line {number} is a JSON {type(value).__name__}, "
                        "not an object; write one JSON object per line"
                    )
                yield number, value
    except UnicodeDecodeError as exc:
        raise SegmentReadError(
            f"{segment.rel_path} is not UTF-8 text ({exc.reason}); re-save it as UTF-8"
        ) from None


def _number(value: Any, field: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise EventParseError(f"{where}: {field} {value!r} is not a finite number of seconds")
    return number


def _event(record: Mapping[str, Any], where: str, clock_offset_s: float) -> EventRow:
    time = record.get("time", record.get("event_time"))
    kind = record.get("type", record.get("event_type"))
    if time is None or kind is None:
        raise EventParseError(f"{where}: an event needs 'time' and 'type'; add the missing field")
    metadata = record.get("metadata") or {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            metadata = {"metadata": metadata}
    if not isinstance(metadata, dict):
        raise EventParseError(f"{where}: metadata must be a JSON object")
    extra = {k: v for k, v in record.items() if k not in _KNOWN}
    prompt, response = record.get("prompt"), record.get("response")
    return EventRow(
        time_s=clock_offset_s + _number(time, "time", where),
        duration_s=_number(record.get("duration", 0.0), "duration", where),
        type=str(kind),
        prompt=None if prompt is None else str(prompt),
        response=None if response is None else str(response),
        metadata={**metadata, **extra},
    )


def parse_events(request: ConversionRequest) -> list[tuple[EventRow, str]]:
    """Every event of every segment, each with its segment, sorted by time (stable)."""
    fmt = request.description.format
    events: list[tuple[EventRow, str]] = []
    for segment in request.segments:
        for row_number, record in _records(segment, fmt):
            where = f"{segment.rel_path} line {row_number}"
            event = _event(record, where, request.description.clock_offset_s)
            events.append((event, segment.rel_path))
    events.sort(key=lambda item: item[0].time_s)
    return events


class EventsConverter:
    """JSON-lines or CSV events → ``<modality>.lance`` (lancedb), indexed on time."""

    name = "ursa.events.lance"
    version = "1"
    kind = StreamKind.EVENTS
    formats = frozenset({"jsonl", "csv"})
    storage_format = "lance"
    suffix = ".lance"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """See :class:`~ursa_lib.processing.Converter`; the table is described in this module."""
        events = parse_events(request)
        try:
            table = pa.table(
                {
                    "time": [e.time_s for e, _ in events],
                    "duration": [e.duration_s for e, _ in events],
                    "type": [e.type for e, _ in events],
                    "prompt": [e.prompt for e, _ in events],
                    "response": [e.response for e, _ in events],
                    "metadata": [json.dumps(e.metadata, sort_keys=True) for e, _ in events],
                    "segment": [s for _, s in events],
                },
                schema=EVENTS_SCHEMA,
            )
        except TypeError as exc:
            raise EventParseError(
                f"event metadata of {request.modality!r} is not JSON-serialisable ({exc})"
            ) from None
        asset = f"{request.modality}{self.suffix}"
        with staged(request.out, (asset,)) as stage:
            lance_table = lancedb.connect(str(stage)).create_table(request.modality, data=table)
            if table.num_rows:
                lance_table.create_index("time", config=BTree())
        rows = tuple(e for e, _ in events)
        domain = (
            ((min(e.time_s for e in rows), max(e.time_s + e.duration_s for e in rows)),)
            if rows
            else ()
        )
        return ConversionOutput(
            converter=self.name,
            converter_version=self.version,
            storage_format=self.storage_format,
            asset=asset,
            entries=(asset,),
            sampling_rate=None,
            domain_intervals=domain,
            channel_spec=None,
            count=len(rows),
            unit=CountUnit.EVENTS,
            input_bytes=sum(s.size for s in request.segments),
            output_bytes=total_size(request.out, (asset,)),
            events=rows,
        )
