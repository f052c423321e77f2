"""Ingest's dry run: what `ingest` would upload, skip or replace, decided without
writing a byte or a row.

It makes the same reads an ingest makes before its first upload — the stored
manifest of each candidate prefix, one listing per worker directory — and the
decisions are the ingest's own: the prefix this content owns or would claim,
and a file is skipped when an object of its size is already there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .._errors import (
    CopiedSessionError,
    DeletedRecordingError,
    InvalidKeyError,
    InvalidValueError,
    ManifestError,
    MissingParticipantError,
    ObjectNotFoundError,
)
from .._layout import SessionPrefix
from ._manifest import Manifest, load_manifest
from ._stored import load_stored_manifest

if TYPE_CHECKING:
    from ..catalog import Catalog, Recording
    from ..store import Store

__all__ = [
    "IngestPlan",
    "PlannedUpload",
    "check_inputs",
    "check_participant",
    "plan_ingest",
    "recording_row",
    "refuse_conflicts",
    "stored_sizes",
    "worker_dirs",
]

UploadAction = Literal["upload", "skip", "replace"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedUpload:
    rel_path: str
    key: str
    size: int
    action: UploadAction
    """``upload`` (not stored), ``skip`` (stored with its size) or ``replace``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestPlan:
    """What an ingest would do; nothing was written."""

    recording_hash: str
    prefix: str
    """The session prefix the content owns, or would claim."""
    claims_prefix: bool
    """The manifest would be written first (the prefix holds no manifest yet)."""
    files: tuple[PlannedUpload, ...]
    registers: bool
    """The recording row would be written (it is not in the catalog yet)."""
    requests: int
    """Store requests the ingest would make: the reads above, one PUT per file
    uploaded or replaced (large files: one per multipart part, plus two), and
    the manifest's PUT when it claims the prefix."""

    @property
    def bytes_to_upload(self) -> int:
        return sum(f.size for f in self.files if f.action != "skip")

    def counts(self) -> dict[str, int]:
        """Files by action."""
        return {a: sum(f.action == a for f in self.files) for a in ("upload", "skip", "replace")}


def refuse_copy(catalog: Catalog, manifest: Manifest, stored_at: str | None = None) -> None:
    """Refuse a session whose files the catalog holds as a recording under another ``rec_id``.

    The recording hash is taken over the files alone, so a session folder copied
    under a new name has the catalogued recording's hash: uploading it would
    only leave its objects under a prefix no row can point at. ``stored_at``:
    the copy is already in the raw bucket there (a backfill), and the message
    says to remove it.
    """
    assert manifest.recording_hash is not None
    stored = catalog.get_recording(manifest.recording_hash)
    if stored is None or stored.rec_id == manifest.rec_id:
        return
    copy = (
        f"session {manifest.rec_id!r} holds the same files as recording {stored.rec_id!r} "
        f"(recording_hash {manifest.recording_hash[:12]}…), which the catalog already has"
    )
    if stored_at is None:
        remedy = "remove it from the rig, or give it its own recording. Nothing was uploaded"
    else:
        remedy = f"delete {stored_at} from the raw bucket. Nothing was registered"
    raise CopiedSessionError(f"{copy}; it is a copy: {remedy}")


def check_participant(participant: str) -> None:
    """Refuse a participant id the catalog cannot hold, before anything is written."""
    from pydantic import TypeAdapter, ValidationError

    from .._types import Identifier

    try:
        TypeAdapter(Identifier).validate_python(participant)
    except ValidationError:
        raise InvalidValueError(
            f"participant id {participant!r} may hold only letters, digits, '_', '-' and '.' "
            "(1 to 128 of them); fix participant_id (CLI: --participant). Nothing was written"
        ) from None


