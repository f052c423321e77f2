"""Runs launched the way the UI launches them, timed from their event log.

A code server loads ``bench/_launch_location.py``; each run is created from the
code location's job and submitted to an instance with the project's
``dagster.yaml`` and its run launcher (``MonitoredRunLauncher``: a run worker
process, child of the code server, which runs the job's executor). Only the
run coordinator differs: the default one launches at once, where the project's
queue waits for the daemon's next dequeue (every 5 s at most), whatever the
executor.

Each run's time splits into the run worker's start (``RUN_STARTING`` to
``RUN_START``: a new interpreter that imports the code location), the steps'
process start (``STEP_WORKER_STARTING`` to ``STEP_START``, summed over steps;
none in process) and the steps' work (``STEP_START`` to ``STEP_SUCCESS``,
summed); the wall time runs from the submit to ``RUN_SUCCESS``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import DagsterEventType
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import ModuleTarget

from ursa_lib.testing import RecordingSpec, write_recording
from ursa_pipelines.definitions import defs
from ursa_pipelines.resources import UrsaResource

from ._launch_location import TWINS

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

EXECUTORS: dict[str, dict[str, Any]] = {
    "multiprocess": {"multiprocess": {}},
    "forkserver": {
        "multiprocess": {
            "start_method": {"forkserver": {"preload_modules": ["ursa_pipelines.definitions"]}}
        }
    },
    "in_process": {"in_process": {}},
}
"""Executor run config by name: Dagster's default (a spawned process per step),
the same with a forkserver that imports the code location once per run and
forks each step from it, and every step in the run worker."""

STORED_SEGMENTS = 6
"""The stored session: one of ``make demo``'s (six 10-second segments)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Launched:
    """One launched run's times, in seconds."""

    wall: float
    worker: float
    """Run worker start: a new interpreter importing the code location."""
    step_start: float
    """Steps' process start, summed over steps (0 in process)."""
    work: float
    """Steps' own work, summed over steps."""


def _timeline(instance: dg.DagsterInstance, run_id: str, submitted: float) -> Launched:
    first: dict[tuple[DagsterEventType, str | None], float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None:
            first.setdefault((event.event_type, event.step_key), record.timestamp)

    def at(kind: DagsterEventType, step: str | None = None) -> float:
        return first[(kind, step)]

    steps = {step for kind, step in first if kind == DagsterEventType.STEP_START}
    return Launched(
        wall=at(DagsterEventType.RUN_SUCCESS) - submitted,
        worker=at(DagsterEventType.RUN_START) - at(DagsterEventType.RUN_STARTING),
        step_start=sum(
            at(DagsterEventType.STEP_START, s) - at(DagsterEventType.STEP_WORKER_STARTING, s)
            for s in steps
            if (DagsterEventType.STEP_WORKER_STARTING, s) in first
        ),
        work=sum(
            at(DagsterEventType.STEP_SUCCESS, s) - at(DagsterEventType.STEP_START, s) for s in steps
        ),
    )


def launch(
    instance: dg.DagsterInstance,
    workspace: WorkspaceRequestContext,
    job_name: str,
    rec_id: str,
    executor: str,
) -> Launched:
    """Create and submit one run of ``job_name`` for partition ``rec_id``, wait for it."""
    location = workspace.get_code_location(workspace.code_location_names[0])
    [repo] = location.get_repositories().values()
    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=repo.name,
        job_name=job_name,
        op_selection=None,
    )
    job = location.get_job(selector)
    run_config = {**QUIET, "execution": {"config": EXECUTORS[executor]}}
    plan = location.get_execution_plan(
        job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    ).execution_plan_snapshot
    run = instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=run_config,
        resolved_op_selection=None,
        step_keys_to_execute=plan.step_keys_to_execute,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**job.tags, "dagster/partition": rec_id},
        job_snapshot=job.job_snapshot,
        execution_plan_snapshot=plan,
        parent_job_snapshot=job.parent_job_snapshot,
        remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=repo.asset_graph,
    )
    submitted = time.time()
    instance.submit_run(run.run_id, workspace)
    deadline = time.monotonic() + 300
    while True:
        status = instance.get_run_by_id(run.run_id).status  # type: ignore[union-attr]
        if status == dg.DagsterRunStatus.SUCCESS:
            return _timeline(instance, run.run_id, submitted)
        if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            raise RuntimeError(f"{job_name} run {run.run_id} ended {status.value}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{job_name} run {run.run_id} still {status.value}")
        time.sleep(0.1)


