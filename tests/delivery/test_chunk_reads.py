"""A sampled window decodes its chunks with the array's own codecs, or through zarr.

`ChunkReader` reads the whole chunks a window touches. An array written as processing
writes it (bytes then blosc, chunks across every channel) has its chunks fetched
at once and decoded by its codecs' synchronous decode; any other array (sharded,
transposed, chunks that split the channels) is read through zarr's indexing.
Either way a window equals the same slice read by zarr, only the chunks it
touches are fetched, and a chunk the store does not hold reads as the fill
value, as zarr reads it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, Crc32cCodec, TransposeCodec, ZstdCodec
from zarr.core.sync import SyncError, sync
from zarr.storage import LocalStore, WrapperStore

from ursa_lib._errors import ObjectNotFoundError
from ursa_lib.delivery._sampled import (
    ChunkReader,
    DecodedChunks,
    Scaling,
    _sync_codecs,
    physical_values,
)

from .test_reads_only_what_overlaps import CountingStore

SAMPLES, CHANNELS, STEP = 350, 8, 100

LAYOUTS: dict[str, tuple[bool, dict[str, Any]]] = {
    # name: (decoded here, zarr.create_array arguments)
    "as processing writes": (
        True,
        {"chunks": (STEP, CHANNELS), "compressors": BloscCodec(cname="lz4", shuffle="shuffle")},
    ),
    "two bytes codecs": (
        True,
        {"chunks": (STEP, CHANNELS), "compressors": [ZstdCodec(level=1), Crc32cCodec()]},
    ),
    "sharded": (False, {"chunks": (STEP, CHANNELS), "shards": (2 * STEP, CHANNELS)}),
    "channels split": (False, {"chunks": (STEP, CHANNELS // 2)}),
    "transposed": (False, {"chunks": (STEP, CHANNELS), "filters": [TransposeCodec(order=(1, 0))]}),
}


def written(tmp_path: Path, layout: str) -> tuple[Any, np.ndarray[Any, Any], CountingStore]:
    """The array of ``layout`` in a local store, its values, and the store it is read through."""
    values = np.random.default_rng(1).integers(-30000, 30000, (SAMPLES, CHANNELS), dtype=np.int16)
    store = LocalStore(tmp_path / "asset.zarr")
    created = zarr.create_array(
        store, name="data", shape=values.shape, dtype="int16", **LAYOUTS[layout][1]
    )
    created[:] = values
    counting = CountingStore(LocalStore(tmp_path / "asset.zarr", read_only=True))
    counting.keys = []
    return zarr.open_array(counting, path="data", mode="r", zarr_format=3), values, counting


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_window_equals_zarrs_slice_and_fetches_only_its_chunks(
    tmp_path: Path, layout: str
) -> None:
    array, values, counting = written(tmp_path, layout)
    assert (_sync_codecs(array) is not None) is LAYOUTS[layout][0]
    windows = [(0, 1), (0, STEP), (STEP - 1, STEP + 1), (150, 330), (340, SAMPLES), (0, SAMPLES)]
    for a, b in windows:
        by_zarr = array[a:b]
        counting.keys.clear()
        rows, physical = ChunkReader(array).rows(a, b, None, "data")
        assert physical is None  # no scaling asked for
        assert rows.dtype == np.int16
        assert rows.flags.writeable
        np.testing.assert_array_equal(rows, values[a:b])
        np.testing.assert_array_equal(rows, by_zarr)
        if LAYOUTS[layout][0]:
            touched = range(a // STEP, (b - 1) // STEP + 1)
            assert sorted(counting.keys) == sorted(f"data/c/{c}/0" for c in touched)


def test_a_streams_decoded_chunks_are_kept_and_reused(tmp_path: Path) -> None:
    array, values, counting = written(tmp_path, "as processing writes")
    decoded = DecodedChunks(per_array=2)
    np.testing.assert_array_equal(
        ChunkReader(array).rows(50, 150, decoded, "data")[0], values[50:150]
    )
    assert [c for c in range(4) if decoded.get("data", c) is not None] == [0, 1]
    counting.keys.clear()
    np.testing.assert_array_equal(
        ChunkReader(array).rows(150, 250, decoded, "data")[0], values[150:250]
    )
    assert counting.keys == ["data/c/2/0"]  # chunk 1 came from what the last window decoded
    assert [c for c in range(4) if decoded.get("data", c) is not None] == [1, 2]


def test_decoded_chunks_keep_each_arrays_last_read_and_the_last_arrays() -> None:
    decoded = DecodedChunks(per_array=2, arrays=2)
    chunk = np.zeros(1)
    decoded.keep("a", {0: chunk, 1: chunk, 2: chunk})  # a read of three: all three kept
    decoded.keep("b", {0: chunk})
    assert len(decoded) == 4
    decoded.keep("a", {3: chunk})  # then the last two of "a"
    assert [c for c in range(4) if decoded.get("a", c) is not None] == [2, 3]
    decoded.keep("c", {0: chunk})  # a third array: "b", read least recently, goes
    assert decoded.get("b", 0) is None
    assert decoded.get("a", 3) is chunk
    assert decoded.get("c", 0) is chunk


@pytest.mark.parametrize("layout", ["as processing writes", "channels split"])
def test_a_chunk_the_store_lacks_reads_as_the_fill_value_as_in_zarr(
    tmp_path: Path, layout: str
) -> None:
    array, values, _ = written(tmp_path, layout)
    for chunk in (tmp_path / "asset.zarr" / "data" / "c" / "1").rglob("*"):
        if chunk.is_file():
            chunk.unlink()
    rows, _ = ChunkReader(array).rows(50, 250, None, "data")
    np.testing.assert_array_equal(rows, array[50:250])
    np.testing.assert_array_equal(rows[50:150], 0)
    np.testing.assert_array_equal(rows[150:], values[200:250])


@pytest.mark.parametrize("rows", [0, 1, 127, 128, 129, 1000, 10_000])
@pytest.mark.parametrize("order", ["C", "F"])
def test_physical_values_are_the_formula_exactly(rows: int, order: str) -> None:
    rng = np.random.default_rng(rows)
    digital = np.asarray(rng.integers(-32768, 32767, (rows, 5), dtype=np.int16), order=order)
    gain, offset = rng.uniform(0.001, 2.0, 5), rng.uniform(-3.0, 3.0, 5)
    physical = physical_values(digital, gain, offset)
    assert physical.dtype == np.float64
    assert physical.flags.c_contiguous
    assert physical.flags.owndata
    # gain * (digital + offset), with the formula's two roundings, for every sample.
    assert np.array_equal(physical, gain * (digital.astype(np.float64) + offset))


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint16", "float32"])
@pytest.mark.parametrize("shared", [True, False])
def test_physical_values_take_any_sample_type_and_a_shared_gain(dtype: str, shared: bool) -> None:
    rng = np.random.default_rng(3)
    digital = (rng.uniform(0, 100, (300, 4))).astype(dtype)
    gain, offset = (np.asarray(0.3), np.asarray([-1.5])) if shared else (rng.uniform(size=4),) * 2
    physical = physical_values(digital, gain, offset)
    assert np.array_equal(physical, gain * (digital.astype(np.float64) + offset))


@pytest.mark.parametrize("layout", ["as processing writes", "sharded"])
def test_a_window_is_scaled_chunk_by_chunk_exactly(tmp_path: Path, layout: str) -> None:
    """Each chunk's part is scaled as it arrives (and from a stream's kept chunks):
    the window equals the formula over the whole window, bit for bit."""
    array, values, _ = written(tmp_path, layout)
    rng = np.random.default_rng(5)
    gain, offset = rng.uniform(0.001, 2.0, CHANNELS), rng.uniform(-3.0, 3.0, CHANNELS)
    scaling = Scaling(gain, offset)
    decoded = DecodedChunks()
    for a, b in [(0, 1), (STEP - 1, STEP + 1), (20, 330), (150, 330), (0, SAMPLES)]:
        for kept in (None, decoded):  # the second read takes the chunks the first kept
            digital, physical = ChunkReader(array).rows(a, b, kept, "data", scaling)
            assert physical is not None
            assert physical.flags.c_contiguous
            np.testing.assert_array_equal(digital, values[a:b])
            assert np.array_equal(physical, physical_values(values[a:b], gain, offset))


class StalledStore(WrapperStore[Any]):
    """Chunk 0 fails at once with ``error``; the other chunks take an hour,
    unless cancelled."""

    def __init__(self, inner: Any, error: BaseException) -> None:
        super().__init__(inner)
        self.error = error
        self.stalled: set[str] = set()
        self.cancelled: list[str] = []

    async def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith("/c/0/0"):
            raise self.error
        if "/c/" in key:
            self.stalled.add(key)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise
            finally:
                self.stalled.discard(key)
        return await super().get(key, *args, **kwargs)


def stalled(tmp_path: Path, error: BaseException) -> tuple[ChunkReader, StalledStore]:
    written(tmp_path, "as processing writes")
    store = StalledStore(LocalStore(tmp_path / "asset.zarr", read_only=True), error)
    return ChunkReader(zarr.open_array(store, path="data", mode="r", zarr_format=3)), store


def nothing_left_running(store: StalledStore) -> bool:
    for _ in range(2):  # what was scheduled on zarr's loop before this has run
        sync(asyncio.sleep(0))
    return not store.stalled


def test_a_chunk_that_fails_cancels_the_fetches_still_under_way(tmp_path: Path) -> None:
    reader, store = stalled(tmp_path, ObjectNotFoundError("data/c/0/0 is missing"))
    with pytest.raises(ObjectNotFoundError, match="c/0/0 is missing"):
        reader.rows(50, 250, None, "data", Scaling(np.ones(1), np.zeros(1)))
    assert nothing_left_running(store)  # not left to run for an hour
    assert sorted(store.cancelled) == ["data/c/1/0", "data/c/2/0"]


def test_an_error_before_any_chunk_arrives_cancels_the_fetches(tmp_path: Path) -> None:
    """A stream's kept chunk that will not scale: the fetches it started go too."""
    reader, store = stalled(tmp_path, ObjectNotFoundError("never asked for"))
    decoded = DecodedChunks()
    decoded.keep("data", {0: np.zeros((STEP, CHANNELS), dtype=np.int16)})
    wrong = Scaling(np.ones(3), np.zeros(3))  # three gains for eight channels
    with pytest.raises(ValueError, match="broadcast"):
        reader.rows(50, 250, decoded, "data", wrong)
    assert nothing_left_running(store)


def test_a_cancelled_chunk_fetch_reaches_the_caller(tmp_path: Path) -> None:
    """Not only errors: a fetch that ends in a cancellation is raised too, never
    waited for."""
    reader, store = stalled(tmp_path, asyncio.CancelledError())
    raised: list[BaseException] = []

    def read() -> None:
        try:
            reader.rows(50, 250, None, "data")
        except BaseException as exc:  # noqa: BLE001 - what the read raised is the result
            raised.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the read waits for a chunk that will never come"
    assert [type(exc) for exc in raised] == [asyncio.CancelledError]
    assert nothing_left_running(store)


def test_a_window_read_on_zarrs_own_loop_is_refused(tmp_path: Path) -> None:
    array, values, _ = written(tmp_path, "as processing writes")
    reader = ChunkReader(array)

    async def on_the_loop() -> Any:
        return reader.rows(50, 250, None, "data")

    with pytest.raises(SyncError, match="would wait on itself"):
        sync(on_the_loop())
    np.testing.assert_array_equal(reader.rows(50, 250, None, "data")[0], values[50:250])
