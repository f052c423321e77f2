"""Row verbs on any table: strict and idempotent inserts, lookups, filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pyarrow as pa

from .._errors import CatalogRowExists, InvalidValueError, PrimaryKeyConflict
from .._text import listed
from ._invariants import check_row
from ._models import Row
from ._schema import to_table
from ._sql import Where, in_clauses, key_sql, where_sql
from ._tables import TableAccess

__all__ = ["RowVerbs", "diff_rows"]

R = TypeVar("R", bound=Row)


def diff_rows(stored: Row, proposed: Row) -> dict[str, tuple[Any, Any]]:
    """``{field: (stored, proposed)}`` for every field that differs."""
    a, b = stored.model_dump(mode="json"), proposed.model_dump(mode="json")
    return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


class RowVerbs(TableAccess):
    """``add``/``get``/``rows``/``register`` for any row type."""

    def check(self, row: Row) -> None:
        """Raise `InvalidRowError` if ``row`` breaks a storage-URI invariant."""
        check_row(row, self.profile)

    def _batch(
        self, rows: list[R], verb: str
    ) -> tuple[type[R], list[tuple[Any, ...]], Any, pa.Table]:
        """The checks every batch write makes (write access, keys unique in the
        batch, storage invariants), and the batch as one Arrow table."""
        model = type(rows[0])
        self._require_write(f"{verb} {model.__table__} rows")
        keys = [r.key() for r in rows]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise PrimaryKeyConflict(
                f"{model.__table__}: keys repeated in one batch: {listed(dupes)}"
            )
        for row in rows:
            self.check(row)
        table = self._writable_table(model)
        return model, keys, table, to_table(model, rows, row_json=self._row_json[model.__table__])

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
        model, keys, table, data = self._batch(rows, "adding")
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
        (see `in_clauses`), then exact matching on the rest."""
        wanted = set(keys)
        clauses = in_clauses(model.__key__[0], {k[0] for k in keys})
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
        indexed IN-queries run side by side (see `in_clauses`)."""
        if column not in model.model_fields:
            raise InvalidValueError(f"{model.__table__} has no column {column!r}")
        clauses = in_clauses(column, set(values))
        if where:
            clauses = [f"{clause} AND ({where})" for clause in clauses]
        rows: list[R] = []
        for data in self._query_all(model, clauses, self._read_columns(model)):
            rows.extend(self._hydrate(model, data))
        return rows

    def get(self, model: type[R], key: Sequence[Any]) -> R | None:
        """The row with primary key ``key`` (a tuple in key order), or None."""
        rows = self._hydrate(
            model, self._query(model, key_sql(model, key), 1, self._read_columns(model))
        )
        return rows[0] if rows else None

    def rows(self, model: type[R], where: Where = None, limit: int | None = None) -> list[R]:
        """Rows matching ``where`` (filtered inside LanceDB), at most ``limit``."""
        data = self._query(model, where_sql(model, where), limit, self._read_columns(model))
        return self._hydrate(model, data)

    def count(self, model: type[Row], where: Where = None) -> int:
        """Number of rows matching ``where``."""
        table = self._table(model, create=False)
        if table is None:
            return 0
        return int(table.count_rows(where_sql(model, where)))

    def upsert_many(self, rows: Iterable[R]) -> int:
        """Insert or replace rows of one table by key, in one commit; returns how many.

        For rows a process derives again identically when it is re-run (a
        processed asset's lineage, the events parsed from a stream): a re-run
        after a crash replaces its own earlier rows instead of conflicting.
        """
        rows = list(rows)
        if not rows:
            return 0
        model, _, table, data = self._batch(rows, "writing")
        on = list(model.__key__)

        def upsert() -> int:
            table.checkout_latest()
            result = (
                table.merge_insert(on)
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(data)
            )
            return int(result.num_inserted_rows) + int(result.num_updated_rows)

        return self._with_conflict_retries(upsert, f"writing {model.__table__} rows")

    def delete_where(self, model: type[Row], where: Where) -> int:
        """Delete the rows matching ``where`` (never everything: a filter is required);
        returns how many were deleted."""
        self._require_write(f"deleting {model.__table__} rows")
        sql = where_sql(model, where)
        if not sql:
            raise InvalidValueError(f"deleting {model.__table__} rows needs a filter")
        table = self._table(model, create=False)
        if table is None:
            return 0
        before = int(table.count_rows(sql))

        def delete() -> int:
            table.checkout_latest()
            table.delete(sql)
            return before

        return self._with_conflict_retries(delete, f"deleting {model.__table__} rows")

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
