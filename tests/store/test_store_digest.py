"""One rule for which sha256 an object must hash to, in the store and its callers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ursa_lib import ChecksumMismatchError, Store
from ursa_lib.store import SHA256_METADATA_KEY, ObjectInfo, expected_sha256, recorded_sha256

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()


def test_the_manifest_digest_wins_over_the_recorded_one() -> None:
    info = ObjectInfo(key="k", size=1, metadata={SHA256_METADATA_KEY: A})
    assert expected_sha256(info, B) == B
    assert expected_sha256(None, B) == B  # no HEAD needed when the manifest has it


@pytest.mark.parametrize("wanted", [None, "metadata"])
def test_without_a_manifest_digest_the_object_s_own_is_expected(wanted: str | None) -> None:
    info = ObjectInfo(key="k", size=1, metadata={SHA256_METADATA_KEY: A})
    assert expected_sha256(info, wanted) == A
    assert expected_sha256({SHA256_METADATA_KEY: A}, wanted) == A
    assert recorded_sha256(info) == A


def test_nothing_recorded_means_nothing_expected() -> None:
    listed = ObjectInfo(key="k", size=1)  # listings carry no metadata
    assert recorded_sha256(listed) is None
    assert expected_sha256(listed, "metadata") is None
    assert expected_sha256({}) is None


def test_download_checks_the_manifest_digest_and_the_object_s_own(tmp_path: Path) -> None:
    store = Store.memory()
    store.put("k", b"a", metadata={SHA256_METADATA_KEY: A})
    assert store.download("k", tmp_path / "ok", sha256=A).size == 1
    assert store.download("k", tmp_path / "own", sha256="metadata").size == 1
    with pytest.raises(ChecksumMismatchError, match=f"{B} was recorded"):
        store.download("k", tmp_path / "bad", sha256=B)
    assert not (tmp_path / "bad").exists()
    store.put("lying", b"a", metadata={SHA256_METADATA_KEY: B})
    with pytest.raises(ChecksumMismatchError, match=f"{B} was recorded"):
        store.download("lying", tmp_path / "lying", sha256=A)
