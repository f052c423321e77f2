"""Lifecycle: keeping the archive true over years.

The home of the verbs that check and change what is already stored: checks
of a stored session against its manifest and the catalog, and (as they land)
scrub, audited delete, verify of a downloaded folder, and rig cleanup. A
lifecycle verb may use every stage below it (store, catalog, ingestion,
processing, delivery), never the facade or the CLI above it.
"""

from typing import TYPE_CHECKING

from ._checks import Lister, RowReader, RowsReport, SessionReport, SizeMismatch, verify_session
from ._processed_checks import ProcessedReport, check_processed
from ._rig import RigCleanRefused, RigCleanResult, clean_session

if TYPE_CHECKING:
    from ._scrub import Finding, ScrubReport, scrub

_CATALOG_NAMES = frozenset({"Finding", "ScrubReport", "scrub"})


def __getattr__(name: str) -> object:
    # Scrub reads the catalog (LanceDB): load it only when it is used, so that
    # importing ursa_lib (every CLI start) stays light.
    if name in _CATALOG_NAMES:
        from . import _scrub

        return getattr(_scrub, name)
    raise AttributeError(f"module 'ursa_lib.lifecycle' has no attribute {name!r}")


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
