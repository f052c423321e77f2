"""Open a profile's bucket for one role."""

from __future__ import annotations

from .._config import (
    BUCKET_OF_ROLE,
    ROLES,
    LocalProfile,
    Role,
    S3Credentials,
    S3Profile,
    is_writable,
)
from .._errors import ConfigError
from ._local import LocalBackend
from ._obstore_backend import ObstoreBackend
from ._retry import RetryPolicy
from ._store import Store, TransferSettings

__all__ = ["open_store"]


def open_store(
    profile: LocalProfile | S3Profile,
    role: Role,
    *,
    retry: RetryPolicy | None = None,
    transfer: TransferSettings | None = None,
    credentials: S3Credentials | None = None,
) -> Store:
    """The bucket that ``role`` names, with that role's credentials.

    ``*_ro`` roles give a store that refuses writes before any request. For S3
    profiles the role's keys are read from the environment now (unless
    ``credentials`` gives them); a missing one raises `ConfigError` naming the
    variable.
    """
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    bucket = BUCKET_OF_ROLE[role]
    writable = is_writable(role)
    if isinstance(profile, LocalProfile):
        root = profile.bucket_path(bucket)
        if writable:
            root.mkdir(parents=True, exist_ok=True)
        backend: LocalBackend | ObstoreBackend = LocalBackend(root)
    else:
        backend = ObstoreBackend.s3(
            bucket=profile.bucket_name(bucket),
            endpoint=profile.endpoint_for(role),
            region=profile.region,
            credentials=credentials or profile.credentials_for(role),
            supports_create=profile.conditional_writes,
        )
    return Store(backend, role=role, writable=writable, retry=retry, transfer=transfer)
