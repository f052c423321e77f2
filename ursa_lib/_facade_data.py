"""`DataInterface` verbs over processed data: process, read by time window, look, keep true.

A mixin of `DataInterface`, kept apart so each file stays one concern; it
uses the interface's handles (stores, catalog) and its write guard.
"""

from __future__ import annotations

import os
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._config import LocalProfile, Role, S3Credentials, S3Profile
from ._errors import InvalidValueError, NothingMatchedError

if TYPE_CHECKING:
    import threading

    from .catalog import Catalog
    from .delivery import (
        AssetSource,
        Existing,
        Layout,
        Names,
        QueryResult,
        SourceKind,
        StreamWindow,
    )
    from .delivery._download import DownloadProgress
    from .delivery._look import RecordingSummary
    from .lifecycle import (
        DeleteResult,
        ProcessedReport,
        RigCleanResult,
        ScrubReport,
        VerifyReport,
    )
    from .processing import ProcessingResult
    from .store import Store

__all__ = ["DataVerbs", "TimeRange"]

_NO_RESULTS = (
    "{verb} got no query results (an empty list): the query matched nothing; "
    "query(status='all') shows what the catalog holds"
)

TimeRange = tuple[float, float]
"""``(start, end)`` in seconds from the session start; the window is ``[start, end)``."""


