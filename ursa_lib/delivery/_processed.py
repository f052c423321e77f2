"""Processed data in memory: one time-indexed ``temporaldata.Data`` per recording.

`read_recording` reads the processed modalities of one query result in a
window of session seconds; `stream_windows` walks fixed windows over them,
prefetching the next window in the background.

The ``Data`` of a recording holds ``recording`` (the catalog row),
``recording_hash``, ``rec_id``, ``domain`` (an ``Interval``: the union of the
modalities' domains, clipped to the window) and one attribute per modality:

* sampled streams (Zarr): a ``Data`` with ``signal`` (physical ``data`` and
  stored ``digital`` samples; a ``RegularTimeSeries``, or an
  ``IrregularTimeSeries`` across a gap), ``channels`` and ``sampling_rate``;
* events (Lance): an ``IrregularTimeSeries``;
* video (MP4): a `VideoFrames` accessor that decodes only the frames asked for;
* tables (Parquet): a ``pyarrow.Table``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError, InvalidValueError, UrsaError
from ..catalog import IngestionStatus, Modality
from ..store import zarr_store
from ._assets import AssetSource, Window, positive_seconds, union
from ._events_read import read_events
from ._query import QueryResult, covered_spans
from ._sampled import read_sampled, recent_objects
from ._video import read_video

__all__ = [
    "StreamWindow",
    "check_modalities",
    "misaligned",
    "modality_names",
    "read_recording",
    "stream_windows",
]


class NotProcessedError(UrsaError, ValueError):
    """A processed read of a modality that is not processed."""


def modality_names(modalities: Iterable[str] | None) -> list[str] | None:
    """The names a read's ``modalities`` argument asks for; None asks for all of them.

    A bare string (``"eeg"`` rather than ``["eeg"]``), an empty list or anything
    but names raises `InvalidValueError`.
    """
    if modalities is None:
        return None
    rule = "modalities is a list of names, e.g. ['eeg'], or None for all of them"
    if isinstance(modalities, str) or not isinstance(modalities, Iterable):
        raise InvalidValueError(f"{rule}; got {modalities!r}")
    names = list(modalities)
    if not names:
        raise InvalidValueError(f"{rule}; got an empty list")
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise InvalidValueError(f"{rule}; got {modalities!r}, where {wrong[0]!r} is not a name")
    return names


def check_modalities(result: QueryResult, names: Iterable[str]) -> None:
    """Refuse names that are not modalities of ``result`` (`InvalidValueError`),
    naming those it has and the closest one to a misspelt name."""
    unknown = [n for n in names if n not in result.modalities]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(result.modalities), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidValueError(
            f"recording {result.recording_hash} has no modality {', '.join(map(repr, unknown))} "
            f"(it has {', '.join(result.modalities)}{hint})"
        )


def _selected(result: QueryResult, modalities: Iterable[str] | None) -> list[Modality]:
    names = list(result.modalities) if modalities is None else list(modalities)
    check_modalities(result, names)
    rows = [result.modalities[n] for n in names]
    for row in rows:
        if row.ingestion_status is not IngestionStatus.PROCESSED:
            raise NotProcessedError(
                f"modality {row.modality!r} of recording {row.recording_hash} is "
                f"{row.ingestion_status.value}, not processed; read its raw segments with "
                "source='raw', or process it first"
            )
    return rows


def read_modality(
    source: AssetSource,
    row: Modality,
    window: Window,
    *,
    strict: bool = True,
    covered: list[tuple[float, float]] | None = None,
) -> Any:
    """One processed modality in ``window`` (see the module docstring for the types).

    A window outside the spans the modality covers (``covered``: by default its
    domain; `covered_spans` gives events their whole recording) raises
    `WindowOutsideDomainError` if ``strict``, else reads as empty.
    """
    assert row.storage_uri is not None
    spans = row.domain_spans if covered is None else covered
    key = source.key_of(row.storage_uri)
    what = f"modality {row.modality!r} of recording {row.recording_hash}"
    fmt = str(row.format)
    if fmt == "zarr":
        return read_sampled(source, key, window, what, strict=strict)
    if fmt == "lance":
        return read_events(source, key, window, spans, what, strict=strict)
    if fmt == "mp4":
        return read_video(source, key, window, spans, what, strict=strict)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with source.store.open(key) as handle:
            return pq.read_table(handle)
    raise NotProcessedError(f"{what}: no reader for processed format {fmt!r}")


def read_recording(
    source: AssetSource,
    result: QueryResult,
    window: Window,
    modalities: Iterable[str] | None = None,
    *,
    strict: bool = True,
) -> Any:
    """The recording's processed modalities in ``window`` as one ``temporaldata.Data``.

    The window must overlap the selected modalities' domains (else, if
    ``strict``, `WindowOutsideDomainError`, also for a window that falls in a gap
    of them all); a modality with nothing in it reads as empty. Events count as covering
    the whole recording: a window without events holds zero events.
    """
    from temporaldata import Data, Interval

    rows = _selected(result, modalities)
    spans = {row.modality: covered_spans(result.recording, row) for row in rows}
    covered = [span for own in spans.values() for span in own]
    if strict:
        names = ", ".join(repr(row.modality) for row in rows)
        window.check_overlaps(covered, f"recording {result.recording_hash} ({names})")
    parts = {
        row.modality: read_modality(source, row, window, strict=False, covered=spans[row.modality])
        for row in rows
    }
    merged = union(
        [clipped for start, end in covered if (clipped := window.clip(start, end)) is not None]
    )
    domain = (
        Interval([m[0] for m in merged], [m[1] for m in merged])
        if merged
        else Interval(window.start or 0.0, window.start or 0.0)
    )
    return Data(
        recording=result.recording,
        recording_hash=result.recording_hash,
        rec_id=result.rec_id,
        domain=domain,
        **parts,
    )


def misaligned(results: Sequence[QueryResult], modalities: Iterable[str] | None) -> str | None:
    """Why ``results`` cannot be concatenated, or None when they align."""
    if len(results) < 2:
        return None
    wanted = None if modalities is None else tuple(modalities)
    first = results[0]
    names = wanted or tuple(first.modalities)
    for other in results[1:]:
        other_names = wanted or tuple(other.modalities)
        if other_names != names:
            return (
                f"modality sets differ: {first.recording_hash} has {list(names)}, "
                f"{other.recording_hash} has {list(other_names)}"
            )
        for name in names:
            a, b = first.modalities.get(name), other.modalities.get(name)
            # Events span only from their first to their last event: their domains
            # differ between any two recordings, and say nothing about alignment.
            if a is None or b is None or str(a.format) == "lance":
                continue
            if a.domain_spans != b.domain_spans:
                return (
                    f"time domains of {name!r} differ: {first.recording_hash} covers "
                    f"{a.domain_spans} s, {other.recording_hash} covers {b.domain_spans} s"
                )
    return None


@dataclass(frozen=True, slots=True)
class StreamWindow:
    """One window of `stream`: its span, the data, and the parts that hold no data."""

    start: float
    end: float
    data: Any
    """``temporaldata.Data`` of the recording in ``[start, end)``."""
    gaps: tuple[tuple[float, float], ...]
    """Spans of ``[start, end)`` outside every modality's domain (never filled)."""
    recording_hash: str
    gaps_by_modality: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    """Each modality's spans of ``[start, end)`` outside its own domain: a gap in one
    stream while the others record (an EEG gap under running audio, say)."""