def check_inputs(manifest: Manifest, participant: str, max_concurrent_files: int = 1) -> None:
    """Refuse, before any byte moves or prefix is claimed, what ingest would only find
    half-way: a participant id the catalog cannot hold, a file whose object key the
    store cannot take (at the longer, alternate prefix), a concurrency that is not a
    whole number of 1 or more."""
    from ..store import validate_key

    check_participant(participant)
    if (
        isinstance(max_concurrent_files, bool)
        or not isinstance(max_concurrent_files, int)
        or max_concurrent_files < 1
    ):
        raise InvalidValueError(
            f"max_concurrent_files must be a whole number of 1 or more, got "
            f"{max_concurrent_files!r}"
        )
    assert manifest.files is not None
    assert manifest.recording_hash is not None
    longest = SessionPrefix.candidates(manifest.rec_id, manifest.recording_hash)[1]
    for entry in manifest.files:
        try:
            validate_key(longest.file_key(entry.rel_path))
        except InvalidKeyError as exc:
            raise InvalidKeyError(
                f"{entry.rel_path}: {exc}; rename or move it in the session, augment again, "
                "then ingest. Nothing was uploaded"
            ) from None


def refuse_deleted(catalog: Catalog, manifest: Manifest, *, allow: bool = False) -> None:
    """Refuse a session whose recording a delete took away (`DeletedRecordingError`),
    unless ``allow``: the ``deletions`` table, the delete's audit, names its hash, and
    the catalog does not hold it (a recording ingested again on purpose is live)."""
    from ._reconcile import deletions_of

    assert manifest.recording_hash is not None
    if allow or catalog.get_recording(manifest.recording_hash) is not None:
        return  # allowed, or brought back on purpose since (and catalogued again)
    last = deletions_of(catalog, [manifest.recording_hash]).get(manifest.recording_hash)
    if last is None:
        return
    when = datetime.fromtimestamp(last.requested_at / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    raise DeletedRecordingError(
        f"session {manifest.rec_id!r} holds recording {manifest.recording_hash[:12]}…, which "
        f"was deleted on {when} (deletion {last.deletion_id}, {last.status.value}); it is not "
        "ingested again. Remove it from the rig, or, if it must come back, ingest it with "
        "allow_deleted=True (CLI: --allow-deleted). Nothing was uploaded or registered"
    )


def recording_row(manifest: Manifest, participant: str) -> Recording:
    """The recording row that registering ``manifest`` writes."""
    from ..catalog import Recording

    assert manifest.recording_hash is not None
    return Recording(
        recording_hash=manifest.recording_hash,
        rec_id=manifest.rec_id,
        participant_ids=[participant],
        start_time=manifest.start_time,
        duration=manifest.duration,
        device_info=manifest.device_info,
        metadata=manifest.metadata,
    )


_FIELDS = ("participant_ids", "start_time", "duration", "device_info", "metadata")
"""What a manifest says of its recording beside its files (its ``rec_id``: `refuse_copy`)."""


def refuse_changed(catalog: Catalog, manifest: Manifest, participant: str) -> None:
    """Refuse a session whose recording is catalogued with other values than its
    manifest now gives (a participant or metadata edited after the ingest): the
    recording hash is over the files alone, and registration never rewrites a row."""
    assert manifest.recording_hash is not None
    stored = catalog.get_recording(manifest.recording_hash)
    if stored is None or stored.rec_id != manifest.rec_id:
        return
    wanted = recording_row(manifest, participant)
    changed = [f for f in _FIELDS if getattr(stored, f) != getattr(wanted, f)]
    if not changed:
        return

    def short(value: object) -> str:
        text = repr(value)
        return text if len(text) <= 40 else text[:39] + "…"

    said = "; ".join(
        f"{f} {short(getattr(stored, f))}, now {short(getattr(wanted, f))}" for f in changed
    )
    raise ManifestError(
        f"session {manifest.rec_id!r} is catalogued with other values ({said}); ingest never "
        "changes a catalogued recording: put the catalogued values back in the manifest "
        "(CLI: --participant). Nothing was written"
    )


def refuse_conflicts(
    catalog: Catalog,
    manifest: Manifest,
    participant: str,
    *,
    allow_deleted: bool = False,
    stored_at: str | None = None,
) -> None:
    """What the catalog says against registering ``manifest``, before anything is
    written: a copy of a catalogued session (`refuse_copy`), a recording a delete
    took away (`refuse_deleted`), one catalogued with other values (`refuse_changed`)."""
    refuse_copy(catalog, manifest, stored_at)
    refuse_deleted(catalog, manifest, allow=allow_deleted)
    refuse_changed(catalog, manifest, participant)


def worker_dirs(manifest: Manifest) -> list[str]:
    """The session's top-level directories, one per worker stream."""
    return sorted({f.rel_path.split("/", 1)[0] for f in manifest.files or () if "/" in f.rel_path})


def stored_sizes(raw: Store, manifest: Manifest, home: SessionPrefix) -> dict[str, int]:
    """Sizes of the session's objects already stored: one listing per worker
    directory; files at the session's top level (rare) are checked one by one
    rather than listing everything again."""
    stored: dict[str, int] = {}
    for worker in worker_dirs(manifest):
        for info in raw.list(home.file_key(worker)):
            stored[info.key] = info.size
    for entry in manifest.files or ():
        if "/" not in entry.rel_path:
            key = home.file_key(entry.rel_path)
            with contextlib.suppress(ObjectNotFoundError):
                stored[key] = raw.head(key).size
    return stored


def plan_ingest(
    manifest_path: Path,
    source_dir: Path | None = None,
    participant_id: str | None = None,
    *,
    raw: Store,
    catalog: Catalog,
    overwrite: bool = False,
    allow_deleted: bool = False,
) -> IngestPlan:
    """The plan of `ingest` with the same arguments (see the module docstring)."""
    manifest_path = Path(manifest_path)
    session_dir = Path(source_dir) if source_dir is not None else manifest_path.parent
    manifest = load_manifest(manifest_path, session_dir)
    assert manifest.files is not None
    assert manifest.recording_hash is not None
    participant = participant_id or manifest.participant_id
    if participant is None:
        raise MissingParticipantError(
            "no participant: pass participant_id or set participant_id in the manifest"
        )
    check_inputs(manifest, participant)
    refuse_conflicts(catalog, manifest, participant, allow_deleted=allow_deleted)
    requests = 0
    home, claims = None, False
    for candidate in SessionPrefix.candidates(manifest.rec_id, manifest.recording_hash):
        requests += 1
        try:
            stored = load_stored_manifest(raw, candidate)
        except ObjectNotFoundError:
            home, claims = candidate, True
            break
        if stored.recording_hash == manifest.recording_hash:
            home = candidate
            break
    if home is None:
        # Both prefixes hold other sessions: the ingest itself would refuse, and says why.
        home = SessionPrefix.candidates(manifest.rec_id, manifest.recording_hash)[-1]
    sizes: dict[str, int] = {}
    if not claims:
        sizes = stored_sizes(raw, manifest, home)
        top_level = sum("/" not in f.rel_path for f in manifest.files)
        requests += len(worker_dirs(manifest)) + top_level
    files = []
    for entry in manifest.files:
        key = home.file_key(entry.rel_path)
        size = sizes.get(key)
        action: UploadAction = "upload"
        if size is not None:
            action = "skip" if size == entry.size and not overwrite else "replace"
        files.append(
            PlannedUpload(rel_path=entry.rel_path, key=key, size=entry.size, action=action)
        )
    limit, part = raw.transfer.single_put_limit, raw.transfer.part_size
    for f in files:
        if f.action != "skip":
            # A multipart upload: create, one PUT per part, complete.
            requests += -(-f.size // part) + 2 if f.size > limit else 1
    return IngestPlan(
        recording_hash=manifest.recording_hash,
        prefix=home.key,
        claims_prefix=claims,
        files=tuple(files),
        registers=catalog.get_recording(manifest.recording_hash) is None,
        requests=requests + claims,
    )
