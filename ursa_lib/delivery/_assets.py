"""Where processed assets are read from, and the session-clock windows they are read by."""

from __future__ import annotations

import math
import numbers
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from .._errors import InvalidValueError, ObjectNotFoundError, UrsaError
from ..store import LocalBackend, Store

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AssetSource",
    "Opened",
    "Window",
    "WindowOutsideDomainError",
    "positive_seconds",
]

_WINDOW_RULE = (
    "time_range is (start, end): two finite numbers of seconds from the session start, "
    "with start <= end, e.g. (10.0, 20.0)"
)


class WindowOutsideDomainError(UrsaError, ValueError):
    """A time window that overlaps none of a modality's time domain."""


def _is_number(value: object) -> TypeGuard[float]:
    """An int or a float (numpy's too), but not a bool, a string or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _pair_of_seconds(time_range: object) -> tuple[float, float]:
    """``(start, end)`` of a time_range argument, checked; `InvalidValueError` otherwise."""
    if isinstance(time_range, str | bytes) or not isinstance(time_range, Iterable):
        raise InvalidValueError(f"{_WINDOW_RULE}; got {time_range!r}")
    items = tuple(time_range)
    if len(items) != 2:
        raise InvalidValueError(f"{_WINDOW_RULE}; got {len(items)} values: {time_range!r}")
    wrong = [item for item in items if not _is_number(item)]
    if wrong:
        kinds = " and ".join(f"{item!r} ({type(item).__name__})" for item in wrong)
        verb = "is not a number" if len(wrong) == 1 else "are not numbers"
        raise InvalidValueError(f"{_WINDOW_RULE}; got {time_range!r}, where {kinds} {verb}")
    start, end = float(items[0]), float(items[1])
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidValueError(f"{_WINDOW_RULE}; got {time_range!r}, which is not finite")
    if end < start:
        raise InvalidValueError(f"{_WINDOW_RULE}; got {time_range!r}, whose start is after its end")
    return start, end


def positive_seconds(name: str, value: object) -> float:
    """``value`` as a finite number of seconds > 0; `InvalidValueError` naming ``name`` else."""
    seconds = float(value) if _is_number(value) else math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidValueError(
            f"{name} is a finite number of seconds greater than 0, got {value!r}"
        )
    return seconds


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span ``[start, end)`` of session seconds; ``None`` ends are open."""

    start: float | None = None
    end: float | None = None

    @classmethod
    def of(cls, time_range: tuple[float, float] | Window | None) -> Window:
        """The window of a ``time_range`` argument: ``None`` (everything), a `Window`,
        or a pair ``(start, end)`` of seconds from the session start.

        Anything else, a start after the end, or an end that is not finite, raises
        `InvalidValueError` naming what was given (a zero-length window is allowed).
        """
        if time_range is None:
            return cls()
        if isinstance(time_range, Window):
            return time_range
        start, end = _pair_of_seconds(time_range)
        return cls(start, end)

    @property
    def bounded(self) -> bool:
        return self.start is not None and self.end is not None

    def where(self, column: str) -> str | None:
        """The window as a SQL filter on ``column`` (seconds), or None when unbounded."""
        clauses = []
        if self.start is not None:
            clauses.append(f"{column} >= {self.start!r}")
        if self.end is not None:
            clauses.append(f"{column} < {self.end!r}")
        return " AND ".join(clauses) or None

    def clip(self, start: float, end: float) -> tuple[float, float] | None:
        """The part of ``[start, end)`` inside this window, or None."""
        lo = start if self.start is None else max(start, self.start)
        hi = end if self.end is None else min(end, self.end)
        return (lo, hi) if hi > lo else None

    def check_overlaps(self, intervals: list[tuple[float, float]], what: str) -> None:
        """Refuse a window that overlaps none of ``intervals``: one before, after or
        between them (in a gap) holds no data. A zero-length window must lie in one."""
        if self.start is None or self.end is None or not intervals:
            return
        start, end = self.start, self.end
        if start == end:
            inside = any(lo <= start <= hi for lo, hi in intervals)
        else:
            inside = any(start < hi and end > lo for lo, hi in intervals)
        if not inside:
            domain = " and ".join(f"[{lo:g}, {hi:g})" for lo, hi in union(intervals))
            raise WindowOutsideDomainError(
                f"{what}: the window [{start:g}, {end:g}) s lies outside its time domain "
                f"{domain} s (seconds from the session start)"
            )


