"""LanceDB SQL filters built from Python values: literals, equalities, IN-lists.

Every value reaches SQL through `sql_literal`, which quotes strings and doubles
their quotes, so a filter built here never carries a value as SQL.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from .._errors import InvalidValueError
from ._models import Row
from ._schema import LABELS_COLUMN, metadata_label

__all__ = [
    "HASH_PREFIX",
    "Where",
    "in_clauses",
    "key_sql",
    "sql_array_has",
    "sql_hash_prefix",
    "sql_in",
    "sql_literal",
    "sql_metadata_equals",
    "where_sql",
]

Where = str | Mapping[str, Any] | None

HASH_PREFIX = re.compile(r"[0-9a-f]{8,63}")
"""The start of a recording hash, as ``ursa query`` prints it (12 characters):
8 to 63 lower-case hex characters."""


def sql_hash_prefix(prefix: str) -> str:
    """Recordings whose hash starts with ``prefix`` (a `HASH_PREFIX`, else refused)."""
    if not HASH_PREFIX.fullmatch(prefix):
        raise InvalidValueError(
            f"{prefix!r} is not the start of a recording hash: give 8 to 63 of its "
            "hex characters, as `ursa query` shows them"
        )
    return f"recording_hash LIKE '{prefix}%'"  # hex only: no quoting needed


"""A LanceDB SQL filter, or ``{column: value}`` equalities joined by AND. The key
``metadata`` takes a dict of top-level metadata equalities."""

_IN_BATCH = 1000
_IN_SPLIT = 100


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


def sql_in(column: str, values: Iterable[Any]) -> str:
    """``column IN (...)`` with each value as a SQL literal."""
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def sql_array_has(column: str, value: Any) -> str:
    """The list column ``column`` holds ``value`` (served by a LABEL_LIST index)."""
    return f"array_has({column}, {sql_literal(value)})"


def sql_metadata_equals(key: str, value: Any) -> str:
    """The row's top-level ``metadata[key]`` equals ``value`` (through the derived
    labels column, so the filter runs inside LanceDB)."""
    return sql_array_has(LABELS_COLUMN, metadata_label(key, value))


def where_sql(model: type[Row], where: Where) -> str | None:
    """``where`` as SQL for ``model``'s table; ValueError names an unknown column."""
    if where is None or isinstance(where, str):
        return where or None
    clauses: list[str] = []
    for column, value in where.items():
        if column == "metadata" and isinstance(value, Mapping):
            clauses.extend(sql_metadata_equals(str(key), wanted) for key, wanted in value.items())
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


def key_sql(model: type[Row], key: Sequence[Any]) -> str:
    """The filter that selects the row with primary key ``key`` (in key order)."""
    if len(key) != len(model.__key__):
        raise InvalidValueError(f"{model.__table__} key is {model.__key__}, got {tuple(key)!r}")
    return " AND ".join(f"{c} = {sql_literal(v)}" for c, v in zip(model.__key__, key, strict=True))


def in_clauses(column: str, values: Iterable[Any]) -> list[str]:
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
