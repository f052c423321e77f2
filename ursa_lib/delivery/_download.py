"""Delivery: query results → files on disk (`download`) or bytes in memory (`materialize`).

`download` plans the whole transfer before any byte moves, then fetches files in
parallel, each to a ``.part`` sibling that is verified (sha256 for raw
segments), flushed and renamed into place.

For raw data the recording's stored manifest is the truth: the plan holds
exactly its files, each present in one listing with its listed size, and each
is verified against the manifest's sha256 (an object's own sha256 metadata is a
second opinion, never the only one). An object under the prefix that the
manifest does not list is not delivered and is named in a WARNING. A session
backfilled without a file listing is the exception: its objects' sha256
metadata must rebuild the registered ``recording_hash``.

Nothing is ever written outside
``dest``: every destination is built from validated key segments, and any
symbolic link met between ``dest`` and a destination file — the file itself or
any parent directory — is refused, at planning time and again just before the
rename.

Progress events (`DownloadProgress`) and the ``ursa.download`` logger records
come in this order: ``start``, ``plan_done``, then for each modality
``modality_start``, ``file_done``…, ``modality_done``, and finally ``finish``.
Transfers run on worker threads; events are emitted on the caller's thread.

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

import contextlib
import hashlib
import json
import logging
import os
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from .._errors import (
    ChecksumMismatchError,
    DestinationExistsError,
    IncompleteRecordingError,
    InvalidValueError,
    NotDeliverableError,
    ObjectNotFoundError,
    UnsafeDestinationError,
)
from .._layout import RECORDINGS_ROOT, SessionPrefix
from .._text import listed
from ..catalog import Catalog, IngestionStatus, Modality
from ..ingestion._manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ManifestError,
    parse_manifest,
    recording_hash,
)
from ..store import ObjectInfo, Store
from ._query import QueryResult

__all__ = [
    "DownloadPlan",
    "DownloadProgress",
    "Existing",
    "Layout",
    "Phase",
    "PlannedFile",
    "RawSegments",
    "SourceKind",
    "Verify",
    "download",
    "materialize",
    "plan_download",
]

log = logging.getLogger("ursa.download")

Layout = Literal["by_recording", "by_modality", "flat"]
SourceKind = Literal["auto", "raw", "processed"]
Existing = Literal["error", "skip", "overwrite"]
Verify = Literal["size_mtime", "sha256"]
"""How ``existing="skip"`` tells a file is already there: size and modification
time (like rclone's default), or size and sha256 (every kept file is read)."""
Action = Literal["write", "skip", "replace"]
Phase = Literal["start", "plan_done", "modality_start", "file_done", "modality_done", "finish"]


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
    """Set from ``plan_done`` on."""
    files_done: int = 0
    files_total: int | None = None
    elapsed_s: float = 0.0
    skipped: bool = False
    """``file_done`` of a file already present and identical (``existing="skip"``)."""


@dataclass(frozen=True, slots=True)
class _File:
    store: Store
    key: str
    size: int
    dest: Path
    sha256: str | None
    """Digest to verify before the rename: the manifest's for a raw file, None for an asset."""
    mtime_ns: int | None = None
    """The object's modification time (from the listing), given to the written file."""


@dataclass(slots=True)
class _Group:
    recording_hash: str
    modality: str
    worker_id: str
    files: list[_File] = field(default_factory=list)


def _one_of(name: str, value: object, choices: object) -> None:
    """Refuse a value outside a ``Literal`` type, naming the choices."""
    allowed = typing.get_args(choices)
    if value not in allowed:
        raise InvalidValueError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"
        )


def _results(target: QueryResult | Iterable[QueryResult]) -> list[QueryResult]:
    if isinstance(target, QueryResult):
        return [target]
    results = list(target)
    for item in results:
        if not isinstance(item, QueryResult):
            raise TypeError(f"download takes QueryResult objects, got {type(item).__name__}")
    return results


