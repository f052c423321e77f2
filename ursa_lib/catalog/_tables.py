"""Table handles and reads: the connection, each table opened once, queries.

`TableAccess` is the base of `Catalog`: everything that talks to LanceDB
directly lives here, and the verbs above it speak in rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import lancedb
import pyarrow as pa

from .._config import LocalProfile, S3Profile
from .._errors import CatalogError, CatalogReadOnlyError
from .._secrets import redact
from ..store import RetryPolicy, retrying
from ._indexes import PREWARM, prewarm
from ._loop import EventLoop
from ._models import Row
from ._schema import ROW_JSON_COLUMN, arrow_schema, from_json_rows, from_records

__all__ = ["TableAccess"]

R = TypeVar("R", bound=Row)
T = TypeVar("T")


@functools.cache
def _columns(model: type[Row]) -> tuple[str, ...]:
    """The stored columns a row is built from (not the derived ones)."""
    return tuple(name for name in arrow_schema(model).names if name in model.model_fields)


def _empty(columns: Sequence[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in columns})


CATALOG_RETRY = RetryPolicy(
    attempts=12, timeout=30.0, wait_initial=0.02, wait_max=2.0, wait_jitter=0.05
)
"""The catalog's default: a lost commit race is tried again at once and then
less and less often, and a table another writer is creating gets ~10 s to
appear."""


def _is_commit_conflict(exc: Exception) -> bool:
    """Whether LanceDB refused a commit because other writers committed first.

    That includes Lance giving up its own retries when many writers commit at
    once ("Too many concurrent writers."): Lance declares that retryable too,
    and a later attempt, after the others, commits.
    """
    if isinstance(exc, CatalogError):
        return False
    text = str(exc).lower()
    return (
        ("conflict" in text and ("commit" in text or "retryable" in text or "concurrent" in text))
        or "incompatible with concurrent transaction" in text
        or "too many concurrent writers" in text
    )


class TableAccess:
    """The catalog's LanceDB connection and tables, opened lazily and once."""

    def __init__(
        self,
        uri: str,
        *,
        writable: bool,
        storage_options: Mapping[str, str] | None = None,
        profile: LocalProfile | S3Profile | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.uri = uri
        self.writable = writable
        self.profile = profile
        # How long commits that lose a race, and tables another writer is
        # creating, are tried again.
        self.retry = retry or CATALOG_RETRY
        self._storage_options = dict(storage_options or {})
        self._db: Any = None
        self._adb: Any = None
        self._tables: dict[str, Any] = {}
        self._async_tables: dict[str, Any] = {}
        self._row_json: dict[str, bool] = {}  # per table: has the row_json column
        self._prewarming: dict[str, Any] = {}  # per table: its background index load
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Catalog(uri={self.uri!r}, access={'rw' if self.writable else 'ro'!r})"

    def _connect(self) -> Any:
        if self._db is None:
            try:
                # Interval 0: every read sees the latest commit of any writer.
                self._db = lancedb.connect(
                    self.uri,
                    storage_options=self._storage_options or None,
                    read_consistency_interval=dt.timedelta(0),
                )
            except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
                raise CatalogError(
                    f"opening catalog {self.uri} failed: {redact(str(exc))}"
                ) from None
        return self._db

    def _table(self, model: type[Row], *, create: bool) -> Any | None:
        name = model.__table__
        with self._lock:
            if name in self._tables:
                return self._tables[name]
            db = self._connect()
            try:
                if name in db.list_tables().tables:
                    table = self._open_settled(db, name)
                elif create:
                    table = self._create(db, model)
                else:
                    return None
            except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
                raise CatalogError(
                    f"opening table {name} of {self.uri} failed: {redact(str(exc))}"
                ) from None
            # Tables created before the row_json column are read and written
            # column by column, as they were.
            self._row_json[name] = ROW_JSON_COLUMN in table.schema.names
            self._tables[name] = table
            return table

    def _create(self, db: Any, model: type[Row]) -> Any:
        # Create-only (never overwrite): when several writers create the same
        # table at once, Lance's commit lets exactly one succeed; the others
        # open the winner's table. An overwrite here could drop rows.
        try:
            return db.create_table(model.__table__, schema=arrow_schema(model), mode="create")
        except Exception:  # noqa: BLE001 - lost the creation race, or it already exists
            return self._open_settled(db, model.__table__)

    def _open_settled(self, db: Any, name: str) -> Any:
        """Open the listed table ``name``, retried under the policy: a table
        another writer is creating can be listed a moment before its first
        version is committed. The last failure is raised as it is."""
        for attempt in retrying(self.retry, on=Exception):
            with attempt:
                return db.open_table(name)
        raise AssertionError("unreachable: retry_context always runs at least once")

    def _writable_table(self, model: type[Row]) -> Any:
        table = self._table(model, create=True)
        assert table is not None
        return table

    def _require_write(self, what: str) -> None:
        if not self.writable:
            raise CatalogReadOnlyError(
                f"{what} refused: catalog {self.uri} is open read-only; "
                "open it with writable=True (read-write credentials) to write"
            )

    def _with_conflict_retries(self, fn: Callable[[], T], what: str) -> T:
        """Run the commit ``fn``, again under the policy while it loses a race to
        another writer; any other failure (or the last conflict) is a
        `CatalogError` saying ``what`` failed."""
        try:
            for attempt in retrying(self.retry, on=_is_commit_conflict):
                with attempt:
                    return fn()
        except CatalogError:
            raise
        except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
            raise CatalogError(f"{what} failed: {redact(str(exc))}") from None
        raise AssertionError("unreachable: retry_context always runs at least once")

    def _read_columns(self, model: type[Row]) -> tuple[str, ...]:
        """What to read to build whole rows: ``row_json`` where the table has it."""
        self._table(model, create=False)  # learns whether it has row_json
        if self._row_json.get(model.__table__):
            return (ROW_JSON_COLUMN,)
        return _columns(model)

    @staticmethod
    def _hydrate(model: type[R], data: pa.Table) -> list[R]:
        if ROW_JSON_COLUMN in data.column_names:
            return from_json_rows(model, data.column(ROW_JSON_COLUMN).to_pylist())  # type: ignore[return-value]
        return from_records(model, data.to_pylist())  # type: ignore[return-value]

    def _async_table(self, model: type[Row]) -> Any | None:
        name = model.__table__
        if name in self._async_tables:
            return self._async_tables[name]
        loop = EventLoop.get()
        with self._lock:
            if self._adb is None:
                self._adb = loop.run(
                    lancedb.connect_async(
                        self.uri,
                        storage_options=self._storage_options or None,
                        read_consistency_interval=dt.timedelta(0),
                    )
                )
        if self._table(model, create=False) is None:
            return None
        table = loop.run(self._adb.open_table(name))
        with self._lock:
            if name in self._async_tables:  # another thread opened it meanwhile
                return self._async_tables[name]
            self._async_tables[name] = table
            if name in PREWARM:
                self._prewarming[name] = loop.start(prewarm(table, PREWARM[name]))
        return table

    def _query_all(
        self,
        model: type[Row],
        wheres: Sequence[str | None],
        columns: Sequence[str],
        limit: int | None = None,
    ) -> list[pa.Table]:
        """One Arrow table per filter in ``wheres``, the queries run side by side."""
        if self.uri.startswith("memory://"):
            # An in-memory database exists once per connection: read through
            # the same (sync) connection that wrote.
            return [self._query_sync(model, where, limit, columns) for where in wheres]
        try:
            table = self._async_table(model)
            if table is None:
                return [_empty(columns) for _ in wheres]

            async def run() -> list[pa.Table]:
                queries = []
                for where in wheres:
                    query = table.query().select(list(columns))
                    if where:
                        query = query.where(where)
                    if limit is not None:
                        query = query.limit(limit)
                    queries.append(query.to_arrow())
                return list(await asyncio.gather(*queries))

            return EventLoop.get().run(run())  # type: ignore[no-any-return]
        except CatalogError:
            raise
        except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
            shown = wheres[0] if len(wheres) == 1 else f"{len(wheres)} filters"
            raise CatalogError(
                f"query on {model.__table__} ({shown or 'all rows'}) failed: {redact(str(exc))}"
            ) from None

    def _query(
        self, model: type[Row], where: str | None, limit: int | None, columns: Sequence[str]
    ) -> pa.Table:
        """One query's rows as an Arrow table."""
        return self._query_all(model, [where], columns, limit)[0]

    def _query_sync(
        self,
        model: type[Row],
        where: str | None,
        limit: int | None,
        columns: Sequence[str],
    ) -> pa.Table:
        table = self._table(model, create=False)
        if table is None:
            return _empty(columns)
        query = table.search()
        if where:
            query = query.where(where, prefilter=True)
        query = query.select(list(columns))
        try:
            return query.limit(limit).to_arrow()
        except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
            raise CatalogError(
                f"query on {model.__table__} ({where or 'all rows'}) failed: {redact(str(exc))}"
            ) from None
