"""Delivery: query results → files on disk (`download`) or bytes in memory (`materialize`).

`download` plans the whole transfer before any byte moves, then fetches files in
parallel, each to a ``.part`` sibling that is verified (size and sha256),
flushed and renamed into place.

For raw data the recording's stored manifest is the truth: the plan holds
exactly its files, each present in one listing with its listed size, and each
is verified against the manifest's sha256 (an object's own sha256 metadata is a
second opinion, never the only one). An object under the prefix that the
manifest does not list is not delivered and is named in a WARNING. A session
backfilled without a file listing is the exception: its objects' sha256
metadata must rebuild the registered ``recording_hash``.

For processed data the publication is the truth: the keys, sizes and sha256
that processing recorded in the asset's ``pipeline_assets`` row when it
published it (so ``catalog`` is needed). The same rules hold: every recorded
object present with its size in one listing of the asset's folder before any
byte moves, each verified on arrival, anything else there named and left.

Nothing is ever written outside
``dest``: every destination is built from validated key segments, and any
symbolic link met between ``dest`` and a destination file — the file itself or
any parent directory — is refused, at planning time and again just before the
rename.

Progress events (`DownloadProgress`) and the ``ursa.download`` logger records
come in this order: ``start``, ``plan_done``, then for each modality
``modality_start``, ``file_done``…, ``modality_done``, and finally ``finish``.
Transfers run on worker threads; events are emitted on the caller's thread. A
time-window download (``time_range``) cuts every clip before it moves any into
place, so its events differ: ``start``, ``plan_done``, for each clip
``modality_start`` and ``cutting``… as it is cut, then for each clip its
``file_done``… and ``modality_done``, and ``finish`` (see `download_window`).

Interrupted (even by ``kill -9``), a download leaves only complete files at
canonical paths, plus at most one hidden ``.part`` file per transfer in flight.
Re-run it with ``existing="skip"`` to fetch only what is missing.

Every file written gets its object's modification time. ``existing="skip"``
then keeps a file already there when its size and modification time match the
object's (``verify="size_mtime"``, the default, as rclone does: no byte is
read), or when its size and sha256 match (``verify="sha256"``: every kept
file is re-hashed). ``dry_run=True`` (see `plan_download`) plans and reports,
and writes nothing.
"""

from __future__ import annotations

import logging
import os
import time
import typing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._errors import (
    InvalidValueError,
)
from .._layout import RECORDINGS_ROOT, SessionPrefix
from ..catalog import Catalog
from ..store import Store
from ._dry_run import DownloadPlan, PlannedFile, _existing_mode, _prepare, plan_download
from ._plan import (
    Existing,
    Layout,
    Names,
    Phase,
    SourceKind,
    Verify,
    _fetch,
    _File,
    _Group,
    _identical,
    _one_of,
    _results,
    download_root,
    folder_namer,
)
from ._query import QueryResult
from ._raw_read import RawSegments, materialize

__all__ = [
    "DownloadPlan",
    "DownloadProgress",
    "Existing",
    "Layout",
    "Names",
    "Phase",
    "PlannedFile",
    "RawSegments",
    "SourceKind",
    "Verify",
    "download",
    "files_of",
    "materialize",
    "plan_download",
]

log = logging.getLogger("ursa.download")


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadProgress:
    """One step of a download; see the module docstring for the order."""

    phase: Phase
    recording_hash: str | None = None
    modality: str | None = None
    worker_id: str | None = None
    """None only on call-level phases (start, plan_done, finish)."""
    key: str | None = None
    """The object just written or kept (``file_done`` only)."""
    bytes_done: int = 0
    """Cumulative over the whole call; never decreases."""
    bytes_total: int | None = None
    """Set from ``plan_done`` on (a time-window download's: from its first ``file_done``,
    as a clip's size is known only once it is cut)."""
    files_done: int = 0
    files_total: int | None = None
    elapsed_s: float = 0.0
    skipped: bool = False
    """``file_done`` of a file already present and identical (``existing="skip"``)."""


class _Of(typing.Protocol):
    """What an event is of: a modality of a recording (a planned group, a clip's row)."""

    @property
    def recording_hash(self) -> str: ...
    @property
    def modality(self) -> str: ...
    @property
    def worker_id(self) -> str: ...


class _Reporter:
    def __init__(self, progress: Callable[[DownloadProgress], None] | None) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        self.bytes_done = 0
        self.files_done = 0
        self.bytes_total: int | None = None
        self.files_total: int | None = None

    def emit(
        self,
        phase: Phase,
        group: _Of | None = None,
        key: str | None = None,
        *,
        skipped: bool = False,
    ) -> None:
        event = DownloadProgress(
            phase=phase,
            recording_hash=group.recording_hash if group else None,
            modality=group.modality if group else None,
            worker_id=group.worker_id if group else None,
            key=key,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            files_done=self.files_done,
            files_total=self.files_total,
            elapsed_s=time.perf_counter() - self.started,
            skipped=skipped,
        )
        extra = {
            "phase": phase,
            "recording_hash": event.recording_hash,
            "modality": event.modality,
            "worker_id": event.worker_id,
            "key": key,
            "bytes_done": event.bytes_done,
            "bytes_total": event.bytes_total,
            "elapsed_s": event.elapsed_s,
        }
        level = logging.DEBUG if phase in ("file_done", "cutting") else logging.INFO
        log.log(level, "download %s %s", phase, key or event.modality or "", extra=extra)
        if self.progress is not None:
            try:
                self.progress(event)
            except Exception as exc:  # noqa: BLE001 - a broken callback never stops a download
                log.warning(
                    "download progress callback failed: %r; the download goes on",
                    exc,
                    extra={**extra, "callback_error": repr(exc)},
                )


