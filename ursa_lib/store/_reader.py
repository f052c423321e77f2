"""`ObjectReader`: one object version read forward, resumed where it broke."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._errors import ObjectChangedError, ObjectStoreError
from ._error_map import TransientFailure
from ._info import ObjectInfo
from ._retry import resumable

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["ObjectReader"]


class ObjectReader(io.RawIOBase):
    """Forward-only reader of one object version; see `Store.open`."""

    def __init__(self, store: Store, key: str, *, expect: ObjectInfo | None = None) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._uri = store.base_uri + key
        self._pos = 0
        self._buffer = b""
        etag = expect.etag if expect is not None else None
        info, body = store._retry(lambda: self._fetch(0, etag), self._uri)
        if expect is not None and info.size != expect.size:
            raise ObjectChangedError(f"{self._uri} changed while being read", uri=self._uri)
        self.info = info
        self._body: Iterator[bytes] | None = body
        self._chunks = resumable(self._stream, policy=store.retry, uri=self._uri)

    def _fetch(self, offset: int, etag: str | None) -> tuple[ObjectInfo, Iterator[bytes]]:
        return self._store._backend.get_stream(
            self._key, offset=offset, etag=etag, chunk_size=self._store.transfer.read_chunk
        )

    def readable(self) -> bool:
        return True

    def iter_chunks(self) -> Iterator[bytes]:
        """The remaining bytes as chunks of about ``TransferSettings.read_chunk``.

        Abandoning this iterator part-way does not end the reader: a later call
        (or ``read``) continues from where it stopped.
        """
        if self._buffer:
            buffered, self._buffer = self._buffer, b""
            yield buffered
        # next() rather than `yield from`, so that closing this iterator does not
        # close the shared one underneath (which would end the object early).
        while (chunk := next(self._chunks, None)) is not None:
            yield chunk
        if self._pos != self.info.size:
            raise ObjectStoreError(
                f"reading {self._uri} stopped at byte {self._pos} of {self.info.size}",
                uri=self._uri,
            )

    def _stream(self) -> Iterator[bytes]:
        """The body from byte ``_pos`` on: the body fetched when the reader opened,
        then a GET of the same version from where the last one broke. A body that
        ends short is a `TransientFailure`, so that `resumable` picks it up."""
        body, self._body = self._body, None
        if body is None:
            _, body = self._fetch(self._pos, self.info.etag)
        size = self.info.size
        for chunk in body:
            self._pos += len(chunk)
            if self._pos > size:
                raise ObjectStoreError(
                    f"reading {self._uri} returned more than its {size} bytes", uri=self._uri
                )
            yield chunk
        if self._pos < size:
            raise TransientFailure(f"reading {self._uri}: body ended at byte {self._pos} of {size}")

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def readall(self) -> bytes:
        return b"".join(self.iter_chunks())

    def close(self) -> None:
        self._body = None
        chunks = getattr(self, "_chunks", None)
        if chunks is not None:
            chunks.close()
        super().close()
