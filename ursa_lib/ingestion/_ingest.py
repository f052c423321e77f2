"""Ingest: rig disk → raw bucket → catalog, resumable and never half-registered.

Order of work, and why:

1. The augmented manifest is validated (`load_manifest`) before anything moves,
   and a session holding the files of a recording catalogued under another
   ``rec_id`` (a copied session folder) is refused (`CopiedSessionError`).
2. The manifest goes up first, create-only, to the session's prefix (`SessionPrefix`).
   It claims the prefix for this content: if that prefix already holds a
   manifest with another ``recording_hash`` (the rig re-used a ``rec_id`` for
   different bytes), this session goes to its alternate prefix instead, so
   nothing of the older session is ever overwritten.
3. One listing per worker directory tells which files are already there with
   their size; those are skipped (``overwrite=True`` re-sends everything). Under
   a prefix claimed by this content, an object of the listed size is this file:
   uploads are atomic, so no partial object can exist.
4. The rest is uploaded, ``max_concurrent_files`` at a time, each object
   carrying its sha256 as user metadata, the bytes hashed as they are sent (a
   file that changed since augment fails with `SourceChangedError` and is not
   stored). The manifest is then stale, and its hash will never be
   registered: unless a recording row of that hash exists, what this
   ingest's manifest claimed is removed (its files' objects, then the
   manifest), so the session, augmented again, ingests afresh and leaves no
   half-stored session for scrub to report.
5. Only then, once one more listing per worker directory (when anything was
   uploaded) shows every file stored at its size (another ingest that met a
   changed file may have removed them), are rows registered: participant,
   modalities, and the recording last, so a reader never sees a recording
   whose bytes or modalities are missing.

Cooperative pause: ``is_active()`` is polled before the upload starts, between
chunks of every file and as each file completes. Once it returns True, each
in-flight upload stops at its next chunk, pending files are not started,
nothing is registered, and the result has ``paused=True``. The data still sent
after the flip is bounded by ``max_concurrent_files * (part_concurrency *
part_size + file_read_size)`` — the parts already handed to the HTTP client
plus the chunk being read (272 MiB with the defaults; the test measures it
through a proxy, and in practice in-flight parts are dropped at once).

Killed at any point (``kill -9``), an ingest leaves no recording row: objects
are atomic (whole or absent; an interrupted multipart upload stays invisible
until the bucket's lifecycle rule aborts it), and a killed registration leaves
at most the participant and modality rows, which no query shows without their
recording row. The re-run skips every whole object and registers the same rows.
"""

from __future__ import annotations

import contextlib
import logging
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._errors import (
    ManifestError,
    MissingParticipantError,
    ObjectExistsError,
    ObjectNotFoundError,
    PrimaryKeyConflict,
    SourceChangedError,
)
from .._layout import SessionPrefix
from ..catalog import Catalog, IngestionStatus, Modality, Participant, Recording
from ..store import PutMode, Store
from ._manifest import (
    Manifest,
    load_manifest,
)
from ._plan import (
    IngestPlan,
    check_inputs,
    plan_ingest,
    recording_row,
    refuse_conflicts,
    stored_sizes,
    worker_dirs,
)
from ._stored import load_stored_manifest
from ._transfer import FileUpload, TransferTally, transfer_files

__all__ = ["IngestProgress", "IngestResult", "ingest", "modality_names", "register_session"]

log = logging.getLogger("ursa.ingest")


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestProgress:
    """Sent after each file is decided (uploaded or skipped)."""

    files_done: int
    files_total: int
    bytes_uploaded: int
    """Bytes actually sent (PUT bodies)."""
    bytes_processed: int
    """Bytes uploaded plus bytes skipped."""
    bytes_total: int
    current_file: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    paused: bool
    recording: Recording | None
    """The registered row (None when paused)."""
    recording_hash: str
    prefix: str
    """Where the session's objects are, in the raw bucket."""
    files_uploaded: int = 0
    files_skipped: int = 0
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    modalities: tuple[Modality, ...] = ()
    seconds: float = 0.0
    manifest: Manifest | None = None
    """The validated manifest the session was ingested from."""


