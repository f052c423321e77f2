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


class FailingStore(WrapperStore[Any]):
    """Chunk 0 is gone at once; the others take an hour, unless cancelled."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.cancelled: list[str] = []
        self.all_cancelled = threading.Event()

    async def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith("/c/0/0"):
            raise ObjectNotFoundError(f"{key} is missing")
        if "/c/" in key:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled.append(key)
                if len(self.cancelled) == 2:
                    self.all_cancelled.set()
                raise
        return await super().get(key, *args, **kwargs)


def test_a_chunk_that_fails_cancels_the_fetches_still_under_way(tmp_path: Path) -> None:
    written(tmp_path, "as processing writes")
    store = FailingStore(LocalStore(tmp_path / "asset.zarr", read_only=True))
    array = zarr.open_array(store, path="data", mode="r", zarr_format=3)
    with pytest.raises(ObjectNotFoundError, match="c/0/0 is missing"):
        ChunkReader(array).rows(50, 250, None, "data", Scaling(np.ones(1), np.zeros(1)))
    assert store.all_cancelled.wait(30), store.cancelled  # not left to run for an hour
    assert sorted(store.cancelled) == ["data/c/1/0", "data/c/2/0"]
