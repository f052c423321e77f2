"""A session's manifest as stored in the raw bucket."""

from __future__ import annotations

import json

from .._errors import ManifestError
from .._layout import SessionPrefix
from ..store import Store
from ._manifest import Manifest, parse_manifest

__all__ = ["load_stored_manifest"]


def load_stored_manifest(store: Store, session: SessionPrefix) -> Manifest:
    """The manifest stored under ``session``, validated.

    Raises `ObjectNotFoundError` when there is none, and `ManifestError` (naming
    its URI) when the stored bytes are not JSON or not a manifest — never a
    bare ``ValueError`` and never ``None``, so every reader treats a damaged
    manifest the same way.
    """
    uri = store.base_uri + session.manifest_key
    raw = store.get(session.manifest_key)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{uri} is not valid JSON ({exc}); fix the stored manifest") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{uri} is not a JSON object; fix the stored manifest")
    return parse_manifest(uri, data)
