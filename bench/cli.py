"""Start-up of the ``ursa`` command beside ``rclone version``.

    .venv/bin/python bench/cli.py            # full run, recorded
    .venv/bin/python bench/cli.py --quick    # fewer rounds, not recorded

Wall time of whole processes, as a user at a shell sees it: ``ursa --help``
and ``ursa profile show`` (which must not import LanceDB, Arrow or Dagster;
targets 300 ms and 500 ms), and ``ursa query --status raw`` against a small
local catalog (one session, four modalities) built in a temporary folder,
which pays for LanceDB's import (timed alone beside it). ``rclone version`` (a Go binary) is the
floor a CLI user compares with. Rounds are interleaved after one uncounted
warm-up; the median is reported. The table replaces the "cli" section of
docs/benchmarks.md; the last line printed is ``BENCH cli ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from ursa_lib import LocalProfile, augment, ingest, open_store  # noqa: E402
from ursa_lib._demo import make_synthetic_session  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402

TARGETS_MS = {"help": 300.0, "profile_show": 500.0}


def build_catalog(root: Path) -> LocalProfile:
    """One ingested session (four raw modalities, eight small files)."""
    profile = LocalProfile(root=root / "ursa")
    session = make_synthetic_session(root / "rigs", "rec_bench", segments=2, segment_bytes=4096)
    rig = {"rec_id": "rec_bench", "start_time": 1, "duration": 60.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    ingest(
        session / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog.open(profile, writable=True),
    )
    return profile


def ursa_command() -> list[str]:
    script = Path(sys.executable).parent / "ursa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ursa_lib.cli"]


def rclone_binary() -> str | None:
    return shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which("rclone")


def wall_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds, not recorded")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    with tempfile.TemporaryDirectory(prefix="ursa-bench-cli-") as scratch:
        work = Path(scratch)
        profile = build_catalog(work)
        # A clean environment: no profile or config file of the machine's user.
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "COLUMNS": "120"}
        ursa = ursa_command()
        root = ["--root", str(profile.root)]
        commands = {
            "help": [*ursa, "--help"],
            "profile_show": [*ursa, "profile", "show"],
            "query": [*ursa, "query", "--status", "raw", *root],
        }
        commands["import_lancedb"] = [sys.executable, "-c", "import lancedb"]
        rclone = rclone_binary()
        if rclone is not None:
            commands["rclone_version"] = [rclone, "version"]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():
            wall_ms(argv, env, work)  # warm-up: page cache, .pyc files
        for _ in range(rounds):
            for name, argv in commands.items():
                times[name].append(wall_ms(argv, env, work))
    med = {name: statistics.median(values) for name, values in times.items()}
    rclone_ms = med.get("rclone_version")

    def row(name: str, label: str) -> str:
        target = TARGETS_MS.get(name)
        verdict = (
            f"≤ {target:.0f} ms: {'met' if med[name] <= target else '**missed**'}"
            if target
            else "—"
        )
        ratio = f"{med[name] / rclone_ms:.1f}" if rclone_ms else "—"
        return f"| {label} | {med[name]:.0f} ms | {min(times[name]):.0f} ms | {ratio} | {verdict} |"

    lines = [
        f"Wall time of whole processes, median of {rounds} interleaved rounds after a "
        "warm-up (min beside it); local profile, clean environment; 2 cores shared with "
        "whatever else runs.",
        "",
        "| command | median | min | × `rclone version` | target |",
        "|---|---:|---:|---:|---|",
        row("help", "`ursa --help`"),
        row("profile_show", "`ursa profile show`"),
        row("query", "`ursa query --status raw` (1 session, LanceDB on local disk)"),
        row("import_lancedb", "`python -c 'import lancedb'` (the floor of a catalog command)"),
    ]
    if rclone_ms is not None:
        lines.append(
            f"| `rclone version` (reference) | {rclone_ms:.0f} ms | "
            f"{min(times['rclone_version']):.0f} ms | 1.0 | — |"
        )
    lines += [
        "",
        "`--help` and `profile show` import neither LanceDB, Arrow nor Dagster (a test checks "
        "it); `query` pays for LanceDB's import (the row below it), which is most of its time.",
        "",
        "Command: `.venv/bin/python bench/cli.py`",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "cli", "Command-line start-up", table)
    print(
        f"BENCH cli help_ms={med['help']:.0f} profile_show_ms={med['profile_show']:.0f} "
        f"query_ms={med['query']:.0f}"
    )


if __name__ == "__main__":
    main()