def _query(table: Any, where: str | None, columns: list[str] | None) -> pa.Table:
    query = table.search()
    if where:
        query = query.where(where)
    if columns is not None:
        query = query.select(columns)
    rows: pa.Table = query.limit(None).to_arrow()
    return rows


def union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``intervals`` merged where they overlap or touch, in order."""
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class Opened:
    """The last ``keep`` zarr arrays and Lance tables a reader opened, by key,
    shared by threads.

    Reading a window of an asset opened before costs only its chunks or data
    pages, not its metadata (or a Lance connection and manifest) again. A new
    converter version gets a new folder, so what is kept does not go stale; a
    damaged asset made again in its folder is the exception: a Zarr's metadata
    comes back the same, and a kept Lance table whose files are gone is opened
    afresh (`AssetSource.lance_rows`).
    """

    def __init__(self, keep: int = 16) -> None:
        self._keep = keep
        self._opened: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, open_asset: Callable[[], Any]) -> Any:
        with self._lock:
            asset = self._opened.get(key)
            if asset is not None:
                self._opened.move_to_end(key)
                return asset
        asset = open_asset()  # outside the lock: it makes requests
        with self._lock:
            self._opened[key] = asset
            while len(self._opened) > self._keep:
                self._opened.popitem(last=False)
        return asset

    def kept(self, key: str) -> bool:
        with self._lock:
            return key in self._opened

    def forget(self, key: str) -> None:
        with self._lock:
            self._opened.pop(key, None)

    def clear(self) -> None:
        """Forget every opened asset (after processing remade one in place)."""
        with self._lock:
            self._opened.clear()


@dataclass(frozen=True, slots=True)
class AssetSource:
    """The assets bucket as read by processed-data readers (its read-only role)."""

    store: Store
    lance_options: Mapping[str, str] = field(default_factory=dict, repr=False)
    """S3 options for Lance (they hold the role's keys: never shown)."""
    zarr: Any = field(default=None, repr=False, compare=False)
    """A zarr store that sampled reads go through instead of the bucket's own
    (`stream_windows` sets one that keeps the chunks it read last)."""
    opened: Opened = field(default_factory=Opened, repr=False, compare=False)
    """The arrays and tables opened through this source (see `Opened`)."""

    def key_of(self, uri: str) -> str:
        if not uri.startswith(self.store.base_uri):
            raise UrsaError(f"{uri} is not in the assets bucket {self.store.base_uri}")
        return uri[len(self.store.base_uri) :]

    def lance_parent(self, key: str) -> str:
        """What ``lancedb.connect`` takes for the folder holding the table at ``key``."""
        parent = key.rstrip("/").rsplit("/", 1)[0]
        backend: Any = self.store.backend
        if isinstance(backend, LocalBackend):
            return str(backend.root / parent)
        return self.store.base_uri + parent

    def open_lance(self, key: str, *, fresh: bool = False) -> Any:
        """The LanceDB table stored at ``key`` (``…/events.lance``), opened once;
        ``fresh=True`` opens it again (a check of what is stored now)."""
        if fresh:
            self.opened.forget("lance:" + key)
        return self.opened.get("lance:" + key, lambda: self._open_lance(key))

    def lance_rows(
        self, key: str, where: str | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        """The rows of the Lance table at ``key`` that match ``where`` (pushed down).

        A table kept open is one version of it. Should its files be gone since (a
        damaged asset that processing remade in its folder, from another process),
        the query fails: the table is then opened afresh and queried once more.
        """
        kept = self.opened.kept("lance:" + key)
        try:
            return _query(self.open_lance(key), where, columns)
        except (OSError, RuntimeError, ValueError):
            if not kept:
                raise
        return _query(self.open_lance(key, fresh=True), where, columns)

    def _open_lance(self, key: str) -> Any:
        import lancedb

        name = key.rstrip("/").rsplit("/", 1)[-1].removesuffix(".lance")
        db = lancedb.connect(self.lance_parent(key), storage_options=dict(self.lance_options))
        try:
            return db.open_table(name)
        except ValueError as exc:
            if "was not found" not in str(exc):  # lancedb's only sign of a missing table
                raise
            raise ObjectNotFoundError(
                f"the Lance table {key} is not in the assets bucket; run `ursa scrub` to find "
                "rows whose assets are gone, then process the recording again",
                uri=self.store.uri(key),
            ) from exc
