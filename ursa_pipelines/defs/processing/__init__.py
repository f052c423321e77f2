"""Processing: raw segments into processed assets in the assets bucket.

The home of the processed assets (one per converter kind, downstream of
``catalog_registration``, partitioned like it), their checks (each processed
row points at a readable asset) and any processing sensors. Each asset calls a
converter of ``ursa_lib.processing`` inside ``ursa_errors()`` and turns its
result into materialization metadata. Empty until the converters land.
"""

import dagster as dg

__all__ = ["defs"]

defs = dg.Definitions()
