"""Sampled streams (EEG, audio) read back from their Zarr asset, by time window.

The asset is a Zarr v3 group whose ``data`` array is (time x channel) integer
samples as the source stored them; its attributes give per-channel ``gain`` and
``offset`` (``physical = gain * (digital + offset)``, float64), the sampling
rate and the gap-free ``intervals`` (``start_s``, ``sample_offset``,
``n_samples``). A window ``[t0, t1)`` is snapped to the sample grid: it holds
every sample whose time is ``>= t0`` and ``< t1``. Only the array's metadata
and the chunks that overlap the window are read.

A window inside one interval gives a ``RegularTimeSeries``; a window across a
gap gives an ``IrregularTimeSeries`` with the real samples only and a domain of
several intervals — gaps are reported by the domain, never filled.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import ObjectNotFoundError
from ..store import zarr_store
from ._assets import AssetSource, Opened, Window

__all__ = [
    "ChunkReader",
    "DecodedChunks",
    "SampledLayout",
    "read_sampled",
    "recent_objects",
    "sample_spans",
]

_EPS = 1e-6  # of a sample: float noise in t * rate never moves a sample across the edge


@dataclass(frozen=True, slots=True)
class SampledLayout:
    rate: float
    intervals: tuple[tuple[float, int, int], ...]
    """(start_s, sample_offset, n_samples) per gap-free run."""
    gain: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    channel_names: tuple[str, ...]
    units: tuple[str, ...]

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> SampledLayout:
        return cls(
            rate=float(attrs["sampling_rate"]),
            intervals=tuple(
                (float(i["start_s"]), int(i["sample_offset"]), int(i["n_samples"]))
                for i in attrs["intervals"]
            ),
            gain=np.asarray(attrs["gain"], dtype=np.float64),
            offset=np.asarray(attrs["offset"], dtype=np.float64),
            channel_names=tuple(attrs["channel_names"]),
            units=tuple(attrs["units"]),
        )

    @property
    def domain(self) -> list[tuple[float, float]]:
        return [(s, s + n / self.rate) for s, _, n in self.intervals]


def sample_spans(layout: SampledLayout, window: Window) -> list[tuple[float, int, int]]:
    """``(first sample time, global start, global stop)`` of each run's part in ``window``."""
    spans = []
    for start_s, offset, n in layout.intervals:
        k0 = 0
        k1 = n
        if window.start is not None:
            k0 = _first_at_or_after(window.start, start_s, layout.rate, n)
        if window.end is not None:
            k1 = _first_at_or_after(window.end, start_s, layout.rate, n)
        if k1 > k0:
            spans.append((start_s + k0 / layout.rate, offset + k0, offset + k1))
    return spans


def _first_at_or_after(t: float, start_s: float, rate: float, n: int) -> int:
    """The first of a run's ``n`` samples (from ``start_s`` at ``rate``) at or after
    ``t``, between 0 and ``n``; a time far outside the run (1e308 s) is no overflow."""
    samples = (t - start_s) * rate - _EPS
    return min(n, max(0, math.ceil(min(max(samples, -1.0), n + 1.0))))


def recent_objects(store: Any, keep: int = 8) -> Any:
    """The zarr store ``store``, keeping the last ``keep`` whole objects it read.

    Consecutive windows of a stream share chunks (a chunk holds >= 5 s) and the
    array metadata: through this store each is fetched once, not once per window,
    and `read_sampled` keeps the last chunks of each array decoded beside it
    (``decoded``).
    A new converter version gets a new folder, so a kept object does not go
    stale; a damaged asset made again in its folder is a Zarr of the same bytes
    (its conversion is deterministic), but a stream that spans the remake may
    keep the damaged object it read before.
    """
    from zarr.storage import WrapperStore

    class _Recent(WrapperStore[Any]):
        def __init__(self, inner: Any) -> None:
            super().__init__(inner)
            self._kept: OrderedDict[str, Any] = OrderedDict()
            self.decoded = DecodedChunks()
            """Whole decoded chunks, for `read_sampled` (windows sharing a chunk)."""
            self.opened = Opened()
            """The arrays `read_sampled` opened through this store."""

        async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
            if byte_range is not None:
                return await self._store.get(key, prototype, byte_range)
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
            value = await self._store.get(key, prototype, None)
            if value is not None:
                self._kept[key] = value
                while len(self._kept) > keep:
                    self._kept.popitem(last=False)
            return value

    return _Recent(store)


