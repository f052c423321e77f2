"""Ingest: a landing session into the raw bucket, then into the catalog.

The ``raw_session`` → ``catalog_registration`` assets (per ``rec_id``) with
their checks, the ``ingest`` and ``backfill`` jobs, the landing and raw-bucket
sensors, and the sweep and reconcile schedules.
"""

import dagster as dg

from .assets import catalog_registration, raw_session
from .jobs import backfill, ingest_job
from .schedules import daily_reconcile, ingestion_sweep
from .sensors import landing_sensor, raw_bucket_sensor

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[raw_session, catalog_registration],
    jobs=[ingest_job, backfill],
    sensors=[landing_sensor, raw_bucket_sensor],
    schedules=[ingestion_sweep, daily_reconcile],
)
