"""Audited delete of a recording, or of every recording of one participant.

What a caller can rely on, in this order, for each recording:

1. **The plan is journaled.** A `Deletion` row (status ``started``) names the
   recording, the reason, the profile, and every prefix whose objects go,
   with their count and bytes. It is written before anything is removed.
2. **Readers stop seeing it.** The recording row is deleted next; `query`
   builds results from recording rows, so from here no query returns the
   recording, and nothing is ever half-visible.
3. **Its objects go**: raw session objects (the stored manifest first, so no
   backfill can re-register a half-deleted session) and every processed asset
   under ``processed/<hash>/``.
4. **Its remaining rows go**: modalities, events, pipeline assets, embeddings
   (and, for a participant's delete, the participant row at the end).
5. **The audit row is completed** and kept for good.

A delete killed at any point leaves a ``started`` audit row: running the same
delete again finds it, follows its journaled plan and completes. A dry run
plans and counts, and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._errors import (
    InvalidKeyError,
    InvalidValueError,
    ManifestError,
    NothingMatchedError,
    ObjectNotFoundError,
)
from .._layout import MANIFEST_NAME, PROCESSED_ROOT, SessionPrefix
from ..catalog import (
    HASH_PREFIX,
    Deletion,
    DeletionStatus,
    Embedding,
    Event,
    Modality,
    Participant,
    PipelineAsset,
    Recording,
    sql_hash_prefix,
)

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..store import Store

__all__ = ["DeleteResult", "RecordingDeletion", "delete_recordings"]

_ROW_TABLES = (Modality, Event, PipelineAsset, Embedding)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingDeletion:
    """One recording's delete: planned (a dry run) or done."""

    recording_hash: str
    rec_id: str
    deletion_id: str | None
    """The audit row's key; None in a dry run."""
    prefixes: tuple[str, ...]
    objects: int
    bytes: int
    rows: int
    """Catalog rows of the recording that go (recording, modalities, events, ...)."""
    resumed: bool
    """A delete killed earlier was completed by this run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteResult:
    deletions: tuple[RecordingDeletion, ...]
    dry_run: bool

    @property
    def objects(self) -> int:
        return sum(d.objects for d in self.deletions)

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.deletions)


@dataclass(frozen=True, slots=True)
class _Plan:
    audit: Deletion
    resumed: bool


def delete_recordings(
    *,
    raw: Store,
    assets: Store,
    catalog: Catalog,
    reason: str,
    profile: str,
    recording: str | None = None,
    participant: str | None = None,
    dry_run: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DeleteResult:
    """Delete ``recording`` (a recording hash, its first 8 or more characters, or a
    rec_id) or every recording of ``participant``, audited (see the module docstring).

    ``on_step`` is called after each step (``"journaled"``, ``"hidden"``,
    ``"object"`` per object removed, ``"rows"``, ``"completed"``).
    """
    if (recording is None) == (participant is None):
        raise InvalidValueError("delete needs exactly one of a recording or a participant")
    if not reason.strip():
        raise InvalidValueError("delete needs a reason (e.g. 'consent withdrawn')")
    step = on_step or (lambda _: None)
    plans = _plans(raw, assets, catalog, reason.strip(), profile, recording, participant)
    if not plans and participant is None:
        raise NothingMatchedError(
            f"no recording {recording!r} in the catalog, nor a delete of it; give a rec_id, a "
            "hash or its first 8+ characters (ursa query --status all lists them)"
        )
    if not plans and catalog.get_participant(str(participant)) is None:
        raise NothingMatchedError(
            f"no participant {participant!r} in the catalog, nor a delete of their "
            "recordings; nothing was deleted: check the id (ursa query --status all)"
        )
    done = []
    for plan in plans:
        rows = _row_count(catalog, plan.audit.recording_hash)
        if not dry_run:
            _run(plan, raw, assets, catalog, step)
        a = plan.audit
        done.append(
            RecordingDeletion(
                recording_hash=a.recording_hash,
                rec_id=a.rec_id,
                deletion_id=None if dry_run else a.deletion_id,
                prefixes=tuple(a.prefixes),
                objects=a.objects,
                bytes=a.bytes,
                rows=rows,
                resumed=plan.resumed,
            )
        )
    if participant is not None and not dry_run:
        catalog.delete_where(Participant, {"participant_id": participant})
    return DeleteResult(deletions=tuple(done), dry_run=dry_run)


def _plans(
    raw: Store,
    assets: Store,
    catalog: Catalog,
    reason: str,
    profile: str,
    recording: str | None,
    participant: str | None,
) -> list[_Plan]:
    prefix = recording.lower() if recording and HASH_PREFIX.fullmatch(recording.lower()) else None
    started = [
        d
        for d in catalog.rows(Deletion, {"status": DeletionStatus.STARTED.value})
        if d.recording_hash == recording
        or d.rec_id == recording
        or (prefix is not None and d.recording_hash.startswith(prefix))
        or (participant is not None and participant in d.participant_ids)
    ]
    plans = [_Plan(d, resumed=True) for d in started]
    resumed = {d.recording_hash for d in started}
    if participant is not None:
        found = catalog.recordings_of_participant(participant)
    else:
        assert recording is not None
        found = catalog.rows(Recording, {"recording_hash": recording}) or catalog.rows(
            Recording, {"rec_id": recording}
        )
        if not found and prefix is not None:  # the first characters, as `ursa query` shows
            found = catalog.list_recordings(sql_hash_prefix(prefix))
            if len(found) > 1:
                hashes = ", ".join(sorted(r.recording_hash[:16] for r in found))
                raise InvalidValueError(
                    f"{len(found)} recordings' hashes start with {recording!r} ({hashes}); "
                    "give more of the hash of the one to delete"
                )
        if len(found) > 1:
            hashes = ", ".join(sorted(r.recording_hash for r in found))
            raise InvalidValueError(
                f"rec_id {recording!r} names {len(found)} recordings ({hashes}); "
                "give the recording_hash of the one to delete"
            )
    now = time.time_ns()
    for rec in sorted(found, key=lambda r: (r.start_time, r.recording_hash)):
        if rec.recording_hash in resumed:
            continue
        prefixes = _prefixes(raw, assets, catalog, rec)
        objects, size = _measure(raw, assets, prefixes)
        audit = Deletion(
            deletion_id=f"{rec.recording_hash}-{now}",
            recording_hash=rec.recording_hash,
            rec_id=rec.rec_id,
            participant_ids=list(rec.participant_ids),
            reason=reason,
            profile=profile,
            requested_at=now,
            status=DeletionStatus.STARTED,
            prefixes=prefixes,
            objects=objects,
            bytes=size,
        )
        plans.append(_Plan(audit, resumed=False))
    return plans


def _prefixes(raw: Store, assets: Store, catalog: Catalog, rec: Recording) -> list[str]:
    """The raw session prefixes and the processed prefix of one recording, as URIs, the
    raw ones first. A session prefix is found from the modality rows, and from the
    recording itself: its ``rec_id`` (or ``rec_id~hash12``) prefix whose stored
    manifest is this recording's, so that a session whose files lie in no stream
    folder (no modality row) is deleted too."""
    from ..ingestion import load_stored_manifest

    raws = set()
    for row in catalog.rows(Modality, {"recording_hash": rec.recording_hash}):
        if not row.raw_storage_uri.startswith(raw.base_uri):
            continue
        try:
            session = SessionPrefix.parse(row.raw_storage_uri[len(raw.base_uri) :])
        except InvalidKeyError:
            continue
        raws.add(f"{raw.base_uri}{session.key}/")
    for session in SessionPrefix.candidates(rec.rec_id, rec.recording_hash):
        try:
            stored = load_stored_manifest(raw, session).recording_hash
        except (ObjectNotFoundError, ManifestError):
            continue
        # An alternate prefix names its hash; the primary may hold another recording.
        if stored == rec.recording_hash or (stored is None and session.hash12 is not None):
            raws.add(f"{raw.base_uri}{session.key}/")
    return [*sorted(raws), f"{assets.base_uri}{PROCESSED_ROOT}{rec.recording_hash}/"]


def _split(raw: Store, assets: Store, uri: str) -> tuple[Store, str]:
    for store in (raw, assets):
        if uri.startswith(store.base_uri):
            return store, uri[len(store.base_uri) :]
    raise InvalidValueError(f"{uri} is in neither bucket of this profile")


def _measure(raw: Store, assets: Store, prefixes: list[str]) -> tuple[int, int]:
    objects = size = 0
    for uri in prefixes:
        store, prefix = _split(raw, assets, uri)
        for info in store.list(prefix):
            objects += 1
            size += info.size
    return objects, size


def _row_count(catalog: Catalog, recording_hash: str) -> int:
    where = {"recording_hash": recording_hash}
    return catalog.count(Recording, where) + sum(catalog.count(m, where) for m in _ROW_TABLES)


def _run(
    plan: _Plan, raw: Store, assets: Store, catalog: Catalog, step: Callable[[str], None]
) -> None:
    audit = plan.audit
    where = {"recording_hash": audit.recording_hash}
    if not plan.resumed:
        catalog.add(audit)
    step("journaled")
    catalog.delete_where(Recording, where)
    step("hidden")
    for uri in audit.prefixes:
        store, prefix = _split(raw, assets, uri)
        keys = sorted(i.key for i in store.list(prefix))
        # The manifest first: without it no backfill can bring the session back.
        keys.sort(key=lambda k: not k.endswith("/" + MANIFEST_NAME))
        for key in keys:
            store.delete(key)
            step("object")
    for model in _ROW_TABLES:
        catalog.delete_where(model, where)
    step("rows")
    completed = audit.model_copy(
        update={"status": DeletionStatus.COMPLETED, "completed_at": time.time_ns()}
    )
    catalog.upsert_many([completed])
    step("completed")
