"""`Catalog`: the nine tables on LanceDB, safe under concurrent writers.

The class is assembled from one module per concern: `_tables` (the connection,
table handles and reads), `_rows` (generic row verbs), `_status` (the modality
status machine), `_verbs` (typed verbs per table); SQL building is `_sql`,
index policy `_indexes`, the storage-URI invariants `_invariants`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .._config import LocalProfile, Role, S3Credentials, S3Profile
from ..store import RetryPolicy, lance_storage_options
from ._indexes import ensure_indexes
from ._models import ROW_TYPES, IngestionStatus, Modality
from ._status import StatusMachine
from ._verbs import TypedVerbs

__all__ = ["Catalog"]


class Catalog(StatusMachine, TypedVerbs):
    """The catalog: nine LanceDB tables of validated rows.

    Opening is lazy: nothing is connected until the first call. A read-only
    catalog refuses every write with `CatalogReadOnlyError` before any request.
    ``add_*`` is a strict insert (an existing key raises `PrimaryKeyConflict`,
    also when two processes race for it); ``register_*`` is idempotent.
    Filters run inside LanceDB, never by scanning rows in Python. ``retry``
    bounds how long a commit that lost a race to another writer, or a table
    another writer is still creating, is tried again (`CATALOG_RETRY` if None).
    """

    @classmethod
    def open(
        cls,
        profile: LocalProfile | S3Profile,
        *,
        writable: bool = False,
        credentials: S3Credentials | None = None,
        retry: RetryPolicy | None = None,
    ) -> Catalog:
        """The profile's catalog; S3 catalogs use the ``assets_ro``/``assets_rw`` keys
        (from the environment, unless ``credentials`` gives them)."""
        if isinstance(profile, LocalProfile):
            return cls(profile.catalog_uri, writable=writable, profile=profile, retry=retry)
        role: Role = "assets_rw" if writable else "assets_ro"
        options = lance_storage_options(profile, role, credentials)
        return cls(
            profile.resolved_catalog_uri,
            writable=writable,
            storage_options=options,
            profile=profile,
            retry=retry,
        )

    # -- maintenance -------------------------------------------------------

    def optimize(self) -> None:
        """Create missing scalar indexes, compact files and index new rows."""
        self._require_write("optimizing the catalog")
        for model in ROW_TYPES:
            table = self._table(model, create=False)
            if table is None or table.count_rows() == 0:
                continue
            ensure_indexes(table, model.__table__)
            table.optimize(cleanup_older_than=dt.timedelta(days=7))

    def status(self) -> dict[str, Any]:
        """Row counts per table, and modality counts per ingestion status."""
        counts: dict[str, Any] = {m.__table__: self.count(m) for m in ROW_TYPES}
        counts["modalities_by_status"] = {
            s.value: self.count(Modality, {"ingestion_status": s.value}) for s in IngestionStatus
        }
        return counts
