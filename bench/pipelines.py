"""Dagster overhead: the landing sensor's tick, ingest through Dagster vs the
library, and runs launched the way the UI launches them, by executor.

    .venv/bin/python bench/pipelines.py                 # full run
    .venv/bin/python bench/pipelines.py --quick         # small smoke run, not recorded
    .venv/bin/python bench/pipelines.py --launch-only   # launched runs only, not recorded

* Sensor tick: 10,000 augmented sessions in a landing directory, the cursor
  stored after a first tick, then 10 new sessions; the real ``landing_sensor``
  is evaluated (median of 5 evaluations from that cursor).
* Ingest: the ingest benchmark's session (~1.6 GB, 224 files) into ``rclone
  serve s3`` on loopback, by ``ursa_lib.ingest`` directly and by the ``ingest``
  job (upload asset + registration asset, executed in process on a temporary
  instance), interleaved rounds after a warm-up, fresh prefix and catalog each
  round, alternating which goes first; overhead = Dagster time / library time - 1. The server runs with
  ``--etag-hash ""`` (see the comment at its start).
* Launched runs (``bench/_launch.py``): runs submitted through the project's
  run launcher on a code server, as the UI's are, each executor in turn
  (a process per step, the same forked from a preloaded forkserver, in
  process): re-runs of ``ingest`` and ``process`` for a stored, processed demo
  session, and ``process`` of a new 30-minute session; medians of ``--rounds``
  rounds, each split into run worker start, steps' process start and work.

The table replaces the "pipelines" section of docs/benchmarks.md; the last line
printed is ``BENCH pipelines ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from bench._launch import Launched, launched_runs  # noqa: E402
from bench._report import update_section  # noqa: E402
from bench.ingest import REC_ID, prepare, purge, ursa_store  # noqa: E402
from bench.store import FULL, QUICK, timed  # noqa: E402
from ursa_lib import augment, ingest  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402
from ursa_lib.testing import RcloneS3  # noqa: E402
from ursa_pipelines.definitions import defs  # noqa: E402
from ursa_pipelines.defs.ingest.sensors import landing_sensor  # noqa: E402
from ursa_pipelines.resources import UrsaResource  # noqa: E402

warnings.filterwarnings("ignore", message="Parameter `owners` of initializer")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def fake_session(landing: Path, name: str) -> None:
    folder = landing / name
    folder.mkdir()
    manifest = {
        "rec_id": name,
        "start_time": 1,
        "duration": 1.0,
        "participant_id": "p",
        "files": [{"rel_path": "eeg_0/a.bin", "size": 1, "sha256": "0" * 64}],
        "recording_hash": "1" * 64,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def sensor_tick(sessions: int, new: int, scratch: Path) -> tuple[float, int]:
    landing = scratch / "landing"
    landing.mkdir()
    for i in range(sessions - new):
        fake_session(landing, f"rec_{i:06d}")
    site = UrsaResource(local_root=str(scratch / "ursa"), landing_dirs=[str(landing)])
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None) -> dg.SensorResult:
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"ursa": site}
            )
            result = landing_sensor(context)
            assert isinstance(result, dg.SensorResult)
            return result

        cursor = tick(None).cursor
        time.sleep(0.05)
        for i in range(new):
            fake_session(landing, f"rec_new_{i:03d}")
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            result = tick(cursor)
            samples.append(time.perf_counter() - started)
            assert len(result.run_requests or []) == new, len(result.run_requests or [])
    return statistics.median(samples), new


LAUNCH_ROWS = {
    "ingest re-run": "`ingest` re-run, stored session",
    "process re-run": "`process` re-run, processed session",
    "process new": "`process`, new {minutes}-minute session",
}
EXECUTOR_NAMES = {
    "multiprocess": "process per step (Dagster's default)",
    "forkserver": "process per step, forkserver preloaded",
    "in_process": "in process (the project's)",
}


def launch_table(runs: dict[str, Launched], minutes: int, rounds: int) -> tuple[str, str]:
    """The launched runs' table for docs/benchmarks.md, and their BENCH keys."""
    lines = [
        "| launched run | executor | wall s | run worker start | steps' process start (sum) "
        "| steps' work (sum) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    keys = []
    for case, run in runs.items():
        what, executor = case.split("/")
        lines.append(
            f"| {LAUNCH_ROWS[what].format(minutes=minutes)} | {EXECUTOR_NAMES[executor]} "
            f"| {run.wall:.1f} | {run.worker:.1f} | {run.step_start:.1f} | {run.work:.1f} |"
        )
        keys.append(f"launch_{what.replace(' ', '_').replace('-', '')}_{executor}_s={run.wall:.1f}")
    lines += [
        "",
        f"Runs submitted through the project's run launcher (`MonitoredRunLauncher`: a run "
        f"worker process per run, child of a code server), medians of {rounds} round(s); 2 cores. "
        "The project's queue adds up to one dequeue interval (5 s) before the launch, whatever "
        'the executor. See docs/operations.md, "Executor".',
    ]
    return "\n".join(lines), " ".join(keys)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--launch-only", action="store_true", help="only the launched runs, not recorded in docs"
    )
    args = parser.parse_args()

    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    tables, keys = [], []
    try:
        if not args.launch_only:
            figures = _ingest_overhead(args.quick, args.rounds, data_dir, scratch)
            tables.append(_table(figures, args.rounds))
            keys.append(_bench_keys(figures))
        # Launched runs take 10 to 35 s each (nine cases a round): at most 3 rounds.
        minutes, rounds = (5, 1) if args.quick else (30, min(args.rounds, 3))
        runs = launched_runs(scratch / "launch", rounds, minutes)
        table, more = launch_table(runs, minutes, rounds)
        tables.append(table)
        keys.append(more)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    command = " --launch-only" if args.launch_only else ""
    body = "\n\n".join([*tables, f"Command: `.venv/bin/python bench/pipelines.py{command}`"])
    print(body)
    if not args.quick and not args.launch_only:
        update_section(ROOT / "docs" / "benchmarks.md", "pipelines", "Dagster overhead", body)
    print("BENCH pipelines " + " ".join(keys))


