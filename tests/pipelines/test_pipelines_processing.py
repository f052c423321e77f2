"""Processed assets in the Dagster location: downstream of registration, one per
stream kind, code_version from the converters, checks, metadata, failures."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import zarr

from ursa_lib import LocalProfile, open_store
from ursa_lib.catalog import Catalog, IngestionStatus
from ursa_lib.processing import default_registry
from ursa_lib.processing._timeseries import EdfConverter
from ursa_lib.testing import RecordingSpec, write_recording
from ursa_pipelines.definitions import defs
from ursa_pipelines.resources import UrsaResource

T0 = 1_795_000_000_000_000_000


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def site(tmp_path: Path) -> UrsaResource:
    (tmp_path / "landing").mkdir()
    return UrsaResource(local_root=str(tmp_path / "ursa"), landing_dirs=[str(tmp_path / "landing")])


def run(
    instance: dg.DagsterInstance, site: UrsaResource, job: str, rec_id: str
) -> dg.ExecuteInProcessResult:
    if not instance.has_dynamic_partition("recordings", rec_id):
        instance.add_dynamic_partitions("recordings", [rec_id])
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=rec_id, resources={"ursa": site}, raise_on_error=False
    )


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            m = event.event_specific_data.materialization  # type: ignore[union-attr]
            found[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return found


def test_code_version_follows_the_converters() -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("processed_timeseries"))
    versions = {
        f"{c.name}-{c.version}" for c in default_registry().converters() if c.kind == "timeseries"
    }
    assert node.code_version is not None
    assert set(node.code_version.split(";")) == versions
    assert node.automation_condition is not None


def test_a_registered_recording_is_processed_with_metadata_and_checks(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    write_recording(Path(site.landing_dirs[0]), RecordingSpec(rec_id="rec_p", start_time_ns=T0))
    assert run(instance, site, "ingest", "rec_p").success
    result = run(instance, site, "process", "rec_p")
    assert result.success
    found = materializations(result)
    assert set(found) == {
        f"processed_{k}" for k in ("timeseries", "audio", "video", "events", "table")
    }
    eeg = found["processed_timeseries"]
    assert eeg["count"] == 3 * 10 * 256
    assert eeg["channels"] == 8
    assert eeg["seconds_covered"] == pytest.approx(30.0)
    assert f"ursa.timeseries.edf-{EdfConverter.version}" in str(eeg["converter"])
    assert int(str(eeg["input_bytes"])) > 0
    assert float(str(eeg["compression_ratio"])) > 0
    assert json.loads(json.dumps(found["processed_table"]["modalities"])) == {}
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert checks
    assert all(c.passed for c in checks)  # type: ignore[union-attr]
    catalog = Catalog.open(LocalProfile(root=Path(site.local_root or "")))
    statuses = {m.modality: m.ingestion_status for m in catalog.list_modalities()}
    assert statuses == dict.fromkeys(
        ("audio", "camera", "eeg", "events"), IngestionStatus.PROCESSED
    )
    again = run(instance, site, "process", "rec_p")
    assert again.success
    assert "unchanged" in str(materializations(again)["processed_timeseries"]["modalities"])


def test_a_permanent_converter_error_fails_its_step_unretried(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    session = Path(site.landing_dirs[0]) / "rec_bad"
    write_recording(session.parent, RecordingSpec(rec_id="rec_bad", start_time_ns=T0, video=False))
    (session / "eeg_0" / "seg_00001.edf").write_bytes(b"0" * 300)  # not an EDF file
    from ursa_lib import augment

    augment(session)
    assert run(instance, site, "ingest", "rec_bad").success
    result = run(instance, site, "process", "rec_bad")
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [f.step_key for f in failures] == ["processed_timeseries"]
    assert "seg_00001.edf" in str(failures[0].event_specific_data)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retries == []
    assert {
        m.asset_key.to_user_string()
        for m in result.asset_materializations_for_node("processed_audio")
    } == {"processed_audio"}


def test_the_download_job_checks_choices_at_launch_and_clips_a_window(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    write_recording(Path(site.landing_dirs[0]), RecordingSpec(rec_id="rec_w", start_time_ns=T0))
    assert run(instance, site, "ingest", "rec_w").success
    assert run(instance, site, "process", "rec_w").success
    job = defs.resolve_job_def("download")

    def launch(**config: object) -> dg.ExecuteInProcessResult:
        return job.execute_in_process(
            instance=instance,
            resources={"ursa": site},
            run_config={
                "ops": {"download_op": {"config": {"dest": str(tmp_path / "d"), **config}}}
            },
            raise_on_error=False,
        )

    typos = ({"layout": "flt"}, {"existing": "skp"}, {"status": "rawx"}, {"source": "proc"})
    for typo in (*typos, {"names": "rid"}):
        with pytest.raises(dg.DagsterInvalidConfigError):
            launch(**typo)
    nothing = launch(participants=["nobody"])
    assert not nothing.success
    assert "matched no recording" in str(
        [e.event_specific_data for e in nothing.all_events if e.event_type_value == "STEP_FAILURE"]
    )
    bad = launch(limit=0)  # a filter value the query cannot take: the library's refusal
    assert not bad.success
    failure = str(
        [e.event_specific_data for e in bad.all_events if e.event_type_value == "STEP_FAILURE"]
    )
    assert "query filter limit must be a whole number of recordings greater than 0" in failure
    assert "ValidationError" not in failure
    assert not [e for e in bad.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    clipped = launch(window_start_s=5.0, window_end_s=12.0)
    assert clipped.success
    [eeg] = (tmp_path / "d").glob("*/eeg/eeg.zarr")
    data = zarr.open_array(str(eeg / "data"), mode="r")
    assert data.shape == (7 * 256, 8)
    assert dict(data.attrs)["intervals"][0]["start_s"] == pytest.approx(5.0)
    named = launch(window_start_s=5.0, window_end_s=12.0, names="rec_id", existing="overwrite")
    assert named.success
    assert (tmp_path / "d" / "rec_w" / "eeg" / "eeg.zarr" / "data").is_dir()


def test_the_window_job_records_the_shapes_it_read(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    write_recording(Path(site.landing_dirs[0]), RecordingSpec(rec_id="rec_m", start_time_ns=T0))
    assert run(instance, site, "ingest", "rec_m").success
    assert run(instance, site, "process", "rec_m").success
    config = {"recording": "rec_m", "start_s": 5.0, "end_s": 15.0}
    result = defs.resolve_job_def("materialize_window").execute_in_process(
        instance=instance,
        resources={"ursa": site},
        run_config={"ops": {"materialize_window_op": {"config": config}}},
    )
    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    shapes = metadata["shapes"].value
    assert shapes["eeg"] == {"samples": 10 * 256, "channels": 8}  # type: ignore[index]
    assert shapes["audio"] == {"samples": 10 * 16_000, "channels": 1}  # type: ignore[index]
    assert shapes["camera"] == {"frames": 100}  # type: ignore[index]
    assert metadata["domain"].value == [[5.0, 15.0]]


def test_rig_clean_deletes_only_what_the_archive_holds(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    session = Path(site.landing_dirs[0]) / "rec_r"
    write_recording(session.parent, RecordingSpec(rec_id="rec_r", start_time_ns=T0, video=False))
    assert run(instance, site, "ingest", "rec_r").success
    sensor = next(s for s in defs.sensors or () if s.name == "rig_clean_after_ingest")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # off by default
    job = defs.resolve_job_def("rig_clean")

    def clean(dry_run: bool) -> dg.ExecuteInProcessResult:
        config = {"sessions": ["rec_r"], "dry_run": dry_run}
        return job.execute_in_process(
            instance=instance,
            resources={"ursa": site},
            run_config={"ops": {"rig_clean_op": {"config": config}}},
            raise_on_error=False,
        )

    raw = open_store(LocalProfile(root=Path(site.local_root or "")), "raw_rw")
    key = "recordings/rec_r/eeg_0/seg_00001.edf"
    kept = raw.get(key)
    raw.delete(key)
    refused = clean(dry_run=False)
    assert not refused.success
    assert "seg_00001.edf (missing)" in str(
        [e.event_specific_data for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
    )
    assert session.exists()
    raw.put(key, kept, metadata={"sha256": hashlib.sha256(kept).hexdigest()})
    assert clean(dry_run=True).success
    assert session.exists()
    assert clean(dry_run=False).success
    assert not session.exists()
