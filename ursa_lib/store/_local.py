"""Backend for the local profile: a bucket is a folder, an object a file.

User metadata lives in the file's extended attributes (``user.ursa.meta``), set
on a staged file before it is renamed into place, so an object and its metadata
appear together or not at all. Staged files live in ``.ursa-staging/`` at the
bucket root, which listings skip and keys may not enter.

Staging never fills the disk with debris. Each upload holds an exclusive
``flock`` on its staged file from creation until the rename; the kernel drops
it when the process ends, however it ends (``kill -9`` included). Every write
to a bucket (at most every `SWEEP_INTERVAL` seconds per backend) and
`LocalBackend.clean_staging` remove each staged file that no process holds,
so a live upload's file, in this process or another, is never touched. Staged
files named before this scheme carry no lock; they go once an hour old.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import stat
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from .._errors import (
    AccessDeniedError,
    InvalidKeyError,
    ObjectChangedError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
)
from ._backend import SourceFailed, pull
from ._info import ObjectInfo
from ._multipart import UploadPlan

__all__ = ["STAGING_DIR", "SWEEP_INTERVAL", "LocalBackend"]

STAGING_DIR = ".ursa-staging"
_XATTR = "user.ursa.meta"
_STAGED_SUFFIX = ".staged"
SWEEP_INTERVAL = 30.0
"""Seconds between two sweeps of the staging folder by one backend's writes."""
_UNLOCKED_GRACE = 3600.0
"""Age after which a staged file of the older, lock-less naming is debris."""


def _etag(st: os.stat_result) -> str:
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


