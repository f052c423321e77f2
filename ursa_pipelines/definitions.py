"""The code location's single `Definitions` object."""

# No `from __future__ import annotations` here: Dagster reads the annotations of
# op and asset functions at definition time.

import os

import dagster as dg

from .assets import catalog_registration, raw_session
from .jobs import backfill, download, ingest_job
from .resources import UrsaResource
from .schedules import daily_reconcile, ingestion_sweep
from .sensors import landing_sensor, raw_bucket_sensor


class InventoryConfig(dg.Config):
    prefix: str = "recordings/"
    """Folder of the raw bucket to count."""


@dg.op(description="Count the objects and bytes under a prefix of the raw bucket.")
def raw_inventory_op(config: InventoryConfig, ursa: UrsaResource) -> dg.Output[int]:
    store = ursa.store("raw_ro")
    objects = total = 0
    for info in store.list(config.prefix):
        objects += 1
        total += info.size
    return dg.Output(
        objects,
        metadata={
            "objects": dg.MetadataValue.int(objects),
            "bytes": dg.MetadataValue.int(total),
            "uri": dg.MetadataValue.text(store.base_uri + config.prefix),
        },
    )


@dg.job(description="Inventory of the raw bucket (objects and bytes), read-only.")
def raw_inventory() -> None:
    raw_inventory_op()


def _resource() -> UrsaResource:
    """The deployment's resource, from environment variables (documented in
    docs/operations.md); credentials stay in the variables the profile names."""
    landing = os.environ.get("URSA_LANDING_DIRS", "")
    return UrsaResource(
        profile=os.environ.get("URSA_PROFILE", "local"),
        local_root=os.environ.get("URSA_LOCAL_ROOT") or None,
        config_file=os.environ.get("URSA_CONFIG") or None,
        landing_dirs=[d for d in landing.split(os.pathsep) if d],
    )


defs = dg.Definitions(
    assets=[raw_session, catalog_registration],
    jobs=[ingest_job, backfill, download, raw_inventory],
    sensors=[landing_sensor, raw_bucket_sensor],
    schedules=[ingestion_sweep, daily_reconcile],
    resources={"ursa": _resource()},
)
