"""The Dagster code location with Dagster's own test APIs: asset graph snapshot,
sensor cursor and dedupe, end-to-end ingest, retries, pause, permanent failures,
backfill and download jobs."""

import datetime
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ursa_lib import ACTIVE_MARKER, DataInterface, LocalProfile, augment, ingest, open_store
from ursa_lib.catalog import Catalog, Recording
from ursa_lib.testing import Fault, FaultProxy, RcloneS3, write_session
from ursa_pipelines.definitions import defs
from ursa_pipelines.defs.ingest.sensors import landing_sensor
from ursa_pipelines.resources import UrsaResource

LAYOUT = {"eeg_0": [5000, 3000], "camera_0": [7000], "events_0": [200]}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def site(tmp_path: Path) -> UrsaResource:
    (tmp_path / "landing").mkdir()
    return UrsaResource(local_root=str(tmp_path / "ursa"), landing_dirs=[str(tmp_path / "landing")])


def land(site: UrsaResource, rec_id: str, layout: dict[str, list[int]] = LAYOUT) -> Path:
    return write_session(Path(site.landing_dirs[0]), rec_id, layout)


def run_ingest(
    instance: dg.DagsterInstance, site: UrsaResource, rec_id: str, **config: object
) -> dg.ExecuteInProcessResult:
    if not instance.has_dynamic_partition("recordings", rec_id):
        instance.add_dynamic_partitions("recordings", [rec_id])
    job = defs.resolve_job_def("ingest")
    return job.execute_in_process(
        instance=instance,
        partition_key=rec_id,
        resources={"ursa": site},
        run_config={"ops": {"raw_session": {"config": config}}} if config else None,
        raise_on_error=False,
    )


def lab_profile_env(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, catalog: Path, **more: str
) -> None:
    """An S3 profile ``lab`` (rclone's buckets, a local catalog) from environment variables."""
    settings = {
        "ENDPOINT": endpoint,
        "REGION": "us-east-1",
        "RAW_BUCKET": "ursa-raw",
        "ASSETS_BUCKET": "ursa-assets",
        "CATALOG_URI": str(catalog),
        "CONDITIONAL_WRITES": "false",
        **more,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"URSA_PROFILES__LAB__{name}", value)


def event_types(result: dg.ExecuteInProcessResult, step: str) -> list[str]:
    return [e.event_type_value for e in result.all_events if e.step_key == step]


def failed_once(result: dg.ExecuteInProcessResult) -> str:
    """Assert the raw_session step ran once and failed without a retry; return
    the failure's text."""
    assert not result.success
    steps = event_types(result, "raw_session")
    assert steps.count("STEP_START") == 1
    assert "STEP_UP_FOR_RETRY" not in steps
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return str(failure.event_specific_data)


def test_asset_graph_snapshot() -> None:
    graph = defs.resolve_asset_graph()
    snapshot = {
        key.to_user_string(): {
            "group": graph.get(key).group_name,
            "deps": sorted(d.to_user_string() for d in graph.get(key).parent_keys),
            "checks": sorted(c.name for c in graph.get(key).check_keys),
            "partitioned": graph.get(key).partitions_def is not None,
            "owners": list(graph.get(key).owners),
        }
        for key in graph.get_all_asset_keys()
    }
    assert snapshot == {
        "raw_session": {
            "group": "ingest",
            "deps": [],
            "checks": ["objects_match_manifest"],
            "partitioned": True,
            "owners": ["team:data-platform"],
        },
        "catalog_registration": {
            "group": "ingest",
            "deps": ["raw_session"],
            "checks": ["catalog_rows_complete"],
            "partitioned": True,
            "owners": ["team:data-platform"],
        },
        **{
            f"processed_{kind}": {
                "group": "processing",
                "deps": ["catalog_registration"],
                "checks": ["asset_opens_with_raw_count", "domain_covers_segments"],
                "partitioned": True,
                "owners": ["team:data-platform"],
            }
            for kind in ("timeseries", "audio", "video", "events", "table")
        },
    }
    assert {j.name for j in defs.resolve_all_job_defs()} >= {
        "ingest",
        "backfill",
        "download",
        "raw_inventory",
        "process",
        "scrub",
        "delete",
        "rig_clean",
        "materialize_window",
    }
    assert {s.name for s in defs.sensors or ()} == {
        "landing_sensor",
        "processing_automation",
        "raw_bucket_sensor",
        "rig_clean_after_ingest",
    }
    assert {s.name for s in defs.schedules or ()} == {
        "ingestion_sweep",
        "daily_reconcile",
        "daily_scrub",
    }


