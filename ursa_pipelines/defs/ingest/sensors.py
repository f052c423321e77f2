"""Sensors: new sessions in the landing directories, and raw-bucket sessions the
catalog lacks.

Run keys, and re-running a failed session: the landing sensor keys each run by
``<rec_id>:<recording_hash>:<manifest mtime>``. Dagster launches a run key once
(never again, even if that run failed — dagster#15982), and the cursor is
stored only after a tick's runs are launched, so a tick may be evaluated twice:
the run key makes that harmless. A changed session (new hash) gets a new key.
The catalog records what is done: a session with a recording row of its
``rec_id`` and hash (which ingest writes last; processed since or not) is never
asked for, even with no cursor, so a fresh daemon or a wiped Dagster instance
does not ingest the landing directories again. A session whose ingest stopped
part-way has no such row and is asked for. Only the sessions a tick scans are
looked up, in one catalog read (none when it scans none).

To retry a failed session, either re-execute the failed run from the UI
("Re-execute from failure": upload resumes where it stopped) or ``touch`` its
``manifest.json`` (a new mtime, so a new run key on the next tick). Two runs of
one session never upload at once: the ``ursa/session`` tag is limited to one
run per value in ``dagster.yaml``, and ingest itself is idempotent.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ursa_lib import (
    RECORDINGS_ROOT,
    LandingSession,
    SessionPrefix,
    scan_landing,
    uncatalogued_landing,
    uncatalogued_sessions,
)

from ..._policy import RIG_TAG, SESSION_TAG, kind
from ...resources import UrsaResource
from .assets import recordings
from .jobs import backfill, ingest_job

__all__ = [
    "backfill_request",
    "ingest_request",
    "landing_sensor",
    "not_ingested",
    "raw_bucket_sensor",
    "uncatalogued",
]


def ingest_request(session: LandingSession, run_key: str) -> dg.RunRequest:
    """An ``ingest`` run for one landing session, tagged for the queue's limits."""
    return dg.RunRequest(
        run_key=run_key,
        partition_key=session.rec_id,
        run_config={"ops": {"raw_session": {"config": {"session_dir": str(session.path)}}}},
        tags={RIG_TAG: session.rig, SESSION_TAG: session.rec_id, **kind("ingest")},
    )


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Ingest each augmented session that appears (or changes) in a landing directory "
        "and is not in the catalog yet."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, ursa: UrsaResource) -> dg.SensorResult:
    changed, cursor = scan_landing(ursa.landing_paths(), context.cursor)
    sessions = not_ingested(ursa, changed)
    new_keys = sorted({s.rec_id for s in sessions})
    requests = [ingest_request(s, f"{s.rec_id}:{s.recording_hash}:{s.mtime_ns}") for s in sessions]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[recordings.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor,
    )


@dg.sensor(
    job=backfill,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Backfill sessions whose manifest is in the raw bucket but not in the catalog.",
)
def raw_bucket_sensor(
    context: dg.SensorEvaluationContext, ursa: UrsaResource
) -> dg.SensorResult | dg.SkipReason:
    missing = uncatalogued(ursa)
    if not missing:
        return dg.SkipReason("every session in the raw bucket is catalogued")
    raw = ursa.interface().store("raw_ro")
    requests = []
    for session in missing:
        # Keyed by what the session holds now: one still being uploaded (its manifest
        # goes first) fails its backfill, and is asked for again once it has changed.
        held = [o.size for o in raw.list(session.key + "/")]
        requests.append(backfill_request(session, f"{len(held)}:{sum(held)}"))
    return dg.SensorResult(run_requests=requests)


def backfill_request(session: SessionPrefix, holds: str) -> dg.RunRequest:
    """A ``backfill`` run for one raw-bucket session, keyed so that it is asked for once
    for what the session ``holds`` (its object count and bytes)."""
    return dg.RunRequest(
        run_key=f"backfill:{session.key}:{holds}",
        run_config={"ops": {"backfill_op": {"config": {"prefixes": [session.key]}}}},
        tags={**kind("backfill"), SESSION_TAG: session.key.removeprefix(RECORDINGS_ROOT)},
    )


def uncatalogued(ursa: UrsaResource) -> list[SessionPrefix]:
    """`uncatalogued_sessions` of the resource's raw bucket and catalog."""
    lib = ursa.interface()
    return uncatalogued_sessions(lib.store("raw_ro"), lib.catalog())


def not_ingested(ursa: UrsaResource, sessions: list[LandingSession]) -> list[LandingSession]:
    """`uncatalogued_landing` against the resource's catalog, opened only if there are sessions."""
    return uncatalogued_landing(sessions, ursa.interface().catalog()) if sessions else []