def _kind(mod: Modality, source: SourceKind) -> Literal["raw", "processed"]:
    status = mod.ingestion_status
    if status in (IngestionStatus.INGESTING, IngestionStatus.FAILED):
        raise NotDeliverableError(
            f"modality {mod.modality!r} of recording {mod.recording_hash} is {status.value}; "
            "only raw and processed modalities can be delivered (wait, or re-run processing)"
        )
    if source == "raw":
        return "raw"
    if source == "processed":
        if status is not IngestionStatus.PROCESSED:
            raise NotDeliverableError(
                f"source='processed' but modality {mod.modality!r} of recording "
                f"{mod.recording_hash} is raw; query status='ingested' or use source='raw'"
            )
        return "processed"
    return "processed" if status is IngestionStatus.PROCESSED else "raw"


def _split(uri: str, stores: Iterable[Store | None]) -> tuple[Store, str]:
    for store in stores:
        if store is not None and uri.startswith(store.base_uri):
            return store, uri[len(store.base_uri) :]
    raise NotDeliverableError(
        f"{uri} is not in a bucket this call can read "
        f"({', '.join(s.base_uri for s in stores if s is not None)})"
    )


def _safe_parts(rel: str, uri: str) -> tuple[str, ...]:
    path = PurePosixPath(rel)
    parts = path.parts
    if (
        not rel
        or path.is_absolute()
        or "\\" in rel
        or any(p in ("", ".", "..") for p in rel.split("/"))
    ):
        raise UnsafeDestinationError(
            f"refusing {uri!r}: its key would land outside the destination"
        )
    return parts


def _check_no_symlinks(root: Path, dest: Path) -> None:
    """Refuse a symbolic link at ``dest`` or at any directory between it and ``root``."""
    current = root
    for part in dest.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise UnsafeDestinationError(
                f"refusing to write {dest}: {current} is a symbolic link "
                f"(-> {os.readlink(current)}); nothing is written through links under {root}"
            )
        if not current.exists():
            return


def _base(root: Path, layout: Layout, recording_hash: str, modality: str) -> Path:
    if layout == "by_recording":
        return root / recording_hash / modality
    if layout == "by_modality":
        return root / modality / recording_hash
    if layout == "flat":
        for name in (recording_hash, modality):
            if "__" in name:
                raise NotDeliverableError(
                    f"layout='flat' joins hash and modality with '__', but {name!r} contains "
                    "'__'; use layout='by_recording' or 'by_modality'"
                )
        return root / f"{recording_hash}__{modality}"
    raise AssertionError(layout)  # _one_of refused it already


