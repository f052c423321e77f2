"""The embedded instance's run launcher: Dagster's default one, plus a health check.

``DefaultRunLauncher`` starts each run worker as a child of a code server on
this machine. When only the worker dies, that code server marks the run failed.
When the code server dies with it (the OOM killer, ``kill -9`` of the process
tree, a crash), nothing does, and the run stays ``STARTED`` for good, holding
its queue slots (one ingest per rig). The default launcher cannot answer run
monitoring's health check, so this one does: the run worker's pid is in the
run's ``Started process for run (pid: N)`` event, and the worker is alive while
a process with that pid exists, is not a zombie and is not younger than that
event (a recycled pid). With ``run_monitoring`` enabled in ``dagster.yaml`` the
daemon then marks a dead run ``FAILURE`` within ``poll_interval_seconds``,
which frees its slots.

It can only see processes on its own machine: for runs of a code server on
another host (a ``grpc_server`` entry in the workspace) it reports them running.
"""

import os
import socket
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRun

__all__ = ["MonitoredRunLauncher"]

_STARTED_PROCESS = "Started process for run (pid: "
_CLOCK_SLACK_S = 2.0
"""A worker starts before it reports its pid; allow for coarse process start times."""


class MonitoredRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose run workers run monitoring can check."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        origin = run.remote_job_origin
        location = origin.repository_origin.code_location_origin if origin else None
        if isinstance(location, GrpcServerCodeLocationOrigin) and location.host not in (
            "localhost",
            "127.0.0.1",
            socket.gethostname(),
        ):
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, f"run worker on {location.host}: not visible from here"
            )
        found = _worker_pid(self._instance, run.run_id)
        if found is None:
            # Not launched through a code server (e.g. executed in process).
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker pid recorded")
        pid, reported_at = found
        if _alive(pid, reported_at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker {pid} is alive")
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"run worker process {pid} is gone (killed or crashed)"
        )


def _worker_pid(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the run's latest worker and when it reported it (epoch s)."""
    found = None
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        message = record.dagster_event.message if record.dagster_event else None
        if message and message.startswith(_STARTED_PROCESS):
            digits = message[len(_STARTED_PROCESS) :].split(")", 1)[0]
            if digits.isdigit():
                found = (int(digits), record.timestamp)
    return found


def _alive(pid: int, reported_at: float) -> bool:
    """Whether ``pid`` is a live process that started by ``reported_at``."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():  # Linux: state and start time
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return False
        if fields[0] in ("Z", "X"):  # a zombie or dead: not running
            return False
        started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return started <= reported_at + _CLOCK_SLACK_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime line")
