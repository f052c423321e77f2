"""`DataInterface`: one object per profile for notebooks, scripts and pipelines.

Read verbs (`query`, `download`, `materialize`, ``list_*``, ``get_*``, `status`)
always go through the read-only roles (``raw_ro``, ``assets_ro``, a read-only
catalog handle). Write verbs (``register_*``, `ingest`, `backfill`) need
`enable_writes` first and then use the read-write roles. Construction checks
its arguments and loads the profile's settings, but opens nothing and reads no
credentials: the first verb that needs a bucket or the catalog opens it.

    from ursa_lib import DataInterface

    ursa = DataInterface("lab")
    eeg = ursa.query(participants="p001", modalities="eeg", status="raw")
    paths = ursa.download(eeg, "data/", existing="skip")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from ._config import LocalProfile, Role, S3Credentials, S3Profile, load_profile
from ._errors import (
    InvalidValueError,
    NotDeliverableError,
    NothingMatchedError,
    WritesNotEnabledError,
)
from ._facade_catalog import CatalogVerbs
from ._facade_data import _NO_RESULTS, DataVerbs, TimeRange
from .store import RetryPolicy, Store, open_store

if TYPE_CHECKING:
    from .catalog import Catalog, Modality
    from .delivery import AssetSource
    from .delivery._download import (
        DownloadPlan,
        DownloadProgress,
        Existing,
        Layout,
        Names,
        SourceKind,
        Verify,
    )
    from .delivery._query import QueryResult, QueryResults, QuerySpec
    from .ingestion import IngestPlan
    from .ingestion._ingest import IngestResult

__all__ = ["DataInterface"]


class DataInterface(CatalogVerbs, DataVerbs):
    """The library's entry point for one profile."""

    def __init__(
        self,
        profile: str | LocalProfile | S3Profile | None = None,
        *,
        local_root: str | os.PathLike[str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        max_concurrent_files: int = 4,
        retry: RetryPolicy | None = None,
        credentials: Mapping[Role, S3Credentials] | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        """``path`` is ``local_root`` by its shorter name: the folder of the local
        profile (``DataInterface(path=".ursa")``); with it, the profile defaults to
        ``"local"``."""
        if path is not None:
            if local_root is not None:
                raise InvalidValueError("give path or local_root (the same setting), not both")
            local_root = path
            profile = "local" if profile is None else profile
        if isinstance(profile, LocalProfile | S3Profile):
            if local_root is not None or config_file is not None:
                raise InvalidValueError("local_root and config_file apply only to a profile name")
            self.profile: LocalProfile | S3Profile = profile
        elif profile is None or isinstance(profile, str):
            self.profile = load_profile(
                profile,
                config_file=Path(config_file) if config_file is not None else None,
                local_root=Path(local_root) if local_root is not None else None,
            )
        else:
            raise TypeError(
                f"profile must be a name or a profile object, got {type(profile).__name__}"
            )
        if max_concurrent_files < 1:
            raise InvalidValueError("max_concurrent_files must be at least 1")
        self.max_concurrent_files = max_concurrent_files
        self.retry = retry
        self._credentials = dict(credentials or {})
        """Keys given directly, by role; other roles read the variables the profile names."""
        self._writes = False
        self._lock = threading.Lock()
        self._stores: dict[Role, Store] = {}
        self._catalogs: dict[bool, Catalog] = {}
        self._asset_source: AssetSource | None = None

    def __repr__(self) -> str:
        mode = "read-write" if self._writes else "read-only"
        return f"DataInterface(profile={self.profile.name!r}, {mode})"

    # -- handles (opened on first use) -------------------------------------------

    @property
    def writes_enabled(self) -> bool:
        return self._writes

    def enable_writes(self) -> DataInterface:
        """Allow the write verbs (idempotent); returns self for chaining."""
        self._writes = True
        return self

    def _require_writes(self, verb: str) -> None:
        if not self._writes:
            raise WritesNotEnabledError(
                f"{verb} writes to profile {self.profile.name!r}; call enable_writes() first "
                "(read verbs never use the read-write keys)"
            )

    def store(self, role: Role) -> Store:
        if role.endswith("_rw"):
            self._require_writes(f"opening {role}")
        with self._lock:
            if role not in self._stores:
                self._stores[role] = open_store(
                    self.profile, role, retry=self.retry, credentials=self._credentials.get(role)
                )
            return self._stores[role]

    def catalog(self, *, writable: bool = False) -> Catalog:
        """The catalog handle: read-only unless ``writable`` (which needs writes enabled)."""
        if writable:
            self._require_writes("a writable catalog")
        from .catalog import Catalog

        with self._lock:
            if writable not in self._catalogs:
                role: Role = "assets_rw" if writable else "assets_ro"
                self._catalogs[writable] = Catalog.open(
                    self.profile, writable=writable, credentials=self._credentials.get(role)
                )
            return self._catalogs[writable]

    @classmethod
    def open_local(cls, folder: str | os.PathLike[str]) -> DataInterface:
        """A read-only interface on a folder that `download` wrote (with ``related=True``):
        `query`, `materialize` and `read` work offline on exactly what was downloaded.

        It builds a local profile in ``folder/.ursa/profile/`` (see
        `ursa_lib.delivery._related`); the interface never enables writes.
        """
        from .delivery._related import open_local_profile

        return cls(open_local_profile(Path(folder)))

    # -- read verbs ----------------------------------------------------------------

    def query(self, spec: QuerySpec | None = None, **filters: Any) -> QueryResults:
        """See `ursa_lib.query`; ``QueryResults`` in a deterministic order."""
        from .delivery._query import query

        return query(self.catalog(), spec, **filters)

    @overload
    def download(
        self,
        target: QueryResult | Iterable[QueryResult],
        dest: str | os.PathLike[str],
        layout: Layout = "by_recording",
        overwrite: bool = False,
        source: SourceKind = "auto",
        progress: Callable[[DownloadProgress], None] | None = None,
        *,
        existing: Existing | None = None,
        verify: Verify = "size_mtime",
        fsync: bool = True,
        related: bool = True,
        names: Names = "hash",
        dry_run: Literal[False] = False,
        time_range: TimeRange | None = None,
    ) -> list[Path]: ...

    @overload
    def download(
        self,
        target: QueryResult | Iterable[QueryResult],
        dest: str | os.PathLike[str],
        layout: Layout = "by_recording",
        overwrite: bool = False,
        source: SourceKind = "auto",
        progress: Callable[[DownloadProgress], None] | None = None,
        *,
        existing: Existing | None = None,
        verify: Verify = "size_mtime",
        fsync: bool = True,
        related: bool = True,
        names: Names = "hash",
        dry_run: Literal[True],
        time_range: TimeRange | None = None,
    ) -> DownloadPlan: ...

    def download(
        self,
        target: QueryResult | Iterable[QueryResult],
        dest: str | os.PathLike[str],
        layout: Layout = "by_recording",
        overwrite: bool = False,
        source: SourceKind = "auto",
        progress: Callable[[DownloadProgress], None] | None = None,
        *,
        existing: Existing | None = None,
        verify: Verify = "size_mtime",
        fsync: bool = True,
        related: bool = True,
        names: Names = "hash",
        dry_run: bool = False,
        time_range: TimeRange | None = None,
    ) -> list[Path] | DownloadPlan:
        """See `ursa_lib.download`; reads with the ``raw_ro``/``assets_ro`` keys.

        ``dry_run=True`` returns the `DownloadPlan` (files, bytes, what would be
        written, skipped or replaced, the requests expected) and writes nothing.
        ``related=True`` writes the recordings' catalog rows into ``dest/.ursa/``,
        so that `open_local` can reopen the folder offline. ``names="rec_id"``
        names each recording's folder by its session's ``rec_id`` instead of its
        hash (``<rec_id>~<hash12>`` for a second session under one ``rec_id``).
        With ``time_range`` (session seconds, ``[start, end)``), processed assets
        are written clipped to the window, each still openable in place: a Zarr of
        the window, the window's events, an MP4 cut at keyframes with its index.
        """
        from .delivery._download import download
        from .delivery._plan import _results, reads_raw

        results = _results(target, "download")
        if time_range is not None:
            mode = existing or ("overwrite" if overwrite else "error")
            return self._download_window(
                results,
                dest,
                time_range,
                layout,
                source,
                mode,
                names,
                dry_run=dry_run,
                progress=progress,
            )
        needs_assets = source != "raw" and any(
            m.ingestion_status.value == "processed" for r in results for m in r.modalities.values()
        )
        # Each bucket is opened only when the download reads it: an analyst with the
        # assets bucket's keys alone can download processed data.
        raw = self.store("raw_ro") if reads_raw(results, source, names) else None
        assets = self.store("assets_ro") if needs_assets else None
        if dry_run:
            return download(
                results,
                dest,
                layout,
                overwrite,
                source,
                raw=raw,
                assets=assets,
                existing=existing,
                verify=verify,
                catalog=self.catalog() if needs_assets else None,
                names=names,
                dry_run=True,
            )
        return download(
            results,
            dest,
            layout,
            overwrite,
            source,
            progress,
            raw=raw,
            assets=assets,
            existing=existing,
            verify=verify,
            max_concurrent_files=self.max_concurrent_files,
            fsync=fsync,
            related=related,
            catalog=self.catalog() if related or needs_assets else None,
            names=names,
        )

    def materialize(
        self,
        target: QueryResult | Iterable[QueryResult],
        time_range: TimeRange | None = None,
        modalities: Iterable[str] | None = None,
        *,
        source: SourceKind = "auto",
    ) -> Any:
        """In-memory data of ``target``: processed rows as time-indexed ``temporaldata.Data``
        (see `read`), raw rows (or ``source="raw"``) as their verified segments by
        modality (``dict[str, RawSegments]``, see `ursa_lib.materialize`)."""
        from .catalog import IngestionStatus
        from .delivery._plan import SourceKind, _one_of, _results
        from .delivery._processed import check_modalities, modality_names
        from .delivery._raw_read import materialize

        _one_of("source", source, SourceKind)
        results = _results(target, "materialize")
        wanted = modality_names(modalities)
        if not results:
            raise NothingMatchedError(_NO_RESULTS.format(verb="materialize"))
        for result in results:
            check_modalities(result, wanted or ())
        names = None if wanted is None else set(wanted)
        rows = [m for r in results for n, m in r.modalities.items() if names is None or n in names]
        processed = [m for m in rows if m.ingestion_status is IngestionStatus.PROCESSED]
        if source != "raw" and processed and len(processed) == len(rows):
            return self.read(results, time_range, modalities)
        if source != "raw" and len(processed) != len(rows) and (processed or source != "auto"):
            raise _not_all_processed(rows, processed)
        if time_range is not None:
            raise InvalidValueError(
                "time_range needs processed data: raw segments have no time index "
                "(query status='ingested', or process the recording first)"
            )
        if names is not None:
            results = [
                r.model_copy(
                    update={"modalities": {n: m for n, m in r.modalities.items() if n in names}}
                )
                for r in results
            ]
        return materialize(results, raw=self.store("raw_ro"), source=source)

    get = materialize

    def status(self) -> dict[str, Any]:
        """Row counts by table and modality counts by ingestion status."""
        return dict(self.catalog().status())

    # -- write verbs ---------------------------------------------------------------

    @overload
    def ingest(
        self,
        session: str | os.PathLike[str],
        participant_id: str | None = None,
        *,
        dry_run: Literal[False] = False,
        **options: Any,
    ) -> IngestResult: ...

    @overload
    def ingest(
        self,
        session: str | os.PathLike[str],
        participant_id: str | None = None,
        *,
        dry_run: Literal[True],
        **options: Any,
    ) -> IngestPlan: ...

    def ingest(
        self,
        session: str | os.PathLike[str],
        participant_id: str | None = None,
        *,
        dry_run: bool = False,
        **options: Any,
    ) -> IngestResult | IngestPlan:
        """Upload and register the session directory ``session`` (see `ursa_lib.ingest`).

        ``dry_run=True`` returns the `IngestPlan` (files to upload, skip or
        replace, bytes, requests expected) and writes nothing; it reads with the
        read-only keys, so it needs no `enable_writes`.
        """
        folder = Path(session)
        if dry_run:
            from .ingestion import plan_ingest

            return plan_ingest(
                folder / "manifest.json",
                folder,
                participant_id,
                raw=self.store("raw_ro"),
                catalog=self.catalog(),
                overwrite=bool(options.get("overwrite", False)),
                allow_deleted=bool(options.get("allow_deleted", False)),
            )
        self._require_writes("ingest")
        from .ingestion._ingest import ingest

        result: IngestResult = ingest(
            folder / "manifest.json",
            folder,
            participant_id,
            raw=self.store("raw_rw"),
            catalog=self.catalog(writable=True),
            **{"max_concurrent_files": self.max_concurrent_files, **options},
        )
        return result

    def backfill(
        self, rec_id: str, participant_id: str | None = None, **options: Any
    ) -> IngestResult:
        """Register a session already in the raw bucket (see `ursa_lib.ingest_from_store`)."""
        self._require_writes("backfill")
        from .ingestion._backfill import ingest_from_store

        return ingest_from_store(
            rec_id,
            participant_id,
            raw=self.store("raw_ro"),
            catalog=self.catalog(writable=True),
            **options,
        )


def _not_all_processed(rows: list[Modality], processed: list[Modality]) -> NotDeliverableError:
    """Why `DataInterface.materialize` cannot give time-indexed data of ``rows``: the
    first that is not processed, and what to ask for instead."""
    other = next(m for m in rows if m not in processed)
    done = sorted({m.modality for m in processed})
    instead = f"pass modalities={done} for their time-indexed data, " if done else ""
    return NotDeliverableError(
        f"modality {other.modality!r} of recording {other.recording_hash[:12]}… is "
        f"{other.ingestion_status.value}, not processed: {instead}pass source='raw' for the "
        "raw segments of every modality, or process the recording first"
    )
