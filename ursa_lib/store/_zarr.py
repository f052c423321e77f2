"""A bucket as a zarr store, for reading (and writing) Zarr v3 assets in place.

S3 and memory buckets go through ``zarr.storage.ObjectStore`` over the same
obstore client the `Store` uses (so the same endpoint, credentials and role);
the local profile's buckets are folders, read with ``zarr.storage.LocalStore``.
Zarr reads only the chunk objects a slice needs: a window of a long recording
costs its metadata and the chunks it overlaps, never the whole array.

Zarr reads a missing chunk as the array's fill value. Ursa writes every chunk
of a published asset (``write_empty_chunks``), so with ``published=True`` a
missing chunk is lost data and raises `ObjectNotFoundError`, never zeros.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, ObjectNotFoundError
from ._local import LocalBackend
from ._obstore_backend import ObstoreBackend
from ._store import Store

if TYPE_CHECKING:
    from zarr.abc.store import Store as ZarrStore

__all__ = ["zarr_store"]

_CHUNK_KEY = re.compile(r"(^|/)c(/\d+)+$")
"""A Zarr v3 chunk key (the default encoding: ``…/c/<i>/<j>``)."""


def zarr_store(store: Store, *, read_only: bool = True, published: bool = False) -> ZarrStore:
    """The bucket of ``store`` as a zarr store; keys are the bucket's keys.

    A read-only `Store` always gives a read-only zarr store. ``published=True``:
    a chunk that is not there raises (see the module docstring).
    """
    import zarr.storage

    read_only = read_only or not store.writable
    backend = store.backend
    inner: ZarrStore
    if isinstance(backend, LocalBackend):
        inner = zarr.storage.LocalStore(backend.root, read_only=read_only)
    elif isinstance(backend, ObstoreBackend):
        inner = zarr.storage.ObjectStore(backend.client, read_only=read_only)
    else:
        raise ConfigError(f"{store.base_uri}: Zarr assets cannot be read from this kind of bucket")
    return _published(inner, store) if published else inner


def _published(inner: ZarrStore, store: Store) -> ZarrStore:
    from zarr.storage import WrapperStore

    class _Published(WrapperStore[Any]):
        async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
            value = await self._store.get(key, prototype, byte_range)
            if value is None and _CHUNK_KEY.search(key):
                raise ObjectNotFoundError(
                    f"{store.uri(key)} is missing: a chunk of a published asset (a reader "
                    "would see zeros); run `ursa scrub` to find what else is gone, then "
                    "process the recording again",
                    uri=store.uri(key),
                )
            return value

    return _Published(inner)
