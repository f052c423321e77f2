"""Retries for transient store failures: exponential backoff with full jitter."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import stamina

from .._errors import ObjectStoreTransientError
from ._error_map import TransientFailure

__all__ = ["RetryPolicy", "call_with_retries", "retrying"]

T = TypeVar("T")
log = logging.getLogger("ursa.store")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long the store layer keeps trying before a transient failure surfaces.

    Waits grow as ``wait_initial * 2**n`` up to ``wait_max``, plus up to
    ``wait_jitter`` seconds of random jitter; throttling answers wait at least a
    second. Giving up raises `ObjectStoreTransientError`.
    """

    attempts: int = 6
    """Total tries, the first included."""
    timeout: float = 300.0
    """Give up once this many seconds have passed since the first try."""
    wait_initial: float = 0.2
    wait_max: float = 20.0
    wait_jitter: float = 0.5

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single try; useful to observe raw failures."""
        return cls(attempts=1)


def _hook(exc: Exception) -> bool | float | dt.timedelta:
    if isinstance(exc, TransientFailure):
        return exc.retry_after if exc.retry_after is not None else True
    return False


def retrying(policy: RetryPolicy) -> Any:
    return stamina.retry_context(
        on=_hook,
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    )


def call_with_retries(fn: Callable[[], T], *, policy: RetryPolicy, uri: str) -> T:
    """Run ``fn``; retry while it raises `TransientFailure`; surface exhaustion as
    `ObjectStoreTransientError` naming ``uri``."""
    try:
        for attempt in retrying(policy):
            with attempt:
                return fn()
    except TransientFailure as exc:
        raise ObjectStoreTransientError(
            f"{exc} (gave up after {policy.attempts} attempts)",
            uri=uri,
            retry_after=exc.retry_after,
        ) from None
    raise AssertionError("unreachable: retry_context always runs at least once")
