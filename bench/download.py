"""download() vs rclone copy and boto3, side by side on one local S3 server.

    .venv/bin/python bench/download.py            # full run (the ~1.6 GB session)
    .venv/bin/python bench/download.py --quick    # small smoke run, not recorded

The store benchmark's session (200 x 1 MiB, 20 x 20 MiB, 4 x 256 MiB) is
ingested once into ``rclone serve s3 --no-checksum`` (see ``SERVER_ARGS`` in
bench/store.py) with a local catalog. Then, in interleaved rounds after an
uncounted warm-up, the whole recording is fetched:

* by Ursa: ``query`` + ``download`` (4 files at a time, every raw segment's
  sha256 verified before its rename, files fsynced — the defaults), and the
  same without fsync, to show what durability costs;
* by ``rclone copy --transfers 4`` of the recording's prefix;
* by boto3 (s3transfer, 4 threads).

Then the skip path: the same download into the complete destination
(``existing="skip"``: sizes and modification times compared, the default
``verify="size_mtime"``; nothing fetched) vs ``rclone
copy`` into its complete copy. The download rounds are then repeated on
``rclone serve s3`` with its defaults. Peak RSS: a child process ingests one
2 GiB file, and a fresh process (what an analyst runs) opens the catalog,
queries and downloads it; its peak RSS is reported. The table replaces the "download" section
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
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench._transfers import boto_download, rclone_copy  # noqa: E402
from bench.ingest import prepare, ursa_store  # noqa: E402
from bench.store import FULL, QUICK, SERVER_ARGS, _peak_rss_mb, timed  # noqa: E402
from ursa_lib import S3Credentials, Store, augment, download, ingest, query  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402
from ursa_lib.store import ObstoreBackend  # noqa: E402
from ursa_lib.testing import RAW_BUCKET, RcloneS3  # noqa: E402

MiB = 1024 * 1024


def rss_child(size: int) -> None:
    """Ingest one file of ``size`` bytes, then download it in a fresh process (so
    nothing the ingest allocated counts); print that process's peak RSS and the
    RSS it had before the download started (MiB)."""
    work = Path(tempfile.mkdtemp(dir=os.environ["URSA_BENCH_DIR"]))
    server = RcloneS3(work / "server", ro_dir_cache_time=None).start()
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
        child = subprocess.run(
            [sys.executable, __file__, "--rss-download", str(size)],
            env={
                **os.environ,
                "URSA_RSS_WORK": str(work),
                "URSA_RSS_ENDPOINT": server.ro.url,
                "URSA_RSS_KEY": server.ro.access_key_id,
                "URSA_RSS_SECRET": server.ro.secret_access_key,
            },
            capture_output=True,
            text=True,
            check=True,
        )
        print(child.stdout.strip())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def rss_download(size: int) -> None:
    """The measured process: open the catalog, query, download through the
    read-only endpoint, with sha256 verification (the defaults)."""
    work = Path(os.environ["URSA_RSS_WORK"])
    reader = Store(
        ObstoreBackend.s3(
            bucket=RAW_BUCKET,
            endpoint=os.environ["URSA_RSS_ENDPOINT"],
            region="us-east-1",
            credentials=S3Credentials(
                access_key_id=SecretStr(os.environ["URSA_RSS_KEY"]),
                secret_access_key=SecretStr(os.environ["URSA_RSS_SECRET"]),
            ),
            supports_create=False,
        ),
        role="raw_ro",
        writable=False,
    )
    results = query(Catalog(str(work / "catalog"), writable=False), status="raw")
    before = _rss_mb()
    paths = download(results, work / "out", raw=reader)
    if paths[0].stat().st_size != size:
        raise SystemExit("size mismatch")
    print(f"{_peak_rss_mb():.1f} {before:.1f}")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def download_rounds(
    server: RcloneS3,
    catalog: Catalog,
    recording_hash: str,
    prefix: str,
    total: int,
    scratch: Path,
    rounds: int,
    times: dict[str, list[float]],
    label: str,
    skip: dict[str, float] | None,
) -> None:
    """Each tool fetches the recording, interleaved; round 0 warms up and is not
    counted. With ``skip``, then each tool again into its complete copy."""
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
        results = query(catalog, status="raw", recording_hash=recording_hash)
        download(results, dest, raw=reader, existing=existing, fsync=fsync)  # type: ignore[arg-type]

    tools: dict[str, Callable[[Path], None]] = {
        "ursa": ursa,
        "ursa_nofsync": lambda dest: ursa(dest, fsync=False),
        "rclone": lambda dest: rclone_copy(server, f"bench:{RAW_BUCKET}/{prefix}", str(dest)),
        "boto3": lambda dest: boto_download(server, prefix, dest),
    }
    for round_ in range(rounds + 1):
        for tool, fn in tools.items():
            dest = scratch / f"down-{tool}"
            shutil.rmtree(dest, ignore_errors=True)
            seconds = timed(partial(fn, dest))
            got = sum(p.stat().st_size for p in dest.rglob("*.bin"))
            if got != total:
                raise SystemExit(f"{tool} downloaded {got} bytes, expected {total}")
            print(f"round {round_} {tool}{label}: {total / MiB / seconds:.0f} MiB/s", flush=True)
            if round_:
                times.setdefault(tool + label, []).append(seconds)
    if skip is None:
        return
    for name, fn in (
        ("ursa", lambda: ursa(scratch / "down-ursa", "skip")),
        ("rclone", lambda: tools["rclone"](scratch / "down-rclone")),
    ):
        samples = [timed(fn) for _ in range(rounds + 1)][1:]
        skip[name] = statistics.median(samples)
        print(f"skip {name}: {skip[name] * 1000:.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rss-download", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    if args.rss_download:
        rss_download(args.rss_download)
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
    times, skip = _download_rounds(session, scratch, total, args.rounds)
    rss_size = (64 if args.quick else 2048) * MiB
    peak_rss, baseline_rss = _peak_rss(scratch, rss_size)

    figures = _figures(times, skip, total, rss_size, peak_rss, baseline_rss)
    table = _table(figures, layout, len(segments), total, args.rounds)
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "download", "Download", table)
    print(_bench_line(figures))


def _download_rounds(
    session: Path, scratch: Path, total: int, rounds: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds of each counted download round by tool (``_default``: on rclone's server
    defaults), and the median seconds of each skip pass."""
    times: dict[str, list[float]] = {}
    skip: dict[str, float] = {}
    # Measured on a server without rclone's read-side checksum (see
    # bench/store.py SERVER_ARGS), then repeated on rclone's defaults.
    # Both endpoints cache listings as rclone does by default; the read-only one
    # first lists after the ingest, so it sees every object. The first server
    # gets the ingest and the skip pass.
    catalog = Catalog(str(scratch / "catalog"), writable=True)
    stored = None
    for label, extra in (("", SERVER_ARGS), ("_default", [])):
        server = RcloneS3(scratch / "server", extra_args=extra, ro_dir_cache_time=None).start()
        try:
            if stored is None:
                store = ursa_store(server.rw.url, server)
                stored = ingest(session / "manifest.json", raw=store, catalog=catalog)
            download_rounds(
                server,
                catalog,
                stored.recording_hash,
                stored.prefix,
                total,
                scratch,
                rounds,
                times,
                label,
                skip if not label else None,
            )
        finally:
            server.stop()
    return times, skip


