"""The one place where obstore's exceptions become Ursa's.

Every class in ``obstore.exceptions`` has an entry in `OBSTORE_ERROR_MAP`; a test
enumerates the module to keep the map complete. ``GenericError`` carries the HTTP
status (or a transport failure) only in its message, so it is classified by
reading that message.
"""

from __future__ import annotations

import re

from obstore import exceptions as obx

from .._errors import (
    AccessDeniedError,
    ConfigError,
    InvalidKeyError,
    ObjectChangedError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    UrsaError,
)
from .._secrets import redact

__all__ = ["OBSTORE_ERROR_MAP", "RangeUnsupported", "TransientFailure", "map_error"]


class TransientFailure(Exception):
    """Internal signal: a retryable failure (never escapes the store layer)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RangeUnsupported(Exception):
    """Internal signal: the server answered a ranged GET with the whole object."""


OBSTORE_ERROR_MAP: dict[type[BaseException], type[UrsaError] | type[TransientFailure]] = {
    obx.NotFoundError: ObjectNotFoundError,
    obx.AlreadyExistsError: ObjectExistsError,
    obx.PreconditionError: ObjectChangedError,
    obx.NotModifiedError: ObjectChangedError,
    obx.InvalidPathError: InvalidKeyError,
    obx.PermissionDeniedError: AccessDeniedError,
    obx.UnauthenticatedError: AccessDeniedError,
    obx.NotSupportedError: ObjectStoreError,
    obx.UnknownConfigurationKeyError: ConfigError,
    # A tokio task failed to join: the runtime, not the request, broke; try again.
    obx.JoinError: TransientFailure,
    # Classified further by status / transport failure in `_classify_generic`.
    obx.GenericError: ObjectStoreError,
    obx.BaseError: ObjectStoreError,
    # obstore raises these builtins directly for some failures.
    FileNotFoundError: ObjectNotFoundError,
    FileExistsError: ObjectExistsError,
    PermissionError: AccessDeniedError,
    TimeoutError: TransientFailure,
    ConnectionError: TransientFailure,
}

_STATUS = re.compile(r"status(?: code)?:? (\d{3})")
_TRANSPORT = (
    "error sending request",
    "connection reset",
    "connection closed",
    "connection refused",
    "broken pipe",
    "timed out",
    "timeout",
    "incompletemessage",
    "error decoding response body",
    "unexpected eof",
    "end of file before message length reached",
    "error reading a body from connection",
    "http2 error",
    "request or response body error",
)
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_THROTTLE_MARKERS = ("slowdown", "slow down", "toomanyrequests", "too many requests")
THROTTLE_FLOOR_S = 1.0
"""Minimum wait after a throttling answer (429, 503 SlowDown). obstore does not
expose response headers, so a server's Retry-After value cannot be read; waiting
at least this long, growing exponentially, respects the usual values."""


def _status(message: str) -> int | None:
    found = _STATUS.findall(message)
    return int(found[-1]) if found else None


def _classify_generic(message: str) -> type[UrsaError] | type[TransientFailure]:
    lowered = message.lower()
    if "nosuchupload" in lowered:
        # The server dropped a multipart upload mid-way (expired, or its buffer
        # limits were hit); the whole upload can be sent again.
        return TransientFailure
    status = _status(message)
    if status is not None:
        if status in _TRANSIENT_STATUS:
            return TransientFailure
        if status == 404:
            return ObjectNotFoundError
        if status in (401, 403):
            return AccessDeniedError
        if status == 412:
            return ObjectChangedError
        return ObjectStoreError
    if any(marker in lowered for marker in _TRANSPORT):
        return TransientFailure
    return ObjectStoreError


def _short(message: str) -> str:
    """obstore appends a multi-line Debug dump; keep the human part."""
    head = message.split("\n\nDebug source:", 1)[0].strip()
    return head if len(head) <= 600 else head[:600] + "…"


def map_error(exc: BaseException, *, uri: str, action: str) -> UrsaError | TransientFailure:
    """Translate an obstore (or transport) exception into Ursa's tree.

    The result names ``uri`` and what was being done; secrets are scrubbed.
    Unknown exception types are not swallowed: callers re-raise them.
    """
    message = redact(str(exc))
    target: type[UrsaError] | type[TransientFailure] | None = None
    for cls in type(exc).__mro__:
        if cls in OBSTORE_ERROR_MAP:
            target = OBSTORE_ERROR_MAP[cls]
            break
    if target is None:
        if isinstance(exc, OSError):
            target = _classify_generic(message)
        else:
            raise TypeError(f"no mapping for {type(exc).__name__}") from exc
    if target is ObjectStoreError and isinstance(exc, obx.GenericError | obx.BaseError):
        target = _classify_generic(message)
    elif "NoSuchUpload" in message:
        target = TransientFailure
    text = f"{action} {uri} failed: {_short(message)}"
    if target is TransientFailure:
        status = _status(message)
        throttled = status == 429 or any(m in message.lower() for m in _THROTTLE_MARKERS)
        return TransientFailure(text, retry_after=THROTTLE_FLOOR_S if throttled else None)
    if target is ConfigError:
        return ConfigError(text)
    if target is InvalidKeyError:
        return InvalidKeyError(_invalid_listing_message(message, uri) or text, uri=uri)
    assert issubclass(target, ObjectStoreError)
    return target(text, uri=uri)


_BAD_PATH = re.compile(r'Path "(.*?)"')


def _invalid_listing_message(message: str, uri: str) -> str | None:
    from ._keys import key_problem

    found = _BAD_PATH.search(message)
    if not found:
        return None
    key = found.group(1).encode().decode("unicode_escape", errors="replace")
    reason = key_problem(key) or "obstore cannot parse it"
    return (
        f"listing {uri} stopped at foreign key {key!r}, which breaks Ursa's key rules "
        f"({reason}); rename or delete that object with another S3 tool, then list again"
    )
