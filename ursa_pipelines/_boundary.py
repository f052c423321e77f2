"""The one place where library outcomes become Dagster outcomes.

* `ObjectStoreTransientError` (raised once the library's own retries are
  spent) propagates unchanged, so the step's `RetryPolicy` tries again later.
* Any other `UrsaError` is a refusal the library explains: it becomes
  ``dg.Failure(allow_retries=False)`` carrying the library's message, so the
  run fails at once instead of repeating what cannot succeed.
* A paused ingest (the rig is recording) is neither: `retry_later` asks Dagster
  to run the step again after a wait, shown as a retry, never as a failure.
* Anything else is a bug and propagates as one, with its traceback.

Every asset and op body runs its library calls inside `ursa_errors()`; no
other module of the code location classifies errors.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import dagster as dg

from ursa_lib import ObjectStoreTransientError, UrsaError

__all__ = ["permanent", "retry_later", "ursa_errors"]


def permanent(exc: UrsaError) -> dg.Failure:
    """A failure Dagster must not retry, carrying the library's message."""
    return dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False)


@contextmanager
def ursa_errors() -> Iterator[None]:
    """Run library calls; map what they raise as the module docstring says."""
    try:
        yield
    except ObjectStoreTransientError:
        raise  # the step's retry policy takes it from here
    except UrsaError as exc:
        raise permanent(exc) from exc


def retry_later(
    log: dg.DagsterLogManager, reason: str, *, wait_s: float, max_tries: int
) -> NoReturn:
    """Ask Dagster to run this step again in ``wait_s`` seconds (at most
    ``max_tries`` times): the run waits, shown as a retry, never as a failure."""
    log.info(f"{reason}; trying again in {wait_s:.0f} s")
    raise dg.RetryRequested(max_retries=max_tries, seconds_to_wait=wait_s)
