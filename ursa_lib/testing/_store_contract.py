"""The store contract: the object-store behaviour every backend of `Store` promises.

Written once, run against every backend, the way zarr's ``StoreTests`` is: a
test module subclasses `StoreContract` once per backend (the class name starts
with ``Test`` so pytest collects it) and supplies the `store` fixture::

    class TestMemoryStore(StoreContract):
        @pytest.fixture
        def store(self) -> Store:
            return Store.memory(retry=FAST_RETRY, transfer=SMALL_TRANSFER)

Build the store with `SMALL_TRANSFER` (or parts as small): the contract's
sizes are chosen so that 12 MiB crosses into multipart uploads and parallel
downloads. A backend that cannot keep a promise says so by overriding that
test with a ``pytest.skip`` and the reason.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from .._errors import (
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    WriteRefusedError,
)
from ..store import Store
from ._stores import MiB

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
"""Legal key segments that trip up URL encoding, signing or path handling."""


class StoreContract:
    """The promises of `Store` over one backend; subclass it once per backend."""

    folder_keys: ClassVar[Literal["both", "refused"]] = "both"
    """What the backend does with a key that is also another key's folder
    (``a`` beside ``a/b``): S3 keeps both; a filesystem refuses the second
    write with a clear `ObjectStoreError` and keeps the first."""

    @pytest.fixture
    def store(self) -> Store:
        """The writable store under test, empty under the `ns` prefix."""
        raise NotImplementedError(f"{type(self).__name__} must supply the store fixture")

    @pytest.fixture
    def ns(self) -> str:
        """A fresh key prefix, so tests sharing a server bucket never collide."""
        return f"t-{uuid.uuid4().hex[:12]}"

    def open_uploads(self, store: Store, request: pytest.FixtureRequest) -> list[str]:
        """Keys with a multipart upload still open on the backend's server.

        Backends without multipart uploads have none; an S3 backend asks its
        server (e.g. boto3's ``list_multipart_uploads``) rather than the store
        under test.
        """
        return []

    def test_bytes_round_trip_with_metadata(self, store: Store, ns: str) -> None:
        info = store.put(f"{ns}/a.bin", b"hello", metadata={"sha256": "ab" * 32})
        assert info.size == 5
        head = store.head(f"{ns}/a.bin")
        assert head.size == 5
        assert head.metadata == {"sha256": "ab" * 32}
        assert store.get(f"{ns}/a.bin") == b"hello"
        with store.open(f"{ns}/a.bin") as reader:
            assert reader.info.metadata == {"sha256": "ab" * 32}

    def test_zero_length_objects(self, store: Store, ns: str) -> None:
        store.put(f"{ns}/empty-bytes", b"")
        store.put(f"{ns}/empty-stream", iter([]))
        for key in (f"{ns}/empty-bytes", f"{ns}/empty-stream"):
            assert store.head(key).size == 0
            assert store.get(key) == b""
        assert [i.size for i in store.list(ns)] == [0, 0]

    def test_multipart_file_upload_keeps_bytes_and_metadata(
        self, store: Store, ns: str, tmp_path: Path
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

    def test_streamed_read_in_small_pieces(self, store: Store, ns: str) -> None:
        data = os.urandom(3 * MiB + 7)
        store.put(f"{ns}/s.bin", io.BytesIO(data))
        with store.open(f"{ns}/s.bin") as reader:
            pieces = []
            while piece := reader.read(100_003):
                pieces.append(piece)
        assert b"".join(pieces) == data

    def test_failing_reader_leaves_no_object_and_no_open_upload(
        self, store: Store, ns: str, request: pytest.FixtureRequest
    ) -> None:
        def broken() -> Iterator[bytes]:
            for _ in range(3):
                yield os.urandom(4 * MiB)
            raise OSError("disk went away")

        with pytest.raises(OSError, match="disk went away"):
            store.put(f"{ns}/broken.bin", broken())
        assert not store.exists(f"{ns}/broken.bin")
        assert f"{ns}/broken.bin" not in self.open_uploads(store, request)

    def test_short_read_is_refused_and_stores_nothing(self, store: Store, ns: str) -> None:
        with pytest.raises(ValueError, match=r"yielded 6291456 bytes, expected 7340032"):
            store.put(f"{ns}/short.bin", iter([b"x" * (6 * MiB)]), size=7 * MiB)
        with pytest.raises(ValueError, match="grew beyond"):
            store.put(f"{ns}/long.bin", iter([b"x" * 10]), size=4)
        assert list(store.list(ns)) == []

    def test_file_that_changes_size_during_upload_is_refused(
        self, store: Store, ns: str, tmp_path: Path
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
    def test_odd_but_legal_names_round_trip(self, store: Store, ns: str, name: str) -> None:
        key = f"{ns}/{name}"
        store.put(key, name.encode())
        assert [i.key for i in store.list(ns)] == [key]
        assert store.get(key) == name.encode()

    def test_listing_past_one_thousand_keys_is_complete_and_sorted(
        self, store: Store, ns: str
    ) -> None:
        keys = [f"{ns}/k{i:05d}" for i in range(1005)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: store.put(k, b"."), keys))
        listed = [i.key for i in store.list(ns)]
        assert listed == sorted(keys)

    def test_listing_is_by_folder_and_in_byte_order(self, store: Store, ns: str) -> None:
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

    def test_a_key_that_is_also_a_folder(self, store: Store, ns: str) -> None:
        store.put(f"{ns}/a/b", b"1")
        if self.folder_keys == "refused":
            with pytest.raises(ObjectStoreError, match="cannot also be the folder"):
                store.put(f"{ns}/a", b"2")
            assert [i.key for i in store.list(ns)] == [f"{ns}/a/b"]
        else:
            store.put(f"{ns}/a", b"2")
            assert [i.key for i in store.list(ns)] == [f"{ns}/a", f"{ns}/a/b"]

    def test_missing_object_is_named_and_is_a_file_not_found(self, store: Store, ns: str) -> None:
        key = f"{ns}/missing.bin"
        for call in (store.head, store.get, store.open):
            with pytest.raises(ObjectNotFoundError, match=r"missing\.bin") as info:
                call(key)
            assert isinstance(info.value, FileNotFoundError)
        assert not store.exists(key)

    def test_delete_and_copy(self, store: Store, ns: str) -> None:
        store.put(f"{ns}/src", b"payload", metadata={"sha256": "cd" * 32})
        store.copy(f"{ns}/src", f"{ns}/dst")
        assert store.get(f"{ns}/dst") == b"payload"
        assert (store.head(f"{ns}/dst").metadata or {}).get("sha256") == "cd" * 32
        store.delete(f"{ns}/src")
        store.delete(f"{ns}/src")  # deleting what is gone is not an error
        assert [i.key for i in store.list(ns)] == [f"{ns}/dst"]

    def test_overwrite_replaces_and_create_refuses_existing(self, store: Store, ns: str) -> None:
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
        self, store: Store, ns: str, tmp_path: Path
    ) -> None:
        dest = tmp_path / "keep.bin"
        dest.write_bytes(b"old")
        with pytest.raises(ObjectNotFoundError):
            store.download(f"{ns}/absent", dest)
        assert dest.read_bytes() == b"old"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in tmp_path.iterdir() if not p.name.endswith(".part")
        )

    @pytest.mark.parametrize(
        "key", ["../x", "a/../b", "/abs", "a//b", "a/./b", "a\\b", "a/\x00", ""]
    )
    def test_bad_keys_are_refused(self, store: Store, key: str) -> None:
        for call in (store.head, store.get, lambda k: store.put(k, b"x"), store.delete):
            with pytest.raises(InvalidKeyError):
                call(key)

    def test_read_only_store_refuses_writes(self, store: Store, ns: str) -> None:
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

    def test_abandoned_chunk_iterator_does_not_end_the_reader(self, store: Store, ns: str) -> None:
        data = os.urandom(3 * MiB)
        store.put(f"{ns}/r.bin", data)
        with store.open(f"{ns}/r.bin") as reader:
            first = bytes(next(reader.iter_chunks()))
            rest = reader.read()
        assert first + rest == data
