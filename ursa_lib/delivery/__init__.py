"""Delivery: what analysts call to find data and get it back.

``query`` reads the catalog; ``download`` writes objects to a folder;
``materialize`` and ``stream`` hand data back in memory.
"""

from ._assets import AssetSource, Window, WindowOutsideDomainError
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
from ._processed import (
    StreamWindow,
    misaligned,
    read_modality,
    read_recording,
    stream_windows,
)
from ._query import QueryResult, QueryResults, QuerySpec, query

__all__ = [
    "AssetSource",
    "DownloadProgress",
    "Existing",
    "Layout",
    "QueryResult",
    "QueryResults",
    "QuerySpec",
    "RawSegments",
    "SourceKind",
    "StreamWindow",
    "Window",
    "WindowOutsideDomainError",
    "download",
    "materialize",
    "misaligned",
    "query",
    "read_modality",
    "read_recording",
    "stream",
    "stream_windows",
]
