"""The processing automation: the sensor that evaluates the processed assets'
eager conditions, so a recording is processed once its registration materializes.

Dagster adds a default automation sensor for assets that have a condition, but
it starts stopped: a new deployment would register recordings and never process
them until someone turned it on in the UI. This one is declared running, and
targets the processed assets, so Dagster's default sensor has nothing left to
evaluate and is not added.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ..._policy import kind
from .assets import PROCESSED_ASSETS

__all__ = ["processing_automation"]

processing_automation = dg.AutomationConditionSensorDefinition(
    "processing_automation",
    target=dg.AssetSelection.assets(*PROCESSED_ASSETS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    run_tags=kind("process"),
    description="Process each recording once its catalog registration materializes.",
)
