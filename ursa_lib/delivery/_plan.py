"""The download plan: which objects go where, verified against what.

For raw data the recording's stored manifest is the truth (see `_download`);
destinations are built from validated key segments and refused across
symbolic links. Shared by `download`, `plan_download` and raw `materialize`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from .._errors import (
    ChecksumMismatchError,
    IncompleteRecordingError,
    InvalidValueError,
    NotDeliverableError,
    ObjectNotFoundError,
    UnsafeDestinationError,
)
from .._layout import SessionPrefix
from .._text import listed
from ..catalog import Catalog, IngestionStatus, Modality, PipelineAsset, sql_in
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

log = logging.getLogger("ursa.download")

Layout = Literal["by_recording", "by_modality", "flat"]
Names = Literal["hash", "rec_id"]
"""What a recording's download folder is called: its ``recording_hash`` (the
default: unique and stable), or its session's name in the raw bucket, ``rec_id``
(``<rec_id>~<hash12>`` for a second session stored under the same ``rec_id``)."""
SourceKind = Literal["auto", "raw", "processed"]
Existing = Literal["error", "skip", "overwrite"]
Verify = Literal["size_mtime", "sha256"]
"""How ``existing="skip"`` tells a file is already there: size and modification
time (like rclone's default), or size and sha256 (every kept file is read)."""
Action = Literal["write", "skip", "replace"]
Phase = Literal["start", "plan_done", "modality_start", "file_done", "modality_done", "finish"]


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


def recording_folder(mod: Modality, names: Names, raw: Store | None) -> str:
    """The name of ``mod``'s recording folder in a download (see `Names`)."""
    if names == "hash":
        return mod.recording_hash
    if raw is None:
        raise InvalidValueError("names='rec_id' reads the session names from the raw bucket")
    _, key = _split(mod.raw_storage_uri, (raw,))
    return SessionPrefix.parse(key).name


def _base(root: Path, layout: Layout, recording: str, modality: str) -> Path:
    """The folder of one modality of one recording (named ``recording``)."""
    if layout == "by_recording":
        return root / recording / modality
    if layout == "by_modality":
        return root / modality / recording
    if layout == "flat":
        for name in (recording, modality):
            if "__" in name:
                raise NotDeliverableError(
                    f"layout='flat' joins recording and modality with '__', but {name!r} contains "
                    "'__'; use layout='by_recording' or 'by_modality'"
                )
        return root / f"{recording}__{modality}"
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
    _warn_unlisted(uri, mod, unlisted, f"recording {mod.recording_hash} does not list")
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


class _Publications:
    """What each processed asset's objects must be: the keys, sizes and sha256 its
    publication recorded in its ``pipeline_assets`` row (one catalog query for the
    whole download)."""

    def __init__(self, results: list[QueryResult], source: SourceKind, catalog: Catalog | None):
        uris = sorted(
            {
                mod.storage_uri
                for result in results
                for mod in result.modalities.values()
                if _kind(mod, source) == "processed" and mod.storage_uri is not None
            }
        )
        self._objects: dict[str, dict[str, tuple[int, str]]] = {}
        if not uris:
            return
        if catalog is None:
            raise NotDeliverableError(
                "processed assets are verified against the sizes and sha256 their publication "
                "recorded in the catalog: pass catalog=… (DataInterface.download does)"
            )
        rows = sorted(catalog.rows(PipelineAsset, sql_in("storage_uri", uris)), key=_created)
        for row in rows:  # the newest publication of a location wins
            self._objects[row.storage_uri] = {
                str(o["key"]): (int(o["size"]), str(o["sha256"]))
                for o in row.metadata.get("objects", [])
            }

    def objects(self, mod: Modality) -> dict[str, tuple[int, str]]:
        """``key → (size, sha256)`` of every object of the modality's asset."""
        assert mod.storage_uri is not None
        objects = self._objects.get(mod.storage_uri)
        if not objects:
            raise IncompleteRecordingError(
                f"{mod.storage_uri} has no publication record (pipeline_assets row) listing "
                f"its objects, so modality {mod.modality!r} of recording {mod.recording_hash} "
                "cannot be verified; re-process it, or download source='raw'",
                uri=mod.storage_uri,
            )
        return objects


def _created(row: PipelineAsset) -> int:
    return row.created_at


def _processed_files(
    store: Store, asset: str, mod: Modality, base: Path, objects: dict[str, tuple[int, str]]
) -> list[_File]:
    """The plan of one processed modality: exactly the objects its publication
    recorded (the asset and, for a video, its frame index beside it), each checked
    against one listing of the asset's folder before any byte moves. Each lands under
    its basename, so ``<modality>.zarr/`` or ``camera.mp4`` opens in place."""
    folder = asset.rsplit("/", 1)[0] + "/" if "/" in asset else ""
    uri = store.base_uri + asset
    listing = {i.key: i for i in store.list(folder.rstrip("/")) if i.key.startswith(folder)}
    problems = []
    for key, (size, _) in sorted(objects.items()):
        info = listing.get(key)
        if info is None:
            problems.append(f"{key} (missing)")
        elif info.size != size:
            problems.append(f"{key} ({info.size} bytes, its publication says {size})")
    if problems:
        raise IncompleteRecordingError(
            f"{uri} does not hold modality {mod.modality!r} of recording {mod.recording_hash} "
            f"as its publication recorded it: {listed(problems)}; nothing was written",
            uri=uri,
        )
    unlisted = sorted(set(listing) - set(objects))
    _warn_unlisted(store.base_uri + folder, mod, unlisted, "its publication does not list")
    return [
        _File(
            store,
            key,
            size,
            base.joinpath(*_safe_parts(key[len(folder) :], store.base_uri + key)),
            sha,
            _mtime_ns(listing[key]),
        )
        for key, (size, sha) in sorted(objects.items())
    ]


def _warn_unlisted(uri: str, mod: Modality, unlisted: list[str], why: str) -> None:
    """Objects found beside the ones to deliver are named once, never delivered."""
    if not unlisted:
        return
    log.warning(
        "not delivering %d object(s) under %s that %s: %s",
        len(unlisted),
        uri,
        why,
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
    catalog: Catalog | None,
    names: Names = "hash",
) -> list[_Group]:
    groups: list[_Group] = []
    recordings = _Recordings()
    publications = _Publications(results, source, catalog)
    for result in results:
        for name, mod in result.modalities.items():
            kind = _kind(mod, source)
            base = _base(root, layout, recording_folder(mod, names, raw), name)
            group = _Group(mod.recording_hash, name, mod.worker_id)
            if kind == "raw":
                store, prefix = _split(mod.raw_storage_uri, (raw,))
                group.files.extend(_raw_files(store, prefix.rstrip("/"), mod, base, recordings))
            else:
                assert mod.storage_uri is not None
                store, key = _split(mod.storage_uri, (assets, raw))
                objects = publications.objects(mod)
                group.files.extend(_processed_files(store, key.rstrip("/"), mod, base, objects))
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
