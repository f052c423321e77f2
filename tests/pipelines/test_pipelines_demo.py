"""The main job (make demo) with the real definitions on an embedded instance,
and the UI command it prints, run verbatim with its daemon."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import TickStatus

from ursa_lib import LocalProfile
from ursa_lib.catalog import Catalog, Modality, Recording
from ursa_pipelines.demo import main

TICKS_TIMEOUT_S = 150.0
"""Start-up plus two 30-second sensor intervals, with slack for a busy 2-core machine."""


def test_demo_runs_the_whole_path_and_records_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--root", str(tmp_path), "--sessions", "3", "--segments", "1"])
    out = capsys.readouterr().out
    assert "landing_sensor: 3 new session(s)" in out
    words = " ".join(out.replace("│", " ").split())  # the summary table may wrap
    assert "match the rig's sha256" in words
    assert "3 processed recording(s)" in words
    home = tmp_path / "dagster"
    assert f"DAGSTER_HOME={home}" in out
    # Dagster with its daemon, run from the instance folder (whose dagster.yaml it uses).
    [command] = [line.strip() for line in out.splitlines() if " dev -w " in line]
    assert command.startswith(f"cd {home} &&")
    catalog = Catalog.open(LocalProfile(root=tmp_path))
    assert catalog.count(Recording) == 3
    assert catalog.count(Modality, {"ingestion_status": "processed"}) == 12
    for rec in catalog.list_recordings():  # each rec_id names when its session started
        start = dt.datetime.fromtimestamp(rec.start_time / 1e9, tz=dt.UTC)
        assert rec.rec_id.startswith(f"rec_{start:%Y%m%dT%H%M%S}_"), (rec.rec_id, start)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == [
            *["download"] * 2,
            *["ingest"] * 3,
            *["process"] * 3,
        ]
        assert all(r.is_success for r in runs)
        assert len(instance.get_dynamic_partitions("recordings")) == 3
    # A second demo asks for nothing: the catalog holds every landed session.
    main(["--root", str(tmp_path), "--sessions", "3", "--segments", "1"])
    assert "landing_sensor: 0 new session(s)" in capsys.readouterr().out


def completed_ticks(instance: dg.DagsterInstance, sensor: str) -> list[TickStatus]:
    """The statuses of ``sensor``'s finished ticks (none until its first tick)."""
    done = (TickStatus.SKIPPED, TickStatus.SUCCESS, TickStatus.FAILURE)
    for state in instance.all_instigator_state():
        if state.instigator_name == sensor:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
            return [t.status for t in ticks if t.status in done]
    return []


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, then SIGKILL to whatever outlives a
    short grace (``dagster dev`` itself does not exit on SIGTERM)."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # code servers and run workers too
    process.wait(timeout=30)


@pytest.mark.slow
def test_the_printed_ui_command_starts_no_run_within_two_sensor_ticks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--root", str(tmp_path), "--sessions", "2", "--segments", "1"])
    [command] = [
        line.strip() for line in capsys.readouterr().out.splitlines() if " dev -w " in line
    ]
    home = tmp_path / "dagster"
    sensors = ("landing_sensor", "processing_automation")
    log = tmp_path / "dagster-dev.log"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        before = {r.run_id for r in instance.get_runs()}
        with log.open("wb") as sink:
            # Verbatim, in its own process group; the webserver binds 127.0.0.1, on
            # port 3000 or, when that is taken, a free one.
            ui = subprocess.Popen(
                ["bash", "-c", command],
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + TICKS_TIMEOUT_S
            while min(len(completed_ticks(instance, s)) for s in sensors) < 2:
                if ui.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no two ticks of {sensors}; log:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        finally:
            stop(ui)
        ticks = {s: completed_ticks(instance, s) for s in sensors}
        assert {r.run_id for r in instance.get_runs()} == before
        assert instance.get_backfills() == []
    assert all(t == TickStatus.SKIPPED for s in sensors for t in ticks[s]), ticks
    output = log.read_text()
    assert "Serving dagster-webserver on http://127.0.0.1:" in output
    assert "will not be used to configure Dagster" not in output  # its dagster.yaml is read