def _gaps(
    start: float, end: float, covered: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    gaps, cursor = [], start
    for lo, hi in sorted(covered):
        if hi <= cursor or lo >= end:
            continue
        if lo > cursor:
            gaps.append((cursor, min(lo, end)))
        cursor = max(cursor, hi)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


_Planned = tuple[QueryResult, float, float, dict[str, list[tuple[float, float]]]]
"""One window to read: the recording, its span, and the spans each modality covers."""


def stream_windows(
    source: AssetSource,
    results: Sequence[QueryResult],
    window: float,
    step: float | None = None,
    modalities: Iterable[str] | None = None,
) -> Iterator[StreamWindow]:
    """Fixed windows ``[t, t + window)`` every ``step`` seconds over each recording.

    The windows start at the first sample of each recording's processed domain
    and cover it to its end. The next window is read in a background thread
    while the caller works on the current one (one window ahead: bounded
    memory). A window that falls entirely in a gap is yielded with no samples
    and the gap reported in ``gaps``. Closing the iterator early (``break``)
    waits for the one read in flight and leaves no thread behind. Bad
    arguments (a ``window`` or ``step`` that is not a number of seconds > 0:
    `InvalidValueError`) and modalities that are not processed are refused by
    this call, not at the first window.
    """
    window = positive_seconds("stream's window", window)
    step = window if step is None else positive_seconds("stream's step", step)
    names = modality_names(modalities)
    # Each recording's selection is checked now; its windows are made as they are
    # read, never listed ahead (a tiny step over hours would be billions of them).
    spans: list[_Planned] = []  # each recording's whole span
    for result in results:
        rows = _selected(result, names)
        by_modality = {row.modality: covered_spans(result.recording, row) for row in rows}
        covered = [span for spans in by_modality.values() for span in spans]
        if covered:
            first, last = min(s for s, _ in covered), max(e for _, e in covered)
            spans.append((result, first, last, by_modality))
    plan = _planned(spans, window, step)
    if source.zarr is None:
        # Consecutive windows share chunks: fetch each once, not once per window.
        # (A bucket zarr cannot read is reported by read_sampled if it is asked to.)
        with contextlib.suppress(ConfigError):
            source = dataclasses.replace(
                source, zarr=recent_objects(zarr_store(source.store, published=True))
            )
    return _windows(source, plan, names)


def _planned(spans: list[_Planned], window: float, step: float) -> Iterator[_Planned]:
    """The windows over each ``(result, first, last, spans by modality)``, one at a time."""
    for result, first, last, by_modality in spans:
        t = first
        while t < last:
            yield (result, t, t + window, by_modality)
            t = first + step * (round((t - first) / step) + 1)


def _windows(
    source: AssetSource, plan: Iterator[_Planned], names: list[str] | None
) -> Iterator[StreamWindow]:
    pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ursa-stream")

    def load(item: _Planned) -> StreamWindow:
        result, start, end, by_modality = item
        covered = [span for spans in by_modality.values() for span in spans]
        gaps = _gaps(start, end, covered)
        own = {name: tuple(_gaps(start, end, spans)) for name, spans in by_modality.items()}
        # A window wholly in a gap is yielded empty, its gap reported: not refused.
        data = read_recording(source, result, Window(start, end), names, strict=False)
        return StreamWindow(start, end, data, tuple(gaps), result.recording_hash, own)

    pending: cf.Future[StreamWindow] | None = None
    try:
        item = next(plan, None)
        while item is not None:
            current = pending.result() if pending is not None else load(item)
            item = next(plan, None)
            pending = pool.submit(load, item) if item is not None else None
            yield current
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
