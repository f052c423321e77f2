"""How a command finds its profile, its config file and its catalog.

Read commands never create a catalog: on the local profile a missing catalog
folder is an error naming the profile, the path and how to create one. Before
a command talks to an S3 endpoint, one anonymous ``HEAD /`` with a short
timeout checks that the endpoint answers at all (any HTTP status will do), so
an unreachable or silent server is one line after seconds, not a retry storm
after a minute or a hang. No credential is sent. The check is skipped when an
HTTP(S) proxy is configured (the proxy decides what is reachable).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import STATE, CliError

if TYPE_CHECKING:
    from .._config import LocalProfile, Role, S3Profile

# The configuration (pydantic-settings) loads inside the functions that need it,
# so that commands which read no profile (``ursa --help``) start without it.

__all__ = ["CONNECT_TIMEOUT_S", "catalog_location", "config_file", "known_profiles", "open_profile"]

CONNECT_TIMEOUT_S = 3.0
"""Bound on connecting to an S3 endpoint in the reachability check."""
ANSWER_TIMEOUT_S = 5.0
"""Bound on the endpoint's answer to the check's ``HEAD /``."""

_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def config_file() -> Path | None:
    """The config file profiles are read from (``$URSA_CONFIG``, ./ursa.toml, ~/.config/…)."""
    from .._config import _config_file

    return _config_file(None)


def known_profiles() -> list[str]:
    """Profile names from the config file and ``URSA_PROFILES__*``, plus ``local``."""
    from .._config import _Settings

    settings = _Settings.from_file(config_file())
    return sorted({"local", *(name.lower() for name in settings.profiles)})


def catalog_location(profile: LocalProfile | S3Profile) -> str:
    from .._config import S3Profile

    if isinstance(profile, S3Profile):
        return profile.resolved_catalog_uri
    return profile.catalog_uri


def _endpoints(profile: S3Profile, roles: tuple[Role, ...]) -> dict[str, tuple[str, str, int]]:
    found = {}
    for role in roles:
        endpoint = profile.endpoint_for(role)
        if endpoint is None:
            region = "" if profile.region in ("auto", "us-east-1") else f".{profile.region}"
            host = f"s3{region}.amazonaws.com"
            found[f"https://{host}"] = ("https", host, 443)
            continue
        parts = urlsplit(endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found[endpoint] = (parts.scheme, parts.hostname or "", port)
    return found


def _probe(scheme: str, host: str, port: int) -> str | None:
    """Why ``HEAD /`` got no HTTP answer, or None when it got one (any status)."""
    import http.client
    import ssl

    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        return "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)).lower()
    try:
        sock.settimeout(ANSWER_TIMEOUT_S)
        if scheme == "https":
            # Reachability only, no credential sent: the real client verifies the certificate.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=ANSWER_TIMEOUT_S)
        connection.sock = sock
        connection.request("HEAD", "/")
        connection.getresponse().close()
        return None
    except TimeoutError:
        return f"connected, but no HTTP answer within {ANSWER_TIMEOUT_S:.0f} s"
    except (OSError, http.client.HTTPException) as exc:
        return f"connected, but {exc}"
    finally:
        sock.close()


def check_reachable(profile: S3Profile, roles: tuple[Role, ...] | None = None) -> None:
    """One ``HEAD /`` per endpoint the roles use (all of them by default); `CliError`
    naming one that does not answer."""
    from .._config import ROLES

    roles = ROLES if roles is None else roles
    if any(os.environ.get(var) for var in _PROXY_VARS):
        return
    for endpoint, (scheme, host, port) in _endpoints(profile, roles).items():
        reason = _probe(scheme, host, port)
        if reason is not None:
            env = f"URSA_PROFILES__{profile.name.upper()}__ENDPOINT"
            raise CliError(
                f"cannot reach {endpoint} (profile {profile.name!r}): {reason}; check "
                f"that the server is up, your network or VPN, and profiles.{profile.name}."
                f"endpoint in {config_file() or 'the config file'} (or {env})"
            )


def open_profile(
    name: str | None,
    root: Path | None = None,
    *,
    roles: tuple[Role, ...] = ("raw_ro", "assets_ro"),
    needs_catalog: bool = False,
) -> LocalProfile | S3Profile:
    """Load the profile, check its endpoint answers, and (read commands) that it has a catalog."""
    from .._config import S3Profile, load_profile

    profile = load_profile(name, local_root=root)
    STATE.profile = profile
    if isinstance(profile, S3Profile):
        check_reachable(profile, roles)
    elif needs_catalog and not Path(profile.catalog_uri).is_dir():
        raise CliError(
            f"profile {profile.name!r} has no catalog at {profile.catalog_uri} (read commands "
            "never create one); ingest a session first (ursa ingest DIR), or point at an "
            "existing catalog with --root DIR, $URSA_LOCAL_ROOT or --profile NAME"
        )
    return profile


def describe_profile(profile: LocalProfile | S3Profile) -> dict[str, Any]:
    """The settings `profile show` and `profile list` print; never a secret."""
    from .._config import ROLES, LocalProfile

    info: dict[str, Any] = {
        "name": profile.name,
        "kind": profile.kind,
        "raw": profile.bucket_uri("raw"),
        "assets": profile.bucket_uri("assets"),
        "catalog": catalog_location(profile),
    }
    if isinstance(profile, LocalProfile):
        info["root"] = str(profile.root)
    else:
        from .._config import default_env_credentials

        info["endpoint"] = profile.endpoint or "(AWS default)"
        info["region"] = profile.region
        info["credentials"] = {
            role: (
                profile.credentials.get(role) or default_env_credentials(profile.name, role)
            ).model_dump(exclude_none=True)
            for role in ROLES
        }
    return info