def _ingest_overhead(quick: bool, rounds: int, data_dir: Path, scratch: Path) -> Figures:
    """The sensor tick and the ingest through the library and through Dagster."""
    stack = contextlib.ExitStack()
    try:
        sessions = 1_000 if quick else 10_000
        tick_s, new = sensor_tick(sessions, 10, scratch)
        print(f"sensor tick, {sessions} sessions / {new} new: {tick_s * 1000:.0f} ms", flush=True)

        layout = QUICK if quick else FULL
        session = prepare(data_dir, layout, quick)
        augment(session)
        total = sum(p.stat().st_size for p in session.rglob("*.bin"))
        times = _ingest_rounds(session, scratch, stack, total, rounds)
    finally:
        stack.close()
    lib_s = statistics.median(times["library"])
    dag_s = statistics.median(times["dagster"])
    return Figures(sessions=sessions, new=new, tick_s=tick_s, total=total, lib_s=lib_s, dag_s=dag_s)


def _profile_env(server: RcloneS3) -> dict[str, str]:
    """The ``bench`` profile, every role with the server's read-write keys."""
    env = {
        "URSA_PROFILES__BENCH__ENDPOINT": server.rw.url,
        "URSA_PROFILES__BENCH__REGION": "us-east-1",
        "URSA_PROFILES__BENCH__RAW_BUCKET": "ursa-raw",
        "URSA_PROFILES__BENCH__ASSETS_BUCKET": "ursa-assets",
        "URSA_PROFILES__BENCH__CONDITIONAL_WRITES": "false",
    }
    for role in ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW"):
        env[f"URSA_BENCH_{role}_ACCESS_KEY_ID"] = server.rw.access_key_id
        env[f"URSA_BENCH_{role}_SECRET_ACCESS_KEY"] = server.rw.secret_access_key
    return env


