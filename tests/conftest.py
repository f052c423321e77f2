from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ursa_lib import DataInterface, LocalProfile, S3Profile
from ursa_lib.testing import ASSETS_BUCKET, RAW_BUCKET, FaultProxy, MotoS3, RcloneS3


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


_ROLES = ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW")


@pytest.fixture
def make_interface(
    tmp_path: Path, ns: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Callable[[str], DataInterface]:
    """``make_interface("local" | "rclone" | "moto")``: a writable `DataInterface` on a
    fresh local profile, or on the session's real S3 server (catalog under ``ns``)."""

    def make(backend: str) -> DataInterface:
        if backend == "local":
            return DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
        server: RcloneS3 | MotoS3 = request.getfixturevalue(f"{backend}_s3")
        for role in _ROLES:
            endpoint = getattr(server, "ro", server.rw) if role.endswith("_RO") else server.rw
            monkeypatch.setenv(f"URSA_LAB_{role}_ACCESS_KEY_ID", endpoint.access_key_id)
            monkeypatch.setenv(f"URSA_LAB_{role}_SECRET_ACCESS_KEY", endpoint.secret_access_key)
        ro_url = getattr(server, "ro", server.rw).url
        profile = S3Profile(
            name="lab",
            endpoint=server.rw.url,
            role_endpoints={"raw_ro": ro_url, "assets_ro": ro_url},
            region="us-east-1",
            raw_bucket=RAW_BUCKET,
            assets_bucket=ASSETS_BUCKET,
            catalog_uri=f"s3://{ASSETS_BUCKET}/{ns}/catalog",
            conditional_writes=server.conditional_writes,
        )
        return DataInterface(profile).enable_writes()

    return make
