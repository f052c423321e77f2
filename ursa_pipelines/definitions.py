"""The code location's single `Definitions` object: each domain's, merged, with
the one resource bound for the deployment and the project's executor."""

import os

import dagster as dg

from ._policy import EXECUTOR
from .defs import delivery, ingest, lifecycle, processing
from .resources import UrsaResource


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


defs = dg.Definitions.merge(
    ingest.defs,
    processing.defs,
    delivery.defs,
    lifecycle.defs,
    dg.Definitions(resources={"ursa": _resource()}, executor=EXECUTOR),
)
