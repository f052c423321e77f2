"""Ursa: research recording sessions into object storage, catalogued, and back.

A plain library: everything the Dagster pipelines do is available from Python
and from the ``ursa`` command.
"""

from typing import TYPE_CHECKING

from ._errors import (
    AccessDeniedError,
    CatalogError,
    CatalogReadOnlyError,
    CatalogRowExists,
    ChecksumMismatchError,
    ConfigError,
    CopiedSessionError,
    DeletedRecordingError,
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
    NothingMatchedError,
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
from ._layout import RECORDINGS_ROOT, SessionPrefix

if TYPE_CHECKING:
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
    from ._interface import (
        DataInterface,
    )
    from .catalog import Catalog
    from .delivery import (
        DownloadProgress,
        QueryResult,
        QueryResults,
        QuerySpec,
        RawSegments,
        download,
        materialize,
        query,
        stream,
    )
    from .ingestion import (
        ACTIVE_MARKER,
        MANIFEST_NAME,
        FileEntry,
        IngestProgress,
        IngestResult,
        LandingSession,
        Manifest,
        ManifestError,
        augment,
        ingest,
        ingest_from_store,
        landing_copies,
        landing_deleted,
        load_manifest,
        recording_hash,
        rig_active,
        scan_landing,
        uncatalogued_landing,
        uncatalogued_sessions,
    )
    from .lifecycle import (
        SessionReport,
        verify_session,
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

_LAZY = {
    "ROLES": "._config",
    "EnvCredentials": "._config",
    "LocalProfile": "._config",
    "Profile": "._config",
    "Role": "._config",
    "S3Credentials": "._config",
    "S3Profile": "._config",
    "load_profile": "._config",
    "DataInterface": "._interface",
    "ACTIVE_MARKER": ".ingestion",
    "MANIFEST_NAME": ".ingestion",
    "FileEntry": ".ingestion",
    "LandingSession": ".ingestion",
    "Manifest": ".ingestion",
    "ManifestError": ".ingestion",
    "augment": ".ingestion",
    "load_manifest": ".ingestion",
    "recording_hash": ".ingestion",
    "rig_active": ".ingestion",
    "scan_landing": ".ingestion",
    "landing_copies": ".ingestion",
    "landing_deleted": ".ingestion",
    "uncatalogued_landing": ".ingestion",
    "uncatalogued_sessions": ".ingestion",
    "SessionReport": ".lifecycle",
    "verify_session": ".lifecycle",
    "ObjectInfo": ".store",
    "RetryPolicy": ".store",
    "StorageLocation": ".store",
    "Store": ".store",
    "TransferSettings": ".store",
    "open_store": ".store",
    "parse_storage_uri": ".store",
    "validate_key": ".store",
}
"""Names loaded on first use, by module: importing ``ursa_lib`` (and every ``ursa``
command's start) loads only the errors and the layout."""


def __getattr__(name: str) -> object:
    # The catalog pulls in LanceDB and Arrow, the configuration pydantic-settings:
    # each loads when a name of it is first used.
    if name == "Catalog":
        from .catalog import Catalog

        return Catalog
    if name in ("ingest", "ingest_from_store", "IngestProgress", "IngestResult"):
        from . import ingestion

        return getattr(ingestion, name)
    if name in (
        "query",
        "QuerySpec",
        "QueryResult",
        "QueryResults",
        "download",
        "materialize",
        "stream",
        "DownloadProgress",
        "RawSegments",
    ):
        from . import delivery

        return getattr(delivery, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'ursa_lib' has no attribute {name!r}")


__all__ = [
    "ACTIVE_MARKER",
    "MANIFEST_NAME",
    "RECORDINGS_ROOT",
    "ROLES",
    "AccessDeniedError",
    "Catalog",
    "CatalogError",
    "CatalogReadOnlyError",
    "CatalogRowExists",
    "ChecksumMismatchError",
    "ConfigError",
    "CopiedSessionError",
    "DataInterface",
    "DeletedRecordingError",
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
    "NothingMatchedError",
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
    "SessionPrefix",
    "SessionReport",
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
    "landing_copies",
    "landing_deleted",
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
    "uncatalogued_landing",
    "uncatalogued_sessions",
    "validate_key",
    "verify_session",
]
