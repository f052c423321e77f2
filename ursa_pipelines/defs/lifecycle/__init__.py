"""Lifecycle: keeping what is stored true over years.

* ``raw_inventory``: objects and bytes under a prefix of the raw bucket;
* ``scrub`` (and ``daily_scrub``, 03:30, after the daily reconcile's
  backfills): both buckets against the catalog; a run with findings fails;
* ``delete``: the audited delete, off unless the deployment enables it;
* ``rig_clean`` and its ``rig_clean_after_ingest`` sensor (off by default):
  sessions deleted from the rig once the archive provably holds them.
"""

import dagster as dg

from .delete import delete
from .jobs import raw_inventory
from .rig_clean import rig_clean, rig_clean_after_ingest
from .scrub import daily_scrub, scrub

__all__ = ["defs"]

defs = dg.Definitions(
    jobs=[raw_inventory, scrub, delete, rig_clean],
    schedules=[daily_scrub],
    sensors=[rig_clean_after_ingest],
)
