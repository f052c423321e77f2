"""The object-store layer: one bucket through one role, over obstore."""

from ._backend import Backend
from ._digest import SHA256_METADATA_KEY, expected_sha256, recorded_sha256
from ._error_map import OBSTORE_ERROR_MAP
from ._info import ObjectInfo
from ._keys import join_key, validate_key, validate_prefix
from ._local import STAGING_DIR, LocalBackend
from ._multipart import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, UploadPlan, plan_upload
from ._obstore_backend import ObstoreBackend, TimeoutSettings
from ._open import open_store
from ._options import lance_storage_options
from ._reader import ObjectReader
from ._retry import RetryPolicy, retrying
from ._store import PutMode, Source, Store, TransferSettings
from ._uri import StorageLocation, parse_storage_uri
from ._zarr import zarr_store

__all__ = [
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "OBSTORE_ERROR_MAP",
    "SHA256_METADATA_KEY",
    "STAGING_DIR",
    "Backend",
    "LocalBackend",
    "ObjectInfo",
    "ObjectReader",
    "ObstoreBackend",
    "PutMode",
    "RetryPolicy",
    "Source",
    "StorageLocation",
    "Store",
    "TimeoutSettings",
    "TransferSettings",
    "UploadPlan",
    "expected_sha256",
    "join_key",
    "lance_storage_options",
    "open_store",
    "parse_storage_uri",
    "plan_upload",
    "recorded_sha256",
    "retrying",
    "validate_key",
    "validate_prefix",
    "zarr_store",
]
