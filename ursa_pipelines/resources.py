"""The one resource: the library's entry point for the configured profile."""

from pathlib import Path

import dagster as dg

from ursa_lib import LocalProfile, Role, S3Profile, Store, load_profile, open_store


class UrsaResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Which Ursa profile this deployment uses.

    Credentials are never part of this config: the profile names the
    environment variables that hold each role's keys, read when a store opens.
    """

    profile: str = "local"
    """Profile name (``local`` is the embedded default)."""
    local_root: str | None = None
    """Directory of the local profile (default ``$URSA_LOCAL_ROOT`` or ``./.ursa``)."""

    def load_profile(self) -> LocalProfile | S3Profile:
        root = Path(self.local_root) if self.local_root else None
        return load_profile(self.profile, local_root=root)

    def store(self, role: Role) -> Store:
        return open_store(self.load_profile(), role)
