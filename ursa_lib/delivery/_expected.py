"""What each object of a download must be, checked before any byte moves.

For raw data the recording's stored manifest is the truth (`Recordings`); for
processed data, the publication's record in the ``pipeline_assets`` row
(`Publications`). Each modality's objects are checked against one listing:
every expected object present with its size, anything else named in a WARNING
and left.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from .._errors import (
    ChecksumMismatchError,
    IncompleteRecordingError,
    NotDeliverableError,
    ObjectNotFoundError,
)
from .._text import listed
from ..catalog import Catalog, Modality, PipelineAsset, sql_in
from ..ingestion._manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ManifestError,
    parse_manifest,
    recording_hash,
)
from ..store import ObjectInfo, Store

log = logging.getLogger("ursa.download")

__all__ = ["Expected", "Publications", "Recordings", "processed_objects", "raw_objects"]


@dataclass(frozen=True, slots=True)
class Expected:
    """One object a download must deliver: its key, size and sha256, and the
    listing entry that showed it present."""

    key: str
    size: int
    sha256: str
    info: ObjectInfo


class Recordings:
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


def raw_objects(store: Store, prefix: str, mod: Modality, recordings: Recordings) -> list[Expected]:
    """The objects of one raw modality: exactly the recording's files under
    ``prefix``, each checked against one listing (present, with its size) before any
    byte moves."""
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
    _check_listing(uri, mod, wanted, listing, "its manifest")
    unlisted = sorted(set(listing) - set(wanted))
    _warn_unlisted(uri, mod, unlisted, f"recording {mod.recording_hash} does not list")
    return [Expected(key, size, sha, listing[key]) for key, (size, sha) in sorted(wanted.items())]


class Publications:
    """What each processed asset's objects must be: the keys, sizes and sha256 its
    publication recorded in its ``pipeline_assets`` row (one catalog query for the
    whole download)."""

    def __init__(self, uris: list[str], catalog: Catalog | None):
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


def processed_objects(
    store: Store, folder: str, asset: str, mod: Modality, objects: dict[str, tuple[int, str]]
) -> list[Expected]:
    """The objects of one processed modality: exactly those its publication
    recorded (the asset and, for a video, its frame index beside it), each checked
    against one listing of the asset's ``folder`` before any byte moves."""
    uri = store.base_uri + asset
    listing = {i.key: i for i in store.list(folder.rstrip("/")) if i.key.startswith(folder)}
    _check_listing(uri, mod, objects, listing, "its publication")
    unlisted = sorted(set(listing) - set(objects))
    _warn_unlisted(store.base_uri + folder, mod, unlisted, "its publication does not list")
    return [Expected(key, size, sha, listing[key]) for key, (size, sha) in sorted(objects.items())]


def _check_listing(
    uri: str,
    mod: Modality,
    wanted: dict[str, tuple[int, str]],
    listing: dict[str, ObjectInfo],
    truth: str,
) -> None:
    """Every wanted object is in the listing with its size, else one error names all."""
    problems = []
    for key, (size, _) in sorted(wanted.items()):
        info = listing.get(key)
        if info is None:
            problems.append(f"{key} (missing)")
        elif info.size != size:
            problems.append(f"{key} ({info.size} bytes, {truth} says {size})")
    if problems:
        raise IncompleteRecordingError(
            f"{uri} does not hold modality {mod.modality!r} of recording {mod.recording_hash} "
            f"as {truth} lists it: {listed(problems)}; nothing was written",
            uri=uri,
        )


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