class _Recordings:
    """What each recording's raw files must be: from its stored manifest (one GET per
    session), or, for a backfilled session without an augmented manifest, from each
    object's sha256 metadata with the whole set checked against the registered
    ``recording_hash``."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}

    def files(self, store: Store, session: str, recording: str) -> dict[str, tuple[int, str]]:
        """``key → (size, sha256)`` of every raw file of the recording."""
        cache_key = (store.base_uri, session)
        if cache_key not in self._cache:
            manifest = self._stored_manifest(store, session)
            if manifest is not None and manifest.augmented:
                assert manifest.files is not None
                uri = f"{store.base_uri}{session}/{MANIFEST_NAME}"
                if (
                    manifest.recording_hash != recording
                    or recording_hash(manifest.files) != recording
                ):
                    raise ChecksumMismatchError(
                        f"{uri} does not hash to recording {recording} registered for it (the "
                        "stored manifest was replaced or edited); nothing was written",
                        uri=uri,
                    )
                found = {f"{session}/{f.rel_path}": (f.size, f.sha256) for f in manifest.files}
            else:
                found = self._from_metadata(store, session, recording)
            self._cache[cache_key] = found
        return self._cache[cache_key]

    @staticmethod
    def _stored_manifest(store: Store, session: str) -> Manifest | None:
        key = f"{session}/{MANIFEST_NAME}"
        try:
            data = store.get(key)
        except ObjectNotFoundError:
            return None
        try:
            return parse_manifest(store.base_uri + key, json.loads(data))
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"{store.base_uri}{key} is not valid JSON ({exc.msg}); the recording cannot be "
                "verified"
            ) from None

    @staticmethod
    def _from_metadata(store: Store, session: str, recording: str) -> dict[str, tuple[int, str]]:
        """A backfilled session without a file listing (see `ingest_from_store`)."""
        entries, bare = [], []
        for info in store.list(session):
            if info.key == f"{session}/{MANIFEST_NAME}":
                continue
            sha = (store.head(info.key).metadata or {}).get("sha256")
            if sha is None:
                bare.append(info.key)
            else:
                entries.append(
                    FileEntry(rel_path=info.key[len(session) + 1 :], size=info.size, sha256=sha)
                )
        uri = f"{store.base_uri}{session}/"
        if bare:
            raise ChecksumMismatchError(
                f"{uri} has no file listing in its manifest, and these objects carry no sha256 "
                f"metadata to verify them against: {listed(bare)}; nothing was written",
                uri=uri,
            )
        if recording_hash(entries) != recording:
            raise ChecksumMismatchError(
                f"the objects under {uri} no longer hash to recording {recording} (an object "
                "was added, removed or replaced since it was registered); nothing was written",
                uri=uri,
            )
        return {f"{session}/{e.rel_path}": (e.size, e.sha256) for e in entries}


def _raw_files(
    store: Store, prefix: str, mod: Modality, base: Path, recordings: _Recordings
) -> list[_File]:
    """The plan of one raw modality: exactly the recording's files under ``prefix``,
    each checked against one listing (present, with its size) before any byte moves."""
    uri = store.base_uri + prefix + "/"
    listing = {info.key: info for info in store.list(prefix)}
    if not listing:
        raise ObjectNotFoundError(
            f"{uri} lists no objects, but modality {mod.modality!r} of "
            f"recording {mod.recording_hash} is registered there",
            uri=uri,
        )
    session = prefix.rsplit("/", 1)[0] if "/" in prefix else prefix
    wanted = {
        key: size_sha
        for key, size_sha in recordings.files(store, session, mod.recording_hash).items()
        if key.startswith(prefix + "/")
    }
    problems = []
    for key, (size, _) in sorted(wanted.items()):
        info = listing.get(key)
        if info is None:
            problems.append(f"{key} (missing)")
        elif info.size != size:
            problems.append(f"{key} ({info.size} bytes, the manifest says {size})")
    if problems:
        raise IncompleteRecordingError(
            f"{uri} does not hold recording {mod.recording_hash}'s {mod.modality!r} files as "
            f"its manifest lists them: {listed(problems)}; nothing was written",
            uri=uri,
        )
    unlisted = sorted(set(listing) - set(wanted))
    if unlisted:
        log.warning(
            "not delivering %d object(s) under %s that recording %s does not list: %s",
            len(unlisted),
            uri,
            mod.recording_hash,
            listed(unlisted),
            extra={
                "phase": "plan",
                "recording_hash": mod.recording_hash,
                "modality": mod.modality,
                "worker_id": mod.worker_id,
                "key": None,
                "bytes_done": 0,
                "bytes_total": None,
                "elapsed_s": 0.0,
                "unlisted_keys": unlisted,
            },
        )
    return [
        _File(
            store,
            key,
            size,
            base.joinpath(*_safe_parts(key[len(prefix) + 1 :], store.base_uri + key)),
            sha,
            _mtime_ns(listing[key]),
        )
        for key, (size, sha) in sorted(wanted.items())
    ]


def _mtime_ns(info: ObjectInfo) -> int | None:
    if info.last_modified is None:
        return None
    return int(info.last_modified.timestamp() * 1_000_000) * 1000


def _plan(
    results: list[QueryResult],
    root: Path,
    layout: Layout,
    source: SourceKind,
    raw: Store,
    assets: Store | None,
) -> list[_Group]:
    groups: list[_Group] = []
    recordings = _Recordings()
    for result in results:
        for name, mod in result.modalities.items():
            kind = _kind(mod, source)
            base = _base(root, layout, mod.recording_hash, name)
            group = _Group(mod.recording_hash, name, mod.worker_id)
            if kind == "raw":
                store, prefix = _split(mod.raw_storage_uri, (raw,))
                group.files.extend(_raw_files(store, prefix.rstrip("/"), mod, base, recordings))
            else:
                assert mod.storage_uri is not None
                store, key = _split(mod.storage_uri, (assets, raw))
                asset = key.rstrip("/")
                basename = asset.rsplit("/", 1)[-1]
                listing = [i for i in store.list(asset) if i.key.startswith(asset + "/")]
                if not key.endswith("/"):
                    with contextlib.suppress(ObjectNotFoundError):
                        listing.insert(0, store.head(asset))
                    listing += list(store.list(f"{asset}.lance"))  # a video's frame index
                if not listing:
                    raise ObjectNotFoundError(
                        f"{mod.storage_uri} lists no objects, but modality {name!r} of "
                        f"recording {mod.recording_hash} is registered there",
                        uri=mod.storage_uri,
                    )
                parent = asset.rsplit("/", 1)[0] + "/" if "/" in asset else ""
                for info in listing:
                    rel = info.key[len(parent) :]
                    assert rel.startswith(basename)
                    dest = base.joinpath(*_safe_parts(rel, store.base_uri + info.key))
                    group.files.append(
                        _File(store, info.key, info.size, dest, None, _mtime_ns(info))
                    )
            group.files.sort(key=lambda f: f.key)
            groups.append(group)
    return groups


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


_MTIME_WINDOW_NS = 1_000_000
"""Modification times this close are the same (filesystems keep ns, S3 listings ms)."""


def _identical(file: _File, verify: Verify) -> bool:
    """The destination already holds this object's bytes: same size and modification
    time (``size_mtime``; a file without a known time is hashed), or same sha256."""
    if file.dest.is_symlink() or not file.dest.is_file():
        return False
    stat = file.dest.stat()
    if stat.st_size != file.size:
        return False
    if verify == "size_mtime" and file.mtime_ns is not None:
        return abs(stat.st_mtime_ns - file.mtime_ns) < _MTIME_WINDOW_NS
    expected = file.sha256
    if expected == "metadata":
        expected = (file.store.head(file.key).metadata or {}).get("sha256")
    if expected is None:
        return False  # nothing to compare against: fetch it again
    return _sha256_of(file.dest) == expected


def _fetch(file: _File, root: Path, fsync: bool) -> None:
    file.dest.parent.mkdir(parents=True, exist_ok=True)
    _check_no_symlinks(root, file.dest)  # again, just before writing
    stored = file.store.download(file.key, file.dest, fsync=fsync, sha256=file.sha256)
    # The listing's time, which the skip pass compares against (a GET's header
    # has whole seconds only on S3, a listing milliseconds).
    mtime = file.mtime_ns if file.mtime_ns is not None else _mtime_ns(stored)
    if mtime is not None:
        # A kill before this line leaves the file with today's time: the next skip
        # pass sees a different time and fetches it again, never keeps a wrong file.
        os.utime(file.dest, ns=(mtime, mtime))


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
        group: _Group | None = None,
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
        level = logging.DEBUG if phase == "file_done" else logging.INFO
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


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFile:
    """One file of a download plan and what the download would do with it."""

    uri: str
    dest: Path
    size: int
    action: Action
    """``write`` (not there), ``skip`` (already there and identical) or ``replace``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadPlan:
    """What a download would do, decided without moving a byte."""

    files: tuple[PlannedFile, ...]
    requests: int
    """Store requests the transfer would make: one GET per file written or replaced
    (objects above the store's part size take one ranged GET per part)."""

    def _of(self, action: Action) -> list[PlannedFile]:
        return [f for f in self.files if f.action == action]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bytes_to_transfer(self) -> int:
        return sum(f.size for f in self.files if f.action != "skip")

    def counts(self) -> dict[str, int]:
        """Files by action."""
        return {a: len(self._of(a)) for a in ("write", "skip", "replace")}


