"""Backfill: register a session whose files are already in the raw bucket; no bytes move."""

from __future__ import annotations

import time

from .._errors import (
    MissingParticipantError,
    ObjectNotFoundError,
)
from .._layout import SessionPrefix
from .._text import listed
from ..catalog import Catalog
from ..store import Store
from ._ingest import IngestResult, register_session
from ._manifest import (
    FileEntry,
    ManifestError,
    recording_hash,
)
from ._plan import check_participant, refuse_conflicts
from ._stored import load_stored_manifest

__all__ = ["ingest_from_store"]


def ingest_from_store(
    rec_id: str,
    participant_id: str | None = None,
    *,
    raw: Store,
    catalog: Catalog,
    prefix: str | None = None,
    allow_deleted: bool = False,
) -> IngestResult:
    """Register a session whose files are already in the raw bucket; no bytes move.

    The manifest is read from ``<prefix>/manifest.json`` (default prefix
    the session's own, see `SessionPrefix`). With an augmented manifest, every listed object must
    exist with the listed size. Without one (a legacy upload), the listing is
    rebuilt from the objects and the sha256 user metadata each carries; objects
    missing that metadata are reported by key. Problems raise `ManifestError`.
    """
    started = time.perf_counter()
    session = SessionPrefix.parse(prefix) if prefix else SessionPrefix(rec_id)
    prefix = session.key
    manifest_key = session.manifest_key
    uri = raw.base_uri + manifest_key
    try:
        manifest = load_stored_manifest(raw, session)
    except ObjectNotFoundError:
        raise ManifestError(
            f"no manifest at {uri}: backfill needs the session's manifest.json (at least its "
            "rig part); upload it, or ingest from the rig"
        ) from None
    if manifest.rec_id != rec_id:
        raise ManifestError(f"{uri} is for rec_id {manifest.rec_id!r}, not {rec_id!r}")
    listing = {i.key: i for i in raw.list(prefix) if i.key != manifest_key}
    if manifest.augmented:
        assert manifest.files is not None
        problems = []
        for entry in manifest.files:
            found = listing.get(session.file_key(entry.rel_path))
            if found is None:
                problems.append(f"{entry.rel_path} (missing)")
            elif found.size != entry.size:
                problems.append(
                    f"{entry.rel_path} ({found.size} bytes, manifest says {entry.size})"
                )
        if problems:
            raise ManifestError(
                f"{raw.base_uri}{prefix}/ does not hold the session its manifest lists: "
                + listed(problems)
                + "; finish the upload (ursa ingest) before backfilling"
            )
        if recording_hash(manifest.files) != manifest.recording_hash:
            raise ManifestError(f"{uri}: recording_hash does not match its file listing")
    else:
        entries, missing = [], []
        for key, info in sorted(listing.items()):
            sha = (raw.head(key).metadata or {}).get("sha256")
            if sha is None:
                missing.append(key)
                continue
            entries.append(FileEntry(rel_path=session.rel_path(key), size=info.size, sha256=sha))
        if missing:
            raise ManifestError(
                f"cannot backfill {raw.base_uri}{prefix}/ without an augmented manifest: these "
                "objects carry no sha256 metadata: " + listed(missing)
            )
        manifest = manifest.model_copy(
            update={"files": entries, "recording_hash": recording_hash(entries)}
        )
    participant = participant_id or manifest.participant_id
    if participant is None:
        raise MissingParticipantError(
            "no participant: pass participant_id or set it in the manifest"
        )
    assert manifest.files is not None
    assert manifest.recording_hash is not None
    check_participant(participant)
    refuse_conflicts(
        catalog,
        manifest,
        participant,
        allow_deleted=allow_deleted,
        stored_at=f"{raw.base_uri}{prefix}/",
    )
    modalities, recording = register_session(catalog, raw, manifest, session, participant)
    return IngestResult(
        paused=False,
        recording=recording,
        recording_hash=manifest.recording_hash,
        prefix=prefix,
        files_skipped=len(manifest.files),
        bytes_skipped=manifest.total_bytes,
        modalities=modalities,
        seconds=time.perf_counter() - started,
        manifest=manifest,
    )
