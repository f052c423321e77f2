"""A bucket as a zarr store, for reading (and writing) Zarr v3 assets in place.

S3 and memory buckets go through ``zarr.storage.ObjectStore`` over the same
obstore client the `Store` uses (so the same endpoint, credentials and role);
the local profile's buckets are folders, read with ``zarr.storage.LocalStore``.
Zarr reads only the chunk objects a slice needs: a window of a long recording
costs its metadata and the chunks it overlaps, never the whole array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import ConfigError
from ._local import LocalBackend
from ._obstore_backend import ObstoreBackend
from ._store import Store

if TYPE_CHECKING:
    from zarr.abc.store import Store as ZarrStore

__all__ = ["zarr_store"]


def zarr_store(store: Store, *, read_only: bool = True) -> ZarrStore:
    """The bucket of ``store`` as a zarr store; keys are the bucket's keys.

    A read-only `Store` always gives a read-only zarr store.
    """
    import zarr.storage

    read_only = read_only or not store.writable
    backend = store.backend
    if isinstance(backend, LocalBackend):
        return zarr.storage.LocalStore(backend.root, read_only=read_only)
    if isinstance(backend, ObstoreBackend):
        return zarr.storage.ObjectStore(backend.client, read_only=read_only)
    raise ConfigError(f"{store.base_uri}: Zarr assets cannot be read from this kind of bucket")