class DecodedChunks:
    """Whole decoded chunks that a stream's windows share, by array.

    Each array keeps the chunks its last read touched, and at least its last
    ``per_array``: a 10 s window touches up to 3 chunks of >= 5 s, and the next
    window starts in the last of them. The last ``arrays`` arrays read keep
    theirs (a window of EEG and audio reads two), so memory stays at about one
    window's chunks per modality, whatever the stream's length.
    """

    def __init__(self, *, per_array: int = 4, arrays: int = 8) -> None:
        self._per_array, self._arrays = per_array, arrays
        self._chunks: OrderedDict[str, OrderedDict[int, npt.NDArray[Any]]] = OrderedDict()

    def get(self, path: str, number: int) -> npt.NDArray[Any] | None:
        kept = self._chunks.get(path)
        return None if kept is None else kept.get(number)

    def keep(self, path: str, chunks: dict[int, npt.NDArray[Any]]) -> None:
        """Keep ``chunks`` (number → decoded chunk), just read, of the array at ``path``."""
        kept = self._chunks.setdefault(path, OrderedDict())
        self._chunks.move_to_end(path)
        for number, chunk in sorted(chunks.items()):
            kept[number] = chunk
            kept.move_to_end(number)
        while len(kept) > max(self._per_array, len(chunks)):
            kept.popitem(last=False)
        while len(self._chunks) > self._arrays:
            self._chunks.popitem(last=False)

    def __len__(self) -> int:
        return sum(len(kept) for kept in self._chunks.values())


