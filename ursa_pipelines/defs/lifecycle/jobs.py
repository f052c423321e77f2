"""``raw_inventory``: how many objects and bytes a folder of the raw bucket holds."""

# No `from __future__ import annotations`: Dagster reads the annotations of
# op and asset functions at definition time.

import dagster as dg

from ursa_lib import RECORDINGS_ROOT

from ..._boundary import ursa_errors
from ...resources import UrsaResource

__all__ = ["InventoryConfig", "raw_inventory", "raw_inventory_op"]


class InventoryConfig(dg.Config):
    prefix: str = RECORDINGS_ROOT
    """Folder of the raw bucket to count."""


@dg.op(description="Count the objects and bytes under a prefix of the raw bucket.")
def raw_inventory_op(config: InventoryConfig, ursa: UrsaResource) -> dg.Output[int]:
    objects = total = 0
    with ursa_errors():
        store = ursa.store("raw_ro")
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
