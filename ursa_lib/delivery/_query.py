"""Query: which recordings and modalities match, answered inside LanceDB.

Two indexed queries, whichever way round is narrower:

* with recording-level filters (participants, recording hashes, metadata, time
  range), the matching recordings first, then their modalities by
  ``recording_hash IN (...)``;
* without them, the modalities by status and name first, then their recordings.

Results are ordered by ``(start_time, recording_hash)``, modalities by name. A
recording with no modality left after filtering is not returned, so a
recording row whose modalities are missing (or a modality row whose recording
row is missing, as after an ingest killed during registration) never shows.

``metadata`` filters match the recording's metadata (equality per key, JSON
values). ``time_range`` is an absolute ``(start, end)`` window in epoch
nanoseconds (each end may be given as a ``datetime`` or an ISO-8601 string, see
`ursa_lib._time.epoch_ns`; either end may be None, for "since" or "until"): a
recording matches if it overlaps the window, and a processed modality if one of
the spans it covers does (see `covered_spans`: events cover their whole
recording). Raw bytes have no time index, so ``time_range`` is refused unless
``status="ingested"``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .._errors import InvalidValueError
from .._text import human_duration
from .._time import epoch_ns
from .._types import Metadata
from ..catalog import (
    HASH_PREFIX,
    Catalog,
    IngestionStatus,
    Modality,
    Recording,
    sql_array_has,
    sql_hash_prefix,
    sql_in,
    sql_literal,
    sql_metadata_equals,
)

if TYPE_CHECKING:
    import pyarrow

__all__ = ["QueryResult", "QueryResults", "QuerySpec", "Status", "query"]

Status = Literal["ingested", "raw", "all"]

AbsoluteTime = Annotated[int, BeforeValidator(lambda value: epoch_ns(value, "time_range"))]
"""Epoch nanoseconds, given as them, as a ``datetime`` or as an ISO-8601 string."""

_RULES = {
    "participants": "a participant id or a list of them, e.g. 'p001' or ['p001', 'p002']",
    "modalities": "a modality name or a list of them, e.g. 'eeg' or ['eeg', 'camera']",
    "recording_hash": "a recording hash (64 hex characters, or its first 8 or more) or a "
    "list of them",
    "metadata": "a dict of metadata keys and the JSON values they must equal, e.g. "
    "{'task': 'rest'}",
    "status": "one of 'ingested' (processed modalities), 'raw' or 'all'",
    "time_range": "(start, end), each epoch nanoseconds, a datetime or an ISO-8601 string, "
    "or None for an open end, e.g. ('2025-11-18T09:00:00Z', '2025-11-18T10:00:00Z')",
    "limit": "a whole number of recordings greater than 0",
}
"""What each filter takes, for the message that refuses a value it cannot take."""


class QuerySpec(BaseModel):
    """Filters of one query; every one given must match (AND)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    participants: tuple[str, ...] | None = None
    """Recordings including any of these participants."""
    modalities: tuple[str, ...] | None = None
    """Only these modalities (e.g. ``("eeg", "camera")``)."""
    recording_hash: tuple[str, ...] | None = None
    """Only these recordings (one hash or several; each may be its first 8 or more
    characters, as ``ursa query`` prints 12)."""
    metadata: Metadata | None = None
    """Equality on keys of the recording's metadata (JSON values, as stored)."""
    status: Status = "ingested"
    """``ingested`` (processed modalities, the default), ``raw``, or ``all``."""
    time_range: tuple[AbsoluteTime | None, AbsoluteTime | None] | None = None
    """Absolute window ``(start, end)`` in epoch nanoseconds (each may be given as a
    ``datetime``, naive meaning UTC, or an ISO-8601 string; None leaves that end
    open); only with ``status="ingested"``."""
    limit: int | None = Field(default=None, gt=0)
    """At most this many recordings."""

    def __init__(self, /, **filters: Any) -> None:
        """The filters, checked: a value a filter cannot take raises `InvalidValueError`
        naming the filter and what it takes."""
        try:
            super().__init__(**filters)
        except ValidationError as exc:
            raise _refusal(exc, filters) from None

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """As pydantic's, refusing a value a filter cannot take as `QuerySpec` does."""
        try:
            return super().model_validate(obj, **options)
        except ValidationError as exc:
            raise _refusal(exc, obj if isinstance(obj, Mapping) else {}) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """As pydantic's, refusing a value a filter cannot take as `QuerySpec` does."""
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as exc:
            try:
                given = json.loads(json_data)
            except ValueError:
                given = {}
            raise _refusal(exc, given if isinstance(given, Mapping) else {}) from None

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for name in ("participants", "modalities", "recording_hash"):
                if isinstance(data.get(name), str):
                    data[name] = (data[name],)
        return data

    @field_validator("recording_hash")
    @classmethod
    def _hashes(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """Hashes (or their first 8+ characters), lower-case as stored: ``D1BC012F``
        finds what ``d1bc012f`` does; anything shorter or not hex is refused."""
        if values is None:
            return None
        hashes = tuple(v.lower() for v in values)
        for value in hashes:
            if not _HASH_OR_PREFIX.fullmatch(value):
                raise InvalidValueError(
                    f"recording_hash {value!r} is not a recording hash: give its 64 hex "
                    "characters, or the first 8 or more (ursa query prints 12)"
                )
        return hashes

    @model_validator(mode="after")
    def _coherent(self) -> QuerySpec:
        if self.time_range is not None:
            start, end = self.time_range
            if start is None and end is None:
                raise InvalidValueError(
                    "time_range (None, None) filters nothing: give a start, an end or both, "
                    "or pass time_range=None"
                )
            if start is not None and end is not None and end <= start:
                raise InvalidValueError(
                    f"time_range must end after it starts (start < end), got {self.time_range}"
                )
            if self.status != "ingested":
                raise InvalidValueError(
                    f"time_range filters processed data only; raw bytes have no time index "
                    f"(status={self.status!r}). Drop time_range or query status='ingested'"
                )
        for name in ("participants", "modalities", "recording_hash"):
            if getattr(self, name) == ():
                raise InvalidValueError(f"{name} is empty; pass None to not filter on it")
        return self


def _refusal(exc: ValidationError, filters: Mapping[str, Any]) -> InvalidValueError:
    """One line for the first problem pydantic found: our own refusal's message, or
    the filter, what it takes and what was given."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidValueError):
        return InvalidValueError(str(cause))
    field = str(error["loc"][0]) if error["loc"] else ""
    if field not in _RULES:
        return InvalidValueError(f"query filters: {error['msg']}")
    return InvalidValueError(
        f"query filter {field} must be {_RULES[field]}; got {filters.get(field)!r}"
    )


class QueryResult(BaseModel):
    """One recording and the modalities of it that matched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recording: Recording
    modalities: dict[str, Modality]
    """Matched modalities by name, in name order."""

    @property
    def recording_hash(self) -> str:
        return self.recording.recording_hash

    @property
    def rec_id(self) -> str:
        return self.recording.rec_id

    @property
    def participant_ids(self) -> list[str]:
        return self.recording.participant_ids

    @property
    def start_time(self) -> int:
        return self.recording.start_time

    @property
    def duration(self) -> float:
        return self.recording.duration

    def __repr__(self) -> str:
        """One line a person reads: the recording, and each modality's status (the
        rows themselves stay reachable as ``.recording`` and ``.modalities``)."""
        start = dt.datetime.fromtimestamp(self.start_time / 1e9, tz=dt.UTC)
        statuses = {name: mod.ingestion_status.value for name, mod in self.modalities.items()}
        return (
            f"QueryResult(rec_id={self.rec_id!r}, recording_hash='{self.recording_hash[:12]}…', "
            f"participants={self.participant_ids!r}, "
            f"start='{start:%Y-%m-%d %H:%M:%S} UTC', duration='{human_duration(self.duration)}', "
            f"modalities={statuses!r})"
        )

    __str__ = __repr__


class QueryResults(list[QueryResult]):
    """A list of `QueryResult` that converts to a table for notebooks."""

    def __repr__(self) -> str:
        """One result per line, so a notebook shows a list that can be read."""
        if not self:
            return "QueryResults([])"
        return "QueryResults([\n" + "".join(f"  {r!r},\n" for r in self) + "])"

    __str__ = __repr__

    def rows(self) -> Iterator[dict[str, Any]]:
        """One flat dict per (recording, modality)."""
        for result in self:
            rec = result.recording
            for name, mod in result.modalities.items():
                yield {
                    "recording_hash": rec.recording_hash,
                    "rec_id": rec.rec_id,
                    "participant_ids": list(rec.participant_ids),
                    "start_time": rec.start_time,
                    "duration": rec.duration,
                    "modality": name,
                    "worker_id": mod.worker_id,
                    "status": mod.ingestion_status.value,
                    "raw_storage_uri": mod.raw_storage_uri,
                    "storage_uri": mod.storage_uri,
                    "format": mod.format.value if mod.format else None,
                    "sampling_rate": mod.sampling_rate,
                }

    def to_arrow(self) -> pyarrow.Table:
        import pyarrow as pa

        rows = list(self.rows())
        schema = pa.schema(
            [
                ("recording_hash", pa.string()),
                ("rec_id", pa.string()),
                ("participant_ids", pa.list_(pa.string())),
                ("start_time", pa.int64()),
                ("duration", pa.float64()),
                ("modality", pa.string()),
                ("worker_id", pa.string()),
                ("status", pa.string()),
                ("raw_storage_uri", pa.string()),
                ("storage_uri", pa.string()),
                ("format", pa.string()),
                ("sampling_rate", pa.float64()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs pandas: ``pip install 'ursa[notebook]'``)."""
        if importlib.util.find_spec("pandas") is None:
            raise ImportError(
                "to_pandas() needs pandas; install it (pip install pandas) or use to_arrow()"
            )
        return self.to_arrow().to_pandas()


def _spec(spec: QuerySpec | None, filters: Mapping[str, Any]) -> QuerySpec:
    if spec is not None and filters:
        raise TypeError(
            "pass either a QuerySpec or keyword filters, not both "
            f"(got a QuerySpec and {', '.join(sorted(filters))})"
        )
    if spec is not None:
        if not isinstance(spec, QuerySpec):
            raise TypeError(f"spec must be a QuerySpec, got {type(spec).__name__}")
        return spec
    unknown = sorted(set(filters) - set(QuerySpec.model_fields))
    if unknown:
        hints = [difflib.get_close_matches(u, QuerySpec.model_fields, n=1) for u in unknown]
        said = ", ".join(
            f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
            for u, h in zip(unknown, hints, strict=True)
        )
        raise InvalidValueError(
            f"unknown query filter {said}; filters are: {', '.join(QuerySpec.model_fields)}"
        )
    return QuerySpec(**filters)


def query(catalog: Catalog, spec: QuerySpec | None = None, **filters: Any) -> QueryResults:
    """Recordings and modalities matching ``spec`` or the keyword filters of `QuerySpec`."""
    q = _spec(spec, filters)
    modality_clauses = []
    if q.status == "ingested":
        modality_clauses.append(f"ingestion_status = {sql_literal(IngestionStatus.PROCESSED)}")
    elif q.status == "raw":
        modality_clauses.append(f"ingestion_status = {sql_literal(IngestionStatus.RAW)}")
    if q.modalities is not None:
        modality_clauses.append(sql_in("modality", q.modalities))

    recording_clauses = []
    if q.participants is not None:
        recording_clauses.append(
            "(" + " OR ".join(sql_array_has("participant_ids", p) for p in q.participants) + ")"
        )
    if q.recording_hash is not None:
        recording_clauses.append(_hash_clause(q.recording_hash))
    for key, value in (q.metadata or {}).items():
        recording_clauses.append(sql_metadata_equals(key, value))
    if q.time_range is not None:
        start, end = q.time_range
        if end is not None:
            recording_clauses.append(f"start_time < {end}")
        if start is not None:
            recording_clauses.append(f"start_time + CAST(duration * 1e9 AS BIGINT) > {start}")

    modality_where = " AND ".join(modality_clauses) or None
    if recording_clauses:
        found = catalog.rows(Recording, " AND ".join(recording_clauses))
        recordings = {r.recording_hash: r for r in found}
        modalities = catalog.rows_in(Modality, "recording_hash", recordings, modality_where)
    else:
        modalities = catalog.rows(Modality, modality_where)
        hashes = {m.recording_hash for m in modalities}
        found = catalog.rows_in(Recording, "recording_hash", hashes)
        recordings = {r.recording_hash: r for r in found}

    by_recording: dict[str, dict[str, Modality]] = {}
    for mod in modalities:
        recording = recordings.get(mod.recording_hash)
        if recording is None:
            continue  # its recording row is not written (yet): not a session to show
        if q.time_range is not None and not _overlaps(recording, mod, q.time_range):
            continue
        by_recording.setdefault(mod.recording_hash, {})[mod.modality] = mod
    ordered = sorted(by_recording, key=lambda h: (recordings[h].start_time, h))
    if q.limit is not None:
        ordered = ordered[: q.limit]
    # The rows were validated as they were read: build the results without
    # validating them a second time.
    return QueryResults(
        QueryResult.model_construct(
            recording=recordings[h], modalities=dict(sorted(by_recording[h].items()))
        )
        for h in ordered
    )


_HASH_OR_PREFIX = re.compile(r"[0-9a-f]{8,64}")


def _hash_clause(values: tuple[str, ...]) -> str:
    """Recordings whose hash is one of ``values``, or starts with one that is the first
    8 to 63 (lower-case hex) characters of a hash."""
    prefixes = [v for v in values if HASH_PREFIX.fullmatch(v)]
    whole = [v for v in values if v not in prefixes]
    clauses = [sql_hash_prefix(v) for v in prefixes]
    if whole:
        clauses.insert(0, sql_in("recording_hash", whole))
    return "(" + " OR ".join(clauses) + ")"


def covered_spans(recording: Recording, modality: Modality) -> list[tuple[float, float]]:
    """The spans (session seconds) in which ``modality`` has data to read: its domain,
    and for events the whole recording besides (an events stream records
    throughout; its domain only runs from the first event to the last, and a span
    with no event holds zero events)."""
    domain = modality.domain_spans
    if str(modality.format) != "lance":
        return domain
    starts = [0.0, *(start for start, _ in domain)]
    ends = [float(recording.duration), *(end for _, end in domain)]
    return [(min(starts), max(ends))]


def _overlaps(
    recording: Recording, modality: Modality, window: tuple[int | None, int | None]
) -> bool:
    start, end = window
    spans = covered_spans(recording, modality)
    for lo_s, hi_s in spans:
        lo = recording.start_time + int(lo_s * 1e9)
        hi = recording.start_time + int(hi_s * 1e9)
        if (end is None or lo < end) and (start is None or hi > start):
            return True
    return not spans  # no intervals: it spans the recording, which overlaps
