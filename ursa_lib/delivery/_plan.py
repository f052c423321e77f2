"""The download plan: which objects go where, verified against what.

What each object must be (its size and sha256) comes from `_expected`: the
stored manifest for raw data, the publication for processed data. Destinations
are built from validated key segments and refused across
symbolic links. Shared by `download`, `plan_download` and raw `materialize`.
"""

from __future__ import annotations

import hashlib
import os
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from .._errors import (
    InvalidValueError,
    NotDeliverableError,
    UnsafeDestinationError,
)
from .._layout import SessionPrefix
from ..catalog import Catalog, IngestionStatus, Modality
from ..store import ObjectInfo, Store
from ._expected import Expected, Publications, Recordings, processed_objects, raw_objects
from ._query import QueryResult

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
Phase = Literal[
    "start", "plan_done", "modality_start", "cutting", "file_done", "modality_done", "finish"
]


@dataclass(frozen=True, slots=True)
class _File:
    store: Store
    key: str
    size: int
    dest: Path
    sha256: str
    """Digest to verify before the rename: the stored manifest's for a raw file, the
    publication's (``pipeline_assets``) for an object of a processed asset."""
    mtime_ns: int | None = None
    """The object's modification time (from the listing), given to the written file."""


@dataclass(slots=True)
class _Group:
    recording_hash: str
    modality: str
    worker_id: str
    files: list[_File] = field(default_factory=list)


def download_root(dest: str | os.PathLike[str]) -> Path:
    """The folder a download writes under: ``dest`` resolved (it may be a link the
    user chose). A file there, or as its nearest existing parent, is refused
    (`InvalidValueError`) before anything is written; so is an empty path (an unset
    variable's, most likely: it would mean the current folder) or no path at all."""
    if not isinstance(dest, str | os.PathLike):
        raise InvalidValueError(
            f"a download's destination is a folder path (str or Path), got {dest!r}"
        )
    if os.fspath(dest) == "":
        raise InvalidValueError(
            "a download's destination is empty (an unset variable?); give a folder, or '.' "
            "for the current one"
        )
    root = Path(dest).resolve()
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                raise InvalidValueError(
                    f"{path} is a file; a download goes into a folder (created if missing): "
                    "give a folder as its destination"
                )
            break
    return root


def _one_of(name: str, value: object, choices: object) -> None:
    """Refuse a value outside a ``Literal`` type, naming the choices."""
    allowed = typing.get_args(choices)
    if value not in allowed:
        raise InvalidValueError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"
        )


def _results(
    target: QueryResult | Iterable[QueryResult], verb: str = "this call"
) -> list[QueryResult]:
    """The query results ``target`` holds: one `QueryResult` or an iterable of them.

    Anything else raises `InvalidValueError`, whose message names ``verb`` (the
    method the user called) and, for a string, how to look a recording up.
    """
    given: object = target  # checked as whatever a caller may pass
    if isinstance(given, QueryResult):
        return [given]
    rule = f"{verb} takes QueryResult objects from query()"
    if isinstance(given, str):
        raise InvalidValueError(
            f"{rule}; got the string {given!r}: find a recording by its hash with "
            "query(recording_hash=...) (show() also takes a hash or a rec_id)"
        )
    if not isinstance(given, Iterable):
        raise InvalidValueError(f"{rule}; got {type(given).__name__} {given!r}")
    results = list(given)
    for item in results:
        if not isinstance(item, QueryResult):
            raise InvalidValueError(f"{rule}; got a list holding {type(item).__name__} {item!r}")
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
    return _auto(mod)


def reads_raw(results: Iterable[QueryResult], source: SourceKind, names: Names) -> bool:
    """Whether a download of ``results`` reads the raw bucket: for the raw segments it
    delivers, or for the session names that ``names="rec_id"`` gives folders. A
    download of processed assets named by hash needs only the assets bucket."""
    return names == "rec_id" or any(
        _kind(mod, source) == "raw" for result in results for mod in result.modalities.values()
    )


def _auto(mod: Modality) -> Literal["raw", "processed"]:
    """What ``source="auto"`` delivers of a modality: its processed asset once it is
    processed, else its raw segments."""
    return "processed" if mod.ingestion_status is IngestionStatus.PROCESSED else "raw"


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


