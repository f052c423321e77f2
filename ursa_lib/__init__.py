"""Ursa: research recording sessions into object storage, catalogued, and back.

A plain library: everything the Dagster pipelines do is available from Python
and from the ``ursa`` command.
"""

from ._config import (
    ROLES,
    EnvCredentials,
    LocalProfile,
    Profile,
    Role,
    S3Credentials,
    S3Profile,
    load_profile,
)
from ._errors import (
    AccessDeniedError,
    ConfigError,
    InvalidKeyError,
    InvalidUriError,
    ObjectChangedError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreTransientError,
    UrsaError,
    WriteRefusedError,
)
from .store import (
    ObjectInfo,
    RetryPolicy,
    StorageLocation,
    Store,
    TransferSettings,
    open_store,
    parse_storage_uri,
    validate_key,
)

__all__ = [
    "ROLES",
    "AccessDeniedError",
    "ConfigError",
    "EnvCredentials",
    "InvalidKeyError",
    "InvalidUriError",
    "LocalProfile",
    "ObjectChangedError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectStoreError",
    "ObjectStoreTransientError",
    "Profile",
    "RetryPolicy",
    "Role",
    "S3Credentials",
    "S3Profile",
    "StorageLocation",
    "Store",
    "TransferSettings",
    "UrsaError",
    "WriteRefusedError",
    "load_profile",
    "open_store",
    "parse_storage_uri",
    "validate_key",
]