def _prepare(
    results: list[QueryResult],
    root: Path,
    layout: Layout,
    source: SourceKind,
    raw: Store,
    assets: Store | None,
    existing: Existing,
) -> tuple[list[_Group], list[_File], list[_File]]:
    """The groups, their files, and the files already present (refused for ``error``)."""
    groups = _plan(results, root, layout, source, raw, assets)
    files = [f for g in groups for f in g.files]
    seen: dict[Path, _File] = {}
    for file in files:
        if file.dest in seen:
            raise NotDeliverableError(
                f"two objects would be written to {file.dest}: {seen[file.dest].key} and "
                f"{file.key}; choose layout='by_recording' or download them separately"
            )
        seen[file.dest] = file
        _check_no_symlinks(root, file.dest)
    present = [f for f in files if os.path.lexists(f.dest)]
    if present and existing == "error":
        raise DestinationExistsError(
            f"{len(present)} destination file(s) already exist: "
            f"{listed(f.dest for f in present)}; pass "
            "existing='skip' to keep identical ones or existing='overwrite' to replace them"
        )
    return groups, files, present


def _existing_mode(existing: Existing | None, overwrite: bool) -> Existing:
    if existing is None:
        existing = "overwrite" if overwrite else "error"
    elif overwrite and existing != "overwrite":
        raise InvalidValueError(
            f"overwrite=True contradicts existing={existing!r}; pass one of them"
        )
    _one_of("existing", existing, Existing)
    return existing


