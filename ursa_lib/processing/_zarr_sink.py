"""The processed form of a sampled stream: one Zarr v3 group, a (time x channel) array.

Layout of ``<modality>.zarr``::

    zarr.json            group; attributes describe the stream (below)
    data/zarr.json       int (or float) array, shape (samples, channels)
    data/c/<i>/0         one chunk per ``chunk_len`` samples, all channels

Attributes (on the group and on ``data``, so a reader that opens only the
array still has them): ``channel_names``, ``units``, ``gain``, ``offset``
(``physical = gain * (digital + offset)`` in float64), ``sampling_rate``,
``time_origin_s`` (session-relative time of sample 0) and ``intervals``: one
``{"start_s", "sample_offset", "n_samples"}`` per gap-free run, so the time
of sample *k* of a run is ``start_s + (k - sample_offset) / sampling_rate``.

Chunking, measured on 10 min of 64-channel 1 kHz int16 data on the 2-core
machine, local disk: write throughput, and the median of 20 random 10 s
window reads through a fresh ``open_array`` (the machine was quiet; runs
under a load average of 20 were 2-3x slower and noisy, and are not used)::

    chunk   codec                 write MB/s  10 s read   chunks per 10 s
    2.5 s   zstd(0) (default)     210         4.1 ms      4-5
    10 s    zstd(0)               397         4.7 ms      1-2
    10 s    blosc lz4 + shuffle   447         3.8 ms      1-2
    30 s    zstd(0)               465         5.8 ms      1-2
    30 s    blosc lz4 + shuffle   574         3.8 ms      1-2
    60 s    blosc lz4 + shuffle   679         4.6 ms      1-2

Compression on an EEG-like signal (10 Hz and 21 Hz rhythms, 1/f and white
noise, 0.1 uV per bit): zstd(0) 1.19x, blosc lz4 + shuffle 1.52x, blosc
zstd(3) + shuffle 1.55x at half lz4's write speed; chunk length barely
changes the ratio. Byte shuffle against bit shuffle, blosc lz4, 10 min of 64
channels written through zarr (stored bytes, write speed)::

    signal                                        byte shuffle    bit shuffle
    rhythms + 1/f + 2 uV white noise, 0.1 uV/bit  1.31x 664 MB/s  1.46x 907 MB/s
    10 Hz + 15 uV white noise, 0.015 uV/bit       1.00x 955 MB/s  1.21x 949 MB/s

Chosen: blosc lz4 with bit shuffle. Shuffling groups the high bytes of
16/24-bit samples, which is what makes EEG compress; bit shuffle also
separates their high bits, which a fine step leaves constant within a chunk
while the low bits are noise. It decodes at ~3 GB/s (0.4 ms for a 1.28 MB
chunk). Over S3 it made ``bench/read.py``'s 10 s windows (then over 10 s
chunks) move 2.0 MiB instead of 2.4 MiB in about the same time (p50 6.4-7.5
ms in seven runs, against 6.7-7.0 ms with byte shuffle): the extra decoding
costs about what the smaller download saves, so the gain is storage and
transfer.

Chunks hold at least 5 s and at least 512 KiB raw (5 s at 64 ch x 1 kHz x
int16; ~16 s of 16 kHz mono audio): any 10 s window then touches at most 3
chunks, so the first window an interface reads costs 4 requests (array
metadata + 3 chunks), when opened with ``zarr_format=3`` (without it zarr
also probes for v2 metadata). An opened array is kept, so later windows cost
their chunks only.

Over S3 a window's bytes, not its requests, set its time: ``rclone serve s3``
on loopback serves ~400 MB/s, and a GET costs ~0.6 ms plus ~2.3 ms per MB on
the 2-core machine. A random 10 s window reads 20 s of samples over 10 s
chunks and 15 s over 5 s chunks. ``bench/read.py``'s hour of 64-channel
1 kHz EEG, rewritten with each chunking on the same server and read in turns
(40 random windows each, one process): p50 6.9 ms with 10 s chunks against
6.3 ms with 5 s, 6.6 against 5.9 ms, and 8.3 against 7.1 ms (a busier run).
Shorter chunks would touch 4 or 5 chunks per window, more than 4 requests.
Earlier floors were 4 MiB (32.8 s: p50 17.8 and 15.0 ms) and 1 MiB (10 s).
The cost is on the write side, more objects to upload and record: see the
processing figures in ``docs/benchmarks.md``. No sharding: a shard adds an
index read per shard to every window, and ``rclone serve s3`` answers ranged
GETs with status 200, which obstore refuses, so inner chunks could not be
read there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import zarr
from zarr.codecs import BloscCodec

from ._timeline import Run

__all__ = ["ArrayLayout", "ChunkedWriter", "chunk_length", "open_sink"]

MIN_CHUNK_SECONDS = 5.0
MIN_CHUNK_BYTES = 512 * 1024


def chunk_length(rate: float, n_channels: int, itemsize: int) -> int:
    """Samples per chunk: at least 5 s and at least 512 KiB of raw samples."""
    by_time = math.ceil(rate * MIN_CHUNK_SECONDS)
    by_bytes = math.ceil(MIN_CHUNK_BYTES / max(1, n_channels * itemsize))
    return max(1, by_time, by_bytes)


class ArrayLayout:
    """Shape, dtype and attributes of the array about to be written."""

    def __init__(
        self,
        *,
        n_samples: int,
        dtype: np.dtype[Any],
        rate: float,
        channel_spec: Mapping[str, Any],
        runs: list[Run],
    ) -> None:
        self.n_samples = n_samples
        self.dtype = dtype
        self.rate = rate
        self.channel_spec = channel_spec
        self.runs = runs

    @property
    def n_channels(self) -> int:
        return len(self.channel_spec["names"])

    def attributes(self) -> dict[str, Any]:
        return {
            "channel_names": list(self.channel_spec["names"]),
            "units": list(self.channel_spec["units"]),
            "gain": list(self.channel_spec["gain"]),
            "offset": list(self.channel_spec["offset"]),
            "dtype": str(self.dtype),
            "sampling_rate": self.rate,
            "time_origin_s": self.runs[0].start_s if self.runs else 0.0,
            "intervals": [
                {"start_s": r.start_s, "sample_offset": r.sample_offset, "n_samples": r.n_samples}
                for r in self.runs
            ],
        }


class ChunkedWriter:
    """Accepts sample blocks of any length and writes whole, chunk-aligned chunks.

    Memory stays at one chunk whatever the stream length; every chunk is
    written exactly once.
    """

    def __init__(self, array: Any, chunk_len: int, n_channels: int, dtype: np.dtype[Any]) -> None:
        self._array = array
        self._buf: npt.NDArray[Any] = np.empty((chunk_len, n_channels), dtype=dtype)
        self._fill = 0
        self._pos = 0

    def write(self, block: npt.NDArray[Any]) -> None:
        chunk_len = self._buf.shape[0]
        i = 0
        while i < len(block):
            take = min(chunk_len - self._fill, len(block) - i)
            self._buf[self._fill : self._fill + take] = block[i : i + take]
            self._fill += take
            i += take
            if self._fill == chunk_len:
                self._flush()

    def _flush(self) -> None:
        if self._fill:
            self._array[self._pos : self._pos + self._fill] = self._buf[: self._fill]
            self._pos += self._fill
            self._fill = 0

    def close(self) -> int:
        """Write what is buffered; returns the number of samples written."""
        self._flush()
        return self._pos


def open_sink(path: Path, layout: ArrayLayout) -> tuple[ChunkedWriter, int]:
    """Create the Zarr group at ``path`` and return a writer for its ``data`` array."""
    chunk_len = chunk_length(layout.rate, layout.n_channels, layout.dtype.itemsize)
    chunk_len = max(1, min(chunk_len, layout.n_samples)) if layout.n_samples else chunk_len
    attrs = layout.attributes()
    group = zarr.create_group(zarr.storage.LocalStore(path), zarr_format=3, attributes=attrs)
    array = group.create_array(
        "data",
        shape=(layout.n_samples, layout.n_channels),
        chunks=(chunk_len, max(1, layout.n_channels)),
        dtype=layout.dtype,
        compressors=BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle"),
        fill_value=0,
        config={"write_empty_chunks": True},  # every chunk stored: a missing one is lost
        attributes=attrs,
        dimension_names=("time", "channel"),
    )
    return ChunkedWriter(array, chunk_len, layout.n_channels, layout.dtype), chunk_len
