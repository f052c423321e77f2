"""Object-store options for libraries that open S3 URIs themselves (Lance, LanceDB)."""

from __future__ import annotations

from .._config import LocalProfile, Role, S3Credentials, S3Profile

__all__ = ["lance_storage_options"]


def lance_storage_options(
    profile: LocalProfile | S3Profile, role: Role, credentials: S3Credentials | None = None
) -> dict[str, str]:
    """``storage_options`` that reach the bucket of ``role`` with that role's keys.

    Empty for the local profile (plain paths). The values hold secrets: pass
    them to the library, never log or show them.
    """
    if isinstance(profile, LocalProfile):
        return {}
    creds = credentials or profile.credentials_for(role)
    options = {
        "aws_access_key_id": creds.access_key_id.get_secret_value(),
        "aws_secret_access_key": creds.secret_access_key.get_secret_value(),
        "aws_region": profile.region,
    }
    endpoint = profile.endpoint_for(role)
    if endpoint:
        options["aws_endpoint"] = endpoint
        options["allow_http"] = str(endpoint.startswith("http://")).lower()
    if creds.session_token is not None:
        options["aws_session_token"] = creds.session_token.get_secret_value()
    return options
