"""Time series: EDF/EDF+/BDF through pyedflib, and NumPy ``.npy`` segments.

EDF keeps integer samples; gain and offset reproduce pyedflib's physical
values bit for bit. pyedflib's C core (edflib) computes, per signal::

    bitvalue = (phys_max - phys_min) / (dig_max - dig_min)
    offset   = phys_max / bitvalue - dig_max
    physical = bitvalue * (offset + digital)          # all in float64

(with bitvalue 1 and offset 0 when either range is empty). So ``gain`` is
``bitvalue`` and ``offset`` is edflib's offset, computed the same way in
float64; ``gain * (digital + offset)`` is then the very same two rounding
steps, hence equal bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyedflib

from ._conversion import ConversionOutput, ConversionRequest
from ._describe import StreamKind
from ._edf_records import EdfRecords
from ._errors import SegmentMismatchError, SegmentReadError, StreamDescriptionError
from ._sampled import SegmentHeader, convert_sampled

__all__ = ["EdfConverter", "NpyConverter", "edf_scaling"]

_BDF_TYPES = {pyedflib.FILETYPE_BDF, pyedflib.FILETYPE_BDFPLUS}


def edf_scaling(
    phys_min: float, phys_max: float, dig_min: int, dig_max: int
) -> tuple[float, float]:
    """``(gain, offset)`` such that ``gain * (digital + offset)`` is pyedflib's physical value."""
    if dig_max == dig_min or phys_max == phys_min:
        return 1.0, 0.0
    gain = (float(phys_max) - float(phys_min)) / (float(dig_max) - float(dig_min))
    return gain, float(phys_max) / gain - float(dig_max)


def _open_edf(request: ConversionRequest, index: int) -> pyedflib.EdfReader:
    segment = request.segments[index]
    try:
        return pyedflib.EdfReader(str(segment.path))
    except OSError as exc:
        raise SegmentReadError(
            f"{segment.rel_path} is not a readable EDF/BDF file ({exc}); it is truncated or "
            "corrupt, or an EDF+D (discontinuous) file. Re-copy it from the rig, or re-export "
            "it as EDF+C"
        ) from None


def _selected(request: ConversionRequest, index: int, labels: list[str]) -> list[int]:
    wanted = request.description.channels
    rel = request.segments[index].rel_path
    if wanted is None:
        if len(set(labels)) != len(labels):
            raise SegmentMismatchError(
                f"{rel} has repeated channel labels {labels}; list the channels to keep "
                "(unique labels) in the stream description"
            )
        return list(range(len(labels)))
    missing = [c for c in wanted if c not in labels]
    if missing:
        raise SegmentMismatchError(
            f"{rel} has no channel {', '.join(map(repr, missing))} (it has {labels}); "
            "fix the channel names in the stream description"
        )
    return [labels.index(c) for c in wanted]


class _EdfFormat:
    def header(self, request: ConversionRequest, index: int) -> SegmentHeader:
        rel = request.segments[index].rel_path
        with _open_edf(request, index) as reader:
            labels = [str(x) for x in reader.getSignalLabels()]
            chans = _selected(request, index, labels)
            rates = {float(reader.getSampleFrequency(c)) for c in chans}
            if len(rates) != 1:
                per = ", ".join(f"{labels[c]}={reader.getSampleFrequency(c):g} Hz" for c in chans)
                raise SegmentMismatchError(
                    f"{rel} mixes sampling rates ({per}); a stream has one rate. List the "
                    "channels of one rate in the stream description's channels"
                )
            counts = {int(reader.getNSamples()[c]) for c in chans}
            scaling = [
                edf_scaling(
                    float(reader.getPhysicalMinimum(c)),
                    float(reader.getPhysicalMaximum(c)),
                    int(reader.getDigitalMinimum(c)),
                    int(reader.getDigitalMaximum(c)),
                )
                for c in chans
            ]
            bdf = reader.filetype in _BDF_TYPES
            return SegmentHeader(
                rate=rates.pop(),
                names=tuple(labels[c] for c in chans),
                units=tuple(str(reader.getPhysicalDimension(c)) for c in chans),
                gain=tuple(g for g, _ in scaling),
                offset=tuple(o for _, o in scaling),
                dtype=np.dtype(np.int32 if bdf else np.int16),
                n_samples=min(counts),
                start=reader.getStartdatetime(),
            )

    def blocks(
        self, request: ConversionRequest, index: int, header: SegmentHeader, block_len: int
    ) -> Iterator[npt.NDArray[Any]]:
        with _open_edf(request, index) as reader:
            labels = [str(x) for x in reader.getSignalLabels()]
            chans = _selected(request, index, labels)
            bdf = reader.filetype in _BDF_TYPES
        records = EdfRecords.open(request.segments[index].path, bdf=bdf)
        for start in range(0, header.n_samples, block_len):
            n = min(block_len, header.n_samples - start)
            block = records.read(chans, start, n).astype(header.dtype, copy=False)
            if len(block) != n:
                return  # the caller reports the shortfall as truncation
            yield block


