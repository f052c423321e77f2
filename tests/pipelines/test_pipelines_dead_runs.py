"""A run whose process died is marked failed, and its rig's queue slot frees.

A real ``dagster-daemon`` runs on a temporary ``DAGSTER_HOME`` holding the
project's own ``dagster.yaml``. Two sessions of one rig land; the landing
sensor asks for an ingest run of each. The first waits for the recording rig
(so it is alive and ``STARTED``), the second waits in the queue behind it (one
ingest per rig). Then the first run's worker is killed with SIGKILL together
with the code server that launched it, as the OOM killer or a crash would. Run
monitoring must mark the run ``FAILURE`` within a bound, and the second run
must then leave the queue.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import DagsterEventType

from ursa_lib import ACTIVE_MARKER
from ursa_lib.testing import write_session

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

BOUND_S = 60.0
"""run_monitoring polls every 10 s; the rest is slack for a busy 2-core machine."""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True  # the project's own config
    return home


@pytest.fixture
def env(tmp_path: Path, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "URSA_LOCAL_ROOT": str(tmp_path / "ursa"),
        "URSA_LANDING_DIRS": str(tmp_path / "landing"),
    }


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """Two finished sessions of one rig, which is recording again."""
    landing = tmp_path / "landing"
    for rec_id in ("rec_dead", "rec_next"):
        session = write_session(landing, rec_id, {"eeg_0": [1000]})
        (session / ACTIVE_MARKER).write_text("")  # the runs wait for the rig, alive
    return landing


@pytest.fixture
def daemon(env: dict[str, str], landing: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: code servers and run workers
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the daemon and everything it started
        proc.wait(timeout=30)
        log.close()


def _wait(what: str, check: object, timeout: float, daemon_log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.5)
    tail = daemon_log.read_text(errors="replace")[-3000:] if daemon_log.exists() else ""
    pytest.fail(f"{what} did not happen within {timeout:.0f} s; daemon log:\n{tail}")


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        message = record.dagster_event.message if record.dagster_event else ""
        if message and message.startswith("Started process for run (pid: "):
            return int(message.split("pid: ", 1)[1].split(")", 1)[0])
    return None


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_killed_run_fails_within_a_bound_and_frees_its_rig(
    tmp_path: Path, home: Path, env: dict[str, str], daemon: subprocess.Popen[bytes]
) -> None:
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.from_config(str(home)) as instance:

        def runs(status: dg.DagsterRunStatus) -> list[str]:
            return [r.run_id for r in instance.get_runs() if r.status == status]

        def status(run_id: str) -> dg.DagsterRunStatus:
            run = instance.get_run_by_id(run_id)
            assert run is not None
            return run.status

        _wait(
            "one run waiting for its rig and one queued behind it",
            lambda: (
                len(runs(dg.DagsterRunStatus.STARTED)) == 1
                and len(runs(dg.DagsterRunStatus.QUEUED)) == 1
                and _worker_pid(instance, runs(dg.DagsterRunStatus.STARTED)[0]) is not None
            ),
            240,
            log,
        )
        (first,) = runs(dg.DagsterRunStatus.STARTED)
        (second,) = runs(dg.DagsterRunStatus.QUEUED)
        time.sleep(12)  # more dequeue ticks: one ingest per rig keeps it queued
        assert status(second) == dg.DagsterRunStatus.QUEUED
        assert status(first) == dg.DagsterRunStatus.STARTED

        worker = _worker_pid(instance, first)
        assert worker is not None
        code_server = _parent(worker)
        assert code_server != daemon.pid
        os.kill(worker, signal.SIGKILL)
        os.kill(code_server, signal.SIGKILL)

        took = _wait(
            "the dead run being marked FAILURE",
            lambda: status(first) == dg.DagsterRunStatus.FAILURE,
            BOUND_S,
            log,
        )
        assert took < BOUND_S
        _wait(
            "the rig's queue slot being freed for the next run",
            lambda: status(second) != dg.DagsterRunStatus.QUEUED,
            BOUND_S,
            log,
        )