def plan_download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    source: SourceKind = "auto",
    *,
    raw: Store,
    assets: Store | None = None,
    existing: Existing = "error",
    verify: Verify = "size_mtime",
) -> DownloadPlan:
    """What `download` with the same arguments would do; writes nothing.

    It lists and reads manifests as the download would, and with
    ``existing="skip"`` compares the files already there (``verify="sha256"``
    reads them). A file already there with ``existing="error"`` raises, as the
    download would.
    """
    _one_of("existing", existing, Existing)
    _one_of("verify", verify, Verify)
    _one_of("layout", layout, Layout)
    _one_of("source", source, SourceKind)
    root = Path(dest).resolve()
    _, files, present = _prepare(_results(target), root, layout, source, raw, assets, existing)
    there = {id(f) for f in present}
    planned = []
    for file in files:
        action: Action = "write"
        if id(file) in there:
            keep = existing == "skip" and _identical(file, verify)
            action = "skip" if keep else "replace"
        planned.append(
            PlannedFile(
                uri=file.store.base_uri + file.key, dest=file.dest, size=file.size, action=action
            )
        )
    requests = sum(1 for f in planned if f.action != "skip")
    return DownloadPlan(files=tuple(planned), requests=requests)


@typing.overload
def download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    overwrite: bool = False,
    source: SourceKind = "auto",
    progress: Callable[[DownloadProgress], None] | None = None,
    *,
    raw: Store,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
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
    raw: Store,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
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
    raw: Store,
    assets: Store | None = None,
    existing: Existing | None = None,
    verify: Verify = "size_mtime",
    max_concurrent_files: int = 4,
    fsync: bool = True,
    related: bool = True,
    catalog: Catalog | None = None,
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
    See the module docstring for the rest.
    """
    existing = _existing_mode(existing, overwrite)
    if dry_run:
        return plan_download(
            target, dest, layout, source, raw=raw, assets=assets, existing=existing, verify=verify
        )
    _one_of("verify", verify, Verify)
    _one_of("layout", layout, Layout)
    _one_of("source", source, SourceKind)
    if max_concurrent_files < 1:
        raise InvalidValueError("max_concurrent_files must be at least 1")
    results = _results(target)
    root = Path(dest).resolve()  # dest itself may be a link the user chose
    report = _Reporter(progress)
    report.emit("start")

    groups, files, present = _prepare(results, root, layout, source, raw, assets, existing)
    report.bytes_total = sum(f.size for f in files)
    report.files_total = len(files)
    report.emit("plan_done")

    maybe_skip = {id(f) for f in present} if existing == "skip" else set()

    def work(file: _File) -> bool:
        if id(file) in maybe_skip and _identical(file, verify):
            return True
        _fetch(file, root, fsync)
        return False

    pool = ThreadPoolExecutor(max_concurrent_files, "ursa-download")
    futures: dict[int, Future[bool]] = {}
    try:
        # Biggest first, so that no big file starts last and runs alone.
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
    if fsync:
        for directory in sorted({f.dest.parent for f in files}):
            _fsync_dir(directory)
    if related:
        from ._related import write_related

        sessions = {
            (f.store.base_uri, SessionPrefix.parse(f.key)): f.store
            for f in files
            if f.sha256 is not None and f.key.startswith(RECORDINGS_ROOT)
        }
        write_related(
            root,
            results,
            ((f.store, f.key, f.dest, f.size, f.sha256) for f in files),
            ((store, session.manifest_key) for (_, session), store in sessions.items()),
            catalog,
        )
    report.emit("finish")
    return [f.dest for f in files]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class RawSegments:
    """A modality's raw segments in memory, in key order, with the row(s) they belong to."""

    modalities: tuple[Modality, ...]
    """One row per result that contributed (in input order)."""
    segments: tuple[tuple[str, bytes], ...]
    """``(key, bytes)`` in input order, then key order."""

    @property
    def modality(self) -> Modality:
        return self.modalities[0]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return iter(self.segments)