class ChunkReader:
    """Windows of a zarr v3 array of samples (time x channel), from the whole
    chunks along time they touch.

    zarr's own read hands each chunk to a worker thread to decode and copies it
    into a fresh selection; for a 10 s window of two 1.28 MB chunks that machinery
    cost ~1 ms of ~7 (``bench/read.py``'s server, then). Here, when the array's
    chunks span every channel and its codecs decode synchronously (zarr's
    ``SupportsSyncCodec``), one call to zarr's event loop starts every chunk's
    fetch through the array's store, and each chunk is decoded there as soon as
    it arrives. What a window's chunks need (codecs, chunk spec, keys) is worked
    out once per opened array, so its first request goes out at once. Any other
    array (a sharded one, say, or one whose chunks split the channels) is read
    through zarr's indexing, a chunk at a time. A chunk the store does not hold
    reads as the fill value, as in zarr; the published assets' store raises
    `ObjectNotFoundError` instead (see `zarr_store`).
    """

    def __init__(self, array: Any) -> None:
        from zarr.core.buffer import default_buffer_prototype

        self.array = array
        self.step = int(array.chunks[0])
        self._codecs = _sync_codecs(array)
        self._prototype = default_buffer_prototype()
        self._spec = array.metadata.get_chunk_spec((0,) * array.ndim, array.config, self._prototype)
        root = array.store_path.path
        self._prefix = f"{root}/" * bool(root)
        self._rest = (0,) * (array.ndim - 1)  # the one chunk across every channel

    def rows(
        self,
        a: int,
        b: int,
        decoded: DecodedChunks | None,
        path: str,
        scaling: Scaling | None = None,
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64] | None]:
        """Samples ``[a, b)`` as stored, and with ``scaling`` in physical units
        (else None).

        Each chunk's part is copied and scaled as soon as the chunk is decoded,
        in the caller's thread, while the others still download: only the last
        chunk's part is left for after the fetch. Against scaling the whole
        window at the end, that made ``bench/read.py``'s random 10 s windows
        0.3-0.4 ms faster (of 5-6 ms; interleaved on one server, three runs of
        300). With ``decoded`` (a stream's store keeps one), decoded chunks are
        kept there for the next windows, which share them, and taken from there
        when they are.
        """
        array, step = self.array, self.step
        numbers = range(a // step, (b - 1) // step + 1)
        kept: dict[int, npt.NDArray[Any]] = {}
        if decoded is not None:
            found = {c: decoded.get(path, c) for c in numbers}
            kept = {c: chunk for c, chunk in found.items() if chunk is not None}
        digital = np.empty((b - a, *array.shape[1:]), dtype=array.dtype)
        physical = None if scaling is None else np.empty(digital.shape, dtype=np.float64)

        def place(c: int, chunk: npt.NDArray[Any]) -> None:
            lo, hi = max(a, c * step), min(b, (c + 1) * step)
            part = chunk[lo - c * step : hi - c * step]
            digital[lo - a : hi - a] = part
            if scaling is not None and physical is not None:
                scaling.into(physical[lo - a : hi - a], part)

        slabs = dict(kept)
        with self.chunks([c for c in numbers if c not in kept]) as arriving:
            for c, chunk in kept.items():
                place(c, chunk)
            for c, chunk in arriving:
                place(c, chunk)
                slabs[c] = chunk
        if decoded is not None:
            decoded.keep(path, slabs)
        return digital, physical

    def chunks(self, numbers: list[int]) -> Arriving:
        """Chunks ``numbers`` (along time), as ``(number, chunk)`` in the order
        they are decoded; their fetches start now. Leaving the ``with`` block
        (after an error, say: a chunk that is gone, or one that will not scale)
        cancels the fetches still under way."""
        from zarr.core.sync import SyncError, _get_loop  # the loop zarr's `sync` runs on

        array, step = self.array, self.step
        if self._codecs is None:
            return Arriving((c, np.asarray(array[c * step : (c + 1) * step])) for c in numbers)
        if not numbers:
            return Arriving(())
        loop = _get_loop()
        if _running_loop() is loop:  # what zarr's own `sync` refuses too
            raise SyncError("a window cannot be read on zarr's event loop: it would wait on itself")
        store, encode_key = array.store_path.store, array.metadata.encode_chunk_key
        futures: dict[Future[npt.NDArray[Any]], int] = {Future(): c for c in numbers}

        async def fetch(c: int, future: Future[npt.NDArray[Any]]) -> None:
            try:
                encoded = await store.get(
                    self._prefix + encode_key((c, *self._rest)), self._prototype
                )
                chunk = self._decode(encoded)
            except Exception as exc:  # noqa: BLE001 - raised in the caller's thread
                future.set_exception(exc)
            except BaseException as exc:  # a cancellation, say: the caller hears of it too
                future.set_exception(exc)
                raise
            else:
                future.set_result(chunk)

        async def fetch_all() -> None:
            # One fetch's end, even a cancelled one, leaves the others running: only
            # the caller cancels them (`Arriving.close`), all at once.
            fetches = (fetch(c, future) for future, c in futures.items())
            await asyncio.gather(*fetches, return_exceptions=True)

        # One hop to the loop for them all: each hop makes this thread wait for the GIL.
        everything = asyncio.run_coroutine_threadsafe(fetch_all(), loop)
        chunks = ((futures[future], future.result()) for future in as_completed(futures))

        def cancel() -> None:
            if not loop.is_closed():  # at the interpreter's exit, zarr has closed it
                everything.cancel()

        return Arriving(chunks, cancel)

    def _decode(self, encoded: Any) -> npt.NDArray[Any]:
        array, spec = self.array, self._spec
        if encoded is None:
            return np.full(spec.shape, array.fill_value, dtype=array.dtype)
        assert self._codecs is not None
        array_bytes, *bytes_bytes = self._codecs
        for codec in reversed(bytes_bytes):
            encoded = codec._decode_sync(encoded, spec)
        return np.asarray(array_bytes._decode_sync(encoded, spec).as_numpy_array())


class Arriving:
    """Decoded chunks as ``(number, chunk)``, as they arrive; leaving its
    ``with`` block (or `close`) cancels the fetches still under way."""

    def __init__(
        self,
        chunks: Iterable[tuple[int, npt.NDArray[Any]]],
        cancel: Callable[[], object] | None = None,
    ) -> None:
        self._chunks, self._cancel = chunks, cancel

    def __iter__(self) -> Iterator[tuple[int, npt.NDArray[Any]]]:
        return iter(self._chunks)

    def close(self) -> None:
        if self._cancel is not None:
            self._cancel()

    def __enter__(self) -> Arriving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # dropped unread: nothing is left running either
        self.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _sync_codecs(array: Any) -> tuple[Any, ...] | None:
    """The array's codecs, when `ChunkReader` can decode its chunks with them:
    one array-to-bytes codec then bytes-to-bytes ones, each with a synchronous
    decode, on a regular grid whose chunks span every dimension but time. None
    otherwise, and with a zarr that has no such protocol (it came in zarr 3.1.6)."""
    from zarr.core.chunk_grids import RegularChunkGrid

    try:
        from zarr.abc.codec import ArrayBytesCodec, BytesBytesCodec, SupportsSyncCodec
    except ImportError:
        return None

    meta = array.metadata
    if meta.zarr_format != 3 or not isinstance(meta.chunk_grid, RegularChunkGrid):
        return None
    if tuple(array.chunks[1:]) != tuple(array.shape[1:]):
        return None
    codecs = tuple(meta.codecs)
    if not codecs or not isinstance(codecs[0], ArrayBytesCodec):
        return None
    if not all(isinstance(c, BytesBytesCodec) for c in codecs[1:]):
        return None
    if not all(isinstance(c, SupportsSyncCodec) for c in codecs):
        return None
    return codecs


_SCALED_ROWS = 128
"""Rows scaled per inner loop of `Scaling` (see there)."""


class Scaling:
    """``physical = gain * (digital + offset)`` per channel (the last axis), in
    float64, with the formula's two roundings.

    The per-channel ``offset`` and ``gain`` are tiled over ``_SCALED_ROWS`` rows,
    so numpy's inner loop runs over 128 rows at a time, not one row of channels:
    a 10 s window of 64-channel 1 kHz EEG scales in 0.34 ms instead of 0.54 ms.
    One gain or offset may serve every channel.
    """

    def __init__(self, gain: npt.NDArray[np.float64], offset: npt.NDArray[np.float64]) -> None:
        self.gain, self.offset = gain, offset
        self._tiled: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}

    def into(self, physical: npt.NDArray[np.float64], digital: npt.NDArray[Any]) -> None:
        """Write the physical values of ``digital`` into ``physical`` (float64,
        C-contiguous, of the same shape)."""
        physical[...] = digital
        if physical.ndim != 2 or not physical.size:
            physical += self.offset
            physical *= self.gain
            return
        tiled_offset, tiled_gain = self._tiles(physical.shape[1])
        whole = len(physical) // _SCALED_ROWS * _SCALED_ROWS
        if whole:
            rows = physical[:whole].reshape(-1, _SCALED_ROWS * physical.shape[1])  # a view
            rows += tiled_offset
            rows *= tiled_gain
        rest = physical[whole:]
        rest += self.offset
        rest *= self.gain

    def _tiles(self, channels: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        tiles = self._tiled.get(channels)
        if tiles is None:
            # One value per channel, also where one gain or offset serves them all.
            offset, gain = (np.broadcast_to(v, (channels,)) for v in (self.offset, self.gain))
            tiles = self._tiled[channels] = (
                np.tile(offset, _SCALED_ROWS),
                np.tile(gain, _SCALED_ROWS),
            )
        return tiles


def physical_values(
    digital: npt.NDArray[Any], gain: npt.NDArray[np.float64], offset: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``gain * (digital + offset)`` per channel (the last axis), a fresh
    C-contiguous float64 array (see `Scaling`)."""
    physical = np.empty(digital.shape, dtype=np.float64)
    Scaling(gain, offset).into(physical, digital)
    return physical


@dataclass(frozen=True, slots=True)
class _OpenedArray:
    """A sampled asset's opened ``data`` array, with what its attributes say."""

    reader: ChunkReader
    layout: SampledLayout
    scaling: Scaling

    @classmethod
    def of(cls, array: Any) -> _OpenedArray:
        layout = SampledLayout.from_attrs(dict(array.attrs))
        return cls(ChunkReader(array), layout, Scaling(layout.gain, layout.offset))


def read_sampled(
    source: AssetSource, key: str, window: Window, what: str, *, strict: bool = True
) -> Any:
    """The window of the sampled asset at ``key`` as a ``temporaldata.Data``.

    ``signal`` holds physical values (``data``) and the stored integers
    (``digital``); ``channels`` the names, units, gain and offset. A window
    outside the asset's domain raises `WindowOutsideDomainError` if ``strict``,
    else gives no samples.
    """
    import zarr
    from temporaldata import ArrayDict, Data, Interval, IrregularTimeSeries, RegularTimeSeries

    path = f"{key.rstrip('/')}/data"

    def open_array() -> Any:
        store = source.zarr if source.zarr is not None else zarr_store(source.store, published=True)
        # zarr_format=3: the assets are v3 (see processing/_zarr_sink), and without it
        # zarr first probes for v2 metadata (.zarray, .zattrs): two requests more per read.
        try:
            return zarr.open_array(store=store, path=path, mode="r", zarr_format=3)
        except FileNotFoundError as exc:  # zarr's NodeNotFoundError
            raise ObjectNotFoundError(
                f"{what}: its processed asset {key} is not in the assets bucket; run "
                "`ursa scrub` to find rows whose assets are gone, then process the recording "
                "again",
                uri=source.store.uri(key.rstrip("/")),
            ) from exc

    # The stream's store keeps the arrays opened through it; otherwise the source does.
    opened: Opened = getattr(source.zarr, "opened", source.opened)
    asset: _OpenedArray = opened.get(path, lambda: _OpenedArray.of(open_array()))
    array, layout = asset.reader.array, asset.layout
    if strict:
        window.check_overlaps(layout.domain, what)
    spans = sample_spans(layout, window)
    channels = ArrayDict(
        names=np.asarray(layout.channel_names, dtype=str),
        units=np.asarray(layout.units, dtype=str),
        gain=layout.gain.copy(),  # the window's own: the opened asset keeps its layout
        offset=layout.offset.copy(),
    )
    decoded = getattr(source.zarr, "decoded", None)
    parts = [asset.reader.rows(a, b, decoded, path, asset.scaling) for _, a, b in spans]
    if len(parts) == 1:
        digital, physical = parts[0]  # fresh arrays of their own
    elif parts:
        digital = np.concatenate([d for d, _ in parts])
        physical = np.concatenate([p for _, p in parts])
    else:
        digital = np.empty((0, array.shape[1]), dtype=array.dtype)
        physical = np.empty(digital.shape, dtype=np.float64)
    if len(spans) == 1 or not spans:
        first = spans[0][0] if spans else (window.start if window.start is not None else 0.0)
        signal: Any = RegularTimeSeries(
            sampling_rate=layout.rate, domain_start=first, data=physical, digital=digital
        )
        domain = signal.domain
    else:
        times = np.concatenate([t0 + np.arange(b - a) / layout.rate for t0, a, b in spans])
        domain = Interval(
            np.asarray([t0 for t0, _, _ in spans]),
            np.asarray([t0 + (b - a) / layout.rate for t0, a, b in spans]),
        )
        signal = IrregularTimeSeries(times, data=physical, digital=digital, domain=domain)
    return Data(signal=signal, channels=channels, sampling_rate=layout.rate, domain=domain)
