"""The code location loads and its inventory job runs on the local profile."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from ursa_lib import LocalProfile, open_store
from ursa_pipelines._policy import EXECUTOR
from ursa_pipelines.definitions import defs
from ursa_pipelines.resources import UrsaResource

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_from_the_workspace() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stderr + result.stdout


def test_every_job_and_asset_materialization_runs_in_the_policy_executor() -> None:
    jobs = {job.name: job.executor_def for job in defs.resolve_all_job_defs()}
    assert "__ASSET_JOB" in jobs  # what the UI and the automation sensor launch
    assert all(executor is EXECUTOR for executor in jobs.values()), jobs


def test_inventory_job_counts_the_raw_bucket(tmp_path: Path) -> None:
    profile = LocalProfile(root=tmp_path)
    raw = open_store(profile, "raw_rw")
    raw.put("recordings/r1/eeg_0/seg_00000.bin", b"a" * 10)
    raw.put("recordings/r1/eeg_0/seg_00001.bin", b"b" * 32)
    job = defs.get_job_def("raw_inventory")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            resources={"ursa": UrsaResource(local_root=str(tmp_path))},
        )
    assert result.success
    assert result.output_for_node("raw_inventory_op") == 2
    [materialization] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = materialization.step_output_data.metadata
    assert metadata["bytes"].value == 42


def test_the_library_never_imports_dagster() -> None:
    code = "import sys, ursa_lib, ursa_lib.cli, ursa_lib._demo; print('dagster' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
