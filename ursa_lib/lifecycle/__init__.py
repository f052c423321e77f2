"""Lifecycle: keeping the archive true over years.

The home of the verbs that check and change what is already stored: checks
of a stored session against its manifest and the catalog, and (as they land)
scrub, audited delete, verify of a downloaded folder, and rig cleanup. A
lifecycle verb may use every stage below it (store, catalog, ingestion,
processing, delivery), never the facade or the CLI above it.
"""

from ._checks import Lister, RowReader, RowsReport, SessionReport, SizeMismatch, verify_session
from ._processed_checks import ProcessedReport, check_processed
from ._rig import RigCleanRefused, RigCleanResult, clean_session
from ._scrub import Finding, ScrubReport, scrub

__all__ = [
    "Finding",
    "Lister",
    "ProcessedReport",
    "RigCleanRefused",
    "RigCleanResult",
    "RowReader",
    "RowsReport",
    "ScrubReport",
    "SessionReport",
    "SizeMismatch",
    "check_processed",
    "clean_session",
    "scrub",
    "verify_session",
]
