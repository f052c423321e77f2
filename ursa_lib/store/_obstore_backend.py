"""Backend over obstore: S3-compatible services and the in-memory store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import obstore
from obstore.store import MemoryStore, S3Store

from .._config import S3Credentials
from ._backend import SourceFailed, pull
from ._error_map import RangeUnsupported, map_error
from ._info import ObjectInfo
from ._multipart import UploadPlan

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import ClientConfig

__all__ = ["ObstoreBackend", "TimeoutSettings"]

_SYSTEM_ATTRIBUTES = frozenset(
    {
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Type",
        "Cache-Control",
        "Storage-Class",
    }
)


class TimeoutSettings:
    """Client timeouts that never cut a live transfer.

    obstore's default ``timeout`` bounds the *whole* request, body included, so a
    slow multi-GB transfer would be killed mid-way. Ursa sets that bound out of
    reach and relies on ``read_timeout`` instead, which fires only when no byte
    has arrived for that long: a stalled transfer fails fast, a live one never does.
    """

    connect_s: float = 10.0
    read_s: float = 30.0
    whole_request_s: float = 7 * 24 * 3600.0


@contextmanager
def _mapped(uri: str, action: str) -> Iterator[None]:
    try:
        yield
    except obstore.exceptions.BaseError as exc:
        if "non-partial response" in str(exc):
            raise RangeUnsupported(uri) from None
        raise map_error(exc, uri=uri, action=action) from None
    except SourceFailed as failed:
        # The caller's data broke, not the store: re-raise the caller's own error.
        raise (failed.__cause__ or failed) from None
    except OSError as exc:
        # obstore raises some failures as builtins (FileNotFoundError, ...).
        raise map_error(exc, uri=uri, action=action) from None


def _info(meta: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> ObjectInfo:
    metadata = None
    if attributes is not None:
        metadata = {k: v for k, v in attributes.items() if k not in _SYSTEM_ATTRIBUTES}
    modified = meta.get("last_modified")
    return ObjectInfo(
        key=str(meta["path"]),
        size=int(meta["size"]),
        etag=meta.get("e_tag"),
        last_modified=modified if isinstance(modified, dt.datetime) else None,
        metadata=metadata,
    )


class ObstoreBackend:
    """A bucket reached through an obstore store."""

    def __init__(self, store: S3Store | MemoryStore, *, base_uri: str, supports_create: bool):
        self._store = store
        self.base_uri = base_uri
        self.supports_create = supports_create
        self.supports_ranges = True
        """Cleared when the server answers a ranged GET with the whole object
        (``rclone serve s3`` does); reads then restart from byte 0 and skip."""

    def __repr__(self) -> str:
        return f"ObstoreBackend({self.base_uri!r})"

    @property
    def client(self) -> S3Store | MemoryStore:
        """The obstore store itself, for libraries that speak obstore (zarr)."""
        return self._store

    @classmethod
    def memory(cls) -> ObstoreBackend:
        return cls(MemoryStore(), base_uri="memory:///", supports_create=True)

    @classmethod
    def s3(
        cls,
        *,
        bucket: str,
        endpoint: str | None,
        region: str,
        credentials: S3Credentials,
        supports_create: bool = True,
        timeouts: TimeoutSettings | None = None,
    ) -> ObstoreBackend:
        timeouts = timeouts or TimeoutSettings()
        client_options: ClientConfig = {
            "connect_timeout": dt.timedelta(seconds=timeouts.connect_s),
            "read_timeout": dt.timedelta(seconds=timeouts.read_s),
            "timeout": dt.timedelta(seconds=timeouts.whole_request_s),
            "pool_idle_timeout": dt.timedelta(seconds=20),
            "allow_http": bool(endpoint and endpoint.startswith("http://")),
        }
        config: dict[str, Any] = {
            "access_key_id": credentials.access_key_id.get_secret_value(),
            "secret_access_key": credentials.secret_access_key.get_secret_value(),
            "region": region,
            "virtual_hosted_style_request": False,
        }
        if endpoint:
            config["endpoint"] = endpoint
        if credentials.session_token is not None:
            config["token"] = credentials.session_token.get_secret_value()
        # Request-level retries stay inside obstore, so a failed part is re-sent
        # rather than the whole file; Ursa's own policy retries whole operations on
        # top. obstore cannot read Retry-After, so its first wait is a full second:
        # what S3-compatible services ask of a throttled client.
        retry_config: Any = {
            "max_retries": 3,
            "retry_timeout": dt.timedelta(seconds=120),
            "backoff": {
                "init_backoff": dt.timedelta(seconds=1),
                "max_backoff": dt.timedelta(seconds=15),
                "base": 2,
            },
        }
        with _mapped(f"s3://{bucket}/", "opening"):
            store = S3Store(
                bucket,
                client_options=client_options,
                retry_config=retry_config,
                **config,
            )
        return cls(store, base_uri=f"s3://{bucket}/", supports_create=supports_create)

    def _uri(self, key: str) -> str:
        return self.base_uri + key

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        uri = self._uri(prefix)
        with _mapped(uri, "listing"):
            stream = obstore.list(self._store, prefix.rstrip("/") or None, chunk_size=1000)
            for batch in stream:
                for meta in batch:
                    yield _info(meta)

    def head(self, key: str) -> ObjectInfo:
        with _mapped(self._uri(key), "reading metadata of"):
            result = obstore.get(self._store, key, options={"head": True})
            return _info(result.meta, result.attributes)

    def _options(self, etag: str | None, **extra: Any) -> GetOptions:
        options: dict[str, Any] = dict(extra)
        if etag is not None:
            options["if_match"] = etag
        return options  # type: ignore[return-value]

    def get_stream(
        self, key: str, *, offset: int, etag: str | None, chunk_size: int
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        uri = self._uri(key)
        skip = 0
        if offset and not self.supports_ranges:
            offset, skip = 0, offset
        try:
            extra: dict[str, Any] = {"range": {"offset": offset}} if offset else {}
            with _mapped(uri, "reading"):
                result = obstore.get(self._store, key, options=self._options(etag, **extra))
        except RangeUnsupported:
            self.supports_ranges = False
            return self.get_stream(key, offset=offset, etag=etag, chunk_size=chunk_size)
        with _mapped(uri, "reading"):
            info = _info(result.meta, result.attributes)
            chunks = result.stream(min_chunk_size=chunk_size)

        def body() -> Iterator[bytes]:
            remaining_skip = skip
            with _mapped(uri, "reading"):
                for chunk in chunks:
                    # obstore hands out zero-copy buffers; a memoryview keeps it so.
                    data = memoryview(chunk)
                    if remaining_skip:
                        cut = min(remaining_skip, len(data))
                        data, remaining_skip = data[cut:], remaining_skip - cut
                        if not data:
                            continue
                    yield data  # type: ignore[misc]

        return info, body()

    def get_range(self, key: str, *, start: int, end: int, etag: str | None) -> bytes:
        if not self.supports_ranges:
            raise RangeUnsupported(self._uri(key))
        with _mapped(self._uri(key), "reading"):
            result = obstore.get(self._store, key, options=self._options(etag, range=(start, end)))
            return bytes(result.bytes())

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
        kwargs: dict[str, Any] = {"attributes": dict(metadata)} if metadata else {}
        if create:
            kwargs["mode"] = "create"
        with _mapped(self._uri(key), "writing"):
            obstore.put(
                self._store,
                key,
                data if isinstance(data, bytes) else pull(data),
                use_multipart=plan.multipart,
                chunk_size=max(plan.part_size, 1),
                max_concurrency=concurrency,
                **kwargs,
            )

    def delete(self, key: str) -> None:
        with _mapped(self._uri(key), "deleting"):
            obstore.delete(self._store, key)

    def copy(self, src: str, dst: str) -> None:
        with _mapped(self._uri(src), f"copying to {self._uri(dst)}"):
            obstore.copy(self._store, src, dst)
