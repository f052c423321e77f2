"""The small interface each storage backend implements for `Store`.

Backends do no validation and no retries: `Store` validates keys, enforces the
role's access level and retries. A backend raises Ursa errors for permanent
failures and `TransientFailure` for retryable ones (obstore-based backends let
`map_error` do that).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from ._info import ObjectInfo
from ._multipart import UploadPlan

__all__ = ["Backend", "SourceFailed", "pull"]


class Backend(Protocol):
    base_uri: str
    """URI of the bucket root, ending in ``/`` (``s3://b/``, ``file:///…/``, ``memory:///``)."""
    supports_create: bool
    """Whether ``put(create=True)`` is enforced by the server (put-if-absent)."""
    supports_ranges: bool
    """Whether ranged GETs work (``get_range`` raises `RangeUnsupported` if not)."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects under the folder ``prefix`` ('' = all), in key order, lazily."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, etag and user metadata of ``key``."""
        ...

    def get_stream(
        self, key: str, *, offset: int, etag: str | None, chunk_size: int
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Bytes of ``key`` from ``offset``; fails if its etag is no longer ``etag``."""
        ...

    def get_range(self, key: str, *, start: int, end: int, etag: str | None) -> bytes:
        """Bytes ``[start, end)`` of ``key``; fails if its etag is no longer ``etag``."""
        ...

    def put(
        self,
        key: str,
        data: bytes | Iterable[bytes],
        *,
        metadata: Mapping[str, str],
        plan: UploadPlan,
        create: bool,
        concurrency: int,
    ) -> None:
        """Store ``data`` atomically under ``key``; nothing is left if ``data`` raises."""
        ...

    def delete(self, key: str) -> None: ...

    def copy(self, src: str, dst: str) -> None: ...


class SourceFailed(Exception):
    """Carries an exception raised by the caller's data while a backend wrote it,
    so that the caller's own error is re-raised unchanged rather than mapped."""


def pull(data: Iterable[bytes]) -> Iterator[bytes]:
    """Iterate ``data``, wrapping whatever it raises in `SourceFailed`."""
    iterator = iter(data)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except BaseException as exc:
            raise SourceFailed() from exc
        yield chunk
