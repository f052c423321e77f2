"""The one resource: the library's entry point for the configured profile."""

from pathlib import Path

import dagster as dg
from pydantic import SecretStr

from ursa_lib import (
    MANIFEST_NAME,
    DataInterface,
    LocalProfile,
    RetryPolicy,
    Role,
    S3Credentials,
    S3Profile,
    Store,
    load_profile,
)

from ._boundary import ursa_errors


class UrsaResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Which Ursa profile this deployment uses, and where rigs land sessions.

    Keys: either set the variables the profile names (e.g.
    ``URSA_LAB_RAW_RW_ACCESS_KEY_ID``), read only when a run opens that role, or
    give them here through Dagster's ``EnvVar`` — the UI then shows the
    variable's name, never its value::

        UrsaResource(
            profile="lab",
            ro_access_key_id=dg.EnvVar("LAB_RO_KEY_ID"),
            ro_secret_access_key=dg.EnvVar("LAB_RO_SECRET"),
            rw_access_key_id=dg.EnvVar("LAB_RW_KEY_ID"),
            rw_secret_access_key=dg.EnvVar("LAB_RW_SECRET"),
        )

    ``ro_*`` serve the ``raw_ro``/``assets_ro`` roles, ``rw_*`` the ``*_rw`` roles.
    """

    profile: str = "local"
    """Profile name (``local`` is the embedded default)."""
    local_root: str | None = None
    """Directory of the local profile (default ``$URSA_LOCAL_ROOT`` or ``./.ursa``)."""
    config_file: str | None = None
    """Profile file (default ``$URSA_CONFIG``, ``./ursa.toml``, ``~/.config/ursa/config.toml``)."""
    landing_dirs: list[str] = []  # noqa: RUF012 - pydantic copies defaults
    """Directories where rigs leave augmented sessions, one folder per session."""
    max_concurrent_files: int = 4
    """Files transferred at once by each ingest or download."""
    store_attempts: int = 6
    """Attempts per store operation inside the library before Dagster's retry policy."""
    ro_access_key_id: str | None = None
    """Key id for the read-only roles (use ``dg.EnvVar``); default: the profile's variables."""
    ro_secret_access_key: str | None = None
    """Secret for the read-only roles (use ``dg.EnvVar``)."""
    rw_access_key_id: str | None = None
    """Key id for the read-write roles (use ``dg.EnvVar``)."""
    rw_secret_access_key: str | None = None
    """Secret for the read-write roles (use ``dg.EnvVar``)."""

    def _credentials(self) -> dict[Role, S3Credentials]:
        out: dict[Role, S3Credentials] = {}
        for kind, key_id, secret in (
            ("ro", self.ro_access_key_id, self.ro_secret_access_key),
            ("rw", self.rw_access_key_id, self.rw_secret_access_key),
        ):
            if (key_id is None) != (secret is None):
                raise dg.Failure(
                    description=f"set both {kind}_access_key_id and {kind}_secret_access_key, "
                    "or neither",
                    allow_retries=False,
                )
            if key_id is not None and secret is not None:
                creds = S3Credentials(
                    access_key_id=SecretStr(key_id), secret_access_key=SecretStr(secret)
                )
                roles: tuple[Role, Role] = (
                    ("raw_ro", "assets_ro") if kind == "ro" else ("raw_rw", "assets_rw")
                )
                for role in roles:
                    out[role] = creds
        return out

    def load_profile(self) -> LocalProfile | S3Profile:
        return load_profile(
            self.profile,
            config_file=Path(self.config_file) if self.config_file else None,
            local_root=Path(self.local_root) if self.local_root else None,
        )

    def interface(self) -> DataInterface:
        """A fresh `DataInterface` (read-only until ``enable_writes()``).

        A profile that cannot be loaded is a permanent failure: retrying would
        not fix a missing setting.
        """
        with ursa_errors():
            return DataInterface(
                self.load_profile(),
                max_concurrent_files=self.max_concurrent_files,
                retry=RetryPolicy(attempts=self.store_attempts),
                credentials=self._credentials(),
            )

    def store(self, role: Role) -> Store:
        ursa = self.interface()
        if role.endswith("_rw"):
            ursa.enable_writes()
        return ursa.store(role)

    def landing_paths(self) -> list[Path]:
        return [Path(d) for d in self.landing_dirs]

    def find_session(self, rec_id: str) -> Path:
        """The session folder ``<landing dir>/<rec_id>``; `dg.Failure` if none has it."""
        for landing in self.landing_paths():
            if (landing / rec_id / MANIFEST_NAME).exists():
                return landing / rec_id
        raise dg.Failure(
            description=(
                f"no session {rec_id!r} in the landing directories "
                f"{[str(p) for p in self.landing_paths()]}; set session_dir in the run config"
            ),
            allow_retries=False,
        )
