"""Sessions the catalog does not know yet: in the raw bucket, or still on a landing directory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._errors import InvalidKeyError
from .._layout import RECORDINGS_ROOT, SessionPrefix
from ._landing import LandingSession

if TYPE_CHECKING:
    from ..catalog import Deletion, Recording, Row
    from ..store import ObjectInfo

__all__ = ["landing_copies", "landing_deleted", "uncatalogued_landing", "uncatalogued_sessions"]


class _Lister(Protocol):
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...


R = TypeVar("R", bound="Row")


class _RecordingReader(Protocol):
    def list_recordings(self) -> list[Recording]: ...

    def rows_in(self, model: type[R], column: str, values: Iterable[Any]) -> list[R]: ...


def uncatalogued_sessions(raw: _Lister, catalog: _RecordingReader) -> list[SessionPrefix]:
    """Session prefixes with a manifest in the raw bucket but no recording row, in key order.

    A prefix counts as catalogued when a recording row has its ``rec_id``
    (``recordings/<rec_id>``) or its ``rec_id`` and hash (the alternate
    ``recordings/<rec_id>~<hash12>``). Keys that are not a session's manifest
    (``recordings/<session>/manifest.json``) are not sessions and are passed
    over. Costs one listing of ``recordings/`` and one read of the recordings
    table: fine every few minutes; register new sessions as they land instead.
    """
    sessions = []
    for info in raw.list(RECORDINGS_ROOT):
        try:
            session = SessionPrefix.parse(info.key)
        except InvalidKeyError:
            continue
        if session.manifest_key == info.key:
            sessions.append(session)
    known: set[SessionPrefix] = set()
    for rec in catalog.list_recordings():
        known.update(SessionPrefix.candidates(rec.rec_id, rec.recording_hash))
    return sorted((s for s in sessions if s not in known), key=lambda s: s.key)


def uncatalogued_landing(
    sessions: Sequence[LandingSession], catalog: _RecordingReader
) -> list[LandingSession]:
    """The landing sessions (from `scan_landing`) not yet ingested, in their order.

    A session counts as ingested once a recording row has its ``rec_id`` and
    ``recording_hash``: ingest writes that row last, after every object and
    modality row, so a session whose ingest stopped part-way is returned, and
    one ingested (or processed since) is not. The same bytes under another
    ``rec_id`` are returned: their ingest then refuses them by name
    (`CopiedSessionError`), rather than this passing over them in silence;
    `landing_copies` names them without a run. A session whose recording was
    deleted is not returned: a sweep must not bring back what a delete took
    away; `landing_deleted` names them.

    One indexed read of the recordings table and one of the deletions table for
    all of them; none for no sessions.
    """
    held = _catalogued_as(sessions, catalog)
    gone = {s for s, _ in landing_deleted(sessions, catalog)}
    return [s for s in sessions if held.get(s.recording_hash) != s.rec_id and s not in gone]


def landing_deleted(
    sessions: Sequence[LandingSession], catalog: _RecordingReader
) -> list[tuple[LandingSession, Deletion]]:
    """The landing sessions whose recording was deleted, and not ingested again on
    purpose since, each with the latest audit of its delete: ingest refuses them
    (`DeletedRecordingError`) unless allowed.

    One indexed read of the deletions table (and of the recordings table if any was
    deleted); none for no sessions.
    """
    latest = deletions_of(catalog, {s.recording_hash for s in sessions})
    live = _catalogued_as([s for s in sessions if s.recording_hash in latest], catalog)
    return [
        (s, latest[s.recording_hash])
        for s in sessions
        if s.recording_hash in latest and s.recording_hash not in live
    ]


def deletions_of(catalog: _RecordingReader, hashes: Iterable[str]) -> dict[str, Deletion]:
    """``recording_hash`` → the latest audit of its delete, for each of ``hashes`` that a
    delete took away (or is taking away). One indexed read; none for no hashes."""
    wanted = set(hashes)
    if not wanted:
        return {}
    from ..catalog import Deletion

    latest: dict[str, Deletion] = {}
    for deletion in catalog.rows_in(Deletion, "recording_hash", wanted):
        seen = latest.get(deletion.recording_hash)
        if seen is None or deletion.requested_at > seen.requested_at:
            latest[deletion.recording_hash] = deletion
    return latest


def landing_copies(
    sessions: Sequence[LandingSession], catalog: _RecordingReader
) -> list[tuple[LandingSession, str]]:
    """The landing sessions whose files the catalog holds under another ``rec_id``,
    each with that ``rec_id``: copies that ingest refuses (`CopiedSessionError`).

    One indexed read of the recordings table; none for no sessions.
    """
    held = _catalogued_as(sessions, catalog)
    return [
        (s, rec_id)
        for s in sessions
        if (rec_id := held.get(s.recording_hash)) is not None and rec_id != s.rec_id
    ]


def _catalogued_as(sessions: Sequence[LandingSession], catalog: _RecordingReader) -> dict[str, str]:
    """``recording_hash`` → ``rec_id`` of each session's recording the catalog holds."""
    if not sessions:
        return {}
    from ..catalog import Recording

    hashes = {s.recording_hash for s in sessions}
    # recording_hash is the recordings table's key: one rec_id per hash.
    return {
        r.recording_hash: r.rec_id for r in catalog.rows_in(Recording, "recording_hash", hashes)
    }
