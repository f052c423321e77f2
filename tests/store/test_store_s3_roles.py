"""Read-only endpoint + read-only role, and profiles opened against a real server."""

from __future__ import annotations

import pytest

from ursa_lib import ObjectStoreError, RetryPolicy, S3Profile, WriteRefusedError, open_store
from ursa_lib.testing import RcloneS3, s3_store


@pytest.fixture
def profile(rclone_s3: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> S3Profile:
    for role, endpoint in (("RAW_RO", rclone_s3.ro), ("RAW_RW", rclone_s3.rw)):
        monkeypatch.setenv(f"URSA_RIG_{role}_ACCESS_KEY_ID", endpoint.access_key_id)
        monkeypatch.setenv(f"URSA_RIG_{role}_SECRET_ACCESS_KEY", endpoint.secret_access_key)
    return S3Profile(
        name="rig",
        endpoint=rclone_s3.rw.url,
        role_endpoints={"raw_ro": rclone_s3.ro.url},
        region="us-east-1",
        raw_bucket="ursa-raw",
        assets_bucket="ursa-assets",
        conditional_writes=False,
    )


def test_read_only_role_refuses_writes_and_nothing_appears(profile: S3Profile, ns: str) -> None:
    ro = open_store(profile, "raw_ro")
    rw = open_store(profile, "raw_rw")
    rw.put(f"{ns}/present", b"data")
    with pytest.raises(WriteRefusedError, match=r"read-only role raw_ro"):
        ro.put(f"{ns}/attempt", b"nope")
    with pytest.raises(WriteRefusedError):
        ro.delete(f"{ns}/present")
    assert not rw.exists(f"{ns}/attempt")
    assert rw.get(f"{ns}/present") == b"data"
    assert ro.get(f"{ns}/present") == b"data"


def test_refusal_happens_before_any_request(ns: str) -> None:
    # Nothing listens on this endpoint: a request would fail with a connection
    # error, so WriteRefusedError proves none was made.
    profile = S3Profile(
        name="dead",
        endpoint="http://127.0.0.1:9",
        region="us-east-1",
        raw_bucket="ursa-raw",
        assets_bucket="ursa-assets",
    )
    import os

    os.environ["URSA_DEAD_RAW_RO_ACCESS_KEY_ID"] = "dead-key-id-000"
    os.environ["URSA_DEAD_RAW_RO_SECRET_ACCESS_KEY"] = "dead-secret-000"
    try:
        ro = open_store(profile, "raw_ro")
        with pytest.raises(WriteRefusedError):
            ro.put(f"{ns}/x", b"x")
    finally:
        del os.environ["URSA_DEAD_RAW_RO_ACCESS_KEY_ID"]
        del os.environ["URSA_DEAD_RAW_RO_SECRET_ACCESS_KEY"]


def test_server_enforces_read_only_too(rclone_s3: RcloneS3, ns: str) -> None:
    # A misconfigured client that thinks it may write through the read-only
    # endpoint is refused by the server (rclone answers 500, so it is not an
    # AccessDeniedError here) and nothing is stored.
    sneaky = s3_store(rclone_s3.ro, writable=True).with_retry(RetryPolicy.none())
    with pytest.raises(ObjectStoreError, match="sneaky"):
        sneaky.put(f"{ns}/sneaky", b"x")
    assert not s3_store(rclone_s3.rw).exists(f"{ns}/sneaky")
