"""Lifecycle: keeping the archive true over years.

The home of the verbs that check and change what is already stored: checks
of a stored session against its manifest and the catalog, and (as they land)
scrub, audited delete, verify of a downloaded folder, and rig cleanup. A
lifecycle verb may use every stage below it (store, catalog, ingestion,
processing, delivery), never the facade or the CLI above it.
"""

import importlib
from typing import TYPE_CHECKING

from ._checks import Lister, RowReader, RowsReport, SessionReport, SizeMismatch, verify_session
from ._processed_checks import ProcessedReport, check_processed
from ._rig import RigCleanRefused, RigCleanResult, clean_session

if TYPE_CHECKING:
    from ._delete import DeleteResult, RecordingDeletion, delete_recordings
    from ._scrub import Finding, ScrubReport, scrub
    from ._verify import FileProblem, VerifyReport, verify_download

_CATALOG_NAMES = {
    "Finding": "_scrub",
    "ScrubReport": "_scrub",
    "scrub": "_scrub",
    "DeleteResult": "_delete",
    "RecordingDeletion": "_delete",
    "delete_recordings": "_delete",
    "FileProblem": "_verify",
    "VerifyReport": "_verify",
    "verify_download": "_verify",
}


def __getattr__(name: str) -> object:
    # Scrub, delete and verify read the catalog (LanceDB): load them only when used, so
    # that importing ursa_lib (every CLI start) stays light.
    module = _CATALOG_NAMES.get(name)
    if module is not None:
        return getattr(importlib.import_module(f".{module}", __name__), name)
    raise AttributeError(f"module 'ursa_lib.lifecycle' has no attribute {name!r}")


__all__ = [
    "DeleteResult",
    "FileProblem",
    "Finding",
    "Lister",
    "ProcessedReport",
    "RecordingDeletion",
    "RigCleanRefused",
    "RigCleanResult",
    "RowReader",
    "RowsReport",
    "ScrubReport",
    "SessionReport",
    "SizeMismatch",
    "VerifyReport",
    "check_processed",
    "clean_session",
    "delete_recordings",
    "scrub",
    "verify_download",
    "verify_session",
]
