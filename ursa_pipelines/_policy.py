"""Project-wide Dagster policy, defined once: the executor, retries, owners, and
the run tags that ``dagster.yaml`` limits.

Every domain under ``defs/`` takes these from here, never its own copy. This
module sits outside ``defs/`` so a folder loader would never mistake it for
definitions.
"""

import dagster as dg

__all__ = [
    "EXECUTOR",
    "KIND_TAG",
    "OWNERS",
    "PROCESSING_POOL",
    "RIG_TAG",
    "SESSION_TAG",
    "TRANSIENT_RETRY",
    "kind",
]

EXECUTOR = dg.in_process_executor
"""Every job's executor, and that of assets materialized from the UI or by the
automation sensor: all of a run's steps in its run worker.

Dagster's default starts a process per step, a new interpreter that imports the
code location: about 8 s per step on 2 cores, where a re-run's steps work for
0.1-0.5 s and a fresh 30-minute session's five processing steps for 3 s in
all, so a process per step tripled a run's time and running two conversions
side by side never won it back (docs/operations.md, "Executor")."""

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient store errors (after the library's own retries): 5 s, 10 s, 20 s ± jitter.

Only errors the boundary lets through reach it: a refusal by the library is a
`dg.Failure` that is never retried (see ``_boundary``)."""

OWNERS = ["team:data-platform"]
"""Owners of every Ursa asset."""

PROCESSING_POOL = "ursa_processing"
"""The concurrency pool of every processing step; ``dagster.yaml`` bounds it."""

# Run tags whose values ``dagster.yaml`` limits (tag_concurrency_limits): the
# queue, not the code, keeps runs of one rig, one session, and downloads apart.
KIND_TAG = "ursa/kind"
"""What a run does (ingest, backfill, download); downloads are limited to two at once."""
RIG_TAG = "ursa/rig"
"""The rig a session comes from: one ingest per rig at a time."""
SESSION_TAG = "ursa/session"
"""The session a run works on: never two runs of one session at once."""


def kind(name: str) -> dict[str, str]:
    """The tags of a run, job or op that does ``name``."""
    return {KIND_TAG: name}
