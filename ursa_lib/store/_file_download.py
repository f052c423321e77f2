"""Downloading one object to a local file: atomic, verified, ranged when large."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from .._errors import ChecksumMismatchError, ObjectStoreError
from ._digest import expected_sha256, recorded_sha256
from ._error_map import RangeUnsupported
from ._info import ObjectInfo
from ._keys import validate_key
from ._reader import ObjectReader

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["download_file"]

MiB = 1024 * 1024


def download_file(
    store: Store,
    key: str,
    dest: Path,
    *,
    fsync: bool,
    expect: ObjectInfo | None,
    sha256: str | Literal["metadata"] | None,
) -> ObjectInfo:
    """`Store.download`: see there for what it promises."""
    validate_key(key)
    dest = Path(dest)
    info = expect if expect is not None and expect.key == key else store.head(key)
    hasher = hashlib.sha256() if sha256 is not None else None
    part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(part, "wb") as out:
            ranged = (
                store._backend.supports_ranges
                and info.size >= store.transfer.parallel_download_threshold
            )
            try:
                if ranged:
                    _download_ranges(store, key, info, out)
            except RangeUnsupported:
                ranged = False
                out.seek(0)
                out.truncate()
            if not ranged:
                with ObjectReader(store, key, expect=info) as reader:
                    if info.size > 2 * store.transfer.read_chunk:
                        behind = _WriteBehind(out) if fsync else None
                        _write_overlapped(reader.iter_chunks(), out, hasher, behind)
                    else:
                        for chunk in reader.iter_chunks():
                            out.write(chunk)
                            if hasher is not None:
                                hasher.update(chunk)
                    info = reader.info
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        written = part.stat().st_size
        if written != info.size:
            raise ObjectStoreError(
                f"reading {store.base_uri}{key} produced {written} bytes, expected {info.size}",
                uri=store.base_uri + key,
            )
        if hasher is not None:
            if ranged:  # ranges arrive out of order: hash the finished file
                with open(part, "rb") as done:
                    hasher = hashlib.file_digest(done, "sha256")
                if info.metadata is None and sha256 == "metadata":
                    info = store.head(key)
            _check_digest(store.base_uri + key, hasher.hexdigest(), sha256, info)
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return info


def _check_digest(uri: str, actual: str, wanted: str | None, info: ObjectInfo) -> None:
    # The manifest's digest (if given) and the object's own must both match.
    candidates = (expected_sha256(info, wanted), recorded_sha256(info))
    expected = list(dict.fromkeys(d for d in candidates if d))
    if not expected:
        raise ChecksumMismatchError(
            f"{uri} carries no sha256 metadata to verify it against", uri=uri
        )
    for digest in expected:
        if digest != actual:
            raise ChecksumMismatchError(
                f"{uri} is corrupt or was replaced: its bytes hash to {actual}, "
                f"but {digest} was recorded for it",
                uri=uri,
            )


def _download_ranges(store: Store, key: str, info: ObjectInfo, out: BinaryIO) -> None:
    size = info.size
    out.truncate(size)
    fd = out.fileno()
    step = store.transfer.range_size
    ranges = [(start, min(start + step, size)) for start in range(0, size, step)]
    uri = store.base_uri + key
    stop = threading.Event()

    def fetch(bounds: tuple[int, int]) -> None:
        if stop.is_set():
            return
        start, end = bounds
        data = store._retry(
            lambda: store._backend.get_range(key, start=start, end=end, etag=info.etag), uri
        )
        if len(data) != end - start:
            raise ObjectStoreError(
                f"reading {uri} bytes {start}-{end} returned {len(data)} bytes", uri=uri
            )
        os.pwrite(fd, data, start)

    with ThreadPoolExecutor(store.transfer.range_concurrency, "ursa-range") as pool:
        futures = [pool.submit(fetch, r) for r in ranges]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise


_END = object()
_WRITE_BEHIND = 8 * MiB


class _WriteBehind:
    """Has the kernel start writing a file to disk every 8 MiB while the
    download goes on, so the closing fsync waits for the last few MiB instead
    of the whole file. ``POSIX_FADV_DONTNEED`` starts write-back of the range
    (and drops pages already written, which the download does not read again);
    where ``posix_fadvise`` does not exist nothing is done."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._written = 0
        self._started = 0

    def wrote(self, size: int) -> None:
        self._written += size
        if self._written - self._started < _WRITE_BEHIND or not hasattr(os, "posix_fadvise"):
            return
        self._out.flush()
        length = self._written - self._started
        os.posix_fadvise(self._out.fileno(), self._started, length, os.POSIX_FADV_DONTNEED)
        self._started = self._written


def _write_overlapped(
    chunks: Iterator[bytes],
    out: BinaryIO,
    hasher: Any = None,
    behind: _WriteBehind | None = None,
    depth: int = 2,
) -> None:
    """Write ``chunks`` to ``out`` on a helper thread while the next chunks arrive.

    obstore reads the socket only while a chunk is being awaited, so writing on
    the same thread would stall the connection for every disk write. At most
    ``depth`` chunks wait in between, which bounds memory.
    """
    pending: queue.Queue[object] = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def writer() -> None:
        while (item := pending.get()) is not _END:
            if not failure:
                try:
                    out.write(item)  # type: ignore[call-overload]
                    if hasher is not None:
                        hasher.update(item)
                    if behind is not None:
                        behind.wrote(len(item))  # type: ignore[arg-type]
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    failure.append(exc)

    thread = threading.Thread(target=writer, name="ursa-writer", daemon=True)
    thread.start()
    try:
        for chunk in chunks:
            if failure:
                break
            pending.put(chunk)
    finally:
        pending.put(_END)
        thread.join()
    if failure:
        raise failure[0]
