"""Lifecycle costs: scrub at archive scale, and the download skip pass vs rclone's.

    .venv/bin/python bench/lifecycle.py            # 2,000 sessions / 50,000 objects
    .venv/bin/python bench/lifecycle.py --quick    # 200 / 5,000, not recorded in docs

Scrub: ``SESSIONS`` sessions of 24 small files each plus their augmented
manifests (25 objects a session) are written straight into the folder an
``rclone serve s3`` then serves, and registered in a local catalog (one
recording and two modality rows each). `scrub` walks the raw bucket against
the catalog (and the empty assets bucket's ``processed/``) once, timed, and
once more through a counting proxy, which gives the real number of HTTP
requests: one listing page per 1,000 objects plus one manifest GET per
session — they grow with prefixes, never with objects.

Skip pass: the download benchmark's session (bench/download.py; ``--quick``
its small layout) is ingested, downloaded once by Ursa and copied once by
``rclone copy``; then, in interleaved rounds after a warm-up, each runs again
into its complete copy: Ursa's ``existing="skip"`` (size and modification
time, the default) against rclone's default (size and modification time).

The table replaces the "lifecycle" section of docs/benchmarks.md; the last line
printed is ``BENCH lifecycle ...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import update_section  # noqa: E402
from bench._transfers import rclone_copy  # noqa: E402
from bench.ingest import prepare, ursa_store  # noqa: E402
from bench.store import FULL, QUICK, SERVER_ARGS, timed  # noqa: E402
from ursa_lib import Store, augment, download, ingest, query  # noqa: E402
from ursa_lib.catalog import Catalog, IngestionStatus, Modality, Participant, Recording  # noqa: E402
from ursa_lib.delivery import AssetSource  # noqa: E402
from ursa_lib.lifecycle import scrub  # noqa: E402
from ursa_lib.store import ObstoreBackend  # noqa: E402
from ursa_lib.testing import ASSETS_BUCKET, RAW_BUCKET, FaultProxy, RcloneS3  # noqa: E402

MiB = 1024 * 1024
FILES_PER_SESSION = 24  # + the manifest: 25 objects a session
T0 = 1_795_000_000_000_000_000


def write_archive(root: Path, sessions: int) -> list[tuple[str, str]]:
    """Sessions written into the server's bucket folder; ``(rec_id, recording_hash)``."""
    out = []
    for s in range(sessions):
        rec_id = f"rec_{s:05d}"
        session = root / RAW_BUCKET / "recordings" / rec_id
        for worker in ("eeg_0", "events_0"):
            (session / worker).mkdir(parents=True)
            for i in range(FILES_PER_SESSION // 2):
                body = hashlib.sha256(f"{rec_id}/{worker}/{i}".encode()).digest() * 4
                (session / worker / f"seg_{i:05d}.bin").write_bytes(body)
        rig = {"rec_id": rec_id, "start_time": T0 + s, "duration": 60.0, "participant_id": "p1"}
        (session / "manifest.json").write_text(json.dumps(rig))
        manifest = augment(session)
        assert manifest.recording_hash is not None
        out.append((rec_id, manifest.recording_hash))
    return out


def register(catalog: Catalog, sessions: list[tuple[str, str]]) -> None:
    base = f"s3://{RAW_BUCKET}/recordings"
    catalog.add_many([Participant(participant_id="p1", enrolled_at=T0)])
    catalog.add_many(
        Recording(
            recording_hash=h,
            rec_id=rec_id,
            participant_ids=["p1"],
            start_time=T0,
            duration=60.0,
        )
        for rec_id, h in sessions
    )
    catalog.add_many(
        Modality(
            recording_hash=h,
            modality=name,
            worker_id="0",
            ingestion_status=IngestionStatus.RAW,
            raw_storage_uri=f"{base}/{rec_id}/{name}_0/",
        )
        for rec_id, h in sessions
        for name in ("eeg", "events")
    )


def reader(url: str, server: RcloneS3, bucket: str = RAW_BUCKET) -> Store:
    backend = ObstoreBackend.s3(
        bucket=bucket,
        endpoint=url,
        region="us-east-1",
        credentials=server.ro.credentials,
        supports_create=False,
    )
    return Store(backend, role="raw_ro", writable=False)


def bench_scrub(scratch: Path, sessions: int) -> dict[str, float]:
    root = scratch / "scrub-server"
    print(f"writing {sessions} sessions ({sessions * 25:,} objects)…", flush=True)
    made = write_archive(root, sessions)
    catalog = Catalog(str(scratch / "scrub-catalog"), writable=True)
    register(catalog, made)
    server = RcloneS3(root, ro_dir_cache_time=None).start()
    try:
        started = time.perf_counter()
        assets = AssetSource(reader(server.ro.url, server, ASSETS_BUCKET))
        report = scrub(raw=reader(server.ro.url, server), assets=assets, catalog=catalog)
        seconds = time.perf_counter() - started
        if not report.clean or report.raw_objects != sessions * 25:
            raise SystemExit(f"scrub is not clean on a true archive: {report.by_kind()}")
        proxy = FaultProxy(server.ro.url).start()
        try:
            counted = AssetSource(reader(proxy.url, server, ASSETS_BUCKET))
            scrub(raw=reader(proxy.url, server), assets=counted, catalog=catalog)
            requests = len(proxy.requests())
        finally:
            proxy.stop()
    finally:
        server.stop()
    print(
        f"scrub: {report.sessions} sessions, {report.raw_objects:,} objects, "
        f"{seconds:.1f} s, {requests:,} HTTP requests (counted {report.requests:,})",
        flush=True,
    )
    return {"seconds": seconds, "requests": requests, "objects": report.raw_objects}


def bench_skip(scratch: Path, quick: bool, rounds: int) -> dict[str, float]:
    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(parents=True, exist_ok=True)
    session = prepare(data_dir, QUICK if quick else FULL, quick)
    augment(session)
    catalog = Catalog(str(scratch / "skip-catalog"), writable=True)
    server = RcloneS3(scratch / "skip-server", extra_args=SERVER_ARGS, ro_dir_cache_time=None)
    server.start()
    try:
        stored = ingest(
            session / "manifest.json", raw=ursa_store(server.rw.url, server), catalog=catalog
        )
        raw = reader(server.ro.url, server)
        results = query(catalog, status="raw", recording_hash=stored.recording_hash)
        ursa_dest, rclone_dest = scratch / "down-ursa", scratch / "down-rclone"
        src = f"bench:{RAW_BUCKET}/{stored.prefix}"
        download(results, ursa_dest, raw=raw)
        rclone_copy(server, src, str(rclone_dest))
        samples: dict[str, list[float]] = {"ursa": [], "rclone": []}

        def skip_pass() -> None:
            download(results, ursa_dest, raw=raw, existing="skip")

        for round_ in range(rounds + 1):
            ursa_s = timed(skip_pass)
            rclone_s = timed(lambda: rclone_copy(server, src, str(rclone_dest)))
            print(
                f"round {round_}: skip ursa {ursa_s * 1000:.0f} ms, rclone {rclone_s * 1000:.0f} ms"
            )
            if round_:
                samples["ursa"].append(ursa_s)
                samples["rclone"].append(rclone_s)
    finally:
        server.stop()
    files = len(list(ursa_dest.rglob("*.bin")))
    return {
        "ursa": statistics.median(samples["ursa"]),
        "rclone": statistics.median(samples["rclone"]),
        "files": files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, not recorded in docs")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sessions = 200 if args.quick else 2000
    scratch = Path(tempfile.mkdtemp(prefix="ursa-bench-lifecycle-"))
    try:
        sc = bench_scrub(scratch, sessions)
        sk = bench_skip(scratch, args.quick, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    x_skip = sk["rclone"] / sk["ursa"]
    if not args.quick:
        update_section(
            ROOT / "docs" / "benchmarks.md",
            "lifecycle",
            "Lifecycle: scrub and the skip pass",
            (
                f"Scrub of {sessions:,} sessions ({sc['objects']:,.0f} objects) on `rclone serve "
                f"s3` (loopback, read-only endpoint): {sc['seconds']:.1f} s and "
                f"{sc['requests']:,.0f} HTTP requests — one listing page per 1,000 objects and "
                "one manifest GET per session, so requests grow with prefixes, not objects.\n\n"
                f"Skip pass over the download benchmark's complete destination "
                f'({sk["files"]:.0f} files): Ursa `existing="skip"` (size + modification '
                f"time) {sk['ursa'] * 1000:.0f} ms; `rclone copy` (size + modtime) "
                f"{sk['rclone'] * 1000:.0f} ms ({x_skip:.2f}×). Median of {args.rounds} "
                "interleaved rounds after a warm-up.\n\n"
                "Reproduce: `.venv/bin/python bench/lifecycle.py`."
            ),
        )
    print(
        f"BENCH lifecycle scrub_s={sc['seconds']:.2f} scrub_requests={sc['requests']:.0f} "
        f"scrub_objects={sc['objects']:.0f} skip_ms={sk['ursa'] * 1000:.0f} "
        f"skip_x_vs_rclone={x_skip:.2f}"
    )


if __name__ == "__main__":
    main()