def test_landing_sensor_cursor_and_dedupe(instance: dg.DagsterInstance, site: UrsaResource) -> None:
    first = land(site, "rec_one")
    not_augmented = land(site, "rec_two")
    data = json.loads((not_augmented / "manifest.json").read_text())
    for key in ("files", "recording_hash"):
        data.pop(key)
    (not_augmented / "manifest.json").write_text(json.dumps(data))
    half = Path(site.landing_dirs[0]) / "rec_half"
    half.mkdir()
    (half / "manifest.json").write_text('{"rec_id": "rec_ha')  # still being written

    def tick(cursor: str | None) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"ursa": site}
        )
        result = landing_sensor(context)
        assert isinstance(result, dg.SensorResult)
        return result

    result = tick(None)
    assert [r.partition_key for r in result.run_requests or []] == ["rec_one"]
    assert [r.tags["ursa/session"] for r in result.run_requests or []] == ["rec_one"]
    [add] = result.dynamic_partitions_requests or []
    assert list(add.partition_keys) == ["rec_one"]  # type: ignore[union-attr]
    again = tick(result.cursor)
    assert again.run_requests == []  # nothing new: nothing read, nothing requested

    augment(not_augmented)  # now ready: a new manifest time
    third = tick(again.cursor)
    assert [r.partition_key for r in third.run_requests or []] == ["rec_two"]
    # The same tick evaluated twice (cursor not stored yet) asks for the same run key.
    assert [r.run_key for r in tick(again.cursor).run_requests or []] == [
        r.run_key for r in third.run_requests or []
    ]
    # A changed session: new hash, new run key.
    (first / "eeg_0" / "seg_00000.bin").write_bytes(b"changed")
    time.sleep(0.01)
    augment(first)
    fourth = tick(third.cursor)
    [changed] = fourth.run_requests or []
    assert changed.partition_key == "rec_one"
    assert changed.run_key != (result.run_requests or [])[0].run_key