FolderName = Callable[[Modality], str]
"""The name of a recording's folder in a download, from any of its modality rows."""


def folder_namer(names: Names, raw: Store | None) -> FolderName:
    """How a download names each recording's folder (see `Names`).

    Refuses, before any row is named, a ``names`` outside `Names` and
    ``names="rec_id"`` without ``raw``, the bucket that holds the session names.
    """
    _one_of("names", names, Names)
    if names == "hash":
        return _hash_folder
    if raw is None:
        raise InvalidValueError("names='rec_id' reads the session names from the raw bucket")

    def rec_id_folder(mod: Modality) -> str:
        _, key = _split(mod.raw_storage_uri, (raw,))
        return SessionPrefix.parse(key).name

    return rec_id_folder


def _hash_folder(mod: Modality) -> str:
    return mod.recording_hash


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


def _mtime_ns(info: ObjectInfo) -> int | None:
    if info.last_modified is None:
        return None
    return int(info.last_modified.timestamp() * 1_000_000) * 1000


def _plan(
    results: list[QueryResult],
    root: Path,
    layout: Layout,
    source: SourceKind,
    raw: Store | None,
    assets: Store | None,
    catalog: Catalog | None,
    recording_folder: FolderName = _hash_folder,
) -> list[_Group]:
    uris = {
        mod.storage_uri
        for result in results
        for mod in result.modalities.values()
        if _kind(mod, source) == "processed" and mod.storage_uri is not None
    }
    planner = _Planner(
        root, layout, raw, assets, Publications(sorted(uris), catalog), recording_folder
    )
    return [
        planner.group(mod, _kind(mod, source))
        for result in results
        for mod in result.modalities.values()
    ]


@dataclass(frozen=True, slots=True)
class _Planner:
    """Where one download puts each object of a modality, and what each must be.

    ``publications`` must know every processed asset asked for; each session's
    manifest is read once, however many modalities share it.
    """

    root: Path
    layout: Layout
    raw: Store | None
    assets: Store | None
    publications: Publications
    recording_folder: FolderName = _hash_folder
    recordings: Recordings = field(default_factory=Recordings)

    def folder(self, mod: Modality) -> Path:
        """The folder that holds every file of the modality, however it is delivered."""
        return _base(self.root, self.layout, self.recording_folder(mod), mod.modality)

    def group(self, mod: Modality, kind: Literal["raw", "processed"]) -> _Group:
        """The modality's files as ``kind`` delivers them: its raw segments from the
        stored manifest, or its processed asset's objects from the publication."""
        base = self.folder(mod)
        group = _Group(mod.recording_hash, mod.modality, mod.worker_id)
        if kind == "raw":
            if self.raw is None:
                raise InvalidValueError(
                    f"modality {mod.modality!r} of recording {mod.recording_hash} is delivered as "
                    "raw segments, which are in the raw bucket: pass raw=, that bucket's store"
                )
            store, prefix = _split(mod.raw_storage_uri, (self.raw,))
            prefix = prefix.rstrip("/")
            expected = raw_objects(store, prefix, mod, self.recordings)
            group.files.extend(_files(store, expected, prefix + "/", base))
        else:
            assert mod.storage_uri is not None
            store, key = _split(mod.storage_uri, (self.assets, self.raw))
            asset = key.rstrip("/")
            # Each object lands under the asset's basename, so <modality>.zarr/
            # or camera.mp4 (and camera.mp4.lance/) opens in place.
            folder = asset.rsplit("/", 1)[0] + "/" if "/" in asset else ""
            objects = self.publications.objects(mod)
            expected = processed_objects(store, folder, asset, mod, objects)
            group.files.extend(_files(store, expected, folder, base))
        group.files.sort(key=lambda f: f.key)
        return group


def _files(store: Store, expected: list[Expected], strip: str, base: Path) -> list[_File]:
    """Each expected object's destination: its key less ``strip``, under ``base``."""
    return [
        _File(
            store,
            e.key,
            e.size,
            base.joinpath(*_safe_parts(e.key[len(strip) :], store.base_uri + e.key)),
            e.sha256,
            _mtime_ns(e.info),
        )
        for e in expected
    ]


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
    return _sha256_of(file.dest) == file.sha256


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
