from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ursa_lib.testing import FaultProxy, MotoS3, RcloneS3


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


@pytest.fixture
def ns() -> str:
    """A fresh key prefix, so tests sharing a server bucket never collide."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fault_proxy(rclone_s3: RcloneS3) -> Iterator[FaultProxy]:
    proxy = FaultProxy(rclone_s3.rw.url).start()
    yield proxy
    proxy.stop()
