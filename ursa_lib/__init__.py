"""Ursa: research recording sessions into object storage, catalogued, and back.

A plain library: everything the Dagster pipelines do is available from Python
and from the ``ursa`` command.
"""

from typing import TYPE_CHECKING

from ._config import (
    ROLES,
    EnvCredentials,
    LocalProfile,
    Profile,
    Role,
    S3Credentials,
    S3Profile,
    load_profile,
)
from ._errors import (
    AccessDeniedError,
    CatalogError,
    CatalogReadOnlyError,
    CatalogRowExists,
    ChecksumMismatchError,
    ConfigError,
    DeliveryError,
    DestinationExistsError,
    IncompleteRecordingError,
    InvalidKeyError,
    InvalidRowError,
    InvalidTransitionError,
    InvalidUriError,
    InvalidValueError,
    MissingParticipantError,
    NotDeliverableError,
    ObjectChangedError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreTransientError,
    PrimaryKeyConflict,
    SourceChangedError,
    UnsafeDestinationError,
    UrsaError,
    WriteRefusedError,
    WritesNotEnabledError,
)
from ._interface import DataInterface
from ._landing import ACTIVE_MARKER, LandingSession, rig_active, scan_landing
from ._manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ManifestError,
    augment,
    load_manifest,
    recording_hash,
)
from .store import (
    ObjectInfo,
    RetryPolicy,
    StorageLocation,
    Store,
    TransferSettings,
    open_store,
    parse_storage_uri,
    validate_key,
)

if TYPE_CHECKING:
    from ._download import DownloadProgress, RawSegments, download, materialize, stream
    from ._ingest import IngestProgress, IngestResult, ingest, ingest_from_store
    from ._query import QueryResult, QueryResults, QuerySpec, query
    from .catalog import Catalog


def __getattr__(name: str) -> object:
    # The catalog pulls in LanceDB and Arrow; load it only when it is used, so
    # store-only users (and every CLI start) stay light.
    if name == "Catalog":
        from .catalog import Catalog

        return Catalog
    if name in ("ingest", "ingest_from_store", "IngestProgress", "IngestResult"):
        from . import _ingest

        return getattr(_ingest, name)
    if name in ("query", "QuerySpec", "QueryResult", "QueryResults"):
        from . import _query

        return getattr(_query, name)
    if name in ("download", "materialize", "stream", "DownloadProgress", "RawSegments"):
        from . import _download

        return getattr(_download, name)
    raise AttributeError(f"module 'ursa_lib' has no attribute {name!r}")


__all__ = [
    "ACTIVE_MARKER",
    "MANIFEST_NAME",
    "ROLES",
    "AccessDeniedError",
    "Catalog",
    "CatalogError",
    "CatalogReadOnlyError",
    "CatalogRowExists",
    "ChecksumMismatchError",
    "ConfigError",
    "DataInterface",
    "DeliveryError",
    "DestinationExistsError",
    "DownloadProgress",
    "EnvCredentials",
    "FileEntry",
    "IncompleteRecordingError",
    "IngestProgress",
    "IngestResult",
    "InvalidKeyError",
    "InvalidRowError",
    "InvalidTransitionError",
    "InvalidUriError",
    "InvalidValueError",
    "LandingSession",
    "LocalProfile",
    "Manifest",
    "ManifestError",
    "MissingParticipantError",
    "NotDeliverableError",
    "ObjectChangedError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectStoreError",
    "ObjectStoreTransientError",
    "PrimaryKeyConflict",
    "Profile",
    "QueryResult",
    "QueryResults",
    "QuerySpec",
    "RawSegments",
    "RetryPolicy",
    "Role",
    "S3Credentials",
    "S3Profile",
    "SourceChangedError",
    "StorageLocation",
    "Store",
    "TransferSettings",
    "UnsafeDestinationError",
    "UrsaError",
    "WriteRefusedError",
    "WritesNotEnabledError",
    "augment",
    "download",
    "ingest",
    "ingest_from_store",
    "load_manifest",
    "load_profile",
    "materialize",
    "open_store",
    "parse_storage_uri",
    "query",
    "recording_hash",
    "rig_active",
    "scan_landing",
    "stream",
    "validate_key",
]
