"""The catalog: typed rows in LanceDB tables."""

from ._catalog import Catalog, Where, diff_rows, sql_in, sql_literal
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
from ._schema import arrow_schema, from_records, to_table

__all__ = [
    "ROW_TYPES",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Catalog",
    "Checkpoint",
    "Embedding",
    "Event",
    "IngestionStatus",
    "Interval",
    "Modality",
    "Participant",
    "PipelineAsset",
    "Recording",
    "Row",
    "StorageFormat",
    "Where",
    "arrow_schema",
    "diff_rows",
    "from_records",
    "sql_in",
    "sql_literal",
    "to_table",
]
