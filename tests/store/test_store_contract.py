"""One contract for the store layer, run against memory, local, rclone and moto."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ursa_lib import Store
from ursa_lib.testing import (
    FAST_RETRY,
    RAW_BUCKET,
    SMALL_TRANSFER,
    MiB,
    MotoS3,
    RcloneS3,
    StoreContract,
    s3_store,
)


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return Store.memory(retry=FAST_RETRY, transfer=SMALL_TRANSFER)


class TestLocalStore(StoreContract):
    folder_keys = "refused"

    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return Store.local(tmp_path / "bucket", retry=FAST_RETRY, transfer=SMALL_TRANSFER)


class ServedS3Contract(StoreContract):
    """A store on a loopback S3 server, checked for leftover uploads through boto3."""

    server_fixture: str

    @pytest.fixture
    def store(self, request: pytest.FixtureRequest) -> Store:
        server: RcloneS3 | MotoS3 = request.getfixturevalue(self.server_fixture)
        return s3_store(server.rw, supports_create=server.conditional_writes)

    def open_uploads(self, store: Store, request: pytest.FixtureRequest) -> list[str]:
        server: RcloneS3 | MotoS3 = request.getfixturevalue(self.server_fixture)
        uploads = server.rw.boto().list_multipart_uploads(Bucket=RAW_BUCKET).get("Uploads", [])
        return [u["Key"] for u in uploads]


class TestRcloneS3Store(ServedS3Contract):
    server_fixture = "rclone_s3"

    def test_a_key_that_is_also_a_folder(self, store: Store, ns: str) -> None:
        pytest.skip("rclone serve s3 keeps objects as files too, and answers such a PUT with 500")


class TestMotoS3Store(ServedS3Contract):
    server_fixture = "moto_s3"


@pytest.mark.parametrize("fsync", [True, False])
def test_fsynced_downloads_start_write_back_while_the_bytes_arrive(
    fsync: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.memory()
    data = os.urandom(20 * MiB + 12345)
    store.put("big.bin", data, metadata={"sha256": hashlib.sha256(data).hexdigest()})
    calls: list[tuple[int, int, int]] = []
    real = os.posix_fadvise

    def record(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", record)
    store.download("big.bin", tmp_path / "big.bin", fsync=fsync, sha256="metadata")
    assert (tmp_path / "big.bin").read_bytes() == data
    if not fsync:
        assert calls == []
        return
    # Contiguous ranges from byte 0, each at least 8 MiB, up to the last few MiB.
    assert calls
    assert all(advice == os.POSIX_FADV_DONTNEED for _, _, advice in calls)
    assert [offset for offset, _, _ in calls] == [0] + [
        sum(length for _, length, _ in calls[:i]) for i in range(1, len(calls))
    ]
    assert all(length >= 8 * MiB for _, length, _ in calls)
    assert len(data) - 8 * MiB < sum(length for _, length, _ in calls) <= len(data)
