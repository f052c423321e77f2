"""Delivery: what analysts call to find data and get it back.

``query`` reads the catalog; ``download`` writes objects to a folder;
``materialize`` and ``stream`` hand data back in memory.
"""

from ._download import (
    DownloadProgress,
    Existing,
    Layout,
    RawSegments,
    SourceKind,
    download,
    materialize,
    stream,
)
from ._query import QueryResult, QueryResults, QuerySpec, query

__all__ = [
    "DownloadProgress",
    "Existing",
    "Layout",
    "QueryResult",
    "QueryResults",
    "QuerySpec",
    "RawSegments",
    "SourceKind",
    "download",
    "materialize",
    "query",
    "stream",
]