def _peak_rss(scratch: Path, rss_size: int) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process that downloads one file of ``rss_size`` bytes, and
    its RSS before the download; removes ``scratch``."""
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
    """Median seconds, by tool."""
    mbs: dict[str, float]
    skip: dict[str, float]
    x_rclone: float
    x_boto: float
    xd_rclone: float
    xd_boto: float
    x_skip: float
    rss_size: int
    peak_rss: float
    baseline_rss: float


def _figures(
    times: dict[str, list[float]],
    skip: dict[str, float],
    total: int,
    rss_size: int,
    peak_rss: float,
    baseline_rss: float,
) -> Figures:
    med = {k: statistics.median(v) for k, v in times.items()}
    mbs = {k: total / MiB / v for k, v in med.items()}
    x_rclone = med["rclone"] / med["ursa"]
    x_boto = med["boto3"] / med["ursa"]
    xd_rclone = med["rclone_default"] / med["ursa_default"]
    xd_boto = med["boto3_default"] / med["ursa_default"]
    x_skip = skip["rclone"] / skip["ursa"]
    return Figures(
        med=med,
        mbs=mbs,
        skip=skip,
        x_rclone=x_rclone,
        x_boto=x_boto,
        xd_rclone=xd_rclone,
        xd_boto=xd_boto,
        x_skip=x_skip,
        rss_size=rss_size,
        peak_rss=peak_rss,
        baseline_rss=baseline_rss,
    )


def _table(
    f: Figures, layout: list[tuple[int, int]], n_segments: int, total: int, rounds: int
) -> str:
    med, mbs, skip, x_skip = f.med, f.mbs, f.skip, f.x_skip
    rss_size, peak_rss, baseline_rss = f.rss_size, f.peak_rss, f.baseline_rss
    return "\n".join(
        [
            f"Session: {n_segments} files, {total / MiB:.0f} MiB "
            f"({', '.join(f'{c} × {s // MiB} MiB' for c, s in layout)}); server `rclone serve "
            "s3 --no-checksum` on loopback, read-only endpoint for Ursa (repeated on `rclone "
            "serve s3` with its defaults: last columns; see the notes at the top); median of "
            f"{rounds} interleaved rounds after a warm-up; 2 cores.",
            "",
            "| tool | download MiB/s | seconds | ursa × tool | MiB/s, server defaults "
            "| ursa × tool, server defaults |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {name} | {mbs[tool]:.0f} | {med[tool]:.2f} | {med[tool] / med['ursa']:.2f} "
                f"| {mbs[tool + '_default']:.0f} "
                f"| {med[tool + '_default'] / med['ursa_default']:.2f} |"
                for name, tool in (
                    ("ursa `download` (4 files at a time, sha256 verified, fsync)", "ursa"),
                    ("ursa `download(fsync=False)`", "ursa_nofsync"),
                    ("rclone copy --transfers 4", "rclone"),
                    ("boto3 s3transfer (4 threads)", "boto3"),
                )
            ),
            "",
            f"Re-download into a complete destination: ursa `existing='skip'` (size + modtime, "
            f"the default) {skip['ursa'] * 1000:.0f} ms; rclone copy (size + modtime) "
            f"{skip['rclone'] * 1000:.0f} ms ({x_skip:.2f}×).",
            f"Peak RSS of a process that opens the catalog, queries and downloads one "
            f"{rss_size // MiB} MiB object (sha256 verified): {peak_rss:.0f} MB, of which "
            f"{baseline_rss:.0f} MB were resident before the download started (interpreter, "
            "LanceDB, Arrow).",
            "",
            "Command: `.venv/bin/python bench/download.py`",
        ]
    )


def _bench_line(f: Figures) -> str:
    mbs, skip, x_skip, peak_rss = f.mbs, f.skip, f.x_skip, f.peak_rss
    x_rclone, x_boto, xd_rclone, xd_boto = f.x_rclone, f.x_boto, f.xd_rclone, f.xd_boto
    return (
        f"BENCH download mb_s={mbs['ursa']:.0f} x_vs_rclone={x_rclone:.2f} "
        f"x_vs_boto3={x_boto:.2f} default_x_vs_rclone={xd_rclone:.2f} "
        f"default_x_vs_boto3={xd_boto:.2f} skip_ms={skip['ursa'] * 1000:.0f} "
        f"skip_x_vs_rclone={x_skip:.2f} peak_rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    main()
