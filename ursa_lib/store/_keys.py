"""Ursa's own rules for object keys.

obstore quietly strips leading and trailing ``/``, accepts backslashes, and fails
a whole listing on one key it cannot parse. Ursa checks every key itself, before
any request, so that a key means the same thing on every backend and a local
path built from it can never escape its directory.
"""

from __future__ import annotations

import unicodedata

from .._errors import InvalidKeyError

__all__ = ["MAX_KEY_BYTES", "MAX_SEGMENT_BYTES", "join_key", "validate_key", "validate_prefix"]

MAX_KEY_BYTES = 1024
"""S3's (and R2's) limit on a whole key, in UTF-8 bytes."""

MAX_SEGMENT_BYTES = 255
"""Longest segment, in UTF-8 bytes: what a POSIX filesystem accepts as one name,
so that every key can also be a local path."""


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid object key, or None if it is."""
    if not key:
        return "the key is empty"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"the key is longer than {MAX_KEY_BYTES} UTF-8 bytes"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "the key contains a lone surrogate and is not valid UTF-8"
    if "\\" in key:
        return "backslashes are not allowed (use '/' between segments)"
    for ch in key:
        if unicodedata.category(ch) == "Cc":
            return f"control character {ch!r} is not allowed"
    if key.startswith("/"):
        return "the key must be relative: remove the leading '/'"
    if key.endswith("/"):
        return "the key ends with '/': a key names an object, not a folder"
    for segment in key.split("/"):
        if segment == "":
            return "empty segment ('//') is not allowed"
        if segment in (".", ".."):
            return f"segment {segment!r} is not allowed"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a segment is longer than {MAX_SEGMENT_BYTES} UTF-8 bytes"
    return None


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a valid object key, else raise `InvalidKeyError`.

    A valid key is non-empty UTF-8 of at most 1024 bytes, made of ``/``-separated
    segments that are non-empty, not ``.`` or ``..``, at most 255 bytes, and free
    of backslashes and control characters. Dots inside a name (``file..txt``) are
    fine.
    """
    problem = key_problem(key)
    if problem is not None:
        raise InvalidKeyError(f"invalid object key {key!r}: {problem}", uri=key)
    return key


def validate_prefix(prefix: str) -> str:
    """Validate a listing prefix: ``""`` (everything) or a valid key, optionally ending in ``/``."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def join_key(*parts: str) -> str:
    """Join key parts with ``/`` and validate the result."""
    return validate_key("/".join(p.strip("/") for p in parts if p.strip("/")))
