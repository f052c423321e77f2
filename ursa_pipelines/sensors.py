"""Sensors: new sessions in the landing directories, and raw-bucket sessions the
catalog lacks.

Run keys, and re-running a failed session: the landing sensor keys each run by
``<rec_id>:<recording_hash>:<manifest mtime>``. Dagster launches a run key once
(never again, even if that run failed — dagster#15982), and the cursor is
stored only after a tick's runs are launched, so a tick may be evaluated twice:
the run key makes that harmless. A changed session (new hash) gets a new key.
To retry a failed session, either re-execute the failed run from the UI
("Re-execute from failure": upload resumes where it stopped) or ``touch`` its
``manifest.json`` (a new mtime, so a new run key on the next tick). Two runs of
one session never upload at once: the ``ursa/session`` tag is limited to one
run per value in ``dagster.yaml``, and ingest itself is idempotent.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ursa_lib import LandingSession, scan_landing

from .assets import recordings
from .jobs import backfill, ingest_job
from .resources import UrsaResource


def ingest_request(session: LandingSession, run_key: str) -> dg.RunRequest:
    """An ``ingest`` run for one landing session, tagged for the queue's limits."""
    return dg.RunRequest(
        run_key=run_key,
        partition_key=session.rec_id,
        run_config={"ops": {"raw_session": {"config": {"session_dir": str(session.path)}}}},
        tags={"ursa/rig": session.rig, "ursa/session": session.rec_id, "ursa/kind": "ingest"},
    )


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Ingest each augmented session that appears (or changes) in a landing directory.",
)
def landing_sensor(context: dg.SensorEvaluationContext, ursa: UrsaResource) -> dg.SensorResult:
    sessions, cursor = scan_landing(ursa.landing_paths(), context.cursor)
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
    missing = missing_prefixes(ursa)
    if not missing:
        return dg.SkipReason("every session in the raw bucket is catalogued")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"backfill:{p}",
                run_config={"ops": {"backfill_op": {"config": {"prefixes": [p]}}}},
                tags={"ursa/kind": "backfill", "ursa/session": p.rsplit("/", 1)[-1]},
            )
            for p in missing
        ]
    )


def missing_prefixes(ursa: UrsaResource) -> list[str]:
    """Session prefixes with a manifest in the raw bucket but no recording row.

    One listing of ``recordings/`` and one read of the recordings table: fine
    for a sensor every few minutes; the landing sensor is the fast path.
    """
    lib = ursa.interface()
    raw = lib.store("raw_ro")
    prefixes = sorted(
        i.key.removesuffix("/manifest.json")
        for i in raw.list("recordings/")
        if i.key.endswith("/manifest.json") and i.key.count("/") == 2
    )
    known = set()
    for rec in lib.catalog().list_recordings():
        known.add(rec.rec_id)  # recordings/<rec_id>
        known.add(f"{rec.rec_id}~{rec.recording_hash[:12]}")  # the alternate prefix
    missing = [p for p in prefixes if p.rsplit("/", 1)[-1] not in known]
    return missing
