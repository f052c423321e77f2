"""Keeps secret values out of every message Ursa produces.

Credentials are held as `pydantic.SecretStr`, so ``repr()`` and logs show
``**********``. Messages that come from outside (a server's error body may quote
the access key id) are passed through `redact` before they reach an exception.
"""

from __future__ import annotations

import threading

__all__ = ["redact", "register_secret"]

_lock = threading.Lock()
_secrets: set[str] = set()
_MIN_LEN = 4  # shorter values would blank out ordinary words


def register_secret(value: str | None) -> None:
    """Remember a credential value so that `redact` can scrub it from text."""
    if value and len(value) >= _MIN_LEN:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text
