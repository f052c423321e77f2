"""The code location ``bench/pipelines.py`` launches runs on: the project's
definitions, plus a twin of ``ingest`` and of ``process`` whose executor the run
config picks (``multiprocess``, with its start method, or ``in_process``), so
each executor is measured on the same assets, whatever the project chose."""

import dagster as dg

from ursa_pipelines import definitions
from ursa_pipelines.defs.ingest.jobs import ingest_job
from ursa_pipelines.defs.processing.assets import processing_job

TWINS = {job.name: f"bench_{job.name}" for job in (ingest_job, processing_job)}

defs = dg.Definitions.merge(
    definitions.defs,
    dg.Definitions(
        jobs=[
            dg.define_asset_job(
                TWINS[job.name],
                selection=job.selection,
                tags=job.tags,
                executor_def=dg.multi_or_in_process_executor,
            )
            for job in (ingest_job, processing_job)
        ]
    ),
)
