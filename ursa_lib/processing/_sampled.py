"""The shared path of every sampled stream (time series, audio) into one Zarr group.

A format contributes a :class:`SampledFormat`: it reads each segment's header,
then yields its samples in blocks. This module checks that the segments agree,
places them on the session clock, and streams the blocks into the Zarr sink,
so memory stays bounded by one chunk plus one block whatever the session length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ._conversion import ConversionOutput, ConversionRequest, CountUnit
from ._errors import SegmentMismatchError, SegmentReadError, StreamDescriptionError
from ._staging import staged, total_size
from ._timeline import place_segments
from ._zarr_sink import ArrayLayout, open_sink

__all__ = ["SampledFormat", "SegmentHeader", "convert_sampled"]

BLOCK_SECONDS = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentHeader:
    """What one segment says about itself before any sample is read."""

    rate: float
    names: tuple[str, ...]
    units: tuple[str, ...]
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    dtype: np.dtype[Any]
    n_samples: int
    start: datetime | None = None
    """Absolute start the file records (EDF header), if any."""


class SampledFormat(Protocol):
    """Reads one raw format; errors name the file and raise :class:`SegmentReadError`."""

    def header(self, request: ConversionRequest, index: int) -> SegmentHeader: ...

    def blocks(
        self, request: ConversionRequest, index: int, header: SegmentHeader, block_len: int
    ) -> Iterator[npt.NDArray[Any]]:
        """Yield (n x channels) blocks of ``header.dtype``, ``n ≤ block_len``, in order."""
        ...


_AGREE = ("rate", "names", "units", "gain", "offset", "dtype")


def _check_agreement(request: ConversionRequest, headers: list[SegmentHeader]) -> None:
    first = headers[0]
    for index, header in enumerate(headers[1:], start=1):
        for field in _AGREE:
            a, b = getattr(first, field), getattr(header, field)
            if a != b:
                raise SegmentMismatchError(
                    f"{request.segments[index].rel_path} has {field} {b!r} but "
                    f"{request.segments[0].rel_path} has {a!r}; every segment of one stream "
                    "must share channels, rate, units and scaling. Re-export the segment with "
                    "the stream's settings, or record it as a separate stream"
                )


def _starts(request: ConversionRequest, headers: list[SegmentHeader]) -> list[float | None]:
    desc = request.description
    n = len(request.segments)
    if desc.segment_starts_s is not None:
        if len(desc.segment_starts_s) != n:
            raise StreamDescriptionError(
                f"segment_starts_s lists {len(desc.segment_starts_s)} starts for {n} segments "
                f"of {request.modality!r}; give one start per segment file"
            )
        return [desc.clock_offset_s + s for s in desc.segment_starts_s]
    stamps = [h.start for h in headers]
    if all(s is not None for s in stamps):
        known = [s for s in stamps if s is not None]
        origin = request.session_start
        if origin is None:
            origin = min(known)
        return [desc.clock_offset_s + _seconds_between(origin, s) for s in known]
    return [None] * n


def _seconds_between(origin: datetime, when: datetime) -> float:
    if (origin.tzinfo is None) != (when.tzinfo is None):
        # A file's wall-clock time without a zone is read on the session's clock.
        when = when.replace(tzinfo=origin.tzinfo)
    return (when - origin).total_seconds()


def convert_sampled(
    request: ConversionRequest,
    fmt: SampledFormat,
    *,
    name: str,
    version: str,
    suffix: str = ".zarr",
) -> ConversionOutput:
    """Convert every segment of ``request`` into ``<modality>.zarr``; see :mod:`._zarr_sink`."""
    if not request.segments:
        raise SegmentReadError(f"stream {request.modality!r} has no segments; nothing to convert")
    headers = [fmt.header(request, i) for i in range(len(request.segments))]
    _check_agreement(request, headers)
    first = headers[0]
    rate = first.rate
    starts = _starts(request, headers)
    items = []
    cursor = request.description.clock_offset_s
    for segment, header, start in zip(request.segments, headers, starts, strict=True):
        begin = cursor if start is None else start
        items.append((segment, begin, header.n_samples))
        cursor = begin + header.n_samples / rate
    placed, runs = place_segments(items, rate)
    channel_spec = {
        "names": list(first.names),
        "units": list(first.units),
        "gain": list(first.gain),
        "offset": list(first.offset),
        "dtype": str(first.dtype),
    }
    total = sum(h.n_samples for h in headers)
    layout = ArrayLayout(
        n_samples=total, dtype=first.dtype, rate=rate, channel_spec=channel_spec, runs=runs
    )
    asset = f"{request.modality}{suffix}"
    block_len = max(1, int(rate * BLOCK_SECONDS))
    with staged(request.out, (asset,)) as stage:
        writer, _ = open_sink(stage / asset, layout)
        for p in placed:
            i = p.index
            got = 0
            for block in fmt.blocks(request, i, headers[i], block_len):
                writer.write(block)
                got += len(block)
            if got != headers[i].n_samples:
                raise SegmentReadError(
                    f"{p.segment.rel_path}: header promises {headers[i].n_samples} samples but "
                    f"{got} could be read; the file is truncated. Re-copy it from the rig"
                )
        writer.close()
    return ConversionOutput(
        converter=name,
        converter_version=version,
        storage_format="zarr",
        asset=asset,
        entries=(asset,),
        sampling_rate=rate,
        domain_intervals=tuple((r.start_s, r.end_s(rate)) for r in runs),
        channel_spec=channel_spec,
        count=total,
        unit=CountUnit.SAMPLES,
        input_bytes=sum(s.size for s in request.segments),
        output_bytes=total_size(request.out, (asset,)),
    )
