from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ursa_lib import Store
from ursa_lib.testing import (
    FAST_RETRY,
    SMALL_TRANSFER,
    FaultProxy,
    MotoS3,
    RcloneS3,
    s3_store,
)


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
