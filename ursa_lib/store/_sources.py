"""What an upload reads: user metadata checked against S3's rules, the size of a
source, a file's bytes checked for change while they are read, and a stream
that ends where its promised size says."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from .._errors import (
    InvalidValueError,
    SourceChangedError,
)

__all__ = ["Counted", "Source", "check_metadata", "file_chunks", "source_size"]

Source = bytes | bytearray | memoryview | Path | BinaryIO | Iterable[bytes]
"""What `Store.put` uploads: bytes, a local file path, a binary file object, or an
iterable of byte chunks."""

_META_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MAX_METADATA_BYTES = 2048  # S3 allows 2 KB of user metadata in total


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    if not metadata:
        return {}
    total = 0
    for key, value in metadata.items():
        if not isinstance(key, str) or not _META_KEY.match(key):
            raise InvalidValueError(
                f"metadata key {key!r} is not allowed: use 1-64 lowercase letters, digits or '-'"
            )
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise InvalidValueError(f"metadata value for {key!r} must be printable ASCII text")
        total += len(key) + len(value)
    if total > _MAX_METADATA_BYTES:
        raise InvalidValueError(
            f"metadata is {total} bytes; S3 allows {_MAX_METADATA_BYTES} in total"
        )
    return dict(metadata)


def source_size(source: Source) -> int | None:
    """Start position of a seekable stream (to re-send from), else None."""
    if isinstance(source, bytes | bytearray | memoryview | Path):
        return None
    seekable = getattr(source, "seekable", None)
    if callable(seekable) and seekable():
        return int(source.tell())  # type: ignore[attr-defined]
    return None


def file_chunks(path: Path, chunk: int, expected: os.stat_result) -> Iterator[bytes]:
    """The file's bytes; `SourceChangedError` if it is modified (size, mtime or inode)
    between the first stat and the last byte read."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the last check
    except FileNotFoundError:
        raise _removed(path) from None
    with handle:
        _same_file(path, expected, os.fstat(handle.fileno()))
        while block := handle.read(chunk):
            yield block
        _same_file(path, expected, os.fstat(handle.fileno()))
        try:
            now = path.stat()
        except FileNotFoundError:
            raise _removed(path) from None
        _same_file(path, expected, now)  # not replaced under its name either


def _removed(path: Path) -> SourceChangedError:
    return SourceChangedError(
        f"{path} was removed while being uploaded; nothing was stored", path=str(path)
    )


def _same_file(path: Path, before: os.stat_result, now: os.stat_result) -> None:
    if (before.st_ino, before.st_size, before.st_mtime_ns) != (
        now.st_ino,
        now.st_size,
        now.st_mtime_ns,
    ):
        raise SourceChangedError(
            f"{path} changed while being uploaded (size {before.st_size} → {now.st_size}, "
            f"mtime {before.st_mtime_ns} → {now.st_mtime_ns} ns); nothing was stored — "
            "let the writer finish, then re-augment and ingest again",
            path=str(path),
        )


class Counted:
    """Passes chunks through, counting them and checking the promised size."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        size: int | None,
        on_chunk: Callable[[bytes], None] | None,
        what: str,
        verify_sha256: str | None = None,
    ) -> None:
        self._chunks = chunks
        self._size = size
        self._on_chunk = on_chunk
        self._what = what
        self._verify = verify_sha256
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        self.total = 0
        digest = hashlib.sha256() if self._verify is not None else None
        for chunk in self._chunks:
            if digest is not None:
                digest.update(chunk)
            self.total += len(chunk)
            if self._size is not None and self.total > self._size:
                raise SourceChangedError(
                    f"{self._what} grew beyond the expected {self._size} bytes while being "
                    "uploaded; nothing was stored",
                    path=str(self._what),
                )
            if self._on_chunk is not None:
                self._on_chunk(chunk)
            yield chunk
        if self._size is not None and self.total != self._size:
            raise SourceChangedError(
                f"{self._what} yielded {self.total} bytes, expected {self._size} "
                "(it changed or was cut short); nothing was stored",
                path=str(self._what),
            )
        if digest is not None and digest.hexdigest() != self._verify:
            raise SourceChangedError(
                f"{self._what} does not match its expected sha256 (it changed after its "
                "hash was taken, or while being read); it was not stored",
                path=str(self._what),
            )
