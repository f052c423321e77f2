"""Delivery: catalog queries into files for analysts.

The ad hoc ``download`` job (query filters, destination, layout, source), and
later any materialize or export jobs over ``ursa_lib.delivery``.
"""

import dagster as dg

from .jobs import download

__all__ = ["defs"]

defs = dg.Definitions(jobs=[download])
