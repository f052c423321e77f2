"""Ingestion: rig manifests, landing directories, and the upload into the raw bucket.

Manifests and landing scans are light; ``ingest`` and ``ingest_from_store``
need the catalog (LanceDB), so they load only when first used.
"""

from typing import TYPE_CHECKING

from ._landing import ACTIVE_MARKER, LandingSession, rig_active, scan_landing
from ._manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ManifestError,
    augment,
    load_manifest,
    parse_manifest,
    recording_hash,
)
from ._plan import IngestPlan, PlannedUpload, plan_ingest
from ._reconcile import (
    landing_copies,
    landing_deleted,
    uncatalogued_landing,
    uncatalogued_sessions,
)
from ._stored import load_stored_manifest
from ._transfer import FileUpload, TransferTally, transfer_files

if TYPE_CHECKING:
    from ._backfill import ingest_from_store
    from ._ingest import IngestProgress, IngestResult, ingest, modality_names

_CATALOG_NAMES = frozenset(
    {"IngestProgress", "IngestResult", "ingest", "ingest_from_store", "modality_names"}
)


def __getattr__(name: str) -> object:
    if name == "ingest_from_store":
        from ._backfill import ingest_from_store

        return ingest_from_store
    if name in _CATALOG_NAMES:
        from . import _ingest

        return getattr(_ingest, name)
    raise AttributeError(f"module 'ursa_lib.ingestion' has no attribute {name!r}")


__all__ = [
    "ACTIVE_MARKER",
    "MANIFEST_NAME",
    "FileEntry",
    "FileUpload",
    "IngestPlan",
    "IngestProgress",
    "IngestResult",
    "LandingSession",
    "Manifest",
    "ManifestError",
    "PlannedUpload",
    "TransferTally",
    "augment",
    "ingest",
    "ingest_from_store",
    "landing_copies",
    "landing_deleted",
    "load_manifest",
    "load_stored_manifest",
    "modality_names",
    "parse_manifest",
    "plan_ingest",
    "recording_hash",
    "rig_active",
    "scan_landing",
    "transfer_files",
    "uncatalogued_landing",
    "uncatalogued_sessions",
]
