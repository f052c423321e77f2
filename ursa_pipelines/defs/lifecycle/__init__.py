"""Lifecycle: keeping what is stored true over years.

The read-only ``raw_inventory`` job today; later the verify and scrub checks,
audited deletes and rig cleanup over ``ursa_lib.lifecycle``.
"""

import dagster as dg

from .jobs import raw_inventory

__all__ = ["defs"]

defs = dg.Definitions(jobs=[raw_inventory])
