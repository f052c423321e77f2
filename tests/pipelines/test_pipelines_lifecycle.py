"""Lifecycle jobs: scrub's run fails on findings with them as metadata; the
delete job refuses unless enabled and confirmed, and then deletes, audited."""

import datetime
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pytest

from ursa_lib import DataInterface, LocalProfile
from ursa_lib.catalog import Deletion
from ursa_lib.testing import write_session
from ursa_pipelines.definitions import defs
from ursa_pipelines.defs.lifecycle.delete import ENABLE_VAR
from ursa_pipelines.defs.lifecycle.scrub import daily_scrub
from ursa_pipelines.resources import UrsaResource


@pytest.fixture
def site(tmp_path: Path) -> tuple[DataInterface, UrsaResource]:
    ursa = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    ursa.ingest(write_session(tmp_path / "rig", "rec_job", {"eeg_0": [300, 200]}))
    return ursa, UrsaResource(local_root=str(tmp_path / "ursa"))


def run(
    job: str, resource: UrsaResource, config: Mapping[str, object]
) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return defs.get_job_def(job).execute_in_process(
            run_config={"ops": {f"{job}_op": {"config": dict(config)}}},
            instance=instance,
            resources={"ursa": resource},
            raise_on_error=False,
        )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's description and error, as the run's event log shows them."""
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    data = failure.step_failure_data
    user = data.user_failure_data
    return " ".join(
        [user.description or "" if user else "", data.error.to_string() if data.error else ""]
    )


def test_scrub_job_passes_clean_and_fails_on_findings_with_metadata(
    site: tuple[DataInterface, UrsaResource],
) -> None:
    ursa, resource = site
    clean = run("scrub", resource, {"sample": 1.0})
    assert clean.success
    ursa.store("raw_rw").delete("recordings/rec_job/eeg_0/seg_00001.bin")
    found = run("scrub", resource, {})
    assert not found.success
    [failure] = [e for e in found.all_events if e.event_type_value == "STEP_FAILURE"]
    info = failure.step_failure_data.user_failure_data
    assert info is not None
    assert info.metadata["by_kind"].value == {"missing_object": 1}
    assert "scrub found 1 problems" in (info.description or "")


def test_scrub_repair_records_each_session_it_backfills_as_registered(
    site: tuple[DataInterface, UrsaResource], tmp_path: Path
) -> None:
    ursa, resource = site
    # Uploaded, never registered (an ingest killed before registration).
    orphan = write_session(tmp_path / "rig", "rec_orphan", {"eeg_0": [100]})
    ursa.ingest(orphan, register=False)
    with dg.instance_for_test() as instance:
        result = defs.get_job_def("scrub").execute_in_process(
            run_config={"ops": {"scrub_op": {"config": {"repair": True}}}},
            instance=instance,
            resources={"ursa": resource},
        )
        assert result.success
        [mat] = result.asset_materializations_for_node("scrub_op")
        assert (mat.asset_key, mat.partition) == (dg.AssetKey("catalog_registration"), "rec_orphan")
        found = {r.recording.rec_id: r.recording_hash for r in ursa.query(status="all")}
        assert mat.metadata["recording_hash"].value == found["rec_orphan"]
        assert instance.has_dynamic_partition("recordings", "rec_orphan")


def test_scrub_config_is_validated_and_the_daily_schedule_samples() -> None:
    # Validated as the step starts, before the op's body runs.
    bad = run("scrub", UrsaResource(), {"sample": 2.0})
    assert not bad.success
    assert "less than or equal to 1" in failure_text(bad)
    tick = datetime.datetime(2026, 11, 22, 3, 30, tzinfo=datetime.UTC)
    request = daily_scrub(dg.build_schedule_context(scheduled_execution_time=tick))
    assert isinstance(request, dg.RunRequest)
    assert request.run_config["ops"]["scrub_op"]["config"] == {"sample": 0.01}


@pytest.mark.slow
def test_delete_job_refuses_unless_enabled_and_confirmed(
    site: tuple[DataInterface, UrsaResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    ursa, resource = site
    config = {"recording": "rec_job", "reason": "consent withdrawn", "confirm": "rec_job"}
    monkeypatch.delenv(ENABLE_VAR, raising=False)
    off = run("delete", resource, config)
    assert not off.success
    assert ENABLE_VAR in failure_text(off)
    monkeypatch.setenv(ENABLE_VAR, "1")
    unconfirmed = run("delete", resource, {**config, "confirm": "rec_other"})
    assert not unconfirmed.success
    assert "confirm must repeat the id being deleted ('rec_job')" in failure_text(unconfirmed)
    assert ursa.query(status="all")  # nothing was deleted
    done = run("delete", resource, config)
    assert done.success
    assert not ursa.query(status="all")
    assert [d.rec_id for d in ursa.catalog().rows(Deletion)] == ["rec_job"]
