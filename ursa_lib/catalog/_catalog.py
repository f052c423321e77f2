"""`Catalog`: the nine tables on LanceDB, safe under concurrent writers."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

import lancedb
import pyarrow as pa
from lancedb.index import Bitmap, BTree, LabelList

from .._config import LocalProfile, Role, S3Credentials, S3Profile
from .._errors import (
    CatalogError,
    CatalogReadOnlyError,
    CatalogRowExists,
    InvalidKeyError,
    InvalidRowError,
    InvalidTransitionError,
    InvalidValueError,
    PrimaryKeyConflict,
)
from .._layout import AssetKey
from .._secrets import redact
from .._text import listed
from ..store._uri import parse_storage_uri
from ._models import (
    ROW_TYPES,
    BenchmarkResult,
    BenchmarkSuite,
    Checkpoint,
    Embedding,
    Event,
    IngestionStatus,
    Interval,
    Modality,
    Participant,
    PipelineAsset,
    Recording,
    Row,
    StorageFormat,
)
from ._schema import (
    LABELS_COLUMN,
    ROW_JSON_COLUMN,
    arrow_schema,
    from_json_rows,
    from_records,
    metadata_label,
    to_table,
)

__all__ = ["Catalog", "Where"]

log = logging.getLogger("ursa.catalog")

R = TypeVar("R", bound=Row)
T = TypeVar("T")

Where = str | Mapping[str, Any] | None
"""A LanceDB SQL filter, or ``{column: value}`` equalities joined by AND. The key
``metadata`` takes a dict of top-level metadata equalities."""

# Scalar indexes per table: (column, kind). BTREE for keys and ranges, BITMAP for
# low-cardinality columns, LABEL_LIST for list columns filtered by membership.
# modalities.recording_hash is a BITMAP although it has one value per ~10 rows:
# once loaded (see `_PREWARM`), a query's IN-list of a few hundred hashes
# resolves about 4x faster than through a BTREE (bench/catalog.py), for an index
# of ~90 bytes per recording.
_INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "participants": (("participant_id", "BTREE"), (LABELS_COLUMN, "LABEL_LIST")),
    "recordings": (
        ("recording_hash", "BTREE"),
        ("rec_id", "BTREE"),
        ("start_time", "BTREE"),
        ("participant_ids", "LABEL_LIST"),
        (LABELS_COLUMN, "LABEL_LIST"),
    ),
    "modalities": (
        ("recording_hash", "BITMAP"),
        ("modality", "BITMAP"),
        ("ingestion_status", "BITMAP"),
        (LABELS_COLUMN, "LABEL_LIST"),
    ),
    "events": (("event_id", "BTREE"), ("recording_hash", "BTREE"), ("event_type", "BITMAP")),
    "embeddings": (("embedding_id", "BTREE"), ("recording_hash", "BTREE")),
    "pipeline_assets": (("asset_id", "BTREE"), ("recording_hash", "BTREE")),
    "checkpoints": (("checkpoint_id", "BTREE"),),
    "benchmark_suites": (("suite_name", "BTREE"),),
    "benchmark_results": (("result_id", "BTREE"), ("checkpoint_id", "BTREE")),
}

# A BITMAP index loads each value's bitmap from disk the first time a query
# names it: a query over 200 recordings not seen before in this process pays
# ~10 ms more for modalities.recording_hash (bench/catalog.py). So a handle's
# first read of a table loads that table's BITMAP indexes whole, in the
# background: one read (~9 MB and ~0.3 s on 2 cores for a million modality
# rows; the low-cardinality ones are a few KB) once per handle.
_PREWARM: dict[str, tuple[str, ...]] = {
    table: tuple(column for column, kind in indexes if kind == "BITMAP")
    for table, indexes in _INDEXES.items()
    if any(kind == "BITMAP" for _, kind in indexes)
}

_INDEX_CONFIG: dict[str, Any] = {"BTREE": BTree, "BITMAP": Bitmap, "LABEL_LIST": LabelList}
_INDEX_TYPE_NAME = {"BTREE": "btree", "BITMAP": "bitmap", "LABEL_LIST": "labellist"}
"""How `list_indices` spells each kind (lowercased)."""

_ALLOWED: dict[IngestionStatus, frozenset[IngestionStatus]] = {
    IngestionStatus.RAW: frozenset({IngestionStatus.INGESTING}),
    IngestionStatus.INGESTING: frozenset({IngestionStatus.PROCESSED, IngestionStatus.FAILED}),
    IngestionStatus.FAILED: frozenset({IngestionStatus.INGESTING}),
    IngestionStatus.PROCESSED: frozenset(),
}


def sql_literal(value: Any) -> str:
    """A value as a LanceDB SQL literal (strings quoted, quotes doubled)."""
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot use {type(value).__name__} in a catalog filter")


def _where_sql(model: type[Row], where: Where) -> str | None:
    if where is None or isinstance(where, str):
        return where or None
    clauses = []
    for column, value in where.items():
        if column == "metadata" and isinstance(value, Mapping):
            for key, wanted in value.items():
                label = metadata_label(str(key), wanted)
                clauses.append(f"array_has({LABELS_COLUMN}, {sql_literal(label)})")
            continue
        if column not in model.model_fields:
            raise InvalidValueError(
                f"{model.__table__} has no column {column!r}; columns: "
                + ", ".join(model.model_fields)
            )
        if value is None:
            clauses.append(f"{column} IS NULL")
        else:
            clauses.append(f"{column} = {sql_literal(value)}")
    return " AND ".join(clauses) or None


_IN_BATCH = 1000
_IN_SPLIT = 100


def sql_in(column: str, values: Iterable[Any]) -> str:
    """``column IN (...)`` with each value as a SQL literal."""
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def _in_clauses(column: str, values: Iterable[Any]) -> list[str]:
    """`sql_in` clauses over the sorted values, for queries run side by side.

    At most a thousand values each, so no query's SQL grows with the number of
    values; and more than a hundred values are split across the cores, because
    Lance reads one query's scattered rows on about one core (two halves of a
    200-recording IN-list on 2 cores: 16 ms instead of 30, bench/catalog.py).
    """
    ordered = sorted(values)
    if not ordered:
        return []
    parts = max(
        math.ceil(len(ordered) / _IN_BATCH),
        min(os.cpu_count() or 1, math.ceil(len(ordered) / _IN_SPLIT)),
    )
    size = math.ceil(len(ordered) / parts)
    return [sql_in(column, ordered[i : i + size]) for i in range(0, len(ordered), size)]


@functools.cache
def _columns(model: type[Row]) -> tuple[str, ...]:
    """The stored columns a row is built from (not the derived ones)."""
    return tuple(name for name in arrow_schema(model).names if name in model.model_fields)


def _empty(columns: Sequence[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in columns})


def _key_sql(model: type[Row], key: Sequence[Any]) -> str:
    if len(key) != len(model.__key__):
        raise InvalidValueError(f"{model.__table__} key is {model.__key__}, got {tuple(key)!r}")
    return " AND ".join(f"{c} = {sql_literal(v)}" for c, v in zip(model.__key__, key, strict=True))


def _is_commit_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return (
        "conflict" in text and ("commit" in text or "retryable" in text or "concurrent" in text)
    ) or "incompatible with concurrent transaction" in text


class _Loop:
    """One event loop on a daemon thread, shared by every catalog in the process.

    Reads go through LanceDB's async API on this loop: the sync query builder
    costs about twice the latency per lookup.
    """

    _lock = threading.Lock()
    _instance: _Loop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="ursa-catalog", daemon=True).start()

    @classmethod
    def get(cls) -> _Loop:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


async def _prewarm(table: Any, columns: tuple[str, ...]) -> None:
    """Load the indexes on ``columns`` whole into LanceDB's cache (see `_PREWARM`);
    a failure only means queries load what they need on their own."""
    try:
        for index in await table.list_indices():
            if len(index.columns) == 1 and index.columns[0] in columns:
                await table.prewarm_index(index.name)
    except Exception as exc:  # noqa: BLE001 - only a cache warm-up
        log.debug("prewarming indexes of %s failed: %s", table.name, redact(str(exc)))


def diff_rows(stored: Row, proposed: Row) -> dict[str, tuple[Any, Any]]:
    """``{field: (stored, proposed)}`` for every field that differs."""
    a, b = stored.model_dump(mode="json"), proposed.model_dump(mode="json")
    return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


class Catalog:
    """The catalog: nine LanceDB tables of validated rows.

    Opening is lazy: nothing is connected until the first call. A read-only
    catalog refuses every write with `CatalogReadOnlyError` before any request.
    ``add_*`` is a strict insert (an existing key raises `PrimaryKeyConflict`,
    also when two processes race for it); ``register_*`` is idempotent.
    Filters run inside LanceDB, never by scanning rows in Python.
    """

    def __init__(
        self,
        uri: str,
        *,
        writable: bool,
        storage_options: Mapping[str, str] | None = None,
        profile: LocalProfile | S3Profile | None = None,
    ) -> None:
        self.uri = uri
        self.writable = writable
        self.profile = profile
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

    @classmethod
    def open(
        cls,
        profile: LocalProfile | S3Profile,
        *,
        writable: bool = False,
        credentials: S3Credentials | None = None,
    ) -> Catalog:
        """The profile's catalog; S3 catalogs use the ``assets_ro``/``assets_rw`` keys
        (from the environment, unless ``credentials`` gives them)."""
        if isinstance(profile, LocalProfile):
            return cls(profile.catalog_uri, writable=writable, profile=profile)
        role: Role = "assets_rw" if writable else "assets_ro"
        creds = credentials or profile.credentials_for(role)
        options = {
            "aws_access_key_id": creds.access_key_id.get_secret_value(),
            "aws_secret_access_key": creds.secret_access_key.get_secret_value(),
            "aws_region": profile.region,
        }
        endpoint = profile.endpoint_for(role)
        if endpoint:
            options["aws_endpoint"] = endpoint
            options["allow_http"] = str(endpoint.startswith("http://")).lower()
        if creds.session_token is not None:
            options["aws_session_token"] = creds.session_token.get_secret_value()
        return cls(
            profile.resolved_catalog_uri,
            writable=writable,
            storage_options=options,
            profile=profile,
        )

    # -- plumbing ----------------------------------------------------------

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

    @staticmethod
    def _create(db: Any, model: type[Row]) -> Any:
        # Create-only (never overwrite): when several writers create the same
        # table at once, Lance's commit lets exactly one succeed; the others
        # open the winner's table. An overwrite here could drop rows.
        try:
            return db.create_table(model.__table__, schema=arrow_schema(model), mode="create")
        except Exception:  # noqa: BLE001 - lost the creation race, or it already exists
            return Catalog._open_settled(db, model.__table__)

    @staticmethod
    def _open_settled(db: Any, name: str) -> Any:
        # A table another writer is creating can be listed a moment before its
        # first version is committed; give that commit a moment to land.
        for attempt in range(40):
            try:
                return db.open_table(name)
            except Exception:
                if attempt == 39:
                    raise
                time.sleep(min(0.5, 0.02 * (attempt + 1)))
        raise AssertionError("unreachable")

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
        for attempt in range(8):
            try:
                return fn()
            except CatalogError:
                raise
            except Exception as exc:  # noqa: BLE001 - LanceDB's errors are mapped here
                if not _is_commit_conflict(exc) or attempt == 7:
                    raise CatalogError(f"{what} failed: {redact(str(exc))}") from None
                time.sleep(min(2.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # -- invariants --------------------------------------------------------

    def check(self, row: Row) -> None:
        """Raise `InvalidRowError` if ``row`` breaks a storage-URI invariant."""
        if isinstance(row, Modality):
            self._check_uri(row, "raw_storage_uri", row.raw_storage_uri, "raw", None)
            if row.ingestion_status is IngestionStatus.PROCESSED:
                assert row.storage_uri is not None
                assert row.format is not None
                self._check_uri(row, "storage_uri", row.storage_uri, "assets", row.format)
        elif isinstance(row, PipelineAsset):
            self._check_uri(row, "storage_uri", row.storage_uri, "assets", row.format)

    def _check_uri(
        self,
        row: Modality | PipelineAsset,
        field: str,
        uri: str,
        bucket: str,
        fmt: StorageFormat | None,
    ) -> None:
        if self.profile is not None:
            try:
                location = parse_storage_uri(uri, self.profile)
            except ValueError as exc:
                raise InvalidRowError(f"{type(row).__name__}.{field}: {exc}") from None
            if location.bucket != bucket:
                raise InvalidRowError(
                    f"{type(row).__name__}.{field} must point into the {bucket} bucket "
                    f"({self.profile.bucket_uri(bucket)}), got {uri!r}"  # type: ignore[arg-type]
                )
            key = location.key
        else:
            key = uri.split("://", 1)[1].split("/", 1)[1] if "/" in uri.split("://", 1)[1] else ""
        if fmt is not None:
            tier = AssetKey.tier(row.recording_hash, row.modality)
            try:
                asset: AssetKey | None = AssetKey.parse(key)
            except InvalidKeyError:
                asset = None
            if (
                asset is None
                or (asset.recording_hash, asset.modality) != (row.recording_hash, row.modality)
                or not asset.name.endswith(fmt.suffix)
            ):
                raise InvalidRowError(
                    f"{type(row).__name__}.{field}: a {fmt.value} asset must live at "
                    f"{tier}[<version>/]<name>{fmt.suffix} in the assets bucket, got {uri!r}"
                )

    # -- generic verbs -----------------------------------------------------

    def add(self, row: R) -> R:
        """Insert ``row``; `PrimaryKeyConflict` if its key exists (even under a race)."""
        self.add_many([row])
        return row

    def add_many(self, rows: Iterable[R]) -> int:
        """Insert rows of one table in one commit; returns how many were inserted.

        Keys already stored (or repeated in ``rows``) raise `PrimaryKeyConflict`
        naming them, and then nothing is inserted unless another writer got there
        first in a race — rows are never duplicated and never lost.
        """
        rows = list(rows)
        if not rows:
            return 0
        model = type(rows[0])
        self._require_write(f"adding {model.__table__} rows")
        keys = [r.key() for r in rows]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise PrimaryKeyConflict(
                f"{model.__table__}: keys repeated in one batch: {listed(dupes)}"
            )
        for row in rows:
            self.check(row)
        table = self._writable_table(model)
        data = to_table(model, rows, row_json=self._row_json[model.__table__])
        existing = self._existing_keys(model, keys)
        if existing:
            raise PrimaryKeyConflict(
                f"{model.__table__}: primary key already stored: {listed(sorted(existing))}"
            )
        on = list(model.__key__)

        def insert() -> int:
            table.checkout_latest()
            result = table.merge_insert(on).when_not_matched_insert_all().execute(data)
            return int(result.num_inserted_rows)

        inserted = self._with_conflict_retries(insert, f"adding {model.__table__} rows")
        if inserted != len(rows):
            raise PrimaryKeyConflict(
                f"{model.__table__}: {len(rows) - inserted} of {len(rows)} keys were added "
                "by another writer at the same time; nothing was duplicated"
            )
        return inserted

    def _existing_keys(
        self, model: type[Row], keys: Sequence[tuple[Any, ...]]
    ) -> set[tuple[Any, ...]]:
        """Which of ``keys`` are stored: indexed IN-queries on the first key column
        (see `_in_clauses`), then exact matching on the rest."""
        wanted = set(keys)
        clauses = _in_clauses(model.__key__[0], {k[0] for k in keys})
        found: set[tuple[Any, ...]] = set()
        for data in self._query_all(model, clauses, model.__key__):
            for record in data.to_pylist():
                key = tuple(record[c] for c in model.__key__)
                if key in wanted:
                    found.add(key)
        return found

    def rows_in(
        self, model: type[R], column: str, values: Iterable[Any], where: str | None = None
    ) -> list[R]:
        """Rows whose ``column`` is one of ``values`` (and that match the SQL ``where``):
        indexed IN-queries run side by side (see `_in_clauses`)."""
        if column not in model.model_fields:
            raise InvalidValueError(f"{model.__table__} has no column {column!r}")
        clauses = _in_clauses(column, set(values))
        if where:
            clauses = [f"{clause} AND ({where})" for clause in clauses]
        rows: list[R] = []
        for data in self._query_all(model, clauses, self._read_columns(model)):
            rows.extend(self._hydrate(model, data))
        return rows

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
        loop = _Loop.get()
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
            if name in _PREWARM:
                self._prewarming[name] = asyncio.run_coroutine_threadsafe(
                    _prewarm(table, _PREWARM[name]), loop.loop
                )
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

            return _Loop.get().run(run())  # type: ignore[no-any-return]
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

    def get(self, model: type[R], key: Sequence[Any]) -> R | None:
        """The row with primary key ``key`` (a tuple in key order), or None."""
        rows = self._hydrate(
            model, self._query(model, _key_sql(model, key), 1, self._read_columns(model))
        )
        return rows[0] if rows else None

    def rows(self, model: type[R], where: Where = None, limit: int | None = None) -> list[R]:
        """Rows matching ``where`` (filtered inside LanceDB), at most ``limit``."""
        data = self._query(model, _where_sql(model, where), limit, self._read_columns(model))
        return self._hydrate(model, data)

    def count(self, model: type[Row], where: Where = None) -> int:
        """Number of rows matching ``where``."""
        table = self._table(model, create=False)
        if table is None:
            return 0
        return int(table.count_rows(_where_sql(model, where)))

    def register(self, row: R) -> R:
        """Idempotent insert: the stored row if identical, `CatalogRowExists` if not."""
        model = type(row)
        stored = self.get(model, row.key())
        if stored is None:
            try:
                return self.add(row)
            except PrimaryKeyConflict:
                stored = self.get(model, row.key())
                if stored is None:
                    raise
        if stored == row:
            return stored
        raise CatalogRowExists(model.__table__, row.key(), diff_rows(stored, row))

    # -- modality status ---------------------------------------------------

    def _transition(self, current: Modality, target: IngestionStatus, **changes: Any) -> Modality:
        self._require_write("changing a modality's status")
        if target not in _ALLOWED[current.ingestion_status]:
            raise InvalidTransitionError(
                f"modality {current.modality} of {current.recording_hash}: cannot go from "
                f"{current.ingestion_status.value} to {target.value}"
            )
        data = current.model_dump()
        data.update(changes, ingestion_status=target)
        data["raw_storage_uri"] = current.raw_storage_uri  # never changed by a transition
        updated = Modality.model_validate(data)
        self.check(updated)
        table = self._writable_table(Modality)
        data = to_table(Modality, [updated], row_json=self._row_json[Modality.__table__])
        condition = f"target.ingestion_status = {sql_literal(current.ingestion_status)}"

        def write() -> int:
            table.checkout_latest()
            result = (
                table.merge_insert(list(Modality.__key__))
                .when_matched_update_all(where=condition)
                .execute(data)
            )
            return int(result.num_updated_rows)

        if self._with_conflict_retries(write, "changing a modality's status") != 1:
            raise InvalidTransitionError(
                f"modality {current.modality} of {current.recording_hash} changed status "
                "while this transition was being made; read it again"
            )
        return updated

    def _modality(self, recording_hash: str, modality: str) -> Modality:
        self._require_write("changing a modality's status")
        row = self.get(Modality, (recording_hash, modality))
        if row is None:
            raise CatalogError(f"no modality {modality!r} for recording {recording_hash}")
        return row

    def start_ingesting(self, recording_hash: str, modality: str) -> Modality:
        """raw (or failed) → ingesting."""
        return self._transition(self._modality(recording_hash, modality), IngestionStatus.INGESTING)

    def mark_processed(
        self,
        recording_hash: str,
        modality: str,
        *,
        storage_uri: str,
        format: StorageFormat,
        sampling_rate: float | None = None,
        domain_intervals: Sequence[Interval] = (),
        channel_spec: Mapping[str, Any] | None = None,
    ) -> Modality:
        """ingesting → processed, recording where the processed asset is."""
        return self._transition(
            self._modality(recording_hash, modality),
            IngestionStatus.PROCESSED,
            storage_uri=storage_uri,
            format=format,
            sampling_rate=sampling_rate,
            domain_intervals=list(domain_intervals),
            channel_spec=dict(channel_spec or {}),
        )

    def mark_failed(self, recording_hash: str, modality: str, *, reason: str) -> Modality:
        """ingesting → failed; ``reason`` is kept in the row's metadata."""
        current = self._modality(recording_hash, modality)
        metadata = {**current.metadata, "failure": reason}
        return self._transition(current, IngestionStatus.FAILED, metadata=metadata)

    # -- maintenance -------------------------------------------------------

    def optimize(self) -> None:
        """Create missing scalar indexes, compact files and index new rows."""
        self._require_write("optimizing the catalog")
        for model in ROW_TYPES:
            table = self._table(model, create=False)
            if table is None or table.count_rows() == 0:
                continue
            have = {tuple(i.columns): i for i in table.list_indices()}
            for column, kind in _INDEXES[model.__table__]:
                index = have.get((column,))
                if index is not None and index.index_type.lower() != _INDEX_TYPE_NAME[kind]:
                    # Built by an older Ursa with another kind: rebuild it.
                    table.drop_index(index.name)
                    index = None
                if index is None:
                    table.create_index(column, config=_INDEX_CONFIG[kind]())
            table.optimize(cleanup_older_than=dt.timedelta(days=7))

    def status(self) -> dict[str, Any]:
        """Row counts per table, and modality counts per ingestion status."""
        counts: dict[str, Any] = {m.__table__: self.count(m) for m in ROW_TYPES}
        counts["modalities_by_status"] = {
            s.value: self.count(Modality, {"ingestion_status": s.value}) for s in IngestionStatus
        }
        return counts

    # -- typed verbs -------------------------------------------------------

    def add_participant(self, row: Participant) -> Participant:
        return self.add(row)

    def add_recording(self, row: Recording) -> Recording:
        return self.add(row)

    def add_modality(self, row: Modality) -> Modality:
        return self.add(row)

    def add_event(self, row: Event) -> Event:
        return self.add(row)

    def add_embedding(self, row: Embedding) -> Embedding:
        return self.add(row)

    def add_pipeline_asset(self, row: PipelineAsset) -> PipelineAsset:
        return self.add(row)

    def add_checkpoint(self, row: Checkpoint) -> Checkpoint:
        return self.add(row)

    def add_benchmark_suite(self, row: BenchmarkSuite) -> BenchmarkSuite:
        return self.add(row)

    def add_benchmark_result(self, row: BenchmarkResult) -> BenchmarkResult:
        return self.add(row)

    def get_participant(self, participant_id: str) -> Participant | None:
        return self.get(Participant, (participant_id,))

    def get_recording(self, recording_hash: str) -> Recording | None:
        return self.get(Recording, (recording_hash,))

    def get_modality(self, recording_hash: str, modality: str) -> Modality | None:
        return self.get(Modality, (recording_hash, modality))

    def get_event(self, event_id: str) -> Event | None:
        return self.get(Event, (event_id,))

    def get_embedding(self, embedding_id: str) -> Embedding | None:
        return self.get(Embedding, (embedding_id,))

    def get_pipeline_asset(self, asset_id: str) -> PipelineAsset | None:
        return self.get(PipelineAsset, (asset_id,))

    def get_checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return self.get(Checkpoint, (checkpoint_id,))

    def get_benchmark_suite(self, suite_name: str, suite_version: str) -> BenchmarkSuite | None:
        return self.get(BenchmarkSuite, (suite_name, suite_version))

    def get_benchmark_result(self, result_id: str) -> BenchmarkResult | None:
        return self.get(BenchmarkResult, (result_id,))

    def list_participants(self, where: Where = None, limit: int | None = None) -> list[Participant]:
        return self.rows(Participant, where, limit)

    def list_recordings(self, where: Where = None, limit: int | None = None) -> list[Recording]:
        return self.rows(Recording, where, limit)

    def list_modalities(self, where: Where = None, limit: int | None = None) -> list[Modality]:
        return self.rows(Modality, where, limit)

    def list_events(self, where: Where = None, limit: int | None = None) -> list[Event]:
        return self.rows(Event, where, limit)

    def list_embeddings(self, where: Where = None, limit: int | None = None) -> list[Embedding]:
        return self.rows(Embedding, where, limit)

    def list_pipeline_assets(
        self, where: Where = None, limit: int | None = None
    ) -> list[PipelineAsset]:
        return self.rows(PipelineAsset, where, limit)

    def list_checkpoints(self, where: Where = None, limit: int | None = None) -> list[Checkpoint]:
        return self.rows(Checkpoint, where, limit)

    def list_benchmark_suites(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkSuite]:
        return self.rows(BenchmarkSuite, where, limit)

    def list_benchmark_results(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkResult]:
        return self.rows(BenchmarkResult, where, limit)

    def recordings_of_participant(
        self, participant_id: str, limit: int | None = None
    ) -> list[Recording]:
        """Recordings that include ``participant_id`` (label-list index)."""
        where = f"array_has(participant_ids, {sql_literal(participant_id)})"
        return self.rows(Recording, where, limit)

    def register_participant(self, row: Participant) -> Participant:
        return self.register(row)

    def register_recording(self, row: Recording) -> Recording:
        return self.register(row)

    def register_modality(self, row: Modality) -> Modality:
        return self.register(row)

    def register_event(self, row: Event) -> Event:
        return self.register(row)
