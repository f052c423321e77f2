"""Transient faults are survived byte-for-byte; permanent ones fail fast, named.

Every test talks to a real S3 server through the fault-injecting proxy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ursa_lib import (
    AccessDeniedError,
    ObjectChangedError,
    ObjectNotFoundError,
    ObjectStoreError,
    RetryPolicy,
    Store,
)
from ursa_lib.store import TimeoutSettings
from ursa_lib.testing import Fault, FaultProxy, MiB, MotoS3, RcloneS3, s3_store


@pytest.fixture
def via_proxy(rclone_s3: RcloneS3, fault_proxy: FaultProxy) -> Store:
    return s3_store(rclone_s3.rw, url=fault_proxy.url)


@pytest.fixture
def direct(rclone_s3: RcloneS3) -> Store:
    return s3_store(rclone_s3.rw)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_on_get_are_retried(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str, status: int
) -> None:
    data = os.urandom(300_000)
    direct.put(f"{ns}/obj", data)
    fault_proxy.add(Fault("status", method="GET", status=status, times=2))
    assert via_proxy.get(f"{ns}/obj") == data
    assert len(fault_proxy.fired()) == 2


def test_server_errors_on_put_are_retried(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    data = os.urandom(200_000)
    fault_proxy.add(Fault("status", method="PUT", status=503, times=2))
    via_proxy.put(f"{ns}/obj", data, metadata={"sha256": _sha(data)})
    assert direct.get(f"{ns}/obj") == data
    assert len(fault_proxy.fired()) == 2


def test_more_failures_than_the_client_retries_are_retried_by_ursa(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    data = os.urandom(50_000)
    direct.put(f"{ns}/obj", data)
    fault_proxy.add(Fault("status", method="GET", status=503, times=5))
    assert via_proxy.get(f"{ns}/obj") == data
    assert len(fault_proxy.fired()) == 5


def test_exhausted_retries_surface_as_transient_error_naming_the_key(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    from ursa_lib import ObjectStoreTransientError

    direct.put(f"{ns}/obj", b"x")
    store = s3_store(
        rclone_s3.rw, url=fault_proxy.url, retry=RetryPolicy(attempts=2, wait_initial=0.01)
    )
    fault_proxy.add(Fault("status", method="GET", status=503, times=100))
    with pytest.raises(ObjectStoreTransientError, match=f"{ns}/obj.*gave up after 2 attempts"):
        store.get(f"{ns}/obj")


def test_throttling_waits_at_least_retry_after(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    direct.put(f"{ns}/obj", b"payload")
    fault_proxy.add(Fault("status", method="GET", status=429, retry_after=1, times=1))
    assert via_proxy.get(f"{ns}/obj") == b"payload"
    gets = [e for e in fault_proxy.events if e.method == "GET"]
    assert gets[0].action == "status"
    assert gets[1].at - gets[0].at >= 1.0


def test_connection_reset_is_survived(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    data = os.urandom(100_000)
    direct.put(f"{ns}/obj", data)
    fault_proxy.add(Fault("reset", method="GET", times=2))
    assert via_proxy.get(f"{ns}/obj") == data
    fault_proxy.add(Fault("reset", method="PUT", times=1))
    via_proxy.put(f"{ns}/obj2", data)
    assert direct.get(f"{ns}/obj2") == data


@pytest.mark.parametrize("server", ["rclone", "moto"])
def test_body_cut_short_is_resumed_never_truncated(
    request: pytest.FixtureRequest, server: str, ns: str, tmp_path: Path
) -> None:
    upstream: RcloneS3 | MotoS3 = request.getfixturevalue(f"{server}_s3")
    proxy = FaultProxy(upstream.rw.url).start()
    try:
        data = os.urandom(3 * MiB + 11)
        direct = s3_store(upstream.rw)
        direct.put(f"{ns}/obj", data)
        store = s3_store(upstream.rw, url=proxy.url)
        proxy.add(Fault("truncate", method="GET", after_bytes=MiB, times=2))
        assert _sha(store.get(f"{ns}/obj")) == _sha(data)
        proxy.add(Fault("truncate", method="GET", after_bytes=2 * MiB, times=1))
        store.download(f"{ns}/obj", tmp_path / "obj")
        assert _sha((tmp_path / "obj").read_bytes()) == _sha(data)
        assert len(proxy.fired()) == 3
    finally:
        proxy.stop()


def test_large_download_survives_faults_on_ranges(moto_s3: MotoS3, ns: str, tmp_path: Path) -> None:
    proxy = FaultProxy(moto_s3.rw.url).start()
    try:
        data = os.urandom(16 * MiB)
        s3_store(moto_s3.rw).put(f"{ns}/big", data)
        store = s3_store(moto_s3.rw, url=proxy.url)
        proxy.add(
            Fault("truncate", method="GET", after_bytes=1000, skip=1, times=1),
            Fault("status", method="GET", status=503, skip=3, times=1),
        )
        store.download(f"{ns}/big", tmp_path / "big")
        assert _sha((tmp_path / "big").read_bytes()) == _sha(data)
        assert len(proxy.fired()) == 2
    finally:
        proxy.stop()


def test_stalled_body_fails_within_read_timeout_and_resumes(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    data = os.urandom(2 * MiB)
    direct.put(f"{ns}/obj", data)
    timeouts = TimeoutSettings()
    timeouts.read_s = 1.0
    store = s3_store(rclone_s3.rw, url=fault_proxy.url, timeouts=timeouts)
    fault_proxy.add(Fault("stall", method="GET", after_bytes=MiB, stall_s=4, times=1))
    assert store.get(f"{ns}/obj") == data


@pytest.mark.slow
def test_throttled_transfer_outlasting_the_default_timeout_completes(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    # obstore's default whole-request timeout is 30 s; this body takes ~34 s.
    data = os.urandom(1_700_000)
    direct.put(f"{ns}/slow", data)
    fault_proxy.add(Fault("throttle", method="GET", rate_bps=50_000, times=1))
    assert via_proxy.get(f"{ns}/slow") == data
    assert [e.action for e in fault_proxy.events if e.method == "GET"] == ["throttle"]


def test_permanent_faults_fail_fast_and_name_the_key(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str
) -> None:
    direct.put(f"{ns}/obj", b"x")
    fault_proxy.add(Fault("status", method="GET", status=403, times=1))
    with pytest.raises(AccessDeniedError, match=f"{ns}/obj"):
        via_proxy.get(f"{ns}/obj")
    assert len(fault_proxy.fired()) == 1  # not retried
    fault_proxy.clear()
    fault_proxy.add(Fault("status", method="GET", status=404, times=1))
    with pytest.raises(ObjectNotFoundError, match=f"{ns}/obj"):
        via_proxy.get(f"{ns}/obj")
    assert len(fault_proxy.fired()) == 1


def test_failed_multipart_upload_is_aborted(
    via_proxy: Store,
    direct: Store,
    fault_proxy: FaultProxy,
    ns: str,
    tmp_path: Path,
    rclone_s3: RcloneS3,
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(12 * MiB))
    fault_proxy.add(
        Fault("status", method="PUT", query_contains="partNumber=2", status=400, times=100)
    )
    with pytest.raises(ObjectStoreError, match=f"{ns}/big.bin"):
        via_proxy.put(f"{ns}/big.bin", path)
    assert not direct.exists(f"{ns}/big.bin")
    uploads = rclone_s3.rw.boto().list_multipart_uploads(Bucket="ursa-raw").get("Uploads", [])
    assert [u["Key"] for u in uploads if u["Key"].startswith(ns)] == []


def test_transient_part_failure_is_survived_by_multipart(
    via_proxy: Store, direct: Store, fault_proxy: FaultProxy, ns: str, tmp_path: Path
) -> None:
    data = os.urandom(12 * MiB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    fault_proxy.add(
        Fault("status", method="PUT", query_contains="partNumber=2", status=503, times=2)
    )
    via_proxy.put(f"{ns}/big.bin", path)
    assert _sha(direct.get(f"{ns}/big.bin")) == _sha(data)
    assert len(fault_proxy.fired()) == 2


def test_object_replaced_mid_read_is_an_error_not_a_mix(moto_s3: MotoS3, ns: str) -> None:
    proxy = FaultProxy(moto_s3.rw.url).start()
    try:
        direct = s3_store(moto_s3.rw)
        direct.put(f"{ns}/obj", b"A" * (3 * MiB))
        store = s3_store(moto_s3.rw, url=proxy.url)
        proxy.add(Fault("truncate", method="GET", after_bytes=MiB, times=1))
        reader = store.open(f"{ns}/obj")
        first = next(reader.iter_chunks())
        assert set(bytes(first)) == {ord("A")}
        direct.put(f"{ns}/obj", b"B" * (3 * MiB))
        with pytest.raises(ObjectChangedError, match=f"{ns}/obj"):
            reader.read()
    finally:
        proxy.stop()
