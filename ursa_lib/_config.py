"""Profiles: where the buckets and the catalog are, and whose keys to use.

Two kinds of profile:

* ``local`` — the embedded default. One directory (default ``./.ursa``) holds a
  folder per bucket and the catalog. No server, no credentials.
* ``s3`` — any S3-compatible service (R2, AWS S3, MinIO, ...). Named profiles come
  from a TOML config file and/or environment variables.

Config file: ``$URSA_CONFIG`` if set, else ``./ursa.toml`` if present, else
``~/.config/ursa/config.toml`` if present::

    [profiles.lab]
    endpoint = "https://<account>.r2.cloudflarestorage.com"
    region = "auto"
    raw_bucket = "lab-raw"
    assets_bucket = "lab-assets"
    # catalog_uri defaults to s3://<assets_bucket>/catalog

    [profiles.lab.credentials.raw_ro]   # optional: these are the default names
    access_key_id_env = "URSA_LAB_RAW_RO_ACCESS_KEY_ID"
    secret_access_key_env = "URSA_LAB_RAW_RO_SECRET_ACCESS_KEY"

Every setting can also come from the environment as
``URSA_PROFILES__<NAME>__<SETTING>`` (e.g. ``URSA_PROFILES__LAB__RAW_BUCKET``),
which wins over the file. ``URSA_PROFILE`` picks the profile (default ``local``)
and ``URSA_LOCAL_ROOT`` moves the local profile's directory. A variable set to
the empty string counts as unset.

The config names *which environment variables* hold each role's keys, never the
keys themselves; the keys are read only when a store for that role is opened.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ._errors import ConfigError
from ._secrets import register_secret

__all__ = [
    "BUCKET_OF_ROLE",
    "ROLES",
    "BucketKind",
    "EnvCredentials",
    "LocalProfile",
    "Profile",
    "Role",
    "S3Credentials",
    "S3Profile",
    "load_profile",
]

Role = Literal["raw_ro", "raw_rw", "assets_ro", "assets_rw"]
"""A bucket plus an access level. Read verbs use ``*_ro``; writes need ``*_rw``."""

BucketKind = Literal["raw", "assets"]

ROLES: tuple[Role, ...] = ("raw_ro", "raw_rw", "assets_ro", "assets_rw")
BUCKET_OF_ROLE: Mapping[Role, BucketKind] = {
    "raw_ro": "raw",
    "raw_rw": "raw",
    "assets_ro": "assets",
    "assets_rw": "assets",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def is_writable(role: Role) -> bool:
    """Whether ``role`` may write (the ``*_rw`` roles)."""
    return role.endswith("_rw")


class S3Credentials(BaseModel):
    """One role's resolved keys. ``repr()`` never shows the values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_key_id: SecretStr
    """Access key id (kept secret too: servers echo it in error bodies)."""
    secret_access_key: SecretStr
    """Secret access key."""
    session_token: SecretStr | None = None
    """Optional session token for temporary credentials."""

    def model_post_init(self, __context: Any) -> None:
        register_secret(self.access_key_id.get_secret_value())
        register_secret(self.secret_access_key.get_secret_value())
        if self.session_token is not None:
            register_secret(self.session_token.get_secret_value())


class EnvCredentials(BaseModel):
    """Which environment variables hold one role's keys (never the keys)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_key_id_env: str
    """Variable holding the access key id."""
    secret_access_key_env: str
    """Variable holding the secret access key."""
    session_token_env: str | None = None
    """Variable holding a session token, for temporary credentials."""

    def resolve(self, profile: str, role: Role) -> S3Credentials:
        values: dict[str, str | None] = {}
        for field, var in (
            ("access_key_id", self.access_key_id_env),
            ("secret_access_key", self.secret_access_key_env),
        ):
            value = os.environ.get(var)
            if not value:
                raise ConfigError(
                    f"profile {profile!r}, role {role!r}: environment variable {var} "
                    f"({field}) is not set; export it or point "
                    f"profiles.{profile}.credentials.{role}.{field}_env at another variable"
                )
            values[field] = value
        token = os.environ.get(self.session_token_env) if self.session_token_env else None
        return S3Credentials(
            access_key_id=SecretStr(values["access_key_id"] or ""),
            secret_access_key=SecretStr(values["secret_access_key"] or ""),
            session_token=SecretStr(token) if token else None,
        )


def default_env_credentials(profile: str, role: Role) -> EnvCredentials:
    stem = f"URSA_{profile}_{role}".upper().replace("-", "_")
    return EnvCredentials(
        access_key_id_env=f"{stem}_ACCESS_KEY_ID",
        secret_access_key_env=f"{stem}_SECRET_ACCESS_KEY",
    )


class LocalProfile(BaseModel):
    """The embedded default: a directory with a folder per bucket and the catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local"] = "local"
    name: str = "local"
    """Profile name."""
    root: Path = Path(".ursa")
    """Directory holding ``raw/``, ``assets/`` and ``catalog/``; made absolute on load."""

    @field_validator("root")
    @classmethod
    def _absolute(cls, root: Path) -> Path:
        return root.expanduser().absolute()

    def bucket_path(self, bucket: BucketKind) -> Path:
        """Folder that plays the role of ``bucket``."""
        return self.root / bucket

    def bucket_uri(self, bucket: BucketKind) -> str:
        """``file://`` URI of the bucket folder, ending in ``/``."""
        return self.bucket_path(bucket).as_uri() + "/"

    @property
    def catalog_uri(self) -> str:
        """Where the catalog lives (a local directory)."""
        return str(self.root / "catalog")