def files_of(paths: Iterable[Path]) -> list[Path]:
    """Every file that the paths ``download`` returned hold: a path itself, or the
    files under it (a time-window download returns clips, and a clipped Zarr or
    Lance table is a folder)."""
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()]


@typing.overload
def download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    overwrite: bool = False,
    source: SourceKind = "auto",
    progress: Callable[[DownloadProgress], None] | None = None,
    *,
    raw: Store | None = None,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
    names: Names = "hash",
    dry_run: Literal[False] = False,
) -> list[Path]: ...


@typing.overload
def download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    overwrite: bool = False,
    source: SourceKind = "auto",
    progress: Callable[[DownloadProgress], None] | None = None,
    *,
    raw: Store | None = None,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
    names: Names = "hash",
    dry_run: Literal[True],
) -> DownloadPlan: ...


def download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    overwrite: bool = False,
    source: SourceKind = "auto",
    progress: Callable[[DownloadProgress], None] | None = None,
    *,
    raw: Store | None = None,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
    names: Names = "hash",
    dry_run: bool = False,
) -> list[Path] | DownloadPlan:
    """Write the query results' bytes under ``dest``; return the paths in plan order.

    ``existing`` says what to do with a destination file that is already there:
    ``"error"`` (the default; all of them named in one `FileExistsError` before
    any transfer), ``"overwrite"`` (replace it once its replacement is complete;
    ``overwrite=True`` is the same), or ``"skip"`` (keep it when it is identical
    by ``verify``'s test, else replace it). ``dry_run=True`` returns the
    `DownloadPlan` instead and writes nothing (see `plan_download`).

    ``related=True`` (the default) also writes the recordings' catalog rows
    beside the bytes, in ``dest/.ursa/`` (see `ursa_lib.delivery._related`):
    with ``catalog``, every related table; without, the rows the results carry.
    Processed assets need ``catalog``: their publication records what to verify.
    ``names`` names each recording's folder by its ``recording_hash`` (the default)
    or by its session's ``rec_id`` (see `Names`).
    See the module docstring for the rest.
    """
    existing = _existing_mode(existing, overwrite)
    if dry_run:
        return plan_download(
            target,
            dest,
            layout,
            source,
            raw=raw,
            assets=assets,
            existing=existing,
            verify=verify,
            catalog=catalog,
            names=names,
        )
    _one_of("verify", verify, Verify)
    _one_of("layout", layout, Layout)
    _one_of("source", source, SourceKind)
    recording_folder = folder_namer(names, raw)
    if max_concurrent_files < 1:
        raise InvalidValueError("max_concurrent_files must be at least 1")
    results = _results(target, "download")
    root = download_root(dest)
    report = _Reporter(progress)
    report.emit("start")

    groups, files, present = _prepare(
        results, root, layout, source, raw, assets, existing, catalog, recording_folder
    )
    report.bytes_total = sum(f.size for f in files)
    report.files_total = len(files)
    report.emit("plan_done")

    maybe_skip = {id(f) for f in present} if existing == "skip" else set()

    def work(file: _File) -> bool:
        if id(file) in maybe_skip and _identical(file, verify):
            return True
        _fetch(file, root, fsync)
        return False

    _transfer(groups, files, work, report, max_concurrent_files)
    if fsync:
        for directory in sorted({f.dest.parent for f in files}):
            _fsync_dir(directory)
    if related:
        _write_related(root, results, files, catalog)
    report.emit("finish")
    return [f.dest for f in files]


def _transfer(
    groups: list[_Group],
    files: list[_File],
    work: Callable[[_File], bool],
    report: _Reporter,
    max_concurrent: int,
) -> None:
    """Run ``work`` on every file, ``max_concurrent`` at once and biggest first (no
    big file starts last and runs alone), reporting progress on this thread in
    plan order; on any error or interrupt, wait for the transfers in flight."""
    pool = ThreadPoolExecutor(max_concurrent, "ursa-download")
    futures: dict[int, Future[bool]] = {}
    try:
        for file in sorted(files, key=lambda f: f.size, reverse=True):
            futures[id(file)] = pool.submit(work, file)
        for group in groups:
            report.emit("modality_start", group)
            pending = {futures[id(f)]: f for f in group.files}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda fut: pending[fut].key):
                    file = pending.pop(future)
                    skipped = future.result()
                    report.bytes_done += file.size
                    report.files_done += 1
                    report.emit("file_done", group, file.key, skipped=skipped)
            report.emit("modality_done", group)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _write_related(
    root: Path, results: list[QueryResult], files: list[_File], catalog: Catalog | None
) -> None:
    """The recordings' catalog rows, each file's origin and the raw manifests, in
    ``root/.ursa/`` (see `_related`)."""
    from ._related import write_related

    sessions = {
        (f.store.base_uri, SessionPrefix.parse(f.key)): f.store
        for f in files
        if f.key.startswith(RECORDINGS_ROOT)
    }
    write_related(
        root,
        results,
        ((f.store, f.key, f.dest, f.size, f.sha256) for f in files),
        ((store, session.manifest_key) for (_, session), store in sessions.items()),
        catalog,
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
