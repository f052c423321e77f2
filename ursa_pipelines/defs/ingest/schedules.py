"""Schedules, both off by default (turn them on in the UI or per deployment).

* ``ingestion_sweep`` (every 15 minutes): one ingest run per augmented session
  in the landing directories that the catalog does not have yet — for sites
  that run without sensors. A session folder copied under a new ``rec_id``
  (the files of a catalogued recording) gets no run: the tick's log names it.
* ``daily_reconcile`` (03:00): a backfill run for every raw-bucket session the
  catalog lacks; the asset checks of each ingest run cover the rest. Its
  second half is lifecycle's ``daily_scrub`` (03:30), which walks both buckets
  against the catalog once the backfills are in (a Dagster schedule launches
  one job, so the reconcile is two schedules).

Reconcile lives with ingest, not lifecycle: all it does is ask for ``backfill``
runs, which finish an ingest that happened outside Dagster. Lifecycle's jobs
check and change what is already catalogued, and stay independent of ingest's
job definitions.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ursa_lib import landing_copies, landing_deleted, scan_landing, uncatalogued_landing

from ..._policy import SESSION_TAG, kind
from ...resources import UrsaResource
from .assets import recordings
from .jobs import backfill, ingest_job
from .sensors import ingest_request, uncatalogued

__all__ = ["daily_reconcile", "ingestion_sweep"]


@dg.schedule(
    job=ingest_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Ingest every augmented landing session the catalog lacks.",
)
def ingestion_sweep(
    context: dg.ScheduleEvaluationContext, ursa: UrsaResource
) -> list[dg.RunRequest] | dg.SkipReason:
    sessions, _ = scan_landing(ursa.landing_paths())
    catalog = ursa.interface().catalog()
    todo = uncatalogued_landing(sessions, catalog)
    # A copy of a catalogued recording would fail its run every 15 minutes: name it instead.
    copies = landing_copies(todo, catalog)
    for copy, rec_id in copies:
        context.log.warning(
            f"{copy.path}: the same files as recording {rec_id!r}, which the catalog already "
            "has; not ingested: remove the copy from the rig, or give it its own recording"
        )
    copied = {c for c, _ in copies}
    todo = [s for s in todo if s not in copied]
    # What a delete took away stays away: named, never ingested again by a sweep.
    deleted = landing_deleted(sessions, catalog)
    for session, audit in deleted:
        context.log.warning(
            f"{session.path}: recording {session.recording_hash[:12]}… was deleted "
            f"(deletion {audit.deletion_id}); not ingested again: remove it from the rig, or "
            "ingest it with --allow-deleted if it must come back"
        )
    if not todo and (copies or deleted):
        return dg.SkipReason(
            f"nothing to ingest; {len(copies)} landing sessions are copies of catalogued "
            f"recordings, {len(deleted)} hold deleted recordings (named in this tick's log)"
        )
    # An ingest still queued or running (waiting for its rig to stop recording, say)
    # is not asked for again: one run per session, not one per tick.
    active = _sessions_in_flight(context.instance, {s.rec_id for s in todo})
    waiting = [s for s in todo if s.rec_id in active]
    todo = [s for s in todo if s.rec_id not in active]
    if not todo and waiting:
        return dg.SkipReason(
            f"nothing new to ingest; {len(waiting)} landing sessions have an ingest run "
            "queued or in progress"
        )
    if not todo:
        return dg.SkipReason(f"all {len(sessions)} landing sessions are catalogued")
    new = sorted({s.rec_id for s in todo})
    known = set(context.instance.get_dynamic_partitions(recordings.name or ""))
    if set(new) - known:
        context.instance.add_dynamic_partitions(recordings.name or "", sorted(set(new) - known))
    tick = context.scheduled_execution_time
    return [ingest_request(s, f"sweep:{s.rec_id}:{s.recording_hash}:{tick}") for s in todo]


def _sessions_in_flight(instance: dg.DagsterInstance, rec_ids: set[str]) -> set[str]:
    """Those of ``rec_ids`` with an ``ingest`` run not finished yet (queued, starting,
    started or being canceled). One run-storage query per session."""
    if not rec_ids:
        return set()
    unfinished = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    return {
        rec_id
        for rec_id in rec_ids
        if instance.get_runs_count(
            dg.RunsFilter(
                job_name=ingest_job.name,
                statuses=unfinished,
                tags={SESSION_TAG: rec_id},
            )
        )
    }


@dg.schedule(
    job=backfill,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: backfill raw-bucket sessions the catalog lacks.",
)
def daily_reconcile(
    context: dg.ScheduleEvaluationContext, ursa: UrsaResource
) -> dg.RunRequest | dg.SkipReason:
    missing = uncatalogued(ursa)
    if not missing:
        return dg.SkipReason("the catalog holds every session in the raw bucket")
    return dg.RunRequest(
        run_key=f"reconcile:{context.scheduled_execution_time}",
        run_config={"ops": {"backfill_op": {"config": {"prefixes": [s.key for s in missing]}}}},
        tags=kind("backfill"),
    )