class DataVerbs:
    """Processing, windowed reads and lifecycle checks for `DataInterface`."""

    profile: LocalProfile | S3Profile
    _credentials: dict[Role, S3Credentials]

    if TYPE_CHECKING:  # provided by DataInterface

        def store(self, role: Role) -> Store: ...

        def catalog(self, *, writable: bool = False) -> Catalog: ...

        def _require_writes(self, verb: str) -> None: ...

        _lock: threading.Lock
        _asset_source: AssetSource | None

    def asset_source(self) -> AssetSource:
        """The assets bucket as processed-data readers see it (its read-only role);
        one per interface, even when threads ask at once, so the arrays it opened
        serve later reads."""
        from .delivery import AssetSource
        from .store import lance_storage_options

        assets = self.store("assets_ro")  # outside: store() takes the (non-reentrant) lock
        with self._lock:
            if self._asset_source is None:
                options = lance_storage_options(
                    self.profile, "assets_ro", self._credentials.get("assets_ro")
                )
                self._asset_source = AssetSource(assets, options)
            return self._asset_source

    # -- processing ---------------------------------------------------------------

    def process(
        self,
        recording_hash: str | None = None,
        *,
        rec_id: str | None = None,
        modalities: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        workdir: str | Path | None = None,
        again: bool = False,
    ) -> list[ProcessingResult]:
        """Turn raw segments into processed assets (`ursa_lib.processing.process_recording`).

        Give a ``recording_hash``, or a ``rec_id`` (then every recording of that id).
        A damaged asset (an object gone, or of another size) is made again;
        ``again=True`` makes every chosen asset again, damaged or not.
        """
        self._require_writes("process")
        from .catalog import Recording
        from .processing import process_recording

        if (recording_hash is None) == (rec_id is None):
            raise InvalidValueError("process needs exactly one of recording_hash or rec_id")
        catalog = self.catalog(writable=True)
        hashes = (
            [recording_hash]
            if recording_hash is not None
            else sorted(r.recording_hash for r in catalog.rows(Recording, {"rec_id": rec_id}))
        )
        try:
            return [
                process_recording(
                    h,
                    raw=self.store("raw_ro"),
                    assets=self.store("assets_rw"),
                    catalog=catalog,
                    modalities=modalities,
                    kinds=kinds,
                    workdir=Path(workdir) if workdir is not None else None,
                    again=again,
                )
                for h in hashes
            ]
        finally:
            # A damaged asset is remade in its own folder: what this interface
            # opened of it (a Lance table's old manifest) must be opened afresh.
            if self._asset_source is not None:
                self._asset_source.opened.clear()

    def check_processed(self, recording_hash: str, modality: str) -> ProcessedReport:
        """Open one processed asset and compare it with what publication recorded."""
        from .lifecycle import check_processed

        return check_processed(self.asset_source(), self.catalog(), recording_hash, modality)

    # -- processed reads ---------------------------------------------------------------

    def read(
        self,
        target: QueryResult | Iterable[QueryResult],
        time_range: TimeRange | None = None,
        modalities: Iterable[str] | None = None,
    ) -> Any:
        """Processed data of ``target`` in ``time_range`` as ``temporaldata.Data``.

        One ``Data`` for one result. Several results come as a list, and only
        when their modality sets and time domains align (else `InvalidValueError`
        says how they differ). See `ursa_lib.delivery.read_recording` for what
        a ``Data`` holds.
        """
        from .delivery import Window, misaligned, read_recording
        from .delivery._plan import _results
        from .delivery._processed import modality_names

        results = _results(target, "read")
        names = modality_names(modalities)
        if not results:
            raise NothingMatchedError(_NO_RESULTS.format(verb="read"))
        why = misaligned(results, names)
        if why is not None:
            raise InvalidValueError(f"results can be concatenated only when they align: {why}")
        source, window = self.asset_source(), Window.of(time_range)
        data = [read_recording(source, r, window, names) for r in results]
        return data[0] if len(data) == 1 else data

    def stream(
        self,
        target: QueryResult | Iterable[QueryResult],
        window: float,
        step: float | None = None,
        modalities: Iterable[str] | None = None,
    ) -> Iterator[StreamWindow]:
        """Fixed windows of ``window`` seconds every ``step`` (default ``window``) seconds.

        See `ursa_lib.delivery.stream_windows`: aligned across modalities, the
        next window prefetched, gaps reported in each window's ``gaps``.
        """
        from .delivery import stream_windows
        from .delivery._plan import _results

        results = _results(target, "stream")
        return stream_windows(self.asset_source(), results, window, step, modalities)

    # -- a look before a read -------------------------------------------------------------

    def _download_window(
        self,
        results: list[QueryResult],
        dest: str | os.PathLike[str],
        time_range: TimeRange,
        layout: Layout,
        source: SourceKind,
        existing: Existing,
        names: Names,
        *,
        dry_run: bool = False,
        progress: Callable[[DownloadProgress], None] | None = None,
    ) -> list[Path]:
        """`DataInterface.download` with a ``time_range``: clipped processed assets."""
        from .delivery import Window
        from .delivery._clip import download_window
        from .delivery._plan import folder_namer

        if dry_run:
            raise InvalidValueError(
                "a time-window download cannot be planned ahead (a clip's files and sizes "
                "are known only once it is cut); drop dry_run (CLI: --dry-run) to download it"
            )
        if source == "raw":
            raise InvalidValueError(
                "time_range needs processed data: raw segments have no time index"
            )
        raw = self.store("raw_ro") if names == "rec_id" else None  # only for session names
        return download_window(
            results,
            dest,
            Window.of(time_range),
            source=self.asset_source(),
            layout=layout,
            existing=existing,
            recording_folder=folder_namer(names, raw),
            progress=progress,
        )

    def show(self, target: QueryResult | str) -> RecordingSummary:
        """What a recording holds: modalities, formats, channels, rates, domains, status.

        ``target`` is a query result, a recording hash, or a ``rec_id``.
        """
        from .delivery._look import summarize

        return summarize(self._one(target))

    def plot(self, target: QueryResult | str, time_range: TimeRange, *, channels: int = 4) -> Any:
        """One aligned window drawn (a matplotlib ``Figure``): EEG, audio envelope,
        event markers and the video frame at the window's start."""
        from .delivery import Window
        from .delivery._look import plot_window

        result = self._one(target)
        return plot_window(self.asset_source(), result, Window.of(time_range), channels=channels)

    def _one(self, target: QueryResult | str) -> QueryResult:
        from .catalog import Recording
        from .catalog._sql import sql_hash_prefix, sql_in
        from .delivery import QueryResult, query

        if isinstance(target, QueryResult):
            return target
        if not isinstance(target, str):
            raise InvalidValueError(
                "show and plot take one recording: a query result, a recording hash (or its "
                f"first 8+ characters) or a rec_id; got {type(target).__name__} "
                f"{reprlib.repr(target)}"
            )
        text = target
        catalog = self.catalog()
        hashes = sorted({r.recording_hash for r in catalog.rows(Recording, {"rec_id": text})})
        # Else a hash, or its first 8+ characters as `ursa query` prints them (12).
        looks_like_hash = re.fullmatch(r"[0-9a-fA-F]{8,64}", text) is not None
        found = (
            list(query(catalog, recording_hash=hashes or [text], status="all"))
            if hashes or looks_like_hash
            else []
        )
        if hashes or looks_like_hash:
            # A recording whose files lie in no stream folder has no modality row,
            # so queries do not find it: it is still a recording to show.
            exact = hashes or ([text.lower()] if len(text) == 64 else [])
            where = sql_in("recording_hash", exact) if exact else sql_hash_prefix(text.lower())
            seen = {r.recording_hash for r in found}
            found += [
                QueryResult.model_construct(recording=row, modalities={})
                for row in catalog.rows(Recording, where)
                if row.recording_hash not in seen
            ]
        if not found:
            raise NothingMatchedError(
                f"no recording matches {text!r}: give a rec_id, a recording hash or its first "
                "8 or more characters (`ursa query` lists them)"
            )
        if len(found) > 1:
            listed = ", ".join(f"{r.recording_hash[:12]} ({r.rec_id})" for r in found[:5])
            raise InvalidValueError(
                f"{len(found)} recordings match {text!r} ({listed}); give one's hash, or more of it"
            )
        return found[0]

    # -- keeping the archive true -----------------------------------------------------

    def scrub(
        self, *, sample: float = 0.0, repair: bool = False, seed: int | None = None
    ) -> ScrubReport:
        """Walk both buckets against the catalog (`ursa_lib.lifecycle.scrub`); never deletes."""
        from .lifecycle import scrub

        if repair:
            self._require_writes("scrub --repair")
        return scrub(
            raw=self.store("raw_ro"),
            assets=self.asset_source(),
            catalog=self.catalog(writable=repair),
            sample=sample,
            repair=repair,
            seed=seed,
        )

    def clean_rig(self, session: str | Path, *, dry_run: bool = False) -> RigCleanResult:
        """Delete a rig's session folder once the archive provably holds all of it."""
        from .lifecycle import clean_session

        return clean_session(
            Path(session), raw=self.store("raw_ro"), catalog=self.catalog(), dry_run=dry_run
        )

    def delete(
        self,
        *,
        recording: str | None = None,
        participant: str | None = None,
        reason: str,
        dry_run: bool = False,
    ) -> DeleteResult:
        """Delete a recording (hash or rec_id), or every recording of a participant,
        audited (`ursa_lib.lifecycle.delete_recordings`).

        Needs `enable_writes` and the read-write keys, even for a dry run: whoever
        plans a delete is someone who may carry it out.
        """
        self._require_writes("delete")
        from .lifecycle import delete_recordings

        return delete_recordings(
            raw=self.store("raw_rw"),
            assets=self.store("assets_rw"),
            catalog=self.catalog(writable=True),
            reason=reason,
            profile=self.profile.name,
            recording=recording,
            participant=participant,
            dry_run=dry_run,
        )

    def verify(self, dest: str | Path) -> VerifyReport:
        """Re-hash a downloaded folder against the catalog and name every file that
        differs (`ursa_lib.lifecycle.verify_download`); read-only. Processed assets
        in folders named by hash need only the assets bucket's read-only keys; raw
        segments and ``rec_id`` folder names also the raw bucket's."""
        from .lifecycle import verify_download

        return verify_download(
            Path(dest),
            catalog=self.catalog(),
            raw=lambda: self.store("raw_ro"),
            assets=self.store("assets_ro"),
        )
