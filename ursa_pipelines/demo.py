"""The main job, end to end on the embedded default (``make demo``).

1. Realistic rig sessions land in ``<root>/landing``, each stream written by
   its field's own writer: EEG as EDF+ (pyedflib; 16 channels, 256 Hz), audio
   as 16-bit WAV (soundfile), video as H.264 MP4 (PyAV), events as JSON
   lines; 10-second segments, each session augmented by the library.
2. The real ``landing_sensor`` is evaluated once against the Dagster instance
   in ``<root>/dagster`` (``DAGSTER_HOME``, SQLite, our ``dagster.yaml``), with
   no cursor, as a fresh daemon's first tick: it asks for the sessions the
   catalog does not hold yet. Each run it requests — the real ``ingest`` job:
   upload, then registration — executes there, then the ``process`` job turns
   each recording into processed assets (Zarr, MP4 + frame index, Lance), so
   the history shows in the UI afterwards.
3. A ``download`` run with the job's defaults (processed rows) pulls one
   recording's processed assets back, and a raw ``download`` run's files are
   compared with the rig's.
4. A summary prints, with the command that starts Dagster on that instance:
   the UI and its daemon, whose sensors and automation find nothing left to do.

    python -m ursa_pipelines.demo [--root .ursa] [--sessions 10] [--segments 6]
"""

import argparse
import hashlib
import json
import shlex
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from ursa_lib import MANIFEST_NAME, DataInterface, LocalProfile
from ursa_lib.testing import RecordingSpec, write_recording

from ._policy import kind
from .definitions import defs
from .defs.ingest.sensors import landing_sensor
from .resources import UrsaResource

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config that keeps Dagster's per-event console log out of the demo's output."""


def num(value: dg.MetadataValue) -> float:
    return float(value.value)  # type: ignore[arg-type]


START = 1_794_992_400_000_000_000  # 2026-11-18T09:00:00Z, epoch ns: each rec_id names its start


def q(path: Path) -> str:
    """``path`` as one shell word."""
    return shlex.quote(str(path))


def write_session(landing: Path, index: int, segments: int) -> Path:
    rec_id = f"rec_20261118T{9 + index:02d}0000_rig{index % 3 + 1}"
    session = landing / rec_id
    if (session / MANIFEST_NAME).exists() and "files" in json.loads(
        (session / MANIFEST_NAME).read_text()
    ):
        return session  # already there from an earlier demo
    shutil.rmtree(session, ignore_errors=True)  # a half-written one from an interrupted demo
    spec = RecordingSpec(
        rec_id=rec_id,
        start_time_ns=START + index * 3_600_000_000_000,
        segments=segments,
        eeg_channels=16,
        participant_id=f"p{index % 4 + 1:03d}",
        metadata={"task": "rest" if index % 2 else "oddball", "rig": f"rig{index % 3 + 1}"},
        seed=index,
    )
    write_recording(landing, spec)
    return session


def ingest_landed(
    instance: dg.DagsterInstance, site: UrsaResource, console: Console
) -> dict[str, float]:
    """One tick of the real ``landing_sensor`` (no cursor: the catalog says what
    is done), then each ``ingest`` run it asks for; the runs' upload totals."""
    context = dg.build_sensor_context(instance=instance, resources={"ursa": site})
    tick = landing_sensor(context)
    assert isinstance(tick, dg.SensorResult)
    for add in tick.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions("recordings", list(add.partition_keys))
    requests = tick.run_requests or []
    console.print(f"landing_sensor: {len(requests)} new session(s) → ingest runs")
    ingest_job = defs.resolve_job_def("ingest")
    totals = {"runs": 0.0, "files": 0.0, "bytes": 0.0, "uploaded": 0.0, "seconds": 0.0}
    for request in requests:
        result = ingest_job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config={**request.run_config, **QUIET},
            tags=request.tags,
            resources={"ursa": site},
        )
        upload = result.asset_materializations_for_node("raw_session")[0].metadata
        totals["runs"] += 1
        totals["files"] += num(upload["files_total"])
        totals["bytes"] += num(upload["bytes_total"])
        totals["uploaded"] += num(upload["bytes_uploaded"])
        totals["seconds"] += num(upload["duration_s"])
        console.print(
            f"  {request.partition_key}: {upload['files_uploaded'].value} files uploaded, "
            f"{upload['files_skipped'].value} already stored, registered"
        )
    return totals


def process_all(instance: dg.DagsterInstance, site: UrsaResource, console: Console) -> int:
    """A ``process`` run per recording (what the eager automation condition
    requests under the daemon); how many runs succeeded."""
    job = defs.resolve_job_def("process")
    runs = 0
    for rec_id in sorted(instance.get_dynamic_partitions("recordings")):
        result = job.execute_in_process(
            instance=instance,
            partition_key=rec_id,
            run_config=QUIET,
            tags=kind("process"),
            resources={"ursa": site},
        )
        runs += result.success
        assets = sum(e.event_type_value == "ASSET_MATERIALIZATION" for e in result.all_events)
        console.print(f"  {rec_id}: {assets} processed assets materialized")
    return runs


