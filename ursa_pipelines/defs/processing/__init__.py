"""Processing: raw segments into processed assets in the assets bucket.

The home of the processed assets (one per converter kind, downstream of
``catalog_registration``, partitioned like it), their checks (each processed
row points at a readable asset), and the automation sensor that runs them.
Each asset calls ``DataInterface.process`` inside ``ursa_errors()`` and turns
its result into materialization metadata.
"""

import dagster as dg

from .assets import PROCESSED_ASSETS, processing_job
from .sensors import processing_automation

__all__ = ["defs"]

defs = dg.Definitions(
    assets=PROCESSED_ASSETS, jobs=[processing_job], sensors=[processing_automation]
)
