"""Storage URIs: ``s3://<bucket>/<key>`` and ``file:///<abs path>``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .._config import BucketKind, LocalProfile, Role, S3Profile
from .._errors import InvalidKeyError, InvalidUriError
from ._keys import validate_prefix

__all__ = ["StorageLocation", "parse_storage_uri"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageLocation:
    """Where a URI points: which bucket of the profile, and the key (or folder
    prefix, ending in ``/``) inside it."""

    uri: str
    bucket: BucketKind
    key: str

    def role(self, *, write: bool = False) -> Role:
        """The role that reads (default) or writes this location."""
        return f"{self.bucket}_{'rw' if write else 'ro'}"  # type: ignore[return-value]


def parse_storage_uri(uri: str, profile: LocalProfile | S3Profile) -> StorageLocation:
    """Resolve ``uri`` to a bucket of ``profile`` and a key.

    ``s3://`` URIs belong to S3 profiles and ``file://`` URIs to the local
    profile. Anything else — another scheme, a bucket the profile does not use,
    a path outside its bucket folders, a key with ``..``/``.``/empty segments —
    raises `InvalidUriError` saying which.
    """
    if not isinstance(uri, str) or not uri:
        raise InvalidUriError("storage URI must be a non-empty string")
    parts = urlsplit(uri)
    if parts.query or parts.fragment:
        raise InvalidUriError(f"storage URI {uri!r} must not carry '?' or '#' parts")
    if parts.scheme == "s3":
        if not isinstance(profile, S3Profile):
            raise InvalidUriError(f"{uri!r} is an s3:// URI but profile {profile.name!r} is local")
        bucket_name, key = parts.netloc, parts.path.removeprefix("/")
        kinds: dict[str, BucketKind] = {profile.raw_bucket: "raw", profile.assets_bucket: "assets"}
        if bucket_name not in kinds:
            raise InvalidUriError(
                f"{uri!r} names bucket {bucket_name!r}, which is neither the raw bucket "
                f"{profile.raw_bucket!r} nor the assets bucket {profile.assets_bucket!r} "
                f"of profile {profile.name!r}"
            )
        bucket = kinds[bucket_name]
    elif parts.scheme == "file":
        if not isinstance(profile, LocalProfile):
            raise InvalidUriError(f"{uri!r} is a file:// URI but profile {profile.name!r} is S3")
        if parts.netloc not in ("", "localhost"):
            raise InvalidUriError(f"{uri!r}: file:// URIs must be local (file:///abs/path)")
        raw_path = unquote(parts.path)
        if not raw_path.startswith("/"):
            raise InvalidUriError(f"{uri!r}: file:// URIs need an absolute path")
        path = Path(raw_path)
        kind: BucketKind
        for kind in ("raw", "assets"):
            root = profile.bucket_path(kind)
            if path == root or root in path.parents:
                bucket = kind
                key = raw_path[len(str(root)) :].removeprefix("/")
                break
        else:
            raise InvalidUriError(
                f"{uri!r} is outside the bucket folders of profile {profile.name!r} "
                f"({profile.bucket_path('raw')}, {profile.bucket_path('assets')})"
            )
    else:
        raise InvalidUriError(
            f"{uri!r}: unsupported scheme {parts.scheme or '(none)'!r}; use s3:// or file://"
        )
    try:
        validate_prefix(key)
    except InvalidKeyError as exc:
        raise InvalidUriError(f"storage URI {uri!r} has an invalid key: {exc}") from None
    return StorageLocation(uri=uri, bucket=bucket, key=key)
