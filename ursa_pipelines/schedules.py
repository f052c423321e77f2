"""Schedules, both off by default (turn them on in the UI or per deployment).

* ``ingestion_sweep`` (every 15 minutes): one ingest run per augmented session
  in the landing directories that the catalog does not have yet — for sites
  that run without sensors.
* ``daily_reconcile`` (03:00): a backfill run for every raw-bucket session the
  catalog lacks; the asset checks of each ingest run cover the rest.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ursa_lib import scan_landing
from ursa_lib.catalog import Recording

from .assets import recordings
from .jobs import backfill, ingest_job
from .resources import UrsaResource
from .sensors import ingest_request, missing_prefixes


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
    hashes = {s.recording_hash for s in sessions}
    stored = ursa.interface().catalog().rows_in(Recording, "recording_hash", hashes)
    catalogued = {r.recording_hash for r in stored}
    todo = [s for s in sessions if s.recording_hash not in catalogued]
    if not todo:
        return dg.SkipReason(f"all {len(sessions)} landing sessions are catalogued")
    new = sorted({s.rec_id for s in todo})
    known = set(context.instance.get_dynamic_partitions(recordings.name or ""))
    if set(new) - known:
        context.instance.add_dynamic_partitions(recordings.name or "", sorted(set(new) - known))
    tick = context.scheduled_execution_time
    return [ingest_request(s, f"sweep:{s.rec_id}:{s.recording_hash}:{tick}") for s in todo]


@dg.schedule(
    job=backfill,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: backfill raw-bucket sessions the catalog lacks.",
)
def daily_reconcile(
    context: dg.ScheduleEvaluationContext, ursa: UrsaResource
) -> dg.RunRequest | dg.SkipReason:
    missing = missing_prefixes(ursa)
    if not missing:
        return dg.SkipReason("the catalog holds every session in the raw bucket")
    return dg.RunRequest(
        run_key=f"reconcile:{context.scheduled_execution_time}",
        run_config={"ops": {"backfill_op": {"config": {"prefixes": missing}}}},
        tags={"ursa/kind": "backfill"},
    )
