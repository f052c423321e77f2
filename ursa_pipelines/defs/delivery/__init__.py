"""Delivery: catalog queries into files for analysts.

The ad hoc ``download`` job (query filters, destination, layout, source, an
optional time window), and ``materialize_window``: one aligned window of a
recording read into memory, its shapes recorded as run metadata.
"""

import dagster as dg

from .jobs import download
from .window import materialize_window

__all__ = ["defs"]

defs = dg.Definitions(jobs=[download, materialize_window])
