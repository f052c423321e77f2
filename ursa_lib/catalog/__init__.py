"""The catalog: typed rows in LanceDB tables."""

from ._catalog import Catalog
from ._formats import register_storage_format, storage_formats
from ._models import (
    ROW_TYPES,
    BenchmarkResult,
    BenchmarkSuite,
    Checkpoint,
    Deletion,
    DeletionStatus,
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
from ._rows import diff_rows
from ._schema import arrow_schema, from_records, to_table
from ._sql import (
    HASH_PREFIX,
    Where,
    sql_array_has,
    sql_hash_prefix,
    sql_in,
    sql_literal,
    sql_metadata_equals,
)

__all__ = [
    "HASH_PREFIX",
    "ROW_TYPES",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Catalog",
    "Checkpoint",
    "Deletion",
    "DeletionStatus",
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
    "register_storage_format",
    "sql_array_has",
    "sql_hash_prefix",
    "sql_in",
    "sql_literal",
    "sql_metadata_equals",
    "storage_formats",
    "to_table",
]
