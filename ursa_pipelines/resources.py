"""The one resource: the library's entry point for the configured profile."""

from pathlib import Path

import dagster as dg

from ursa_lib import DataInterface, LocalProfile, RetryPolicy, Role, S3Profile, Store, load_profile


class UrsaResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Which Ursa profile this deployment uses, and where rigs land sessions.

    Credentials are never part of this config: the profile names the
    environment variables that hold each role's keys (set them per deployment,
    e.g. ``URSA_LAB_RAW_RW_ACCESS_KEY_ID``), and they are read only when a run
    opens a store — never by the webserver or a sensor that does not need them.
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

    def load_profile(self) -> LocalProfile | S3Profile:
        return load_profile(
            self.profile,
            config_file=Path(self.config_file) if self.config_file else None,
            local_root=Path(self.local_root) if self.local_root else None,
        )

    def interface(self) -> DataInterface:
        """A fresh `DataInterface` (read-only until ``enable_writes()``)."""
        return DataInterface(
            self.load_profile(),
            max_concurrent_files=self.max_concurrent_files,
            retry=RetryPolicy(attempts=self.store_attempts),
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
            if (landing / rec_id / "manifest.json").exists():
                return landing / rec_id
        raise dg.Failure(
            description=(
                f"no session {rec_id!r} in the landing directories "
                f"{[str(p) for p in self.landing_paths()]}; set session_dir in the run config"
            ),
            allow_retries=False,
        )
