"""Ursa's key rules, by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ursa_lib import InvalidKeyError, validate_key
from ursa_lib.store import plan_upload
from ursa_lib.store._keys import MAX_KEY_BYTES, MAX_SEGMENT_BYTES

GOOD = ["a", "a/b", "file..txt", "..a", "a..", "...", ".hidden/x", "sp ace/ü€", "a" * 255]
BAD = [
    "",
    "/a",
    "a/",
    "a//b",
    ".",
    "..",
    "a/./b",
    "a/../b",
    "../a",
    "a\\b",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    "x/" + "a" * 256,
    "a/" * 600 + "a",
]


@pytest.mark.parametrize("key", GOOD)
def test_good_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", BAD)
def test_bad_keys_say_what_is_wrong(key: str) -> None:
    with pytest.raises(InvalidKeyError, match="invalid object key"):
        validate_key(key)


segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\"),
    min_size=1,
    max_size=40,
).filter(lambda s: s not in (".", ".."))


@given(st.lists(segment, min_size=1, max_size=8))
def test_joined_legal_segments_are_valid(segments: list[str]) -> None:
    key = "/".join(segments)
    if len(key.encode()) <= MAX_KEY_BYTES:
        assert validate_key(key) == key


@given(st.text(max_size=60))
def test_validator_never_accepts_a_key_that_could_escape(key: str) -> None:
    try:
        validate_key(key)
    except InvalidKeyError:
        return
    parts = key.split("/")
    assert key
    assert not key.startswith("/")
    assert not key.endswith("/")
    assert all(p not in ("", ".", "..") for p in parts)
    assert "\\" not in key
    assert all(ord(c) >= 32 and c != "\x7f" for c in key)
    assert all(len(p.encode()) <= MAX_SEGMENT_BYTES for p in parts)


@given(
    st.lists(segment, min_size=1, max_size=4),
    st.sampled_from(["..", ".", ""]),
    st.integers(min_value=0, max_value=4),
)
def test_any_dot_or_empty_segment_is_refused(segments: list[str], bad: str, at: int) -> None:
    segments.insert(min(at, len(segments)), bad)
    with pytest.raises(InvalidKeyError):
        validate_key("/".join(segments))


MiB = 1024 * 1024
TiB = 1024 * 1024 * MiB


@given(st.integers(min_value=0, max_value=TiB))
def test_upload_plans_respect_s3_limits(size: int) -> None:
    plan = plan_upload(size)
    if not plan.multipart:
        assert plan.parts == 1
        assert size <= 5 * 1024 * MiB
        return
    assert plan.parts <= 10_000
    assert 5 * MiB <= plan.part_size <= 5 * 1024 * MiB
    assert plan.part_size % MiB == 0
    assert (plan.parts - 1) * plan.part_size < size <= plan.parts * plan.part_size


def test_one_tebibyte_fits_in_ten_thousand_equal_parts() -> None:
    plan = plan_upload(TiB)
    assert plan.multipart
    assert plan.parts <= 10_000
    assert plan.part_size == 105 * MiB


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        plan_upload(-1)
    with pytest.raises(ValueError, match="5 TiB"):
        plan_upload(6 * TiB)