def _ingest_rounds(
    session: Path, scratch: Path, stack: contextlib.ExitStack[bool | None], total: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds of each counted round: the library's ``ingest`` and the Dagster job,
    alternating which goes first; the Dagster instance stays open on ``stack``."""
    # rclone serve s3 computes an MD5 ETag for every object the first time it lists
    # it (about 3 s for this session), which no real S3 service does; the
    # Dagster path lists the upload for its asset check, so that artefact
    # would be charged to Dagster alone. ETags off for this benchmark.
    server = RcloneS3(scratch / "server", extra_args=["--etag-hash", ""]).start()
    try:
        os.environ.update(_profile_env(server))
        store = ursa_store(server.rw.url, server)
        job = defs.resolve_job_def("ingest")
        times: dict[str, list[float]] = {"library": [], "dagster": []}
        instance = stack.enter_context(dg.instance_for_test())
        instance.add_dynamic_partitions("recordings", [REC_ID])
        for round_ in range(rounds + 1):
            # Alternate who goes first, so drift in the server's disk cache is shared.
            for how in ("library", "dagster")[:: 1 if round_ % 2 else -1]:
                catalog_dir = scratch / f"catalog-{how}-{round_}"
                if how == "library":
                    catalog = Catalog(str(catalog_dir), writable=True)

                    def run(catalog: Catalog = catalog) -> None:
                        ingest(session / "manifest.json", raw=store, catalog=catalog)

                else:
                    os.environ["URSA_PROFILES__BENCH__CATALOG_URI"] = str(catalog_dir)
                    site = UrsaResource(profile="bench", landing_dirs=[str(session.parent)])

                    def run(site: UrsaResource = site) -> None:
                        # The instance is long-lived in a deployment: made outside the
                        # timing (the partition is added by the sensor, also outside).
                        result = job.execute_in_process(
                            instance=instance,
                            partition_key=REC_ID,
                            resources={"ursa": site},
                            run_config=QUIET,
                        )
                        assert result.success

                seconds = timed(run)
                print(f"round {round_} {how}: {total / 2**20 / seconds:.0f} MiB/s", flush=True)
                if round_:
                    times[how].append(seconds)
                purge(store, "recordings")
    finally:
        server.stop()
    return times


@dataclass(frozen=True, slots=True)
class Figures:
    sessions: int
    new: int
    tick_s: float
    total: int
    lib_s: float
    dag_s: float

    @property
    def overhead(self) -> float:
        return self.dag_s / self.lib_s - 1


def _table(f: Figures, rounds: int) -> str:
    sessions, new, tick_s, total = f.sessions, f.new, f.tick_s, f.total
    lib_s, dag_s, overhead = f.lib_s, f.dag_s, f.overhead
    return "\n".join(
        [
            f"Landing sensor tick with {sessions:,} sessions of which {new} are new: "
            f"**{tick_s * 1000:.0f} ms** (median of 5 evaluations; one stat per session folder, "
            f"{new} manifests read).",
            "",
            "| ingest of the session | seconds | MiB/s |",
            "|---|---:|---:|",
            f"| `ursa_lib.ingest` directly | {lib_s:.2f} | {total / 2**20 / lib_s:.0f} |",
            f"| Dagster `ingest` job (upload + registration assets, in process) | {dag_s:.2f} "
            f"| {total / 2**20 / dag_s:.0f} |",
            "",
            f"Dagster overhead: **{overhead * 100:.1f} %** of the library's own time "
            f"({total / 2**20:.0f} MiB session, `rclone serve s3` on loopback, median of "
            f"{rounds} rounds after a warm-up; 2 cores; server with `--etag-hash ''`, "
            "since rclone serve s3 otherwise hashes every object on its first listing, which "
            "would charge ~3 s to the Dagster path's asset-check listing alone).",
        ]
    )


def _bench_keys(f: Figures) -> str:
    tick_s, lib_s, dag_s, overhead = f.tick_s, f.lib_s, f.dag_s, f.overhead
    return (
        f"sensor_tick_ms={tick_s * 1000:.0f} library_ingest_ms={lib_s * 1000:.0f} "
        f"dagster_ingest_ms={dag_s * 1000:.0f} dagster_overhead_pct={overhead * 100:.1f}"
    )


if __name__ == "__main__":
    main()
