"""The processing benchmark's measured paths, each run in a child process of its own.

Each returns its figures as a dict, which the child prints as JSON. Each
path imports what it uses inside its function, before its clock starts
(imports are not timed), so a child loads only its own path's libraries.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.store import _peak_rss_mb

PROBE = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets"]


# -- stores (parent and children) -----------------------------------------------------


def stores(env: dict[str, str]) -> tuple[Any, Any]:
    from pydantic import SecretStr

    from ursa_lib import S3Credentials, Store, TransferSettings
    from ursa_lib.store import ObstoreBackend
    from ursa_lib.testing import ASSETS_BUCKET, RAW_BUCKET

    credentials = S3Credentials(
        access_key_id=SecretStr(env["URSA_BENCH_KEY"]),
        secret_access_key=SecretStr(env["URSA_BENCH_SECRET"]),
    )

    def store(bucket: str, role: str) -> Store:
        backend = ObstoreBackend.s3(
            bucket=bucket,
            endpoint=env["URSA_BENCH_ENDPOINT"],
            region="us-east-1",
            credentials=credentials,
            supports_create=False,
        )
        return Store(backend, role=role, writable=True, transfer=TransferSettings())  # type: ignore[arg-type]

    return store(RAW_BUCKET, "raw_rw"), store(ASSETS_BUCKET, "assets_rw")


# -- the measured children -------------------------------------------------------------


def child_ursa(env: dict[str, str], recording_hash: str, modality: str) -> dict[str, Any]:
    from ursa_lib.catalog import Catalog
    from ursa_lib.processing import default_registry, process_recording

    raw, assets = stores(env)
    catalog = Catalog(env["URSA_BENCH_CATALOG"], writable=True)
    default_registry()  # imports the converters (PyAV, pyedflib, zarr): not timed
    before = _rss_mb()
    started = time.perf_counter()
    result = process_recording(
        recording_hash,
        raw=raw,
        assets=assets,
        catalog=catalog,
        modalities=[modality],
        workdir=Path(env["URSA_BENCH_SCRATCH"]),
    )
    seconds = time.perf_counter() - started
    (outcome,) = result.outcomes
    if outcome.outcome != "processed":
        raise SystemExit(f"{modality}: {outcome.outcome} {outcome.reason}")
    return {
        "seconds": seconds,
        "input_bytes": outcome.input_bytes,
        "output_bytes": outcome.output_bytes,
        "count": outcome.count,
        "peak_rss_mb": _peak_rss_mb(),
        "start_rss_mb": before,
    }


def _download(raw: Any, prefix: str, rel_paths: list[str], folder: Path) -> list[Path]:
    paths = []
    for rel in rel_paths:
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        raw.download(prefix.rstrip("/") + "/" + rel, dest, fsync=False)
        paths.append(dest)
    return paths


def child_mne(env: dict[str, str], prefix: str, rel_paths: list[str]) -> dict[str, Any]:
    import mne
    import zarr

    from ursa_lib.store import zarr_store

    raw_store, assets = stores(env)
    before = _rss_mb()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=env["URSA_BENCH_SCRATCH"]) as scratch:
        paths = _download(raw_store, prefix, rel_paths, Path(scratch))
        input_bytes = sum(p.stat().st_size for p in paths)
        raws = [mne.io.read_raw_edf(p, preload=True, verbose="error") for p in paths]
        raw = mne.concatenate_raws(raws, verbose="error")
        data = raw.get_data()
        zarr.create_array(
            zarr_store(assets, read_only=False), name="mne/eeg.zarr", data=data, overwrite=True
        )
    seconds = time.perf_counter() - started
    out = sum(o.size for o in assets.list("mne/eeg.zarr/"))
    return {
        "seconds": seconds,
        "input_bytes": input_bytes,
        "output_bytes": out,
        "count": int(data.shape[1]),
        "peak_rss_mb": _peak_rss_mb(),
        "start_rss_mb": before,
    }


def child_ffmpeg(env: dict[str, str], prefix: str, rel_paths: list[str]) -> dict[str, Any]:
    raw, assets = stores(env)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=env["URSA_BENCH_SCRATCH"]) as scratch:
        folder = Path(scratch)
        paths = _download(raw, prefix, rel_paths, folder)
        input_bytes = sum(p.stat().st_size for p in paths)
        listing = folder / "concat.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in paths))
        out, packets = folder / "video.mp4", folder / "video.packets.csv"
        concat = ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i"]
        subprocess.run(
            [*concat, str(listing), "-c", "copy", "-movflags", "+faststart", str(out)],
            check=True,
        )
        with open(packets, "wb") as handle:
            subprocess.run(
                [*PROBE, "-of", "csv=p=0", str(out)],
                check=True,
                stdout=handle,
            )
        n_packets = packets.read_bytes().count(b"\n")
        size = 0
        for path in (out, packets):
            size += assets.put(f"ffmpeg/{path.name}", path).size
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "input_bytes": input_bytes,
        "output_bytes": size,
        "count": n_packets,
        "peak_rss_mb": _peak_rss_mb(),
        "start_rss_mb": 0.0,
    }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