@contextmanager
def launch_site(
    scratch: Path,
) -> Iterator[tuple[dg.DagsterInstance, WorkspaceRequestContext, UrsaResource, Path]]:
    """An instance with the project's ``dagster.yaml`` (default run coordinator),
    and a workspace whose code server sees ``scratch`` as the local root."""
    root, landing, home = scratch / "ursa", scratch / "landing", scratch / "dagster"
    home.mkdir(parents=True)
    landing.mkdir()
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    # Launch at once: no daemon dequeues in the benchmark.
    config["run_coordinator"] = {
        "module": "dagster.core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    del config["concurrency"]["runs"]  # run limits are the queue's
    # Leaving the workspace waits for its code server, so none writes to the
    # instance once the caller has removed it.
    config["code_servers"] = {"wait_for_local_processes_on_shutdown": True}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    # The code server and run workers read the deployment's resource from these.
    os.environ.update(URSA_LOCAL_ROOT=str(root), URSA_LANDING_DIRS=str(landing))
    site = UrsaResource(local_root=str(root), landing_dirs=[str(landing)])
    target = ModuleTarget(
        module_name="bench._launch_location",
        attribute=None,
        working_directory=str(ROOT),
        location_name=None,
    )
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        WorkspaceProcessContext(instance, target) as context,
    ):
        yield instance, context.create_request_context(), site, landing


def land_and_ingest(
    instance: dg.DagsterInstance, site: UrsaResource, landing: Path, index: int, segments: int
) -> str:
    """A new demo-like session (16-channel EEG, audio, video, events), ingested in process."""
    rec_id = f"rec_launch_{index:03d}"
    write_recording(
        landing,
        RecordingSpec(
            rec_id=rec_id,
            start_time_ns=1_795_000_000_000_000_000 + index * 3_600_000_000_000,
            segments=segments,
            eeg_channels=16,
            seed=index,
        ),
    )
    instance.add_dynamic_partitions("recordings", [rec_id])
    result = defs.resolve_job_def("ingest").execute_in_process(
        instance=instance, partition_key=rec_id, resources={"ursa": site}, run_config=QUIET
    )
    assert result.success
    return rec_id


def process_in_process(instance: dg.DagsterInstance, site: UrsaResource, rec_id: str) -> None:
    result = defs.resolve_job_def("process").execute_in_process(
        instance=instance, partition_key=rec_id, resources={"ursa": site}, run_config=QUIET
    )
    assert result.success


def launched_runs(scratch: Path, rounds: int, new_minutes: int) -> dict[str, Launched]:
    """Median times by case (``<what>/<executor>``): re-runs of ``ingest`` and
    ``process`` for a stored, processed session under each executor, and
    ``process`` of a newly ingested ``new_minutes`` session, a process per step
    or in process; the order of executors rotates from round to round."""
    samples: dict[str, list[Launched]] = {}
    with launch_site(scratch) as (instance, workspace, site, landing):
        stored = land_and_ingest(instance, site, landing, 0, STORED_SEGMENTS)
        process_in_process(instance, site, stored)
        names = list(EXECUTORS)
        for round_ in range(rounds):
            for executor in names[round_ % len(names) :] + names[: round_ % len(names)]:
                for job in ("ingest", "process"):
                    run = launch(instance, workspace, TWINS[job], stored, executor)
                    samples.setdefault(f"{job} re-run/{executor}", []).append(run)
            for i, executor in enumerate(("multiprocess", "in_process")[:: 1 - 2 * (round_ % 2)]):
                new = land_and_ingest(instance, site, landing, 1 + 2 * round_ + i, new_minutes * 6)
                run = launch(instance, workspace, TWINS["process"], new, executor)
                samples.setdefault(f"process new/{executor}", []).append(run)
    return {
        case: Launched(
            wall=statistics.median(r.wall for r in runs),
            worker=statistics.median(r.worker for r in runs),
            step_start=statistics.median(r.step_start for r in runs),
            work=statistics.median(r.work for r in runs),
        )
        for case, runs in samples.items()
    }