class LocalBackend:
    """A bucket kept as a directory tree."""

    supports_create = True
    supports_ranges = True

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.base_uri = self.root.as_uri() + "/"
        self._swept_at: float | None = None

    def __repr__(self) -> str:
        return f"LocalBackend({self.base_uri!r})"

    def _uri(self, key: str) -> str:
        return self.base_uri + key

    def _path(self, key: str) -> Path:
        if key.split("/", 1)[0] == STAGING_DIR:
            raise InvalidKeyError(
                f"invalid object key {key!r}: {STAGING_DIR!r} is reserved by the local store",
                uri=self._uri(key),
            )
        return self.root / key

    def _fail(self, exc: OSError, key: str, action: str) -> ObjectStoreError:
        uri = self._uri(key)
        text = f"{action} {uri} failed: {exc.strerror or exc}"
        if isinstance(exc, FileNotFoundError) or exc.errno in (errno.ENOTDIR, errno.EISDIR):
            return ObjectNotFoundError(f"{action} {uri} failed: no such object", uri=uri)
        if isinstance(exc, FileExistsError):
            return ObjectExistsError(f"{action} {uri} failed: object already exists", uri=uri)
        if isinstance(exc, PermissionError):
            return AccessDeniedError(text, uri=uri)
        return ObjectStoreError(text, uri=uri)

    # -- reading -----------------------------------------------------------

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        folder = prefix.rstrip("/")
        start = self.root / folder if folder else self.root
        if folder and (start.is_file() or not start.is_dir()):
            return
        yield from self._walk(start, f"{folder}/" if folder else "")

    def _walk(self, directory: Path, key_prefix: str) -> Iterator[ObjectInfo]:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        # Sorting names with '/' appended to directories yields keys in the same
        # byte order S3 uses, without materialising the whole tree.
        decorated = []
        for entry in entries:
            if not key_prefix and entry.name == STAGING_DIR:
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            decorated.append((entry.name + ("/" if is_dir else ""), entry, is_dir))
        decorated.sort(key=lambda item: item[0])
        for _, entry, is_dir in decorated:
            if is_dir:
                yield from self._walk(Path(entry.path), f"{key_prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                yield ObjectInfo(
                    key=key_prefix + entry.name,
                    size=st.st_size,
                    etag=_etag(st),
                    last_modified=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                )

    def _read_meta(self, fd: int) -> dict[str, str]:
        try:
            raw = os.getxattr(fd, _XATTR)
        except OSError as exc:
            if exc.errno in (errno.ENODATA, errno.ENOTSUP):
                return {}
            raise
        value = json.loads(raw)
        return {str(k): str(v) for k, v in value.items()}

    def _open(self, key: str, etag: str | None) -> tuple[int, ObjectInfo]:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ObjectNotFoundError(
                    f"reading {self._uri(key)} failed: no such object", uri=self._uri(key)
                ) from None
            raise self._fail(exc, key, "reading") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ObjectNotFoundError(
                    f"reading {self._uri(key)} failed: no such object", uri=self._uri(key)
                )
            info = ObjectInfo(
                key=key,
                size=st.st_size,
                etag=_etag(st),
                last_modified=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                metadata=self._read_meta(fd),
            )
            if etag is not None and info.etag != etag:
                raise ObjectChangedError(
                    f"reading {self._uri(key)} failed: the object was replaced while being read",
                    uri=self._uri(key),
                )
        except BaseException:
            os.close(fd)
            raise
        return fd, info

    def head(self, key: str) -> ObjectInfo:
        fd, info = self._open(key, None)
        os.close(fd)
        return info

    def get_stream(
        self, key: str, *, offset: int, etag: str | None, chunk_size: int
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        fd, info = self._open(key, etag)

        def body() -> Iterator[bytes]:
            try:
                position = offset
                while True:
                    chunk = os.pread(fd, chunk_size, position)
                    if not chunk:
                        return
                    position += len(chunk)
                    yield chunk
            finally:
                os.close(fd)

        return info, body()

    def get_range(self, key: str, *, start: int, end: int, etag: str | None) -> bytes:
        fd, _ = self._open(key, etag)
        try:
            return os.pread(fd, end - start, start)
        finally:
            os.close(fd)

    # -- writing -----------------------------------------------------------

    def _stage(self) -> tuple[Path, int]:
        """A new staged file and a descriptor holding its exclusive lock."""
        staging = self.root / STAGING_DIR
        staging.mkdir(parents=True, exist_ok=True)
        now = time.monotonic()
        if self._swept_at is None or now - self._swept_at >= SWEEP_INTERVAL:
            self._swept_at = now
            self.clean_staging()
        while True:
            path = staging / f"{os.getpid()}-{uuid.uuid4().hex}{_STAGED_SUFFIX}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A sweep may have taken the lock between open and flock and removed
            # the file: then it is not ours any more, start again.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return path, fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def clean_staging(self) -> int:
        """Remove staged files that no live upload holds; return how many.

        Safe at any time, from any process: a staged file is removed only while
        this call holds its lock, which a live upload never lets go of.
        """
        staging = self.root / STAGING_DIR
        try:
            entries = list(os.scandir(staging))
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            if not entry.name.endswith(_STAGED_SUFFIX):
                try:
                    old = time.time() - entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue
                if old < _UNLOCKED_GRACE:
                    continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue  # gone already, or not a file
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live upload
                try:
                    if os.stat(entry.path).st_ino != os.fstat(fd).st_ino:
                        continue
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # renamed into place, or removed by another sweep
                removed += 1
            finally:
                os.close(fd)
        return removed

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
        target = self._path(key)
        try:
            staged, lock = self._stage()
            try:
                # A second descriptor writes; ``lock`` keeps the lock until the rename.
                with os.fdopen(os.dup(lock), "wb") as out:
                    if isinstance(data, bytes | bytearray | memoryview):
                        out.write(data)
                    else:
                        for chunk in pull(data):
                            out.write(chunk)
                    if metadata:
                        os.setxattr(out.fileno(), _XATTR, json.dumps(dict(metadata)).encode())
                    out.flush()
                    os.fsync(out.fileno())
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise self._file_folder_clash(key) from None
                if target.is_dir():
                    raise self._file_folder_clash(key)
                if create:
                    os.link(staged, target)  # fails if the key exists: atomic put-if-absent
                else:
                    os.replace(staged, target)
            finally:
                staged.unlink(missing_ok=True)
                os.close(lock)
        except SourceFailed as failed:
            # The caller's source broke, not the store: re-raise its own error.
            raise (failed.__cause__ or failed) from None
        except OSError as exc:
            raise self._fail(exc, key, "writing") from None

    def _file_folder_clash(self, key: str) -> ObjectStoreError:
        return ObjectStoreError(
            f"writing {self._uri(key)} failed: the local store keeps objects as files, so a "
            "key cannot also be the folder of another key (as 'a' and 'a/b' would need); "
            "choose keys that do not nest, or use an S3 profile",
            uri=self._uri(key),
        )

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError:
            return
        except OSError as exc:
            raise self._fail(exc, key, "deleting") from None
        # Remove folders left empty, as an object store has no empty folders.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def copy(self, src: str, dst: str) -> None:
        fd, info = self._open(src, None)
        try:
            with os.fdopen(os.dup(fd), "rb") as source:

                def chunks() -> Iterator[bytes]:
                    while block := source.read(8 * 1024 * 1024):
                        yield block

                plan = UploadPlan(size=info.size, multipart=False, part_size=info.size, parts=1)
                self.put(
                    dst,
                    chunks(),
                    metadata=info.metadata or {},
                    plan=plan,
                    create=False,
                    concurrency=1,
                )
        finally:
            os.close(fd)
