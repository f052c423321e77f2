"""One contract for the store layer, run against memory, local, rclone and moto."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ursa_lib import (
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    Store,
    WriteRefusedError,
)
from ursa_lib.testing import MiB

ODD_NAMES = [
    "with space.bin",
    "ünïcödé-€.bin",
    "plus+sign",
    "per%cent",
    "eq=amp&",
    "file..txt",
    "hash#q?",
    "tilde~!@$'()*,;",
    ".hidden",
    "...dots",
    "a" * 200,
]


def _open_uploads(store: Store, backend_name: str, request: pytest.FixtureRequest) -> list[str]:
    if backend_name not in ("rclone", "moto"):
        return []
    server = request.getfixturevalue(f"{backend_name}_s3")
    uploads = server.rw.boto().list_multipart_uploads(Bucket="ursa-raw").get("Uploads", [])
    return [u["Key"] for u in uploads]


def test_bytes_round_trip_with_metadata(store: Store, ns: str) -> None:
    info = store.put(f"{ns}/a.bin", b"hello", metadata={"sha256": "ab" * 32})
    assert info.size == 5
    head = store.head(f"{ns}/a.bin")
    assert head.size == 5
    assert head.metadata == {"sha256": "ab" * 32}
    assert store.get(f"{ns}/a.bin") == b"hello"
    with store.open(f"{ns}/a.bin") as reader:
        assert reader.info.metadata == {"sha256": "ab" * 32}


def test_zero_length_objects(store: Store, ns: str) -> None:
    store.put(f"{ns}/empty-bytes", b"")
    store.put(f"{ns}/empty-stream", iter([]))
    for key in (f"{ns}/empty-bytes", f"{ns}/empty-stream"):
        assert store.head(key).size == 0
        assert store.get(key) == b""
    assert [i.size for i in store.list(ns)] == [0, 0]


def test_multipart_file_upload_keeps_bytes_and_metadata(
    store: Store, ns: str, tmp_path: Path
) -> None:
    data = os.urandom(12 * MiB + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    seen = hashlib.sha256()
    store.put(f"{ns}/big.bin", path, metadata={"sha256": digest}, on_chunk=seen.update)
    assert seen.hexdigest() == digest
    assert store.head(f"{ns}/big.bin").metadata == {"sha256": digest}
    out = tmp_path / "out" / "big.bin"
    store.download(f"{ns}/big.bin", out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    assert [p.name for p in out.parent.iterdir()] == ["big.bin"]


def test_streamed_read_in_small_pieces(store: Store, ns: str) -> None:
    data = os.urandom(3 * MiB + 7)
    store.put(f"{ns}/s.bin", io.BytesIO(data))
    with store.open(f"{ns}/s.bin") as reader:
        pieces = []
        while piece := reader.read(100_003):
            pieces.append(piece)
    assert b"".join(pieces) == data


def test_failing_reader_leaves_no_object_and_no_open_upload(
    store: Store, ns: str, backend_name: str, request: pytest.FixtureRequest
) -> None:
    def broken() -> Iterator[bytes]:
        for _ in range(3):
            yield os.urandom(4 * MiB)
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        store.put(f"{ns}/broken.bin", broken())
    assert not store.exists(f"{ns}/broken.bin")
    assert f"{ns}/broken.bin" not in _open_uploads(store, backend_name, request)


def test_short_read_is_refused_and_stores_nothing(store: Store, ns: str) -> None:
    with pytest.raises(ValueError, match=r"yielded 6291456 bytes, expected 7340032"):
        store.put(f"{ns}/short.bin", iter([b"x" * (6 * MiB)]), size=7 * MiB)
    with pytest.raises(ValueError, match="grew beyond"):
        store.put(f"{ns}/long.bin", iter([b"x" * 10]), size=4)
    assert list(store.list(ns)) == []


def test_file_that_changes_size_during_upload_is_refused(
    store: Store, ns: str, tmp_path: Path
) -> None:
    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * (6 * MiB))

    def grow(chunk: bytes) -> None:
        with open(path, "ab") as handle:
            handle.write(b"more")

    with pytest.raises(ValueError, match="grew beyond"):
        store.put(f"{ns}/growing.bin", path, on_chunk=grow)
    assert not store.exists(f"{ns}/growing.bin")


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_but_legal_names_round_trip(store: Store, ns: str, name: str) -> None:
    key = f"{ns}/{name}"
    store.put(key, name.encode())
    assert [i.key for i in store.list(ns)] == [key]
    assert store.get(key) == name.encode()


def test_listing_past_one_thousand_keys_is_complete_and_sorted(store: Store, ns: str) -> None:
    keys = [f"{ns}/k{i:05d}" for i in range(1005)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: store.put(k, b"."), keys))
    listed = [i.key for i in store.list(ns)]
    assert listed == sorted(keys)


def test_listing_is_by_folder_and_in_byte_order(store: Store, ns: str) -> None:
    for key in ("p/a-b", "p/a/c", "p/a/d/e", "p/ab", "p/b", "q/z"):
        store.put(f"{ns}/{key}", b"1")
    assert [i.key for i in store.list(f"{ns}/p/a")] == [f"{ns}/p/a/c", f"{ns}/p/a/d/e"]
    assert [i.key for i in store.list(f"{ns}/p/")] == [
        f"{ns}/p/a-b",
        f"{ns}/p/a/c",
        f"{ns}/p/a/d/e",
        f"{ns}/p/ab",
        f"{ns}/p/b",
    ]
    assert list(store.list(f"{ns}/nothing-here")) == []


def test_a_key_that_is_also_a_folder(store: Store, ns: str, backend_name: str) -> None:
    if backend_name == "rclone":
        pytest.skip("rclone serve s3 keeps objects as files too, and answers such a PUT with 500")
    store.put(f"{ns}/a/b", b"1")
    if backend_name == "local":
        with pytest.raises(ObjectStoreError, match="cannot also be the folder"):
            store.put(f"{ns}/a", b"2")
        assert [i.key for i in store.list(ns)] == [f"{ns}/a/b"]
    else:
        store.put(f"{ns}/a", b"2")
        assert [i.key for i in store.list(ns)] == [f"{ns}/a", f"{ns}/a/b"]


def test_missing_object_is_named_and_is_a_file_not_found(store: Store, ns: str) -> None:
    key = f"{ns}/missing.bin"
    for call in (store.head, store.get, store.open):
        with pytest.raises(ObjectNotFoundError, match=r"missing\.bin") as info:
            call(key)
        assert isinstance(info.value, FileNotFoundError)
    assert not store.exists(key)


def test_delete_and_copy(store: Store, ns: str) -> None:
    store.put(f"{ns}/src", b"payload", metadata={"sha256": "cd" * 32})
    store.copy(f"{ns}/src", f"{ns}/dst")
    assert store.get(f"{ns}/dst") == b"payload"
    assert (store.head(f"{ns}/dst").metadata or {}).get("sha256") == "cd" * 32
    store.delete(f"{ns}/src")
    store.delete(f"{ns}/src")  # deleting what is gone is not an error
    assert [i.key for i in store.list(ns)] == [f"{ns}/dst"]


def test_overwrite_replaces_and_create_refuses_existing(store: Store, ns: str) -> None:
    store.put(f"{ns}/o", b"one")
    store.put(f"{ns}/o", b"two")
    assert store.get(f"{ns}/o") == b"two"
    if not store.supports_create:
        pytest.skip("this server does not enforce put-if-absent")
    store.put(f"{ns}/c", b"first", mode="create")
    with pytest.raises(ObjectExistsError):
        store.put(f"{ns}/c", b"second", mode="create")
    assert store.get(f"{ns}/c") == b"first"


def test_download_failure_leaves_previous_file_intact(
    store: Store, ns: str, tmp_path: Path
) -> None:
    dest = tmp_path / "keep.bin"
    dest.write_bytes(b"old")
    with pytest.raises(ObjectNotFoundError):
        store.download(f"{ns}/absent", dest)
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.endswith(".part")
    )


@pytest.mark.parametrize("key", ["../x", "a/../b", "/abs", "a//b", "a/./b", "a\\b", "a/\x00", ""])
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    for call in (store.head, store.get, lambda k: store.put(k, b"x"), store.delete):
        with pytest.raises(InvalidKeyError):
            call(key)


def test_read_only_store_refuses_writes(store: Store, ns: str) -> None:
    store.put(f"{ns}/kept", b"1")
    read_only = Store(store._backend, writable=False, role="raw_ro")
    for call in (
        lambda: read_only.put(f"{ns}/new", b"x"),
        lambda: read_only.delete(f"{ns}/kept"),
        lambda: read_only.copy(f"{ns}/kept", f"{ns}/copy"),
    ):
        with pytest.raises(WriteRefusedError, match="read-only role raw_ro") as info:
            call()
        assert isinstance(info.value, PermissionError)
        assert isinstance(info.value, ObjectStoreError)
    assert [i.key for i in store.list(ns)] == [f"{ns}/kept"]
    assert read_only.get(f"{ns}/kept") == b"1"


def test_abandoned_chunk_iterator_does_not_end_the_reader(store: Store, ns: str) -> None:
    data = os.urandom(3 * MiB)
    store.put(f"{ns}/r.bin", data)
    with store.open(f"{ns}/r.bin") as reader:
        first = bytes(next(reader.iter_chunks()))
        rest = reader.read()
    assert first + rest == data


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