class EdfConverter:
    """EDF, EDF+ and BDF segments → Zarr, integer samples as stored (pyedflib)."""

    name = "ursa.timeseries.edf"
    version = "2"  # 2: chunks of at least 5 s and 512 KiB (were 10 s and 1 MiB)
    kind = StreamKind.TIMESERIES
    formats = frozenset({"edf", "bdf"})
    storage_format = "zarr"
    suffix = ".zarr"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """Convert as :class:`~ursa_lib.processing.Converter` promises; layout in ``_zarr_sink``."""
        return convert_sampled(request, _EdfFormat(), name=self.name, version=self.version)


class _NpyFormat:
    def _load(self, request: ConversionRequest, index: int) -> npt.NDArray[Any]:
        segment = request.segments[index]
        try:
            data: npt.NDArray[Any] = np.load(segment.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise SegmentReadError(
                f"{segment.rel_path} is not a readable .npy array ({exc}); it is truncated or "
                "corrupt. Re-copy it from the rig"
            ) from None
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.dtype.kind not in "iuf":
            raise SegmentReadError(
                f"{segment.rel_path} holds a {data.ndim}-d {data.dtype} array; a time series "
                "segment is (samples x channels) of integers or floats. Re-save it in that shape"
            )
        return data

    def header(self, request: ConversionRequest, index: int) -> SegmentHeader:
        desc = request.description
        data = self._load(request, index)
        n_ch = data.shape[1]
        if desc.sampling_rate is None:
            raise StreamDescriptionError(
                f"{request.modality!r}: .npy segments carry no sampling rate; set sampling_rate "
                "in the stream description"
            )
        names = desc.channels or tuple(f"ch{i}" for i in range(n_ch))
        if len(names) != n_ch:
            raise SegmentMismatchError(
                f"{request.segments[index].rel_path} has {n_ch} channels but the stream "
                f"description names {len(names)}; fix channels in the description"
            )
        return SegmentHeader(
            rate=desc.sampling_rate,
            names=tuple(names),
            units=desc.units or ("",) * n_ch,
            gain=desc.gain or (1.0,) * n_ch,
            offset=desc.offset or (0.0,) * n_ch,
            dtype=data.dtype.newbyteorder("="),
            n_samples=int(data.shape[0]),
        )

    def blocks(
        self, request: ConversionRequest, index: int, header: SegmentHeader, block_len: int
    ) -> Iterator[npt.NDArray[Any]]:
        data = self._load(request, index)
        for start in range(0, header.n_samples, block_len):
            yield np.asarray(data[start : start + block_len], dtype=header.dtype)


class NpyConverter:
    """NumPy ``.npy`` segments (samples x channels) → Zarr; scaling from the description."""

    name = "ursa.timeseries.npy"
    version = "2"  # 2: chunks of at least 5 s and 512 KiB (were 10 s and 1 MiB)
    kind = StreamKind.TIMESERIES
    formats = frozenset({"npy"})
    storage_format = "zarr"
    suffix = ".zarr"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """Convert as :class:`~ursa_lib.processing.Converter` promises; layout in ``_zarr_sink``."""
        return convert_sampled(request, _NpyFormat(), name=self.name, version=self.version)
