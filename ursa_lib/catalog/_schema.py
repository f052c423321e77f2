"""Arrow schemas derived from the row models, and rows ↔ Arrow records.

Mapping: ``str`` (and identifiers, hashes, enums, URIs) → ``string``; ``int`` →
``int64``; ``float`` → ``float64``; ``list[str]`` → ``list<string>``; the
embedding vector → ``list<float32>``; ``list[Interval]`` →
``list<struct<start, end>>``; JSON objects → canonical JSON ``string``. A model
field named ``metadata`` also gets a derived ``metadata_labels`` column
(``list<string>`` of ``key=<json value>``) so equality on top-level metadata keys
is filtered inside LanceDB. Primary-key fields are non-nullable and carry
Lance's ``unenforced-primary-key`` marker.

Every table but ``embeddings`` also gets a derived ``row_json`` column: the whole
row as JSON, written in the same row by the same commit as the columns, so it
can never disagree with them. Reads that hydrate rows fetch that one column
instead of one per field: Lance's cost for scattered rows grows with the
number of columns read (bench/catalog.py). The typed columns stay the source of
every filter and index. Embeddings opt out (``__row_json__ = False``): their
vectors would more than double in size as JSON text.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

import pyarrow as pa
import pydantic_core
from pydantic import BaseModel, TypeAdapter

from .._types import DECODED_JSON
from ._formats import STORED_ROW
from ._models import Interval, Row

__all__ = [
    "LABELS_COLUMN",
    "PRIMARY_KEY_META",
    "ROW_JSON_COLUMN",
    "arrow_schema",
    "canonical_json",
    "from_json_rows",
    "from_records",
    "metadata_label",
    "to_table",
]

PRIMARY_KEY_META = b"lance-schema:unenforced-primary-key"
LABELS_COLUMN = "metadata_labels"
ROW_JSON_COLUMN = "row_json"
_STORED = {DECODED_JSON: True, STORED_ROW: True}
"""Validation context of rows read back from the catalog."""
_INTERVAL = pa.struct([("start", pa.float64()), ("end", pa.float64())])


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def metadata_label(key: str, value: Any) -> str:
    """The label that encodes ``metadata[key] == value``."""
    return f"{key}={canonical_json(value)}"


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _arrow_type(model: type[BaseModel], name: str, annotation: Any) -> pa.DataType:
    annotation = _strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    if origin is dict:
        return pa.string()
    if origin is list:
        (item,) = typing.get_args(annotation)
        item = _strip_annotated(item)
        if item is str:
            return pa.list_(pa.string())
        if item is float:
            return pa.list_(pa.float32())
        if item is Interval:
            return pa.list_(_INTERVAL)
    if isinstance(annotation, type):
        if issubclass(annotation, Enum | str):  # str: also `StorageFormat`
            return pa.string()
        if annotation is bool:
            return pa.bool_()
        if annotation is int:
            return pa.int64()
        if annotation is float:
            return pa.float64()
    raise TypeError(f"{model.__name__}.{name}: no Arrow mapping for {annotation!r}")


def _json_fields(model: type[Row]) -> tuple[str, ...]:
    out = []
    for name, field in model.model_fields.items():
        annotation, _ = _unwrap_optional(field.annotation)
        if typing.get_origin(_strip_annotated(annotation)) is dict:
            out.append(name)
    return tuple(out)


def arrow_schema(model: type[Row]) -> pa.Schema:
    """The Arrow schema of ``model``'s table, derived from its fields."""
    fields = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap_optional(info.annotation)
        meta: dict[bytes, bytes] = {}
        if info.description:
            meta[b"description"] = info.description.encode()
        if name in model.__key__:
            meta[PRIMARY_KEY_META] = b"true"
        fields.append(
            pa.field(
                name,
                _arrow_type(model, name, annotation),
                nullable=optional and name not in model.__key__,
                metadata=meta or None,
            )
        )
        if name == "metadata":
            fields.append(
                pa.field(
                    LABELS_COLUMN,
                    pa.list_(pa.string()),
                    nullable=False,
                    metadata={
                        b"description": b"Derived: key=<json value> per top-level metadata key."
                    },
                )
            )
    if model.__row_json__:
        fields.append(
            pa.field(
                ROW_JSON_COLUMN,
                pa.string(),
                nullable=False,
                metadata={b"description": b"Derived: the whole row as JSON, for whole-row reads."},
            )
        )
    return pa.schema(fields, metadata={b"ursa:row": model.__name__.encode()})


def _record(row: Row, json_fields: tuple[str, ...], row_json: bool) -> dict[str, Any]:
    record = row.model_dump(mode="json")
    if row_json:
        record[ROW_JSON_COLUMN] = row.model_dump_json()
    labels = None
    if "metadata" in record:
        labels = [metadata_label(k, v) for k, v in sorted(record["metadata"].items())]
    for name in json_fields:
        record[name] = canonical_json(record[name])
    if labels is not None:
        record[LABELS_COLUMN] = labels
    return record


def to_table(model: type[Row], rows: Iterable[Row], *, row_json: bool = True) -> pa.Table:
    """Rows of one model as an Arrow table with the derived schema (without the
    ``row_json`` column if ``row_json`` is false: a table created before it)."""
    json_fields = _json_fields(model)
    row_json = row_json and model.__row_json__
    records = []
    for row in rows:
        if type(row) is not model:
            raise TypeError(f"expected {model.__name__}, got {type(row).__name__}")
        records.append(_record(row, json_fields, row_json))
    schema = arrow_schema(model)
    if model.__row_json__ and not row_json:
        schema = schema.remove(schema.get_field_index(ROW_JSON_COLUMN))
    return pa.Table.from_pylist(records, schema=schema)


@functools.cache
def _list_adapter(model: type[Row]) -> TypeAdapter[list[Row]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _loads(text: str) -> Any:
    # Most JSON columns hold an empty object or list: skip the parser for those.
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return pydantic_core.from_json(text)


def from_records(model: type[Row], records: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Hydrate Arrow records (``to_pylist()``) back into validated rows (in one
    batch validation, which is about twice as fast as row by row)."""
    json_fields = _json_fields(model)
    fields = model.model_fields.keys()
    rows = []
    for record in records:
        # Catalog reads select only the model's columns: copy those as they are.
        data = (
            dict(record)
            if record.keys() <= fields
            else {k: v for k, v in record.items() if k in fields}
        )
        for name in json_fields:
            value = data.get(name)
            if value is not None:
                data[name] = _loads(value)
        rows.append(data)
    # Metadata columns were just decoded from JSON text: skip re-encoding them.
    return _list_adapter(model).validate_python(rows, context=_STORED)


def from_json_rows(model: type[Row], texts: Sequence[str]) -> list[Row]:
    """Hydrate ``row_json`` texts into validated rows: one JSON parse and one batch
    validation in pydantic-core for all of them."""
    if not texts:
        return []
    return _list_adapter(model).validate_json("[" + ",".join(texts) + "]", context=_STORED)
