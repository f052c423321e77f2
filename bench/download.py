"""download() vs rclone copy and boto3, side by side on one local S3 server.

    .venv/bin/python bench/download.py            # full run (the ~1.6 GB session)
    .venv/bin/python bench/download.py --quick    # small smoke run, not recorded

The store benchmark's session (200 x 1 MiB, 20 x 20 MiB, 4 x 256 MiB) is
ingested once into ``rclone serve s3`` with a local catalog. Then, in
interleaved rounds after an uncounted warm-up, the whole recording is fetched:

* by Ursa: ``query`` + ``download`` (4 files at a time, every raw segment's
  sha256 verified before its rename, files fsynced — the defaults), and the
  same without fsync, to show what durability costs;
* by ``rclone copy --transfers 4`` of the recording's prefix;
* by boto3 (s3transfer, 4 threads).

Then the skip path: the same download into the complete destination
(``existing="skip"``: sizes and sha256 compared, nothing fetched) vs ``rclone
copy`` into its complete copy. Peak RSS is measured in a child process that
ingests and downloads one 2 GiB file. The table replaces the "download" section
of docs/benchmarks.md; the last line printed is ``BENCH download ...``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench.ingest import prepare, ursa_store  # noqa: E402
from bench.store import FULL, QUICK, _peak_rss_mb, boto_download, rclone_copy, timed  # noqa: E402
from tests.servers import RAW_BUCKET, RcloneS3  # noqa: E402
from ursa_lib import Store, augment, download, ingest, query  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402
from ursa_lib.store import ObstoreBackend  # noqa: E402

MiB = 1024 * 1024


def rss_child(size: int) -> None:
    """Ingest one file of ``size`` bytes, then download it; print the peak RSS of the
    download and the RSS it started from (MiB)."""
    work = Path(tempfile.mkdtemp(dir=os.environ["URSA_BENCH_DIR"]))
    server = RcloneS3(work / "server").start()
    try:
        session = work / "rig" / "rec_rss"
        (session / "eeg_0").mkdir(parents=True)
        with open(session / "eeg_0" / "big.bin", "wb") as out:
            block = os.urandom(MiB)
            for i in range(size // MiB):
                out.write(block[:-8] + i.to_bytes(8, "little"))
        (session / "manifest.json").write_text(
            '{"rec_id": "rec_rss", "start_time": 1, "duration": 1.0, "participant_id": "p"}'
        )
        augment(session)
        store = ursa_store(server.rw.url, server)
        catalog = Catalog(str(work / "catalog"), writable=True)
        ingest(session / "manifest.json", raw=store, catalog=catalog)
        results = query(catalog, status="raw")
        # Measure the download alone: reset the peak-RSS mark (Linux clear_refs "5").
        Path("/proc/self/clear_refs").write_text("5")
        baseline = _peak_rss_mb()
        paths = download(results, work / "out", raw=store)
        if paths[0].stat().st_size != size:
            raise SystemExit("size mismatch")
        print(f"{_peak_rss_mb():.1f} {baseline:.1f}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return

    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(parents=True, exist_ok=True)
    layout = QUICK if args.quick else FULL
    session = prepare(data_dir, layout, args.quick)
    augment(session)
    segments = sorted(session.rglob("*.bin"))
    total = sum(p.stat().st_size for p in segments)
    print(f"session: {len(segments)} files, {total / MiB:.0f} MiB", flush=True)

    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    server = RcloneS3(scratch / "server").start()
    times: dict[str, list[float]] = {}
    skip: dict[str, float] = {}
    try:
        store = ursa_store(server.rw.url, server)
        catalog = Catalog(str(scratch / "catalog"), writable=True)
        stored = ingest(session / "manifest.json", raw=store, catalog=catalog)
        prefix = stored.prefix
        # The read-only endpoint and keys, as analysts use.
        reader = Store(
            ObstoreBackend.s3(
                bucket=RAW_BUCKET,
                endpoint=server.ro.url,
                region="us-east-1",
                credentials=server.ro.credentials,
                supports_create=False,
            ),
            role="raw_ro",
            writable=False,
        )

        def ursa(dest: Path, existing: str = "error", fsync: bool = True) -> None:
            results = query(catalog, status="raw", recording_hash=stored.recording_hash)
            download(results, dest, raw=reader, existing=existing, fsync=fsync)  # type: ignore[arg-type]

        tools: dict[str, Callable[[Path], None]] = {
            "ursa": ursa,
            "ursa_nofsync": lambda dest: ursa(dest, fsync=False),
            "rclone": lambda dest: rclone_copy(server, f"bench:{RAW_BUCKET}/{prefix}", str(dest)),
            "boto3": lambda dest: boto_download(server, prefix, dest),
        }
        for round_ in range(args.rounds + 1):
            for tool, fn in tools.items():
                dest = scratch / f"down-{tool}"
                shutil.rmtree(dest, ignore_errors=True)
                seconds = timed(partial(fn, dest))
                got = sum(p.stat().st_size for p in dest.rglob("*.bin"))
                if got != total:
                    raise SystemExit(f"{tool} downloaded {got} bytes, expected {total}")
                print(f"round {round_} {tool}: {total / MiB / seconds:.0f} MiB/s", flush=True)
                if round_:
                    times.setdefault(tool, []).append(seconds)
        # Skip path: each tool again into its own complete copy.
        for name, fn in (
            ("ursa", lambda: ursa(scratch / "down-ursa", "skip")),
            ("rclone", lambda: tools["rclone"](scratch / "down-rclone")),
        ):
            samples = [timed(fn) for _ in range(args.rounds + 1)][1:]
            skip[name] = statistics.median(samples)
            print(f"skip {name}: {skip[name] * 1000:.0f} ms", flush=True)
    finally:
        server.stop()

    rss_size = (64 if args.quick else 2048) * MiB
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(rss_size)],
            env={**os.environ, "URSA_BENCH_DIR": str(scratch)},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peak_rss, baseline_rss = (float(x) for x in child.stdout.split())

    med = {k: statistics.median(v) for k, v in times.items()}
    mbs = {k: total / MiB / v for k, v in med.items()}
    x_rclone = med["rclone"] / med["ursa"]
    x_boto = med["boto3"] / med["ursa"]
    x_skip = skip["rclone"] / skip["ursa"]
    table = "\n".join(
        [
            f"Session: {len(segments)} files, {total / MiB:.0f} MiB "
            f"({', '.join(f'{c} × {s // MiB} MiB' for c, s in layout)}); server `rclone serve "
            f"s3` on loopback; median of {args.rounds} interleaved rounds after a warm-up; "
            "2 cores.",
            "",
            "| tool | download MiB/s | seconds | ursa × tool |",
            "|---|---:|---:|---:|",
            f"| ursa `download` (4 files at a time, sha256 verified, fsync) | {mbs['ursa']:.0f} "
            f"| {med['ursa']:.2f} | 1.00 |",
            f"| ursa `download(fsync=False)` | {mbs['ursa_nofsync']:.0f} "
            f"| {med['ursa_nofsync']:.2f} | {med['ursa_nofsync'] / med['ursa']:.2f} |",
            f"| rclone copy --transfers 4 | {mbs['rclone']:.0f} | {med['rclone']:.2f} "
            f"| {x_rclone:.2f} |",
            f"| boto3 s3transfer (4 threads) | {mbs['boto3']:.0f} | {med['boto3']:.2f} "
            f"| {x_boto:.2f} |",
            "",
            f"Re-download into a complete destination: ursa `existing='skip'` (size + sha256 of "
            f"every file) {skip['ursa'] * 1000:.0f} ms; rclone copy (size + modtime) "
            f"{skip['rclone'] * 1000:.0f} ms ({x_skip:.2f}×).",
            f"Peak RSS while downloading one {rss_size // MiB} MiB object (sha256 verified): "
            f"{peak_rss:.0f} MB, of which {baseline_rss:.0f} MB were there before it started "
            "(interpreter, LanceDB, Arrow).",
            "",
            "Command: `.venv/bin/python bench/download.py`",
        ]
    )
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "download", "Download", table)
    print(
        f"BENCH download mb_s={mbs['ursa']:.0f} x_vs_rclone={x_rclone:.2f} "
        f"x_vs_boto3={x_boto:.2f} skip_ms={skip['ursa'] * 1000:.0f} "
        f"skip_x_vs_rclone={x_skip:.2f} peak_rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    main()
