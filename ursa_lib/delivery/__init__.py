"""Delivery: what analysts call to find data and get it back.

``query`` reads the catalog; ``download`` writes objects to a folder;
``materialize`` and ``stream`` hand data back in memory.
"""

from ._assets import AssetSource, Window, WindowOutsideDomainError
from ._download import (
    DownloadPlan,
    DownloadProgress,
    Existing,
    Layout,
    Names,
    PlannedFile,
    SourceKind,
    Verify,
    download,
    files_of,
    plan_download,
)
from ._processed import (
    NotProcessedError,
    StreamWindow,
    misaligned,
    read_modality,
    read_recording,
    stream_windows,
)
from ._query import QueryResult, QueryResults, QuerySpec, query
from ._raw_read import RawSegments, materialize

stream = stream_windows
"""`stream_windows`: fixed windows over processed data (see `DataInterface.stream`)."""

__all__ = [
    "AssetSource",
    "DownloadPlan",
    "DownloadProgress",
    "Existing",
    "Layout",
    "Names",
    "NotProcessedError",
    "PlannedFile",
    "QueryResult",
    "QueryResults",
    "QuerySpec",
    "RawSegments",
    "SourceKind",
    "StreamWindow",
    "Verify",
    "Window",
    "WindowOutsideDomainError",
    "download",
    "files_of",
    "materialize",
    "misaligned",
    "plan_download",
    "query",
    "read_modality",
    "read_recording",
    "stream",
    "stream_windows",
]
