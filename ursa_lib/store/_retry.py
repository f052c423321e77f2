"""Every retry in Ursa: a `RetryPolicy` run by stamina (exponential backoff, jitter).

Three shapes cover every caller, and no other module waits between tries:

* `call_with_retries`: one call retried whole (a HEAD, a ranged GET, an upload);
* `resumable`: an iterator that picks up where it broke (a listing, a body);
* `retrying`: the policy as a stamina retry context, for any other block (the
  catalog's commits and table opening), with its own choice of what to retry.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import stamina

from .._errors import ObjectStoreTransientError
from ._error_map import TransientFailure

__all__ = ["RetryPolicy", "call_with_retries", "resumable", "retrying", "transient"]

T = TypeVar("T")
log = logging.getLogger("ursa.store")

RetryOn = type[Exception] | tuple[type[Exception], ...] | Callable[[Exception], bool | float]
"""What a retry context retries: exception types, or a stamina backoff hook (True
to retry, a float to retry after at least that many seconds, False to raise)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long Ursa keeps trying before a transient failure surfaces.

    Waits grow as ``wait_initial * 2**n`` up to ``wait_max``, plus up to
    ``wait_jitter`` seconds of random jitter; throttling answers wait as long as
    the server asks. Giving up raises `ObjectStoreTransientError` from the store
    (`CatalogError` from the catalog, which retries lost commit races). A transfer
    that resumes where it broke (a listing, an object body) gets the policy's
    tries and timeout for each outage, from the failure that broke it until it
    delivers again: a long transfer is not cut off by a blip hours after it
    started, and an outage never lasts longer than ``timeout``.
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


def transient(exc: Exception) -> bool | float:
    """Retry `TransientFailure`, waiting what the server asked for if it did."""
    if isinstance(exc, TransientFailure):
        return exc.retry_after if exc.retry_after is not None else True
    return False


def retrying(policy: RetryPolicy, *, on: RetryOn = transient) -> Iterable[stamina.Attempt]:
    """``policy`` as a stamina retry context: ``for attempt in retrying(p): with
    attempt: ...`` runs the block until it succeeds, raises something ``on`` does
    not retry, or the policy's tries or timeout run out (the last error is then
    raised)."""
    return stamina.retry_context(
        on=on,
        attempts=policy.attempts,
        timeout=dt.timedelta(seconds=policy.timeout),
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    )


def _gave_up(exc: TransientFailure, tries: int, uri: str) -> ObjectStoreTransientError:
    return ObjectStoreTransientError(
        f"{exc} (gave up after {tries} attempts)", uri=uri, retry_after=exc.retry_after
    )


def call_with_retries(fn: Callable[[], T], *, policy: RetryPolicy, uri: str) -> T:
    """Run ``fn``; retry while it raises `TransientFailure`; surface exhaustion as
    `ObjectStoreTransientError` naming ``uri``."""
    tries = 0
    try:
        for attempt in retrying(policy):
            with attempt:
                tries = attempt.num
                return fn()
    except TransientFailure as exc:
        raise _gave_up(exc, tries, uri) from None
    raise AssertionError("unreachable: retry_context always runs at least once")


def resumable(start: Callable[[], Iterator[T]], *, policy: RetryPolicy, uri: str) -> Iterator[T]:
    """The items of ``start()``, surviving transient failures.

    When the items stop with `TransientFailure`, ``start`` is called again after
    the policy's wait; it must resume after the last item it produced (it keeps
    that position itself). The policy bounds each outage (see `RetryPolicy`);
    exhaustion raises `ObjectStoreTransientError` naming ``uri``.
    """
    items = start()
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except TransientFailure as exc:
            items, first = _recover(exc, start, policy, uri)
            if not first:
                return
            item = first[0]
        yield item


def _recover(
    failure: TransientFailure, start: Callable[[], Iterator[T]], policy: RetryPolicy, uri: str
) -> tuple[Iterator[T], list[T]]:
    """Restart the items until they deliver again: the new iterator and its first
    item (none if it ended at once)."""
    tries = 0
    try:
        for attempt in retrying(policy):
            with attempt:
                tries = attempt.num
                if tries == 1:
                    raise failure  # the try that broke the transfer opens the outage
                items = start()
                return items, list(itertools.islice(items, 1))
    except TransientFailure as exc:
        raise _gave_up(exc, tries, uri) from None
    raise AssertionError("unreachable: retry_context always runs at least once")
