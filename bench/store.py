"""Store-layer throughput vs boto3 and rclone, side by side on one local S3 server.

    .venv/bin/python bench/store.py            # full run (~1.6 GB session, 2 GiB RSS probe)
    .venv/bin/python bench/store.py --quick    # small smoke run, not recorded

A synthetic session (200 x 1 MiB, 20 x 20 MiB, 4 x 256 MiB) is uploaded and
downloaded by Ursa's store layer (4 files at a time), by boto3 (s3transfer with
4 threads) and by ``rclone copy --transfers 4``, against the same
``rclone serve s3`` on loopback, in interleaved rounds after an uncounted
warm-up round; the median of each is reported. Uploads write fresh prefixes;
downloads all read one shared copy, so every tool meets the same server state. Peak RSS is measured in a child process that uploads and downloads
one 2 GiB file through the store layer. The table replaces the "store" section
of docs/benchmarks.md; the last line printed is ``BENCH store ...``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench._transfers import DOWNLOAD, TOOLS, UPLOAD, ursa_store, ursa_upload  # noqa: E402
from ursa_lib import Store  # noqa: E402
from ursa_lib.testing import RAW_BUCKET, RcloneS3  # noqa: E402

MiB = 1024 * 1024
SERVER_ARGS = ["--no-checksum"]
"""``rclone serve s3`` by default MD5-hashes every object it reads from byte 0
to the end, to check its own local read. That costs 0.4 s of CPU per 256 MiB
on the 2 cores the client under test also runs on, and is charged only to
clients that fetch whole objects (boto3 fetches big objects as 16 MiB ranges,
which rclone does not hash). A real object store does that work on its own
machines, so the measured server skips it; the download table is repeated
with rclone's defaults."""
FULL = [(200, MiB), (20, 20 * MiB), (4, 256 * MiB)]
QUICK = [(20, MiB), (4, 8 * MiB), (2, 40 * MiB)]


