"""The main job, end to end on the embedded default (``make demo``).

1. Synthetic rig sessions land in ``<root>/landing``: EEG segments as NumPy
   ``.npy`` (32 channels, 1 kHz, float32), audio as 16-bit PCM ``.wav``
   (48 kHz), events as JSON lines; each session augmented by the library.
2. The real ``landing_sensor`` is evaluated against the Dagster instance in
   ``<root>/dagster`` (``DAGSTER_HOME``, SQLite, our ``dagster.yaml``); each run
   it requests — the real ``ingest`` job: upload, then registration — executes
   there, so the history shows in the UI afterwards.
3. A ``download`` run pulls one recording back and its files are compared with
   the rig's.
4. A summary prints, with the command that opens the UI on that history.

    python -m ursa_pipelines.demo [--root .ursa] [--sessions 10] [--segments 12]
"""

import argparse
import hashlib
import json
import shutil
import sys
import time
import warnings
import wave
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
from rich.console import Console
from rich.table import Table

from ursa_lib import MANIFEST_NAME, augment

from ._policy import kind
from .definitions import defs
from .defs.ingest.sensors import landing_sensor
from .resources import UrsaResource

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config that keeps Dagster's per-event console log out of the demo's output."""


def num(value: dg.MetadataValue) -> float:
    return float(value.value)  # type: ignore[arg-type]


START = 1_795_000_000_000_000_000  # 2026-11-18, epoch ns


def write_session(landing: Path, index: int, segments: int, rng: np.random.Generator) -> Path:
    rec_id = f"rec_20261118T{9 + index:02d}0000_rig{index % 3 + 1}"
    session = landing / rec_id
    if (session / MANIFEST_NAME).exists() and "files" in json.loads(
        (session / MANIFEST_NAME).read_text()
    ):
        return session  # already there from an earlier demo
    for worker in ("eeg_0", "audio_0", "events_0"):
        (session / worker).mkdir(parents=True, exist_ok=True)
    for seg in range(segments):
        eeg = rng.standard_normal((10_000, 32), dtype=np.float32) * 20.0  # 10 s at 1 kHz, µV
        np.save(session / "eeg_0" / f"seg_{seg:05d}.npy", eeg)
        with wave.open(str(session / "audio_0" / f"seg_{seg:05d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(48_000)
            tone = np.sin(np.arange(480_000) * 2 * np.pi * 440 / 48_000) * 8000
            noise = rng.normal(0, 500, 480_000)
            out.writeframes((tone + noise).astype("<i2").tobytes())
    with open(session / "events_0" / "events.jsonl", "w") as out:
        for i in range(segments * 5):
            out.write(json.dumps({"t": i * 2.0, "type": "prompt", "text": f"item {i}"}) + "\n")
    rig = {
        "rec_id": rec_id,
        "start_time": START + index * 3_600_000_000_000,
        "duration": segments * 10.0,
        "device_info": {"rig": f"rig{index % 3 + 1}", "amplifier": "synthetic-32"},
        "metadata": {"task": "rest" if index % 2 else "oddball"},
        "participant_id": f"p{index % 4 + 1:03d}",
    }
    (session / MANIFEST_NAME).write_text(json.dumps(rig))
    augment(session)
    return session


def ingest_landed(
    instance: dg.DagsterInstance, home: Path, site: UrsaResource, console: Console
) -> dict[str, float]:
    """One tick of the real ``landing_sensor`` (with the cursor it stored last
    time), then each ``ingest`` run it asks for; the runs' upload totals."""
    state_file = home / "landing_sensor.cursor"
    cursor = state_file.read_text() if state_file.exists() else None
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"ursa": site})
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
    if tick.cursor is not None:
        state_file.write_text(tick.cursor)
    return totals


def download_run(
    instance: dg.DagsterInstance, site: UrsaResource, dest: Path, recording_hash: str
) -> dict[str, dg.MetadataValue]:
    """A ``download`` run of one recording's raw files; the run's metadata."""
    config = {"dest": str(dest), "status": "raw", "recording_hash": [recording_hash]}
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
    parser.add_argument("--segments", type=int, default=12)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    console = Console()

    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    sessions = [write_session(landing, i, args.segments, rng) for i in range(args.sessions)]
    console.print(f"{len(sessions)} sessions in {landing} ({time.perf_counter() - started:.1f} s)")

    home = root / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    site = UrsaResource(local_root=str(root), landing_dirs=[str(landing)])
    pick = json.loads((sessions[0] / MANIFEST_NAME).read_text())
    dest = root / "demo-download"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        totals = ingest_landed(instance, home, site, console)
        dl = download_run(instance, site, dest, pick["recording_hash"])
    checked = verify_download(dest, pick)

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
    table.add_row(
        "download run",
        f"{num(dl['files_total']):.0f} files, {num(dl['bytes_total']):,.0f} bytes → {dest}",
    )
    table.add_row("verified", f"{checked} downloaded files match the rig's sha256")
    console.print(table)
    landing_env = f"URSA_LANDING_DIRS={landing}"
    print(
        "Open the Dagster UI on this history:\n"
        f"  DAGSTER_HOME={home} URSA_LOCAL_ROOT={root} {landing_env} "
        f"{Path(sys.executable).parent / 'dagster'} dev -w {ROOT / 'workspace.yaml'}"
    )


if __name__ == "__main__":
    # Dagster warns about its own use of a beta parameter when it binds resources.
    warnings.filterwarnings("ignore", message="Parameter `owners` of initializer")
    main()
