"""Which sha256 an object's bytes must hash to: one rule for every verifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ._info import ObjectInfo

__all__ = ["SHA256_METADATA_KEY", "expected_sha256", "recorded_sha256"]

SHA256_METADATA_KEY = "sha256"
"""The user-metadata key under which an object carries the sha256 of its bytes."""


def recorded_sha256(source: ObjectInfo | Mapping[str, str] | None) -> str | None:
    """The sha256 an object carries in its user metadata (from `Store.head`, a read,
    or the metadata mapping itself), or None. A listing's entries carry no
    metadata, so they give None."""
    metadata = source.metadata if isinstance(source, ObjectInfo) else source
    return (metadata or {}).get(SHA256_METADATA_KEY)


def expected_sha256(
    source: ObjectInfo | Mapping[str, str] | None,
    manifest_digest: str | Literal["metadata"] | None = None,
) -> str | None:
    """The digest an object's bytes must hash to, or None if nothing was recorded.

    A session manifest's digest wins when one is given: it was computed on the
    rig, before any upload. Otherwise (``None`` or ``"metadata"``) it is the
    digest the object carries (`recorded_sha256` of ``source``). With a manifest
    digest, ``source`` is not read: pass None rather than fetch it.
    """
    if manifest_digest is not None and manifest_digest != "metadata":
        return manifest_digest
    return recorded_sha256(source)