class S3Profile(BaseModel):
    """An S3-compatible deployment: endpoint, buckets, catalog and per-role keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["s3"] = "s3"
    name: str
    """Profile name."""
    endpoint: str | None = None
    """Service URL, e.g. ``https://<account>.r2.cloudflarestorage.com``; None for AWS."""
    role_endpoints: dict[Role, str] = Field(default_factory=dict)
    """Per-role endpoint overrides, e.g. a read-only gateway for the ``*_ro`` roles."""
    region: str = "auto"
    """Signing region (``auto`` for R2)."""
    raw_bucket: str
    """Bucket holding the original segment files."""
    assets_bucket: str
    """Bucket holding processed assets and, for shared deployments, the catalog."""
    catalog_uri: str | None = None
    """LanceDB URI of the catalog; defaults to ``s3://<assets_bucket>/catalog``."""
    conditional_writes: bool = True
    """Whether the service enforces put-if-absent (``If-None-Match: *``)."""
    credentials: dict[Role, EnvCredentials] = Field(default_factory=dict)
    """Where each role's keys come from; missing roles use the default variable names."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ConfigError("must be letters, digits, '_' or '-' (at most 63)")
        return name

    @field_validator("raw_bucket", "assets_bucket")
    @classmethod
    def _bucket(cls, bucket: str) -> str:
        if not _BUCKET.match(bucket):
            raise ConfigError(
                "must be a valid S3 bucket name: 3-63 lowercase letters, digits, '.' or '-'"
            )
        return bucket

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, endpoint: str | None) -> str | None:
        return _check_endpoint(endpoint) if endpoint is not None else None

    @field_validator("role_endpoints")
    @classmethod
    def _role_endpoints(cls, endpoints: dict[Role, str]) -> dict[Role, str]:
        return {role: _check_endpoint(url) for role, url in endpoints.items()}

    def endpoint_for(self, role: Role) -> str | None:
        """The endpoint that ``role`` talks to."""
        return self.role_endpoints.get(role, self.endpoint)

    def bucket_name(self, bucket: BucketKind) -> str:
        return self.raw_bucket if bucket == "raw" else self.assets_bucket

    def bucket_uri(self, bucket: BucketKind) -> str:
        """``s3://`` URI of the bucket, ending in ``/``."""
        return f"s3://{self.bucket_name(bucket)}/"

    @property
    def resolved_catalog_uri(self) -> str:
        return self.catalog_uri or f"s3://{self.assets_bucket}/catalog"

    def credentials_for(self, role: Role) -> S3Credentials:
        """Read ``role``'s keys from the environment; `ConfigError` names a missing variable."""
        source = self.credentials.get(role) or default_env_credentials(self.name, role)
        return source.resolve(self.name, role)


def _check_endpoint(endpoint: str) -> str:
    if not re.match(r"^https?://[^/\s]+/?$", endpoint):
        raise ConfigError("must be a URL like https://host[:port] with no path")
    if "@" in endpoint:  # user:password@host: never kept, shown or sent
        raise ConfigError(
            "must not carry a user name or password (user:password@host): S3 signs each "
            "request with the role's keys; give them in URSA_<PROFILE>_<ROLE>_ACCESS_KEY_ID "
            "and _SECRET_ACCESS_KEY"
        )
    return endpoint.rstrip("/")


Profile = Annotated[LocalProfile | S3Profile, Field(discriminator="kind")]


def _config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    env = os.environ.get("URSA_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"URSA_CONFIG points at {path}, which does not exist")
        return path
    for candidate in (Path("ursa.toml"), Path.home() / ".config" / "ursa" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


class _Settings(BaseSettings):
    """Top-level settings: environment (``URSA_*``) over the TOML file."""

    model_config = SettingsConfigDict(
        env_prefix="URSA_",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # URSA_PROFILE= (as a script's unset variable) is no setting
    )

    profile: str = "local"
    local_root: Path = Path(".ursa")
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path | None) -> _Settings:
        class _WithFile(cls):  # type: ignore[valid-type,misc]
            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
                if path is not None:
                    sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
                return tuple(sources)

        return _WithFile()


def _describe(error: ValidationError, profile: str) -> str:
    lines = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"])
        env = "URSA_PROFILES__" + "__".join([profile, *map(str, item["loc"])]).upper()
        if item["type"] == "missing":
            lines.append(f"missing setting profiles.{profile}.{loc} (or set {env})")
        else:
            lines.append(f"setting profiles.{profile}.{loc}: {item['msg']}")
    return f"profile {profile!r} is incomplete or invalid: " + "; ".join(lines)


def load_profile(
    name: str | None = None,
    *,
    config_file: Path | None = None,
    local_root: Path | None = None,
) -> LocalProfile | S3Profile:
    """Build the named profile (default ``$URSA_PROFILE`` or ``local``).

    Raises `ConfigError` naming the profile and the missing or invalid setting.
    Credentials are not read here; they are read when a store is opened.
    """
    path = _config_file(config_file)
    try:
        settings = _Settings.from_file(path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"config file {path} or URSA_* environment: {exc}") from None
    name = name or settings.profile
    profiles = {key.lower(): value for key, value in settings.profiles.items()}
    if name == "local" and "local" not in profiles:
        return LocalProfile(root=local_root or settings.local_root)
    if name.lower() not in profiles:
        known = ", ".join(sorted({"local", *profiles}))
        where = f"config file {path}" if path else "no config file found"
        raise ConfigError(f"unknown profile {name!r} (known: {known}; {where})")
    data = {"name": name, **profiles[name.lower()]}
    data.setdefault("kind", "s3")
    try:
        if data["kind"] == "local":
            return LocalProfile.model_validate(data)
        return S3Profile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, name)) from None