def modality_names(worker_dirs: list[str]) -> dict[str, tuple[str, str]]:
    """``worker_dir → (modality, worker_id)``: ``camera_0`` → ``(camera, 0)``.

    If two directories collapse to the same modality (a multi-camera rig), every
    directory keeps its full name as the modality, with a WARNING.
    """
    collapsed = {d: tuple(d.split("_", 1)) if "_" in d else (d, "") for d in worker_dirs}
    names = [m for m, _ in collapsed.values()]
    if len(set(names)) == len(names):
        return {d: (m, w) for d, (m, w) in collapsed.items()}
    log.warning(
        "worker directories %s collapse to the same modality; keeping directory names",
        sorted(worker_dirs),
    )
    return {d: (d, collapsed[d][1] if len(collapsed[d]) > 1 else "") for d in worker_dirs}


def _claim_prefix(raw: Store, manifest: Manifest, manifest_bytes: bytes) -> SessionPrefix:
    """The prefix this content owns (see the module docstring, step 2)."""
    assert manifest.recording_hash is not None
    candidates = SessionPrefix.candidates(manifest.rec_id, manifest.recording_hash)
    for session in candidates:
        try:
            stored = load_stored_manifest(raw, session)
        except ObjectNotFoundError:
            try:
                mode: PutMode = "create" if raw.supports_create else "overwrite"
                raw.put(session.manifest_key, manifest_bytes, mode=mode)
                return session
            except ObjectExistsError:
                stored = load_stored_manifest(raw, session)  # another ingest claimed it first
        if stored.recording_hash == manifest.recording_hash:
            return session
    raise ObjectExistsError(
        f"both {candidates[0].key}/ and its alternate prefix hold other sessions; "
        "rename the session's rec_id",
        uri=f"{raw.base_uri}{candidates[0].key}/",
    )


@typing.overload
def ingest(
    manifest_path: Path,
    source_dir: Path | None = None,
    participant_id: str | None = None,
    *,
    raw: Store,
    catalog: Catalog,
    max_concurrent_files: int = 4,
    overwrite: bool = False,
    is_active: Callable[[], bool] | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
    register: bool = True,
    allow_deleted: bool = False,
    dry_run: Literal[False] = False,
) -> IngestResult: ...


@typing.overload
def ingest(
    manifest_path: Path,
    source_dir: Path | None = None,
    participant_id: str | None = None,
    *,
    raw: Store,
    catalog: Catalog,
    max_concurrent_files: int = 4,
    overwrite: bool = False,
    is_active: Callable[[], bool] | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
    register: bool = True,
    allow_deleted: bool = False,
    dry_run: Literal[True],
) -> IngestPlan: ...


