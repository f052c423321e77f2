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

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import ObjectNotFoundError
from ..store import zarr_store
from ._assets import AssetSource, OpenedArrays, Window

__all__ = ["SampledLayout", "read_sampled", "recent_objects", "sample_spans"]

_DECODED_CHUNKS = 4
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
            k0 = max(0, math.ceil((window.start - start_s) * layout.rate - _EPS))
        if window.end is not None:
            k1 = min(n, math.ceil((window.end - start_s) * layout.rate - _EPS))
        if k1 > k0:
            spans.append((start_s + k0 / layout.rate, offset + k0, offset + k1))
    return spans


def recent_objects(store: Any, keep: int = 8) -> Any:
    """The zarr store ``store``, keeping the last ``keep`` whole objects it read.

    Consecutive windows of a stream share chunks (a chunk holds >= 10 s) and the
    array metadata: through this store each is fetched once, not once per window,
    and `read_sampled` keeps the last few chunks decoded beside it (``decoded``).
    Assets are never rewritten in place (a new version gets a new folder), so a
    kept object cannot go stale.
    """
    from zarr.storage import WrapperStore

    class _Recent(WrapperStore[Any]):
        def __init__(self, inner: Any) -> None:
            super().__init__(inner)
            self._kept: OrderedDict[str, Any] = OrderedDict()
            self.decoded: OrderedDict[tuple[str, int], Any] = OrderedDict()
            """Whole decoded chunks, for `read_sampled` (windows sharing a chunk)."""
            self.arrays = OpenedArrays()
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


def _from_decoded(
    decoded: OrderedDict[tuple[str, int], Any], path: str, array: Any, a: int, b: int
) -> npt.NDArray[Any]:
    """Samples ``[a, b)`` of ``array``, decoding each whole chunk once into ``decoded``."""
    step = int(array.chunks[0])
    pieces = []
    for c in range(a // step, (b - 1) // step + 1):
        slab = decoded.get((path, c))
        if slab is None:
            slab = np.asarray(array[c * step : min((c + 1) * step, array.shape[0])])
            decoded[(path, c)] = slab
            while len(decoded) > _DECODED_CHUNKS:
                decoded.popitem(last=False)
        else:
            decoded.move_to_end((path, c))
        lo = max(a, c * step) - c * step
        pieces.append(slab[lo : min(b, (c + 1) * step) - c * step])
    return pieces[0].copy() if len(pieces) == 1 else np.concatenate(pieces)


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
    opened: OpenedArrays = getattr(source.zarr, "arrays", source.arrays)
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
    if decoded is None:
        parts = [np.asarray(array[a:b]) for _, a, b in spans]
    else:
        parts = [_from_decoded(decoded, path, array, a, b) for _, a, b in spans]
    if len(parts) == 1:
        digital = parts[0]  # already a fresh array of its own
    elif parts:
        digital = np.concatenate(parts)
    else:
        digital = np.empty((0, array.shape[1]), dtype=array.dtype)
    # gain * (digital + offset), in place: the same two roundings, one allocation.
    physical = np.add(digital, layout.offset, dtype=np.float64)
    physical *= layout.gain
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