def materialize(
    target: QueryResult | Iterable[QueryResult],
    *,
    raw: Store,
    source: SourceKind = "auto",
) -> dict[str, RawSegments]:
    """Bytes in memory, by modality name, verified like `download`.

    Several results are concatenated per modality only when they have the same
    set of modalities; otherwise `ValueError` says which differ. Processed rows
    (time-indexed arrays) come with the processing pipeline and raise
    `NotImplementedError` for now; ``source="raw"`` reads their raw segments.
    """
    _one_of("source", source, SourceKind)
    results = _results(target)
    if not results:
        return {}
    names = [tuple(r.modalities) for r in results]
    for result, these in zip(results, names, strict=True):
        if these != names[0]:
            raise NotDeliverableError(
                "results can be concatenated only when their modality sets align: "
                f"{results[0].recording_hash} has {list(names[0])}, "
                f"{result.recording_hash} has {list(these)}"
            )
    for result in results:
        for mod in result.modalities.values():
            if _kind(mod, source) == "processed":
                raise NotImplementedError(
                    f"materializing processed data ({mod.format}) needs the processing "
                    "pipeline's readers, which are not built yet; pass source='raw' for the "
                    "raw segments, or download(source='processed') for the files"
                )
    groups = _plan(results, Path("/nonexistent-materialize"), "by_recording", "raw", raw, None)
    out: dict[str, tuple[list[Modality], list[tuple[str, bytes]]]] = {}
    for result, group in zip((r for r in results for _ in r.modalities), groups, strict=True):
        rows, segments = out.setdefault(group.modality, ([], []))
        rows.append(result.modalities[group.modality])
        for file in group.files:
            with file.store.open(file.key) as reader:
                data = reader.read()
                recorded = (reader.info.metadata or {}).get("sha256")
            actual = hashlib.sha256(data).hexdigest()
            # The manifest's digest decides; the object's metadata is a second opinion.
            for expected in (file.sha256, recorded):
                if expected is not None and actual != expected:
                    raise ChecksumMismatchError(
                        f"{file.store.base_uri}{file.key} is corrupt or was replaced: its "
                        f"bytes hash to {actual}, but {expected} was recorded for it",
                        uri=file.store.base_uri + file.key,
                    )
            segments.append((file.key, data))
    return {name: RawSegments(tuple(rows), tuple(segs)) for name, (rows, segs) in out.items()}


def stream(target: QueryResult | Iterable[QueryResult], window: float) -> Iterator[object]:
    """Fixed time windows over processed data — comes with the processing pipeline."""
    raise NotImplementedError(
        "stream() reads processed (time-indexed) data, which the processing pipeline "
        "produces; it is not built yet. Use materialize(source='raw') or download()"
    )