def ingest(
    manifest_path: Path,
    source_dir: Path | None = None,
    participant_id: str | None = None,
    *,
    raw: Store,
    catalog: Catalog,
    max_concurrent_files: int = 4,
    overwrite: bool = False,
    is_active: Callable[[], bool] | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
    register: bool = True,
    allow_deleted: bool = False,
    dry_run: bool = False,
) -> IngestResult | IngestPlan:
    """Upload a session to the raw bucket, then register it; see the module docstring.

    Re-running with the same manifest uploads nothing and registers nothing new.
    A session whose recording was deleted (`delete_recordings` left its audit) is
    refused before any byte moves (`DeletedRecordingError`), unless
    ``allow_deleted=True``.
    With ``register=False`` only the bytes move (``recording`` is None); register
    later with `ingest_from_store`, which checks every object first.
    ``dry_run=True`` returns the `IngestPlan` and writes nothing (`plan_ingest`).
    """
    if dry_run:
        return plan_ingest(
            manifest_path,
            source_dir,
            participant_id,
            raw=raw,
            catalog=catalog,
            overwrite=overwrite,
            allow_deleted=allow_deleted,
        )
    started = time.perf_counter()
    manifest_path = Path(manifest_path)
    session = Path(source_dir) if source_dir is not None else manifest_path.parent
    manifest = load_manifest(manifest_path, session)
    assert manifest.files is not None
    assert manifest.recording_hash is not None
    participant = participant_id or manifest.participant_id
    if participant is None:
        raise MissingParticipantError(
            "no participant: pass participant_id or set participant_id in the manifest"
        )
    check_inputs(manifest, participant, max_concurrent_files)
    refuse_conflicts(catalog, manifest, participant, allow_deleted=allow_deleted)

    def result(
        prefix: str,
        tally: TransferTally,
        modalities: tuple[Modality, ...] = (),
        recording: Recording | None = None,
    ) -> IngestResult:
        return IngestResult(
            paused=tally.paused,
            recording=recording,
            recording_hash=manifest.recording_hash or "",
            prefix=prefix,
            files_uploaded=tally.uploaded,
            files_skipped=tally.skipped,
            bytes_uploaded=tally.bytes_uploaded,
            bytes_skipped=tally.bytes_skipped,
            modalities=modalities,
            seconds=time.perf_counter() - started,
            manifest=manifest,
        )

    if is_active is not None and is_active():
        return result("", TransferTally(paused=True))
    home = _claim_prefix(raw, manifest, manifest_path.read_bytes())
    stored = {} if overwrite else stored_sizes(raw, manifest, home)
    uploads = [
        FileUpload(
            path=session / entry.rel_path,
            key=home.file_key(entry.rel_path),
            size=entry.size,
            sha256=entry.sha256,
            label=entry.rel_path,
        )
        for entry in manifest.files
    ]
    try:
        tally = transfer_files(
            raw,
            uploads,
            stored=stored,
            max_concurrent=max_concurrent_files,
            is_active=is_active,
            on_file=None if progress is None else _reporter(progress, manifest),
        )
    except SourceChangedError as exc:
        raise _stale_manifest(exc, raw, catalog, manifest, home, session) from exc
    if tally.paused or not register:
        return result(home.key, tally)
    if tally.uploaded:  # (all skipped: the first listing just showed every file stored)
        _check_stored(raw, manifest, home)
    modalities, recording = register_session(catalog, raw, manifest, home, participant)
    return result(home.key, tally, modalities, recording)


def _missing(manifest: Manifest, home: SessionPrefix, stored: dict[str, int]) -> list[str]:
    """The manifest's files that ``home`` does not hold at their size (``stored``:
    `stored_sizes`)."""
    return [
        entry.rel_path
        for entry in manifest.files or ()
        if stored.get(home.file_key(entry.rel_path)) != entry.size
    ]


def _check_stored(raw: Store, manifest: Manifest, home: SessionPrefix) -> None:
    """Refuse to register a session whose objects went while it was uploaded: another
    ingest of it, which met a file changed on the rig, removed what its stale
    manifest claimed (`_stale_manifest`). One listing per worker directory, and
    the prefix's manifest read again: it must still be this content's."""
    try:
        claimed = load_stored_manifest(raw, home).recording_hash == manifest.recording_hash
    except (ObjectNotFoundError, ManifestError):
        claimed = False
    if not claimed:
        raise ObjectNotFoundError(
            f"{home.key}/ no longer holds this session's manifest after its upload: another "
            "ingest of it removed or replaced it. Nothing was registered; run `ursa manifest "
            "augment` on the session, then ingest it again",
            uri=f"{raw.base_uri}{home.manifest_key}",
        )
    missing = _missing(manifest, home, stored_sizes(raw, manifest, home))
    if missing:
        raise ObjectNotFoundError(
            f"{len(missing)} files of this session (first {missing[0]}) are no longer under "
            f"{home.key}/ after their upload: another ingest of it found a file changed on "
            f"the rig and removed them. Nothing was registered; run `ursa manifest augment` "
            "on the session, then ingest it again",
            uri=f"{raw.base_uri}{home.key}/",
        )


