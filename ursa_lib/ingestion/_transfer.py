"""Local files into a bucket, several at once, verified, skippable and pausable.

The transfer step shared by ingest (a session's files) and processing (an
asset's files): each file goes up atomically with its sha256 as user metadata,
its bytes hashed as they are sent (a file that differs from its expected
digest, or changes while it is read, fails with `SourceChangedError` and is not
stored). A file already stored with its size under a prefix this content owns
is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..store import Store

__all__ = ["FileUpload", "TransferTally", "transfer_files"]

log = logging.getLogger("ursa.ingest")


@dataclass(frozen=True, slots=True)
class FileUpload:
    """One file to store: where it is, where it goes, what it must hash to."""

    path: Path
    key: str
    size: int
    sha256: str
    label: str
    """How progress names it (the manifest's ``rel_path``)."""


@dataclass
class TransferTally:
    """What a transfer did so far; updated by the worker threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    files_done: int = 0
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    paused: bool = False


class _Paused(Exception):
    """Internal: the caller's ``is_active`` turned True; unwinds an upload in flight."""


def transfer_files(
    store: Store,
    files: Sequence[FileUpload],
    *,
    stored: Mapping[str, int] | None = None,
    max_concurrent: int = 4,
    is_active: Callable[[], bool] | None = None,
    on_file: Callable[[TransferTally, FileUpload], None] | None = None,
) -> TransferTally:
    """Upload ``files`` (skipping those ``stored`` lists with their size), at most
    ``max_concurrent`` at once.

    ``is_active`` is polled between chunks and after each file;
    once it returns True in-flight uploads stop at their next chunk, pending
    files are not started, and the tally comes back with ``paused=True``.
    ``on_file`` runs after each file is decided (uploaded or skipped); an
    exception it raises is logged and never breaks the transfer. The first
    error of an upload is raised once every file has stopped.
    """
    tally = TransferTally()
    stop = threading.Event()
    stored = stored or {}

    def check_active(_: bytes = b"") -> None:
        if stop.is_set() or (is_active is not None and is_active()):
            stop.set()
            raise _Paused()

    def decided(upload: FileUpload) -> None:
        if on_file is None:
            return
        try:
            on_file(tally, upload)
        except Exception:
            log.exception("progress callback failed; the transfer goes on")

    def one(upload: FileUpload) -> None:
        if stop.is_set():
            return
        if stored.get(upload.key) == upload.size:
            with tally.lock:
                tally.skipped += 1
                tally.bytes_skipped += upload.size
                tally.files_done += 1
            decided(upload)
            return
        store.put(
            upload.key,
            upload.path,
            size=upload.size,
            metadata={"sha256": upload.sha256},
            verify_sha256=upload.sha256,
            on_chunk=check_active if is_active is not None else None,
        )
        with tally.lock:
            tally.uploaded += 1
            tally.bytes_uploaded += upload.size
            tally.files_done += 1
        decided(upload)
        if is_active is not None:
            check_active()

    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_concurrent, "ursa-transfer") as pool:
        for future in [pool.submit(one, f) for f in files]:
            try:
                future.result()
            except _Paused:
                stop.set()
            except BaseException as exc:  # noqa: BLE001 - the first one is re-raised below
                stop.set()
                errors.append(exc)
    if errors:
        raise errors[0]
    tally.paused = stop.is_set()
    return tally
