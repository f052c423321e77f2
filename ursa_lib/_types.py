"""Validated value types shared by catalog rows and manifests."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo

from ._errors import InvalidValueError

__all__ = ["EpochNs", "Identifier", "Metadata", "RecordingHash", "StorageUri"]

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,128}$"),
]
"""Non-empty, at most 128 characters, letters, digits, ``_``, ``-`` and ``.`` only."""

RecordingHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""sha256 of the session's canonical file listing: 64 lowercase hex characters."""

EpochNs = Annotated[int, Field(ge=0, le=2**63 - 1)]
"""Nanoseconds since the Unix epoch (UTC)."""


DECODED_JSON = "ursa.decoded_json"
"""Validation-context flag: metadata values were just parsed from JSON text (a
catalog read), so they are JSON by construction and need no encoding check."""


def _json_only(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    if value and not (info.context and info.context.get(DECODED_JSON)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"metadata must hold only JSON values (str, number, bool, null, list, dict): {exc}"
            ) from None
    for key in value:
        if not key:
            raise InvalidValueError("metadata keys must be non-empty strings")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_json_only)]
"""Free-form JSON object. Stored as canonical JSON text plus ``key=value`` labels
for pushed-down equality filters on top-level keys."""


def _storage_uri(value: str) -> str:
    if not (value.startswith("s3://") or value.startswith("file:///")):
        raise InvalidValueError("must be an s3://bucket/key or file:///abs/path URI")
    if ".." in value.split("/") or "\\" in value:
        raise InvalidValueError("must not contain '..' segments or backslashes")
    return value


StorageUri = Annotated[str, AfterValidator(_storage_uri)]