def _stale_manifest(
    exc: SourceChangedError,
    raw: Store,
    catalog: Catalog,
    manifest: Manifest,
    home: SessionPrefix,
    session: Path,
) -> SourceChangedError:
    """The error to raise for a file that no longer matches the manifest, once
    what the manifest claimed is removed (see the module docstring, step 4)."""
    again = f"run `ursa manifest augment {session}`, then ingest again"
    assert manifest.recording_hash is not None
    if exc.path is None:  # not a file of the session: nothing to say about it
        return exc
    changed = f"{exc.path} no longer matches the session's manifest (it changed after augment)"
    if catalog.get_recording(manifest.recording_hash) is not None:
        return SourceChangedError(
            f"{exc.path} differs from what recording {manifest.recording_hash[:12]} archived "
            "(it changed on the rig after augment); the archive keeps its verified bytes. If "
            "the rig's copy is damaged, nothing needs doing; to archive the change as another "
            "recording, augment the session again and ingest it",
            path=exc.path,
        )
    stored = stored_sizes(raw, manifest, home)  # one listing serves both questions
    if not _missing(manifest, home, stored):
        # Another ingest of the session stored every file before it changed: the
        # archive holds the session its manifest lists, and that ingest registers it.
        return SourceChangedError(
            f"{changed}; the archive already holds every file of the manifest (another "
            f"ingest stored them before the change), so nothing was removed; `ursa backfill "
            f"{manifest.rec_id}` registers it if that ingest does not",
            path=exc.path,
        )
    keys = [home.file_key(entry.rel_path) for entry in manifest.files or ()]
    removed = [key for key in keys if key in stored]
    for key in [*removed, home.manifest_key]:  # the manifest last: it names what to remove
        raw.delete(key)
    return SourceChangedError(
        f"{changed}: the {len(removed)} files and the manifest stored for it under "
        f"{home.key}/ were removed; {again}",
        path=exc.path,
    )


def _reporter(
    progress: Callable[[IngestProgress], None], manifest: Manifest
) -> Callable[[TransferTally, FileUpload], None]:
    total, count = manifest.total_bytes, len(manifest.files or ())

    def report(tally: TransferTally, upload: FileUpload) -> None:
        progress(
            IngestProgress(
                files_done=tally.files_done,
                files_total=count,
                bytes_uploaded=tally.bytes_uploaded,
                bytes_processed=tally.bytes_uploaded + tally.bytes_skipped,
                bytes_total=total,
                current_file=upload.label,
            )
        )

    return report


def register_session(
    catalog: Catalog,
    raw: Store,
    manifest: Manifest,
    session: SessionPrefix,
    participant: str,
) -> tuple[tuple[Modality, ...], Recording]:
    """Participant, then modalities, then the recording row (last, so readers
    never see a recording without all its modalities)."""
    assert manifest.recording_hash is not None
    if catalog.get_participant(participant) is None:
        # A concurrent ingest may register the participant a moment before us.
        with contextlib.suppress(PrimaryKeyConflict):
            catalog.add_participant(
                Participant(participant_id=participant, enrolled_at=time.time_ns())
            )
    rows = []
    for worker, (name, worker_id) in sorted(modality_names(worker_dirs(manifest)).items()):
        row = Modality(
            recording_hash=manifest.recording_hash,
            modality=name,
            worker_id=worker_id,
            ingestion_status=IngestionStatus.RAW,
            raw_storage_uri=f"{raw.base_uri}{session.file_key(worker)}/",
        )
        stored = catalog.get_modality(row.recording_hash, row.modality)
        if stored is not None and stored.raw_storage_uri == row.raw_storage_uri:
            rows.append(stored)  # already registered (maybe processed since): keep it
        else:
            rows.append(catalog.register_modality(row))
    recording = catalog.register_recording(recording_row(manifest, participant))
    return tuple(rows), recording
