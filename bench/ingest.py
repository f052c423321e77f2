"""Augment and ingest vs sha256sum and rclone, side by side on one local S3 server.

    .venv/bin/python bench/ingest.py            # full run (the ~1.6 GB store-benchmark session)
    .venv/bin/python bench/ingest.py --quick    # small smoke run, not recorded

The session of bench/store.py (200 x 1 MiB, 20 x 20 MiB, 4 x 256 MiB, in three
worker directories) plus its rig manifest. Measured, warm page cache:

* ``augment`` (parallel sha256, manifest rewrite) vs ``sha256sum`` over the same files;
* ``ingest`` (upload with sha256 verified while sending, then registration in a
  local LanceDB catalog) vs ``rclone copy --transfers 4`` of the same directory,
  interleaved rounds after an uncounted warm-up, median reported;
* resume: ``ingest`` of the fully uploaded session again (time inside the
  process) vs ``rclone copy`` over its own complete copy, with its default
  size+modtime check and with ``--size-only``.

Store requests of each resume are counted in a separate pass through a
counting proxy (the timed runs go straight to the server). The table replaces
the "ingest" section of docs/benchmarks.md; the last line printed is
``BENCH ingest ...``.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench._transfers import rclone_bin, rclone_env  # noqa: E402
from bench.store import FULL, QUICK, make_session  # noqa: E402
from ursa_lib import Store, TransferSettings, augment, ingest  # noqa: E402
from ursa_lib.catalog import Catalog  # noqa: E402
from ursa_lib.store import ObstoreBackend  # noqa: E402
from ursa_lib.testing import RAW_BUCKET, FaultProxy, RcloneS3  # noqa: E402

MiB = 1024 * 1024
REC_ID = "rec_20261122T090000_bench"


def ursa_store(url: str, server: RcloneS3) -> Store:
    backend = ObstoreBackend.s3(
        bucket=RAW_BUCKET,
        endpoint=url,
        region="us-east-1",
        credentials=server.rw.credentials,
        supports_create=False,
    )
    return Store(backend, role="raw_rw", writable=True, transfer=TransferSettings())


def prepare(data_dir: Path, layout: list[tuple[int, int]], quick: bool) -> Path:
    """The store benchmark's files, hard-linked into a session with a rig manifest."""
    source = data_dir / ("session-quick" if quick else "session")
    files = make_session(source, layout)
    session = data_dir / ("ingest-session-quick" if quick else "ingest-session") / REC_ID
    for path in files:
        target = session / path.relative_to(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    rig = {"rec_id": REC_ID, "start_time": 1_795_000_000_000_000_000, "duration": 3600.0}
    (session / "manifest.json").write_text(json.dumps({**rig, "participant_id": "p_bench"}))
    return session


def timed(fn: Callable[[], object]) -> float:
    os.sync()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def rclone(server: RcloneS3, src: str, dst: str, *flags: str) -> None:
    subprocess.run(
        [rclone_bin(), "copy", src, dst, "--transfers", "4", *flags],
        env=rclone_env(server),
        check=True,
        capture_output=True,
    )


def purge(store: Store, prefix: str) -> None:
    for info in list(store.list(prefix)):
        store.delete(info.key)


def counted_requests(server: RcloneS3, run: Callable[[str], object]) -> int:
    """How many HTTP requests ``run(endpoint_url)`` sends to the server."""
    proxy = FaultProxy(server.rw.url).start()
    try:
        run(proxy.url)
        return len(proxy.requests())
    finally:
        proxy.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(parents=True, exist_ok=True)
    layout = QUICK if args.quick else FULL
    session = prepare(data_dir, layout, args.quick)
    segments = sorted(p for p in session.rglob("*.bin"))
    total = sum(p.stat().st_size for p in segments)
    print(f"session: {len(segments)} files, {total / MiB:.0f} MiB", flush=True)

    times = _hash_rounds(session, segments, total, args.rounds)
    scratch = Path(tempfile.mkdtemp(dir=data_dir))
    server = RcloneS3(scratch / "server").start()
    store = ursa_store(server.rw.url, server)
    try:
        times |= _ingest_rounds(server, store, session, scratch, total, args.rounds)
        catalog = Catalog(str(scratch / f"catalog-{args.rounds}"), writable=True)
        resume = _resume_times(server, store, session, catalog, args.rounds)
        requests = _resume_requests(server, store, session, catalog)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    figures = _figures(times, resume, requests, total)
    table = _table(figures, layout, len(segments), total, args.rounds)
    print(table)
    if not args.quick:
        update_section(ROOT / "docs" / "benchmarks.md", "ingest", "Augment and ingest", table)
    print(_bench_line(figures))


def _hash_rounds(
    session: Path, segments: list[Path], total: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds of each counted round: ``augment`` and ``sha256sum``, interleaved."""

    # Warm cache: one uncounted pass of each first.
    def sha256sum() -> None:
        subprocess.run(
            ["sha256sum", *map(str, segments)], check=True, capture_output=True, cwd=session
        )

    times: dict[str, list[float]] = {}
    for round_ in range(rounds + 1):
        for name, fn in (("augment", lambda: augment(session)), ("sha256sum", sha256sum)):
            seconds = timed(fn)
            print(f"hash round {round_} {name}: {total / MiB / seconds:.0f} MiB/s", flush=True)
            if round_:
                times.setdefault(name, []).append(seconds)
    return times


def _ingest_rounds(
    server: RcloneS3, store: Store, session: Path, scratch: Path, total: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds of each counted round: ``ingest`` and ``rclone copy``, interleaved."""
    times: dict[str, list[float]] = {}
    # Fresh server prefix and catalog each round; round 0 warms up and is not counted.
    for round_ in range(rounds + 1):
        for tool in ("ursa", "rclone"):
            catalog = Catalog(str(scratch / f"catalog-{round_}"), writable=True)
            if tool == "ursa":
                run: Callable[[], object] = lambda catalog=catalog: ingest(  # noqa: E731
                    session / "manifest.json", raw=store, catalog=catalog
                )
            else:
                run = lambda: rclone(server, str(session), f"bench:{RAW_BUCKET}/rclone")  # noqa: E731
            seconds = timed(run)
            print(f"ingest round {round_} {tool}: {total / MiB / seconds:.0f} MiB/s", flush=True)
            if round_:
                times.setdefault(f"{tool}_ingest", []).append(seconds)
            if round_ < rounds:  # the last round's copies stay for the resume runs
                # Through the server, which would not notice files vanishing on its disk.
                purge(store, "recordings" if tool == "ursa" else "rclone")
                shutil.rmtree(scratch / f"catalog-{round_}", ignore_errors=True)
    return times


def _resume_times(
    server: RcloneS3, store: Store, session: Path, catalog: Catalog, rounds: int
) -> dict[str, float]:
    """Median seconds of each resume of the complete upload: Ursa, rclone, rclone --size-only."""
    resume: dict[str, float] = {}
    runs: dict[str, Callable[[], object]] = {
        "ursa": lambda: ingest(session / "manifest.json", raw=store, catalog=catalog),
        "rclone": lambda: rclone(server, str(session), f"bench:{RAW_BUCKET}/rclone"),
        "rclone_size_only": lambda: rclone(
            server, str(session), f"bench:{RAW_BUCKET}/rclone", "--size-only"
        ),
    }
    for name, fn in runs.items():
        samples = [timed(fn) for _ in range(rounds + 1)][1:]
        resume[name] = statistics.median(samples)
        print(f"resume {name}: {resume[name] * 1000:.0f} ms", flush=True)
    return resume


def _resume_requests(
    server: RcloneS3, store: Store, session: Path, catalog: Catalog
) -> dict[str, int]:
    """HTTP requests of each resume, counted in a pass of their own."""
    requests: dict[str, int] = {}
    result = ingest(session / "manifest.json", raw=store, catalog=catalog)
    assert result.files_uploaded == 0, "the resume uploaded something"
    requests["ursa"] = counted_requests(
        server,
        lambda url: ingest(session / "manifest.json", raw=ursa_store(url, server), catalog=catalog),
    )
    for name, flags in (("rclone", ()), ("rclone_size_only", ("--size-only",))):

        def via(url: str, flags: tuple[str, ...] = flags) -> None:
            env = {**rclone_env(server), "RCLONE_CONFIG_BENCH_ENDPOINT": url}
            subprocess.run(
                [rclone_bin(), "copy", str(session), f"bench:{RAW_BUCKET}/rclone", *flags],
                env=env,
                check=True,
                capture_output=True,
            )

        requests[name] = counted_requests(server, via)
    return requests


@dataclass(frozen=True, slots=True)
class Figures:
    med: dict[str, float]
    """Median seconds, by step and tool."""
    mbs: dict[str, float]
    resume: dict[str, float]
    requests: dict[str, int]
    x_hash: float
    x_ingest: float
    x_resume: float
    x_resume_size: float


def _figures(
    times: dict[str, list[float]], resume: dict[str, float], requests: dict[str, int], total: int
) -> Figures:
    med = {k: statistics.median(v) for k, v in times.items()}
    x_hash = med["sha256sum"] / med["augment"]
    x_ingest = med["rclone_ingest"] / med["ursa_ingest"]
    x_resume = resume["rclone"] / resume["ursa"]
    x_resume_size = resume["rclone_size_only"] / resume["ursa"]
    mbs = {k: total / MiB / v for k, v in med.items()}
    return Figures(
        med=med,
        mbs=mbs,
        resume=resume,
        requests=requests,
        x_hash=x_hash,
        x_ingest=x_ingest,
        x_resume=x_resume,
        x_resume_size=x_resume_size,
    )


def _table(
    f: Figures, layout: list[tuple[int, int]], n_segments: int, total: int, rounds: int
) -> str:
    med, mbs, resume, requests = f.med, f.mbs, f.resume, f.requests
    x_hash, x_ingest, x_resume, x_resume_size = f.x_hash, f.x_ingest, f.x_resume, f.x_resume_size
    files = n_segments + 1
    return "\n".join(
        [
            f"Session: {files} files ({n_segments} segments + manifest), {total / MiB:.0f} MiB "
            f"({', '.join(f'{c} × {s // MiB} MiB' for c, s in layout)}), three worker "
            "directories; server `rclone serve s3` on loopback; catalog: LanceDB on local disk; "
            f"median of {rounds} rounds after a warm-up; 2 cores.",
            "",
            "| step | ursa | peer | ursa × peer |",
            "|---|---:|---:|---:|",
            f"| hash the session: `augment` vs `sha256sum` | {med['augment']:.2f} s "
            f"({mbs['augment']:.0f} MiB/s) | {med['sha256sum']:.2f} s "
            f"({mbs['sha256sum']:.0f} MiB/s) | {x_hash:.2f} |",
            f"| upload + register: `ingest` vs `rclone copy --transfers 4` | "
            f"{med['ursa_ingest']:.2f} s ({mbs['ursa_ingest']:.0f} MiB/s) | "
            f"{med['rclone_ingest']:.2f} s ({mbs['rclone_ingest']:.0f} MiB/s) | {x_ingest:.2f} |",
            f"| resume a complete upload vs `rclone copy` (size + modtime) | "
            f"{resume['ursa'] * 1000:.0f} ms, {requests['ursa']} requests | "
            f"{resume['rclone'] * 1000:.0f} ms, {requests['rclone']} requests | {x_resume:.2f} |",
            f"| resume vs `rclone copy --size-only` | {resume['ursa'] * 1000:.0f} ms | "
            f"{resume['rclone_size_only'] * 1000:.0f} ms, {requests['rclone_size_only']} "
            f"requests | {x_resume_size:.2f} |",
            "",
            "Ursa's ingest also verifies every byte's sha256 while sending and registers the "
            "session in the catalog; rclone only copies. Ursa's resume time is measured inside "
            "the process (manifest read, one listing per worker directory, catalog check); "
            "rclone's includes its process start.",
            "",
            "Command: `.venv/bin/python bench/ingest.py`",
        ]
    )


def _bench_line(f: Figures) -> str:
    med, mbs, resume, requests = f.med, f.mbs, f.resume, f.requests
    x_hash, x_ingest, x_resume, x_resume_size = f.x_hash, f.x_ingest, f.x_resume, f.x_resume_size
    return (
        f"BENCH ingest augment_ms={med['augment'] * 1000:.0f} "
        f"augment_x_vs_sha256sum={x_hash:.2f} ingest_mb_s={mbs['ursa_ingest']:.0f} "
        f"ingest_x_vs_rclone={x_ingest:.2f} resume_ms={resume['ursa'] * 1000:.0f} "
        f"resume_requests={requests['ursa']} resume_x_vs_rclone={x_resume:.2f} "
        f"resume_x_vs_rclone_size_only={x_resume_size:.2f}"
    )


if __name__ == "__main__":
    main()
