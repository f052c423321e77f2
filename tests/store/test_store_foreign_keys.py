"""Keys written by other tools that break Ursa's rules are reported by name."""

from __future__ import annotations

import pytest

from ursa_lib import InvalidKeyError
from ursa_lib.testing import RAW_BUCKET, MotoS3, s3_store


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("sub/./i", "segment '.' is not allowed"),
        ("sub/a//b", "empty segment"),
        ("sub/back\\slash", "backslashes are not allowed"),
        ("sub/ctrl\x01char", "control character"),
    ],
)
def test_a_foreign_key_stops_the_listing_and_is_named(
    moto_s3: MotoS3, ns: str, bad: str, why: str
) -> None:
    client = moto_s3.rw.boto()
    client.put_object(Bucket=RAW_BUCKET, Key=f"{ns}/good-1", Body=b"1")
    client.put_object(Bucket=RAW_BUCKET, Key=f"{ns}/{bad}", Body=b"x")
    store = s3_store(moto_s3.rw)
    with pytest.raises(InvalidKeyError, match=why) as info:
        list(store.list(ns))
    assert repr(f"{ns}/{bad}")[1:-1] in str(info.value) or bad in str(info.value)
    assert "rename or delete" in str(info.value)
