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
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import ObjectNotFoundError
from ..store import zarr_store
from ._assets import AssetSource, Opened, Window

__all__ = ["DecodedChunks", "SampledLayout", "read_sampled", "recent_objects", "sample_spans"]

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


def _rows(array: Any, a: int, b: int, decoded: DecodedChunks | None, path: str) -> npt.NDArray[Any]:
    """Samples ``[a, b)`` of ``array``, from the whole chunks they touch.

    With ``decoded`` (a stream's store keeps one), decoded chunks are kept there
    for the next windows, which share them, and taken from there when they are.
    """
    step = int(array.chunks[0])
    numbers = range(a // step, (b - 1) // step + 1)
    kept: dict[int, npt.NDArray[Any]] = {}
    if decoded is not None:
        found = {c: decoded.get(path, c) for c in numbers}
        kept = {c: chunk for c, chunk in found.items() if chunk is not None}
    missing = [c for c in numbers if c not in kept]
    slabs = {**kept, **dict(zip(missing, _whole_chunks(array, missing), strict=True))}
    if decoded is not None:
        decoded.keep(path, slabs)
    out = np.empty((b - a, *array.shape[1:]), dtype=array.dtype)
    for c in numbers:
        lo, hi = max(a, c * step), min(b, (c + 1) * step)
        out[lo - a : hi - a] = slabs[c][lo - c * step : hi - c * step]
    return out


def _whole_chunks(array: Any, numbers: list[int]) -> list[npt.NDArray[Any]]:
    """Chunks ``numbers`` (along time) of a zarr v3 array whose chunks span every channel.

    zarr's own read hands each chunk to a worker thread to decode and copies it
    into a fresh selection; for a 10 s window of two 1.28 MB chunks that machinery
    cost ~1 ms of ~7 (``bench/read.py``'s server, then). Here the chunks are fetched at
    once through the array's store on zarr's event loop, and each is decoded there
    as soon as it arrives, while the others still download, by the array's own
    codecs through zarr's ``SupportsSyncCodec`` protocol. An array whose codecs
    cannot decode that way (a sharded one, say), or whose chunks split the
    channels, is read through zarr's indexing. A chunk
    the store does not hold reads as the fill value, as in zarr; the published
    assets' store raises `ObjectNotFoundError` instead (see `zarr_store`).
    """
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    step = int(array.chunks[0])
    codecs = _sync_codecs(array)
    if codecs is None:
        return [np.asarray(array[c * step : (c + 1) * step]) for c in numbers]
    array_bytes, *bytes_bytes = codecs
    prototype = default_buffer_prototype()
    spec = array.metadata.get_chunk_spec((0,) * array.ndim, array.config, prototype)
    store, root = array.store_path.store, array.store_path.path
    rest = (0,) * (array.ndim - 1)  # the one chunk across every channel
    keys = [f"{root}/" * bool(root) + array.metadata.encode_chunk_key((c, *rest)) for c in numbers]

    def decode(encoded: Any) -> npt.NDArray[Any]:
        if encoded is None:
            return np.full(spec.shape, array.fill_value, dtype=array.dtype)
        for codec in reversed(bytes_bytes):
            encoded = codec._decode_sync(encoded, spec)
        return np.asarray(array_bytes._decode_sync(encoded, spec).as_numpy_array())

    async def fetched(key: str) -> npt.NDArray[Any]:
        return decode(await store.get(key, prototype))

    async def fetch() -> list[npt.NDArray[Any]]:
        # Each chunk is decoded as soon as it arrives, while the others still download.
        return list(await asyncio.gather(*(fetched(key) for key in keys)))

    return sync(fetch()) if keys else []


def _sync_codecs(array: Any) -> tuple[Any, ...] | None:
    """The array's codecs, when `_whole_chunks` can decode its chunks with them:
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
"""Rows scaled per inner loop of `physical_values` (see there)."""


def physical_values(
    digital: npt.NDArray[Any], gain: npt.NDArray[np.float64], offset: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``gain * (digital + offset)`` per channel (the last axis), in float64.

    The same two roundings as the formula, in place in one allocation. The
    per-channel ``offset`` and ``gain`` are tiled over ``_SCALED_ROWS`` rows, so
    numpy's inner loop runs over 128 rows at a time, not one row of channels:
    a 10 s window of 64-channel 1 kHz EEG scales in 0.34 ms instead of 0.54 ms.
    """
    physical = digital.astype(np.float64, order="C")  # reshaped below: a view, not a copy
    if physical.ndim != 2 or not physical.size:
        physical += offset
        physical *= gain
        return physical
    # One value per channel, also where one gain or offset serves them all.
    gain, offset = (np.broadcast_to(v, physical.shape[1:]) for v in (gain, offset))
    whole = len(physical) // _SCALED_ROWS * _SCALED_ROWS
    if whole:
        rows = physical[:whole].reshape(-1, _SCALED_ROWS * physical.shape[1])
        rows += np.tile(offset, _SCALED_ROWS)
        rows *= np.tile(gain, _SCALED_ROWS)
    rest = physical[whole:]
    rest += offset
    rest *= gain
    return physical


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
    array = opened.get(path, open_array)
    layout = SampledLayout.from_attrs(dict(array.attrs))
    if strict:
        window.check_overlaps(layout.domain, what)
    spans = sample_spans(layout, window)
    channels = ArrayDict(
        names=np.asarray(layout.channel_names, dtype=str),
        units=np.asarray(layout.units, dtype=str),
        gain=layout.gain,
        offset=layout.offset,
    )
    decoded = getattr(source.zarr, "decoded", None)
    parts = [_rows(array, a, b, decoded, path) for _, a, b in spans]
    if len(parts) == 1:
        digital = parts[0]  # already a fresh array of its own
    elif parts:
        digital = np.concatenate(parts)
    else:
        digital = np.empty((0, array.shape[1]), dtype=array.dtype)
    physical = physical_values(digital, layout.gain, layout.offset)
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
