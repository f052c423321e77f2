"""`Store`: one bucket seen through one role — validated, retried, streamed."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

from .._config import Role
from .._errors import (
    InvalidKeyError,
    InvalidValueError,
    ObjectStoreTransientError,
    SourceChangedError,
    WriteRefusedError,
)
from ._backend import Backend
from ._error_map import RangeUnsupported, TransientFailure
from ._file_download import download_file
from ._info import ObjectInfo
from ._keys import validate_key, validate_prefix
from ._local import STAGING_DIR, LocalBackend
from ._multipart import DEFAULT_PART_SIZE, DEFAULT_SINGLE_PUT_LIMIT, UploadPlan, plan_upload
from ._obstore_backend import ObstoreBackend
from ._reader import ObjectReader
from ._retry import RetryPolicy, call_with_retries, resumable
from ._sources import Counted, Source, check_metadata, file_chunks, source_size

__all__ = ["ObjectReader", "PutMode", "Source", "Store", "TransferSettings"]

T = TypeVar("T")
MiB = 1024 * 1024

PutMode = Literal["overwrite", "create"]
"""``overwrite`` replaces any object at the key; ``create`` fails with
`ObjectExistsError` if one is there (put-if-absent, where the server enforces it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferSettings:
    """Sizes and parallelism of transfers. Memory per transfer stays below
    ``part_size * part_concurrency`` (uploads) or ``range_size * range_concurrency``
    (downloads), whatever the object size."""

    single_put_limit: int = DEFAULT_SINGLE_PUT_LIMIT
    """Objects up to this size go up in one PUT."""
    part_size: int = DEFAULT_PART_SIZE
    """Preferred multipart part size (grown for huge objects)."""
    part_concurrency: int = 4
    """Parts of one object in flight at once."""
    read_chunk: int = 512 * 1024
    """Chunk size of streaming reads: small enough that the socket is drained
    steadily (measured fastest against rclone serve s3)."""
    file_read_size: int = 4 * MiB
    """Size of each read from a local file being uploaded."""
    range_size: int = 16 * MiB
    """Size of each ranged GET when one object is downloaded in parallel."""
    range_concurrency: int = 4
    """Ranged GETs of one object in flight at once."""
    parallel_download_threshold: int = 64 * MiB
    """Objects at least this big are downloaded as parallel ranges."""


class Store:
    """One bucket through one role.

    Every key is checked by `validate_key` before any request. A read-only store
    refuses ``put``/``delete``/``copy`` with `WriteRefusedError` before any request.
    Transient failures are retried under ``retry``; exhaustion raises
    `ObjectStoreTransientError`, other failures an `ObjectStoreError` subclass that
    names the URI. Writes are atomic: nobody observes a partly written object.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        role: Role | None = None,
        writable: bool,
        retry: RetryPolicy | None = None,
        transfer: TransferSettings | None = None,
    ) -> None:
        self._backend = backend
        self.role = role
        self.writable = writable
        self.retry = retry or RetryPolicy()
        self.transfer = transfer or TransferSettings()

    @classmethod
    def memory(cls, *, writable: bool = True, **kwargs: object) -> Store:
        """An in-process store, for tests and notebooks."""
        return cls(ObstoreBackend.memory(), writable=writable, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def local(cls, root: Path | str, *, writable: bool = True, **kwargs: object) -> Store:
        """A folder used as a bucket (the local profile's store)."""
        return cls(LocalBackend(Path(root)), writable=writable, **kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        access = "rw" if self.writable else "ro"
        role = f"role={self.role!r}, " if self.role else ""
        return f"Store({role}uri={self.base_uri!r}, access={access!r})"

    @property
    def backend(self) -> Backend:
        """The backend this store validates, guards and retries for."""
        return self._backend

    @property
    def base_uri(self) -> str:
        """URI of the bucket root, ending in ``/``."""
        return self._backend.base_uri

    @property
    def supports_create(self) -> bool:
        """Whether ``mode="create"`` is enforced by this backend."""
        return self._backend.supports_create

    def uri(self, key: str) -> str:
        """Full URI of ``key`` (validated)."""
        return self.base_uri + validate_key(key)

    def with_retry(self, retry: RetryPolicy) -> Store:
        """The same bucket and role with another retry policy."""
        return Store(
            self._backend,
            role=self.role,
            writable=self.writable,
            retry=retry,
            transfer=self.transfer,
        )

    def _retry(self, fn: Callable[[], T], uri: str) -> T:
        return call_with_retries(fn, policy=self.retry, uri=uri)

    def _require_write(self, key: str, action: str) -> None:
        if not self.writable:
            raise WriteRefusedError(
                f"{action} {self.base_uri}{key} refused: this store uses the read-only role "
                f"{self.role or 'ro'}; open the read-write role to write",
                uri=self.base_uri + key,
            )

    # -- reading -----------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under the folder ``prefix`` ('' for all), in key order.

        Lazy: pages are fetched as the iterator advances, so a listing of any size
        runs in bounded memory; a transient failure mid-listing resumes after the
        last key yielded. A stored key that breaks Ursa's key rules stops the
        listing with `InvalidKeyError` naming that key: it is never skipped.
        """
        validate_prefix(prefix)
        last: str | None = None

        def listing() -> Iterator[ObjectInfo]:
            for info in self._backend.list(prefix):
                if last is not None and info.key <= last:
                    continue  # yielded before the listing broke
                try:
                    validate_key(info.key)
                except InvalidKeyError as exc:
                    raise InvalidKeyError(
                        f"listing {self.base_uri}{prefix} found a foreign key that breaks "
                        f"Ursa's key rules: {exc}; rename or delete that object with "
                        "another S3 tool, then list again",
                        uri=self.base_uri + info.key,
                    ) from None
                yield info

        for info in resumable(listing, policy=self.retry, uri=self.base_uri + prefix):
            last = info.key
            yield info

    def head(self, key: str) -> ObjectInfo:
        """Size, etag and user metadata of ``key``; `ObjectNotFoundError` if absent."""
        validate_key(key)
        return self._retry(lambda: self._backend.head(key), self.base_uri + key)

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        try:
            self.head(key)
        except FileNotFoundError:
            return False
        return True

    def open(self, key: str) -> ObjectReader:
        """A forward-only reader of ``key``'s bytes.

        If the connection fails mid-body, reading resumes where it stopped (from
        the same object version — a replaced object raises `ObjectChangedError`).
        A body is never silently short: ending early without a way to resume
        raises `ObjectStoreTransientError`.
        """
        validate_key(key)
        return ObjectReader(self, key)

    def get(self, key: str) -> bytes:
        """The whole object in memory. For large objects use `open` or `download`."""
        with self.open(key) as reader:
            return reader.read()

    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        """Bytes ``[start, end)`` of ``key`` (fewer at the object's end), retried.

        With ``etag``, a replaced object raises `ObjectChangedError` instead of
        mixing two versions. Against a server that answers ranges with the whole
        object, the whole body is read and the range cut from it.
        """
        validate_key(key)
        if end <= start:
            return b""
        uri = self.base_uri + key
        if self._backend.supports_ranges:
            try:
                return self._retry(
                    lambda: self._backend.get_range(key, start=start, end=end, etag=etag), uri
                )
            except RangeUnsupported:
                pass
        with ObjectReader(self, key) as reader:
            return reader.read()[start:end]

    def download(
        self,
        key: str,
        dest: Path,
        *,
        fsync: bool = True,
        expect: ObjectInfo | None = None,
        sha256: str | Literal["metadata"] | None = None,
    ) -> ObjectInfo:
        """Write ``key`` to the file ``dest``, atomically.

        Bytes go to a hidden ``.part`` sibling that is renamed over ``dest`` only
        once complete (and flushed, with ``fsync``); on failure it is removed and
        any previous ``dest`` is untouched. Large objects are fetched as parallel
        ranged GETs of one object version. ``expect`` (e.g. the entry from a
        listing) saves a HEAD request; the bytes must then match its size and etag.

        ``sha256`` verifies the bytes before the rename: a hex digest (e.g. from
        the session manifest), or ``"metadata"`` for the digest in the object's
        ``sha256`` user metadata. When a digest is given and the object also
        carries one, both must match. A mismatch raises `ChecksumMismatchError`
        and nothing appears at ``dest``.
        """
        return download_file(self, key, dest, fsync=fsync, expect=expect, sha256=sha256)

    # -- writing -----------------------------------------------------------

    def put(
        self,
        key: str,
        source: Source,
        *,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        mode: PutMode = "overwrite",
        on_chunk: Callable[[bytes], None] | None = None,
        verify_sha256: str | None = None,
    ) -> ObjectInfo:
        """Upload ``source`` to ``key`` atomically and return what was stored.

        Large sources go up as multipart uploads (sized by `plan_upload`) in
        bounded memory; a failed multipart upload is aborted, so nothing is left
        behind. ``metadata`` becomes the object's user metadata (e.g. sha256).
        ``size``, if given, must match the bytes the source yields, else the
        upload is abandoned with `SourceChangedError`. A file source that is
        modified while it is read (size, mtime or inode) also raises
        `SourceChangedError`, naming the file. ``on_chunk`` sees every chunk as it
        is sent (for hashing or cancellation; an exception from it abandons the
        upload). With ``verify_sha256`` the bytes are hashed as they are sent and
        the upload is abandoned with `SourceChangedError` if they do not match, so
        no object with other bytes ever appears. Files and seekable streams are
        re-sent on transient failures;
        plain iterables cannot be replayed, so their failure surfaces at once.
        """
        validate_key(key)
        self._require_write(key, "writing")
        meta = check_metadata(metadata)
        if mode not in ("overwrite", "create"):
            raise InvalidValueError(f"mode must be 'overwrite' or 'create', got {mode!r}")
        uri = self.base_uri + key
        start = source_size(source)
        sent = 0

        def send() -> ObjectInfo:
            nonlocal sent
            if sent and start is not None:
                source.seek(start)  # type: ignore[union-attr]
            sent += 1
            body, plan, replayable = self._prepare(source, size, on_chunk, verify_sha256)
            if mode == "create" and plan.multipart:
                raise InvalidValueError(
                    f"mode='create' needs a single PUT; {uri} is {plan.size} bytes, above "
                    f"the {self.transfer.single_put_limit}-byte single-PUT limit"
                )
            try:
                self._backend.put(
                    key,
                    body,
                    metadata=meta,
                    plan=plan,
                    create=mode == "create",
                    concurrency=self.transfer.part_concurrency,
                )
            except TransientFailure as exc:
                if not replayable:
                    raise ObjectStoreTransientError(
                        f"{exc}; the source is a one-shot stream and cannot be re-sent — "
                        "pass a file path or a seekable file to get retries",
                        uri=uri,
                    ) from None
                raise
            return ObjectInfo(
                key=key,
                size=body.total if isinstance(body, Counted) else len(body),
                metadata=meta,
            )

        return self._retry(send, uri)

    def _prepare(
        self,
        source: Source,
        size: int | None,
        on_chunk: Callable[[bytes], None] | None,
        verify_sha256: str | None = None,
    ) -> tuple[bytes | Counted, UploadPlan, bool]:
        t = self.transfer
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            if size is not None and size != len(data):
                raise SourceChangedError(
                    f"size={size} but the source holds {len(data)} bytes; nothing was stored"
                )
            if verify_sha256 is not None and hashlib.sha256(data).hexdigest() != verify_sha256:
                raise SourceChangedError("the bytes do not match the expected sha256")
            plan = plan_upload(
                len(data), single_put_limit=t.single_put_limit, part_size=t.part_size
            )
            if on_chunk is not None:
                on_chunk(data)
            return data, plan, True
        if isinstance(source, Path):
            st = source.stat()
            actual = st.st_size
            if size is not None and size != actual:
                raise SourceChangedError(
                    f"{source} is {actual} bytes, expected {size} (it changed); nothing was stored"
                )
            plan = plan_upload(actual, single_put_limit=t.single_put_limit, part_size=t.part_size)
            return (
                Counted(
                    file_chunks(source, t.file_read_size, st),
                    actual,
                    on_chunk,
                    str(source),
                    verify_sha256,
                ),
                plan,
                True,
            )
        if isinstance(source, io.IOBase) or hasattr(source, "read"):
            stream: BinaryIO = source  # type: ignore[assignment]
            seekable = bool(getattr(stream, "seekable", lambda: False)())
            if size is None and seekable:
                here = stream.tell()
                size = stream.seek(0, os.SEEK_END) - here
                stream.seek(here)
            plan = self._plan_unknown(size)
            chunks = iter(lambda: stream.read(t.file_read_size), b"")
            counted = Counted(chunks, size, on_chunk, "the source stream", verify_sha256)
            return counted, plan, seekable
        plan = self._plan_unknown(size)
        counted = Counted(iter(source), size, on_chunk, "the source iterable", verify_sha256)
        return counted, plan, False

    def _plan_unknown(self, size: int | None) -> UploadPlan:
        t = self.transfer
        if size is not None:
            return plan_upload(size, single_put_limit=t.single_put_limit, part_size=t.part_size)
        # Unknown length: always multipart, at the preferred part size.
        return UploadPlan(size=-1, multipart=True, part_size=t.part_size, parts=0)

    def delete(self, key: str) -> None:
        """Remove ``key``. Deleting a missing key is not an error (S3 semantics)."""
        validate_key(key)
        self._require_write(key, "deleting")
        self._retry(lambda: self._backend.delete(key), self.base_uri + key)

    def copy(self, src: str, dst: str) -> None:
        """Server-side copy of ``src`` to ``dst`` in this bucket, metadata included."""
        validate_key(src)
        validate_key(dst)
        self._require_write(dst, "copying to")
        self._retry(lambda: self._backend.copy(src, dst), self.base_uri + src)

    def clean_staging(self) -> int:
        """Remove what killed uploads left in a local bucket's staging folder.

        Returns how many staged files were removed. Only a local-profile bucket
        stages files; a live upload's file, in any process, is never removed.
        Every write to a local bucket does the same on its own, so this is for
        a bucket no one writes to any more. Other backends: 0.
        """
        self._require_write(STAGING_DIR, "cleaning")
        if isinstance(self._backend, LocalBackend):
            return self._backend.clean_staging()
        return 0
