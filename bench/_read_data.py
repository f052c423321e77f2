"""The read benchmark's recording, and the stores and proxies it is read through.

The recording is written once into the data folder, then ingested into a
fresh ``rclone serve s3`` and processed with ``process_recording`` on every
run. Reads go through the server's read-only endpoint, some of them through
counting proxies in front of it.
"""

from __future__ import annotations

import email.message
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ursa_lib import IngestResult, QueryResult, Store, TransferSettings, ingest, query
from ursa_lib.catalog import Catalog
from ursa_lib.delivery import AssetSource
from ursa_lib.processing import process_recording
from ursa_lib.store import ObstoreBackend
from ursa_lib.testing import (
    ASSETS_BUCKET,
    RAW_BUCKET,
    FaultProxy,
    RcloneS3,
    RecordingSpec,
    write_recording,
)

T0 = 1_795_000_000_000_000_000


def write_data(data_dir: Path, minutes: int, video_minutes: int) -> Path:
    """The recording's session folder, written on the first run only."""
    rec_id = f"read_{minutes}min"
    if not (data_dir / rec_id / "manifest.json").exists():
        print(f"writing a {minutes} min recording ...", flush=True)
        write_recording(
            data_dir,
            RecordingSpec(
                rec_id=rec_id,
                start_time_ns=T0,
                segments=minutes,
                segment_s=60,
                eeg_channels=64,
                eeg_rate=1000,
                audio_rate=16_000,
                video_segments=video_minutes,
                video_fps=25,
                video_size=(320, 240),
                events_per_segment=60,
            ),
        )
    return data_dir / rec_id


class CountingProxy(FaultProxy):
    """Forwards S3 requests and counts them and their response bytes.

    With ``partial=True`` a ranged GET that the server answers with status 200
    and a ``Content-Range`` (what ``rclone serve s3`` does) is passed on as
    206, as S3 answers it; the body is unchanged.
    """

    def __init__(self, upstream_url: str, *, partial: bool) -> None:
        super().__init__(upstream_url)
        # Headers and body go out as two writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK hold the body back ~40 ms.
        self.server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        self.partial = partial
        self.log: list[tuple[str, str, int]] = []
        self._count_lock = threading.Lock()

    def _forward(
        self, method: str, target: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, out_headers, data = super()._forward(method, target, headers, body)
        ranged = any(k.lower() == "content-range" for k, _ in out_headers)
        if self.partial and method == "GET" and status == 200 and ranged and headers.get("Range"):
            status = 206
        with self._count_lock:
            self.log.append((method, target.split("?")[0], len(data)))
        return status, out_headers, data

    def take(self) -> list[tuple[str, str, int]]:
        with self._count_lock:
            out, self.log = self.log, []
        return out


def bucket_store(url: str, server: RcloneS3, bucket: str, *, writable: bool) -> Store:
    endpoint = server.rw if writable else server.ro
    backend = ObstoreBackend.s3(
        bucket=bucket,
        endpoint=url,
        region="us-east-1",
        credentials=endpoint.credentials,
        supports_create=False,
    )
    role = ("raw" if bucket == RAW_BUCKET else "assets") + ("_rw" if writable else "_ro")
    return Store(backend, role=role, writable=writable, transfer=TransferSettings())  # type: ignore[arg-type]


def asset_source(url: str, server: RcloneS3, lance_url: str) -> AssetSource:
    options = {
        "aws_access_key_id": server.ro.access_key_id,
        "aws_secret_access_key": server.ro.secret_access_key,
        "aws_region": "us-east-1",
        "aws_endpoint": lance_url,
        "allow_http": "true",
    }
    return AssetSource(bucket_store(url, server, ASSETS_BUCKET, writable=False), options)


def ingest_and_process(
    session: Path, server: RcloneS3, scratch: Path
) -> tuple[IngestResult, QueryResult]:
    """The session ingested and processed; its ingest result and its catalog entry."""
    raw = bucket_store(server.rw.url, server, RAW_BUCKET, writable=True)
    assets = bucket_store(server.rw.url, server, ASSETS_BUCKET, writable=True)
    catalog = Catalog(str(scratch / "catalog"), writable=True)
    stored = ingest(session / "manifest.json", raw=raw, catalog=catalog)
    started = time.perf_counter()
    processed = process_recording(
        stored.recording_hash, raw=raw, assets=assets, catalog=catalog, workdir=scratch
    )
    print(f"processed in {time.perf_counter() - started:.1f} s", flush=True)
    bad = [o for o in processed.outcomes if o.outcome != "processed"]
    if bad:
        raise SystemExit(f"not processed: {bad}")
    (result,) = query(catalog, recording_hash=stored.recording_hash)
    names = sorted(result.modalities)
    print(f"modalities: {names}", flush=True)
    return stored, result


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The ways the assets are read: plain, counted, and counted as rclone answers."""

    source: AssetSource
    """Straight to the read-only endpoint (Lance through a 206 proxy): timed reads."""
    counted: CountingProxy
    counted_source: AssetSource
    """Every read through ``counted``, which passes ranged answers on as 206."""
    as_is_proxy: CountingProxy
    as_is_source: AssetSource
    """Reads through ``as_is_proxy``, which passes rclone's answers on unchanged."""


def start_endpoints(server: RcloneS3, proxies: list[CountingProxy]) -> Endpoints:
    """Starts the proxies (added to ``proxies``, for the caller to stop)."""
    # Lance (object_store) refuses rclone's status-200 answers to ranged GETs:
    # its reads go through a proxy that passes them on as 206.
    lance_proxy = CountingProxy(server.ro.url, partial=True).start()
    counted = CountingProxy(server.ro.url, partial=True).start()
    as_is_proxy = CountingProxy(server.ro.url, partial=False).start()
    proxies.extend([lance_proxy, counted, as_is_proxy])
    source = asset_source(server.ro.url, server, lance_proxy.url)
    counted_source = asset_source(counted.url, server, counted.url)
    as_is_source = asset_source(as_is_proxy.url, server, counted.url)
    return Endpoints(
        source=source,
        counted=counted,
        counted_source=counted_source,
        as_is_proxy=as_is_proxy,
        as_is_source=as_is_source,
    )