def make_session(folder: Path, layout: list[tuple[int, int]]) -> list[Path]:
    files = []
    block = os.urandom(MiB)
    for group, (count, size) in enumerate(layout):
        worker = folder / f"stream{group}_0"
        worker.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            path = worker / f"seg_{index:05d}.bin"
            if not path.exists() or path.stat().st_size != size:
                with open(path, "wb") as out:
                    for i in range(size // MiB):
                        # Vary each MiB so no layer can deduplicate.
                        out.write(block[: MiB - 8] + (index * 10_000 + i).to_bytes(8, "little"))
            files.append(path)
    return files


def upload_rounds(
    server: RcloneS3,
    store: Store,
    files: list[Path],
    session: Path,
    total: int,
    rounds: int,
    times: dict[str, list[float]],
) -> None:
    """Each tool uploads the session to a fresh prefix, interleaved; round 0 warms up and is
    not counted."""
    for round_ in range(rounds + 1):
        for tool in TOOLS:
            prefix = f"bench/{tool}-{round_}"
            seconds = timed(partial(UPLOAD[tool], server, store, files, session, prefix))
            print(f"upload round {round_} {tool}: {total / MiB / seconds:.0f} MiB/s", flush=True)
            if round_:
                times.setdefault(f"{tool}_up", []).append(seconds)
            shutil.rmtree(server.root / RAW_BUCKET / prefix)


def download_rounds(
    server: RcloneS3,
    label: str,
    prefix: str,
    total: int,
    scratch: Path,
    rounds: int,
    times: dict[str, list[float]],
) -> None:
    """Each tool downloads ``prefix``, interleaved; round 0 warms up and is not counted."""
    store = ursa_store(server)
    for round_ in range(rounds + 1):
        for tool in TOOLS:
            dest = scratch / f"{label}-{tool}-{round_}"
            seconds = timed(partial(DOWNLOAD[tool], server, store, prefix, dest))
            got = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
            if got != total:
                raise SystemExit(f"{tool} downloaded {got} bytes, expected {total}")
            print(f"{label} round {round_} {tool}: {total / MiB / seconds:.0f} MiB/s", flush=True)
            if round_:
                times.setdefault(f"{tool}_{label}", []).append(seconds)
            shutil.rmtree(dest)


def timed(fn: Callable[[], None]) -> float:
    # Start every measurement with no dirty pages left by the one before.
    os.sync()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _peak_rss_mb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss would include the
    # parent's peak, which Linux carries across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_child(size: int) -> None:
    """Upload and download one file of ``size`` bytes; print peak RSS in MiB."""
    server = RcloneS3(Path(tempfile.mkdtemp(dir=os.environ["URSA_BENCH_DIR"]))).start()
    try:
        work = Path(tempfile.mkdtemp(dir=os.environ["URSA_BENCH_DIR"]))
        big = work / "big.bin"
        with open(big, "wb") as out:
            block = os.urandom(MiB)
            for _ in range(size // MiB):
                out.write(block)
        baseline = _peak_rss_mb()
        store = ursa_store(server)
        store.put("rss/big.bin", big)
        store.download("rss/big.bin", work / "back.bin", fsync=False)
        if (work / "back.bin").stat().st_size != size:
            raise SystemExit("size mismatch")
        peak = _peak_rss_mb()
        print(f"{peak:.1f} {baseline:.1f}")
    finally:
        server.stop()


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
    session = data_dir / ("session-quick" if args.quick else "session")
    files = make_session(session, layout)
    total = sum(p.stat().st_size for p in files)
    print(f"session: {len(files)} files, {total / MiB:.0f} MiB", flush=True)

    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    times = _transfer_rounds(session, files, total, scratch, args.rounds)
    rss_size = (64 if args.quick else 2048) * MiB
    peak_rss, baseline_rss = _peak_rss(scratch, rss_size)

    figures = _figures(times, total, rss_size, peak_rss, baseline_rss)
    table = _table(figures, layout, len(files), total, args.rounds)
    print(table)
    if not args.quick:
        update_section(
            ROOT / "docs" / "benchmarks.md", "store", "Store layer: upload and download", table
        )
    print(_bench_line(figures))


def _transfer_rounds(
    session: Path, files: list[Path], total: int, scratch: Path, rounds: int
) -> dict[str, list[float]]:
    """Seconds of each counted round, by tool and direction (``up``, ``down``,
    ``down_default``); ``scratch`` is removed if anything fails."""
    times: dict[str, list[float]] = {}
    shared = "bench/shared"
    # The measured server skips rclone's read-side checksum (see SERVER_ARGS);
    # downloads are then repeated on a server with rclone's defaults.
    server = RcloneS3(scratch / "server", extra_args=SERVER_ARGS).start()
    try:
        store = ursa_store(server)
        upload_rounds(server, store, files, session, total, rounds, times)
        # Downloads: every tool reads one shared copy, so all see the same server
        # state (rclone serve s3 hashes an object on its first read unless the
        # uploader was rclone itself).
        ursa_upload(store, files, session, shared)
        download_rounds(server, "down", shared, total, scratch, rounds, times)
        server.stop()
        server = RcloneS3(scratch / "server").start()
        download_rounds(server, "down_default", shared, total, scratch, rounds, times)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        server.stop()
    return times


def _peak_rss(scratch: Path, rss_size: int) -> tuple[float, float]:
    """Peak RSS (MB) of a child that uploads and downloads one file of ``rss_size`` bytes,
    and its peak before the transfers; removes ``scratch``."""
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
    return peak_rss, baseline_rss


@dataclass(frozen=True, slots=True)
class Figures:
    med: dict[str, float]
    """Median seconds, by tool and direction."""
    mbs: dict[str, float]
    x: dict[str, float]
    """Ursa's speed-up over each peer, by direction."""
    rss_size: int
    peak_rss: float
    baseline_rss: float


def _figures(
    times: dict[str, list[float]], total: int, rss_size: int, peak_rss: float, baseline_rss: float
) -> Figures:
    med = {k: statistics.median(v) for k, v in times.items()}
    mbs = {k: total / MiB / v for k, v in med.items()}
    x = {
        f"{what}_x_vs_{peer}": med[f"{peer}_{what}"] / med[f"ursa_{what}"]
        for what in ("up", "down", "down_default")
        for peer in ("boto3", "rclone")
    }
    return Figures(
        med=med, mbs=mbs, x=x, rss_size=rss_size, peak_rss=peak_rss, baseline_rss=baseline_rss
    )


def _table(f: Figures, layout: list[tuple[int, int]], n_files: int, total: int, rounds: int) -> str:
    med, mbs, x = f.med, f.mbs, f.x
    rss_size, peak_rss, baseline_rss = f.rss_size, f.peak_rss, f.baseline_rss
    rows = [
        ("ursa store layer (4 files at a time)", "ursa"),
        ("boto3 s3transfer (4 threads)", "boto3"),
        ("rclone copy --transfers 4", "rclone"),
    ]
    return "\n".join(
        [
            f"Synthetic session: {n_files} files, {total / MiB:.0f} MiB "
            f"({', '.join(f'{c} × {s // MiB} MiB' for c, s in layout)}); "
            "server `rclone serve s3 --no-checksum` on loopback (downloads repeated on "
            "`rclone serve s3` with its defaults: last column); "
            f"median of {rounds} interleaved rounds after a warm-up round; "
            "downloads read one shared copy; 2 cores.",
            "",
            "| tool | upload MiB/s | download MiB/s | upload × ursa | download × ursa "
            "| download MiB/s, server defaults |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {name} | {mbs[f'{tool}_up']:.0f} | {mbs[f'{tool}_down']:.0f} "
                f"| {med['ursa_up'] / med[f'{tool}_up']:.2f} "
                f"| {med['ursa_down'] / med[f'{tool}_down']:.2f} "
                f"| {mbs[f'{tool}_down_default']:.0f} |"
                for name, tool in rows
            ),
            "",
            f"Ursa vs boto3: upload {x['up_x_vs_boto3']:.2f}×, download "
            f"{x['down_x_vs_boto3']:.2f}× ({x['down_default_x_vs_boto3']:.2f}× on server "
            f"defaults). Ursa vs rclone: upload {x['up_x_vs_rclone']:.2f}×, download "
            f"{x['down_x_vs_rclone']:.2f}× ({x['down_default_x_vs_rclone']:.2f}× on server "
            "defaults).",
            f"Peak RSS uploading and downloading one {rss_size // MiB} MiB file through the "
            f"store layer: {peak_rss:.0f} MB (interpreter and imports alone: {baseline_rss:.0f} MB).",
            "",
            "Command: `.venv/bin/python bench/store.py`",
        ]
    )


def _bench_line(f: Figures) -> str:
    mbs, x, peak_rss = f.mbs, f.x, f.peak_rss
    return (
        f"BENCH store up_mb_s={mbs['ursa_up']:.0f} down_mb_s={mbs['ursa_down']:.0f} "
        + " ".join(f"{k}={v:.2f}" for k, v in x.items())
        + f" peak_rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    main()