def test_landing_sensor_sees_a_session_copied_in_with_its_old_times(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    land(site, "rec_first")
    context = dg.build_sensor_context(instance=instance, resources={"ursa": site})
    first = landing_sensor(context)
    assert isinstance(first, dg.SensorResult)
    # Written on a rig an hour ago, copied in now keeping its times (rsync -a).
    rig = write_session(tmp_path / "rig", "rec_late", LAYOUT)
    hour_ago = time.time() - 3600
    for path in [*rig.rglob("*"), rig]:
        os.utime(path, (hour_ago, hour_ago))
    late = shutil.copytree(rig, Path(site.landing_dirs[0]) / "rec_late", copy_function=shutil.copy2)
    assert (late / "manifest.json").stat().st_mtime < hour_ago + 1
    context = dg.build_sensor_context(
        instance=instance, cursor=first.cursor, resources={"ursa": site}
    )
    result = landing_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["rec_late"]


def test_landing_sensor_asks_for_no_session_the_catalog_holds_even_without_a_cursor(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    land(site, "rec_done")
    assert run_ingest(instance, site, "rec_done").success
    stopped = land(site, "rec_stopped")
    # An ingest that stopped after the upload: every object stored, no recording row.
    lib = site.interface().enable_writes()
    ingest(
        stopped / "manifest.json", raw=lib.store("raw_rw"), catalog=lib.catalog(), register=False
    )
    with dg.instance_for_test() as fresh:  # a wiped Dagster instance: no cursor, no runs
        context = dg.build_sensor_context(instance=fresh, resources={"ursa": site})
        result = landing_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["rec_stopped"]


def test_ingest_job_uploads_registers_and_records_metadata(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    session = land(site, "rec_e2e")
    result = run_ingest(instance, site, "rec_e2e")
    assert result.success
    upload = result.asset_materializations_for_node("raw_session")[0].metadata
    assert upload["files_uploaded"].value == 4
    assert upload["files_total"].value == 4
    assert upload["bytes_total"].value == 15200
    assert upload["bytes_uploaded"].value == 15200
    assert upload["throughput_mib_s"].value >= 0
    register = result.asset_materializations_for_node("catalog_registration")[0].metadata
    digest = json.loads((session / "manifest.json").read_text())["recording_hash"]
    assert register["recording_hash"].value == digest
    assert register["modalities"].value == 3
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"objects_match_manifest": True, "catalog_rows_complete": True}
    profile = LocalProfile(root=Path(site.local_root or ""))
    assert Catalog.open(profile).get_recording(digest) is not None
    again = run_ingest(instance, site, "rec_e2e")  # a re-run moves nothing
    assert (
        again.asset_materializations_for_node("raw_session")[0].metadata["files_skipped"].value == 4
    )


def test_a_recording_rig_pauses_the_run_and_it_resumes_by_itself(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    session = land(site, "rec_busy")
    marker = session / ACTIVE_MARKER
    marker.touch()

    def stop_recording_once_paused() -> None:
        # The rig stops recording once the step has paused for it (polled, so
        # a slow machine cannot let the run start after the rig stopped).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for run in instance.get_runs():
                if any(
                    e.dagster_event is not None
                    and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
                    for e in instance.all_logs(run.run_id)
                ):
                    marker.unlink()
                    return
            time.sleep(0.1)
        marker.unlink()

    threading.Thread(target=stop_recording_once_paused, daemon=True).start()
    result = run_ingest(instance, site, "rec_busy", pause_wait_s=2.0)
    assert result.success
    steps = event_types(result, "raw_session")
    assert "STEP_UP_FOR_RETRY" in steps
    assert "STEP_FAILURE" not in steps


def test_permanent_errors_fail_at_once_with_the_library_message(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    session = land(site, "rec_bad")
    (session / "eeg_0" / "seg_00000.bin").write_bytes(b"x" * 5000)  # changed after augment
    failure = failed_once(run_ingest(instance, site, "rec_bad"))
    assert "SourceChangedError" in failure
    assert "seg_00000.bin" in failure
    assert Catalog.open(LocalProfile(root=Path(site.local_root or ""))).count(Recording) == 0


def test_transient_store_errors_are_retried_by_policy(
    instance: dg.DagsterInstance,
    rclone_s3: RcloneS3,
    fault_proxy: FaultProxy,
    tmp_path: Path,
    ns: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for role in ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW"):
        monkeypatch.setenv(f"URSA_LAB_{role}_ACCESS_KEY_ID", rclone_s3.rw.access_key_id)
        monkeypatch.setenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY", rclone_s3.rw.secret_access_key)
    lab_profile_env(monkeypatch, fault_proxy.url, tmp_path / "catalog")
    landing = tmp_path / "landing"
    write_session(landing, f"rec_{ns}", LAYOUT)
    # Every PUT of one segment fails for longer than the library's own retries last.
    fault = Fault("status", method="PUT", path_contains="camera_0/seg_00000", status=503, times=4)
    fault_proxy.add(fault)
    site = UrsaResource(profile="lab", landing_dirs=[str(landing)], store_attempts=1)
    result = run_ingest(instance, site, f"rec_{ns}")
    assert result.success
    steps = event_types(result, "raw_session")
    assert "STEP_UP_FOR_RETRY" in steps
    assert fault.fired == 4


def test_backfill_job_registers_and_records_the_registration_asset(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    from ursa_lib import ingest

    session = land(site, "rec_old")
    profile = LocalProfile(root=Path(site.local_root or ""))
    ingest(
        session / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog(str(tmp_path / "elsewhere"), writable=True),
    )
    result = defs.resolve_job_def("backfill").execute_in_process(
        instance=instance,
        resources={"ursa": site},
        run_config={"ops": {"backfill_op": {"config": {"rec_ids": ["rec_old"]}}}},
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("backfill_op")
    assert mat.asset_key == dg.AssetKey("catalog_registration")
    assert mat.partition == "rec_old"
    assert instance.has_dynamic_partition("recordings", "rec_old")
    assert Catalog.open(profile).count(Recording) == 1


def test_a_session_still_being_uploaded_neither_stops_a_backfill_nor_spends_its_run_key(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    from ursa_lib import ingest
    from ursa_pipelines.defs.ingest.sensors import raw_bucket_sensor

    profile = LocalProfile(root=Path(site.local_root or ""))
    raw, elsewhere = open_store(profile, "raw_rw"), Catalog(str(tmp_path / "else"), writable=True)
    for rec_id in ("rec_a", "rec_b"):
        ingest(land(site, rec_id) / "manifest.json", raw=raw, catalog=elsewhere)
    # rec_a's ingest elsewhere has uploaded its manifest (first) and not yet the rest.
    unsent = [o.key for o in raw.list("recordings/rec_a/") if not o.key.endswith(".json")]
    kept = {key: raw.get(key) for key in unsent}
    for key in unsent:
        raw.delete(key)

    context = dg.build_sensor_context(instance=instance, resources={"ursa": site})
    asked = raw_bucket_sensor(context)
    assert isinstance(asked, dg.SensorResult)
    keys = {r.tags["ursa/session"]: r.run_key for r in asked.run_requests or []}
    result = defs.resolve_job_def("backfill").execute_in_process(
        instance=instance,
        resources={"ursa": site},
        run_config={"ops": {"backfill_op": {"config": {"rec_ids": ["rec_a", "rec_b"]}}}},
        raise_on_error=False,
    )
    # rec_a is named, rec_b (after it) registered all the same.
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "1 of 2 sessions not backfilled" in message
    assert "recordings/rec_a: ManifestError" in message
    recorded = [e.asset_key for e in result.all_events if e.is_step_materialization]
    assert recorded == [dg.AssetKey("catalog_registration")]
    assert instance.has_dynamic_partition("recordings", "rec_b")
    assert [r.rec_id for r in Catalog.open(profile).list_recordings()] == ["rec_b"]
    # Once its upload is done, the sensor asks for rec_a again, under a new run key.
    for key, data in kept.items():
        raw.put(key, data)
    again = raw_bucket_sensor(context)
    assert isinstance(again, dg.SensorResult)
    [request] = again.run_requests or []
    assert request.tags["ursa/session"] == "rec_a"
    assert request.run_key != keys["rec_a"]


def test_download_job_writes_files_and_run_metadata(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    land(site, "rec_dl")
    assert run_ingest(instance, site, "rec_dl").success
    config = {"dest": str(tmp_path / "out"), "status": "raw", "participants": ["p1"]}
    job = defs.resolve_job_def("download")

    def run() -> dict[str, object]:
        result = job.execute_in_process(
            instance=instance,
            resources={"ursa": site},
            run_config={"ops": {"download_op": {"config": config}}},
        )
        assert result.success
        [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
        return {k: v.value for k, v in output.step_output_data.metadata.items()}  # type: ignore[union-attr]

    first = run()
    assert (first["files_written"], first["files_skipped"], first["bytes_total"]) == (4, 0, 15200)
    second = run()  # existing="skip" by default: nothing written again
    assert (second["files_written"], second["files_skipped"], second["bytes_skipped"]) == (
        0,
        4,
        15200,
    )
    assert len(list((tmp_path / "out").rglob("seg_*.bin"))) == 4


def test_schedules_request_what_the_catalog_lacks(
    instance: dg.DagsterInstance, site: UrsaResource, tmp_path: Path
) -> None:
    from ursa_lib import ingest
    from ursa_pipelines.defs.ingest.schedules import daily_reconcile, ingestion_sweep

    land(site, "rec_new")
    done = land(site, "rec_done")
    assert run_ingest(instance, site, "rec_done").success
    context = dg.build_schedule_context(
        instance=instance,
        resources={"ursa": site},
        scheduled_execution_time=datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC),
    )
    # rec_done's folder copied under another name: a run would only fail, every 15 minutes.
    copy = shutil.copytree(done, done.parent / "rec_copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "rec_id": "rec_copy"}))
    # An ingest of rec_new already under way (waiting for its rig, say): not asked again.
    queued = instance.create_run_for_job(
        job_def=defs.resolve_job_def("ingest"),
        status=dg.DagsterRunStatus.STARTED,
        tags={"ursa/session": "rec_new", "dagster/partition": "rec_new"},
    )
    waiting = ingestion_sweep(context)
    assert isinstance(waiting, dg.SkipReason)
    assert "1 landing sessions have an ingest run queued" in (waiting.skip_message or "")
    instance.delete_run(queued.run_id)
    sweep = ingestion_sweep(context)
    assert isinstance(sweep, list)
    assert [r.partition_key for r in sweep] == ["rec_new"]
    assert instance.has_dynamic_partition("recordings", "rec_new")
    assert run_ingest(instance, site, "rec_new").success
    skipped = ingestion_sweep(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "1 landing sessions are copies of catalogued recordings" in (skipped.skip_message or "")
    # rec_new deleted while still on the rig: named by the sweep, never ingested again.
    profile = LocalProfile(root=Path(site.local_root or ""))
    DataInterface(profile).enable_writes().delete(recording="rec_new", reason="withdrawn")
    skipped = ingestion_sweep(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "1 hold deleted recordings" in (skipped.skip_message or "")
    # A session in the raw bucket that the catalog lacks (uploaded elsewhere).
    orphan = write_session(tmp_path / "other-rig", "rec_orphan", LAYOUT)
    ingest(
        orphan / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog(str(tmp_path / "elsewhere"), writable=True),
    )
    reconcile = daily_reconcile(context)
    assert isinstance(reconcile, dg.RunRequest)
    config = reconcile.run_config["ops"]["backfill_op"]["config"]
    assert config == {"prefixes": ["recordings/rec_orphan"]}
    assert done.exists()


def test_keys_through_dagster_env_vars_never_show_in_run_records(
    instance: dg.DagsterInstance,
    rclone_s3: RcloneS3,
    tmp_path: Path,
    ns: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No URSA_LAB_* key variables: the keys come only through the resource's EnvVar fields.
    lab_profile_env(
        monkeypatch,
        rclone_s3.rw.url,
        tmp_path / "catalog",
        ROLE_ENDPOINTS__RAW_RO=rclone_s3.ro.url,
        ROLE_ENDPOINTS__ASSETS_RO=rclone_s3.ro.url,
    )
    keys = {
        "LAB_RO_ID": rclone_s3.ro.access_key_id,
        "LAB_RO_SECRET": rclone_s3.ro.secret_access_key,
        "LAB_RW_ID": rclone_s3.rw.access_key_id,
        "LAB_RW_SECRET": rclone_s3.rw.secret_access_key,
    }
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    landing = tmp_path / "landing"
    write_session(landing, f"rec_{ns}", LAYOUT)
    site = UrsaResource(
        profile="lab",
        landing_dirs=[str(landing)],
        ro_access_key_id=dg.EnvVar("LAB_RO_ID"),
        ro_secret_access_key=dg.EnvVar("LAB_RO_SECRET"),
        rw_access_key_id=dg.EnvVar("LAB_RW_ID"),
        rw_secret_access_key=dg.EnvVar("LAB_RW_SECRET"),
    )
    result = run_ingest(instance, site, f"rec_{ns}")
    assert result.success
    records = [str(entry) for entry in instance.all_logs(result.run_id)]
    run = instance.get_run_by_id(result.run_id)
    records.append(str(run))
    for secret in (rclone_s3.ro.secret_access_key, rclone_s3.rw.secret_access_key):
        assert not any(secret in text for text in records)


def test_an_unknown_profile_fails_once_with_the_setting_named(
    instance: dg.DagsterInstance, site: UrsaResource
) -> None:
    land(site, "rec_cfg")
    broken = UrsaResource(profile="ghost", landing_dirs=site.landing_dirs)
    failure = failed_once(run_ingest(instance, broken, "rec_cfg"))
    assert "unknown profile 'ghost'" in failure