def download_run(
    instance: dg.DagsterInstance,
    site: UrsaResource,
    dest: Path,
    recording_hash: str,
    source: str | None = None,
) -> dict[str, dg.MetadataValue]:
    """A ``download`` run of one recording (the job's defaults: processed rows, their
    processed assets; ``source="raw"`` for their raw segments); its metadata."""
    config: dict[str, Any] = {"dest": str(dest), "recording_hash": [recording_hash]}
    if source is not None:
        config["source"] = source
    download = defs.resolve_job_def("download").execute_in_process(
        instance=instance,
        resources={"ursa": site},
        run_config={**QUIET, "ops": {"download_op": {"config": config}}},
        tags=kind("download"),
    )
    [output] = [e for e in download.all_events if e.event_type_value == "STEP_OUTPUT"]
    return dict(output.step_output_data.metadata)


def verify_download(dest: Path, rig_manifest: dict[str, Any]) -> int:
    """How many downloaded files there are; `SystemExit` if one differs from the rig's."""
    on_rig = {f["rel_path"]: f["sha256"] for f in rig_manifest["files"]}
    folder = dest / rig_manifest["recording_hash"]
    checked = 0
    for path in folder.rglob("*"):
        if path.is_file():
            worker = f"{path.relative_to(folder).parts[0]}_0/{path.name}"
            if hashlib.sha256(path.read_bytes()).hexdigest() != on_rig[worker]:
                raise SystemExit(f"{path} differs from the rig's {worker}")
            checked += 1
    return checked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(".ursa"))
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--segments", type=int, default=6)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    console = Console()

    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sessions = [write_session(landing, i, args.segments) for i in range(args.sessions)]
    console.print(f"{len(sessions)} sessions in {landing} ({time.perf_counter() - started:.1f} s)")

    home = root / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    site = UrsaResource(local_root=str(root), landing_dirs=[str(landing)])
    pick = json.loads((sessions[0] / MANIFEST_NAME).read_text())
    dest = root / "demo-download"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        totals = ingest_landed(instance, site, console)
        process_runs = process_all(instance, site, console)
        dl = download_run(instance, site, dest / "processed", pick["recording_hash"])
        raw = download_run(instance, site, dest / "raw", pick["recording_hash"], "raw")
    checked = verify_download(dest / "raw", pick)
    data = DataInterface(LocalProfile(root=root))
    results = data.query()
    status = data.status()["modalities_by_status"]

    table = Table(title="Ursa main job — embedded Dagster instance", show_header=False)
    table.add_row("sessions on the landing dirs", str(len(sessions)))
    table.add_row("ingest runs (sensor-requested)", f"{totals['runs']:.0f}")
    table.add_row(
        "files / bytes in those sessions", f"{totals['files']:,.0f} / {totals['bytes']:,.0f}"
    )
    rate = totals["uploaded"] / max(totals["seconds"], 1e-9) / 2**20
    table.add_row("bytes uploaded", f"{totals['uploaded']:,.0f} ({rate:.0f} MiB/s)")
    table.add_row("raw bucket", str(root / "raw"))
    table.add_row("catalog", str(root / "catalog"))
    table.add_row("process runs", str(process_runs))
    table.add_row("modality rows by status", ", ".join(f"{k} {v}" for k, v in status.items() if v))
    table.add_row("DataInterface().query()", f"{len(results)} processed recording(s)")
    table.add_row(
        "download run (processed)",
        f"{num(dl['files_total']):.0f} files, {num(dl['bytes_total']):,.0f} bytes → {dest}",
    )
    table.add_row(
        "download run (raw)",
        f"{num(raw['files_total']):.0f} files, verified: {checked} match the rig's sha256",
    )
    console.print(table)
    dagster = Path(sys.executable).parent / "dagster"
    print(
        "Start Dagster on this history — the UI and its daemon, so sensors and automation\n"
        "tick (they find every session ingested and processed, and launch nothing); run it\n"
        "from the instance folder, whose dagster.yaml it uses:\n"
        f"  cd {q(home)} && DAGSTER_HOME={q(home)} URSA_LOCAL_ROOT={q(root)} "
        f"URSA_LANDING_DIRS={q(landing)} {q(dagster)} dev -w {q(ROOT / 'workspace.yaml')}"
    )


if __name__ == "__main__":
    # Dagster warns about its own use of a beta parameter when it binds resources.
    warnings.filterwarnings("ignore", message="Parameter `owners` of initializer")
    main()
