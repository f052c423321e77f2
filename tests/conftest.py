from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ursa_lib import RetryPolicy, Store, TransferSettings
from ursa_lib.store import ObstoreBackend, TimeoutSettings

from .faultproxy import FaultProxy
from .servers import RAW_BUCKET, Endpoint, MotoS3, RcloneS3

MiB = 1024 * 1024

# Small parts keep multipart tests fast while staying within S3's 5 MiB minimum.
SMALL_TRANSFER = TransferSettings(
    single_put_limit=5 * MiB,
    part_size=5 * MiB,
    read_chunk=256 * 1024,
    range_size=5 * MiB,
    parallel_download_threshold=12 * MiB,
)
FAST_RETRY = RetryPolicy(attempts=6, wait_initial=0.05, wait_max=0.5, wait_jitter=0.05)


@pytest.fixture(scope="session")
def rclone_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneS3]:
    server = RcloneS3(tmp_path_factory.mktemp("rclone-root")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


def s3_store(
    endpoint: Endpoint,
    *,
    bucket: str = RAW_BUCKET,
    writable: bool = True,
    supports_create: bool = True,
    url: str | None = None,
    timeouts: TimeoutSettings | None = None,
    retry: RetryPolicy = FAST_RETRY,
    transfer: TransferSettings = SMALL_TRANSFER,
) -> Store:
    backend = ObstoreBackend.s3(
        bucket=bucket,
        endpoint=url or endpoint.url,
        region="us-east-1",
        credentials=endpoint.credentials,
        supports_create=supports_create,
        timeouts=timeouts,
    )
    return Store(
        backend,
        role="raw_rw" if writable else "raw_ro",
        writable=writable,
        retry=retry,
        transfer=transfer,
    )


@pytest.fixture(params=["memory", "local", "rclone", "moto"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if backend_name == "memory":
        return Store.memory(retry=FAST_RETRY, transfer=SMALL_TRANSFER)
    if backend_name == "local":
        return Store.local(tmp_path / "bucket", retry=FAST_RETRY, transfer=SMALL_TRANSFER)
    server = request.getfixturevalue(f"{backend_name}_s3")
    return s3_store(server.rw, supports_create=server.conditional_writes)


@pytest.fixture
def ns() -> str:
    """A fresh key prefix, so tests sharing a server bucket never collide."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fault_proxy(rclone_s3: RcloneS3) -> Iterator[FaultProxy]:
    proxy = FaultProxy(rclone_s3.rw.url).start()
    yield proxy
    proxy.stop()
