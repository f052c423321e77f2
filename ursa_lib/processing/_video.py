"""Video: MP4 segments remuxed (no re-encode) into one faststart MP4, plus a frame index.

The index ``<modality>.mp4.lance`` has one row per frame, in presentation
order: ``frame`` (0-based), ``pts`` and ``dts`` (in ``time_base`` units of
the output file), ``time_s`` (session-relative), ``keyframe``,
``byte_offset`` and ``size`` of the frame's packet in the output file, and
``segment`` (the rel_path it came from). It is read from the written file's
own sample table (PyAV's ``index_entries``), never by decoding: byte offsets
are only known once the muxer has moved the ``moov`` box to the front. Every
sample's dts, size and keyframe flag must equal the packet written, and the
first packets, demuxed, their pts; a file that disagrees is demuxed whole.

Only the first video stream of each segment is kept; record other streams
(e.g. a camera's microphone) as streams of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any

import av
import lancedb
import pyarrow as pa

from ._conversion import ConversionOutput, ConversionRequest, CountUnit
from ._describe import StreamKind
from ._errors import (
    SegmentMismatchError,
    SegmentOverlapError,
    SegmentReadError,
    StreamDescriptionError,
)
from ._staging import staged, total_size

__all__ = ["FRAME_INDEX_SCHEMA", "VideoConverter"]

FRAME_INDEX_SCHEMA = pa.schema(
    [
        pa.field("frame", pa.int64(), nullable=False),
        pa.field("pts", pa.int64(), nullable=False),
        pa.field("dts", pa.int64(), nullable=False),
        pa.field("time_s", pa.float64(), nullable=False),
        pa.field("keyframe", pa.bool_(), nullable=False),
        pa.field("byte_offset", pa.int64(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("segment", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True)
class _Params:
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    extradata: bytes | None

    def differences(self, other: _Params) -> list[str]:
        names = ("codec", "width", "height", "pix_fmt", "time_base", "extradata")
        return [
            n if n != "extradata" else "codec extradata (SPS/PPS)"
            for n in names
            if getattr(self, n) != getattr(other, n)
        ]


def _open(path: Path, rel: str) -> Any:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise SegmentReadError(
            f"{rel} is not a readable MP4 file ({exc}); it is truncated or corrupt. "
            "Re-copy it from the rig"
        ) from None
    if not container.streams.video:
        container.close()
        raise SegmentReadError(f"{rel} holds no video stream; describe it as another kind")
    return container


def _params(container: Any) -> _Params:
    stream = container.streams.video[0]
    cc = stream.codec_context
    return _Params(
        codec=cc.name,
        width=int(cc.width),
        height=int(cc.height),
        pix_fmt=cc.pix_fmt,
        time_base=Fraction(stream.time_base),
        extradata=cc.extradata,
    )


def _packets(container: Any, rel: str) -> Iterator[Any]:
    try:
        for packet in container.demux(container.streams.video[0]):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker
            if packet.pts is None or packet.dts is None:
                raise SegmentReadError(
                    f"{rel} has a video packet without timestamps; remux it with ffmpeg first"
                )
            yield packet
    except av.FFmpegError as exc:
        raise SegmentReadError(
            f"{rel} cannot be demuxed ({exc}); it is truncated or corrupt. Re-copy it from the rig"
        ) from None


def _check_params(request: ConversionRequest) -> _Params:
    first: _Params | None = None
    for segment in request.segments:
        with _open(segment.path, segment.rel_path) as container:
            params = _params(container)
        if first is None:
            first = params
            continue
        diff = params.differences(first)
        if diff:
            raise SegmentMismatchError(
                f"{segment.rel_path} differs from {request.segments[0].rel_path} in "
                f"{', '.join(diff)}; segments are joined without re-encoding, so they must "
                "share codec parameters. Re-encode the odd segment with the stream's settings"
            )
    if first is None:
        raise SegmentReadError(f"stream {request.modality!r} has no segments; nothing to convert")
    return first


def _bases(request: ConversionRequest, tb: Fraction) -> list[int | None]:
    starts = request.description.segment_starts_s
    n = len(request.segments)
    if starts is None:
        return [None] * n
    if len(starts) != n:
        raise StreamDescriptionError(
            f"segment_starts_s lists {len(starts)} starts for {n} segments of "
            f"{request.modality!r}; give one start per segment file"
        )
    return [round((Fraction(s) - Fraction(starts[0])) / tb) for s in starts]


@dataclass(frozen=True, slots=True)
class _Written:
    """The packets muxed into the output, in the order written (decode order)."""

    sources: list[str]
    """Each packet's segment (rel_path)."""
    packets: list[tuple[int, int, int, bool]]
    """Each packet's (pts, dts, size, keyframe), in the input's time base."""
    runs: list[tuple[int, int]]
    """(start, end) pts of each gap-free run."""


def _remux(request: ConversionRequest, params: _Params, dst: Path) -> _Written:
    """Write ``dst``; return what was written into it."""
    sources: list[str] = []
    written: list[tuple[int, int, int, bool]] = []
    runs: list[tuple[int, int]] = []
    end = 0
    last_dts: int | None = None
    prev_rel = ""
    with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        ostream: Any = None
        for segment, base in zip(request.segments, _bases(request, params.time_base), strict=True):
            with _open(segment.path, segment.rel_path) as container:
                stream = container.streams.video[0]
                if ostream is None:
                    ostream = out.add_stream_from_template(stream)
                packets = _packets(container, segment.rel_path)
                first = next(packets, None)
                if first is None:
                    continue
                start_pts = stream.start_time if stream.start_time is not None else first.pts
                target = end if base is None else base
                # Start times are rounded to the time base: half a frame is not a gap.
                tolerance = (first.duration or 0) // 2
                if runs and target < end - tolerance:
                    raise SegmentOverlapError(
                        f"{segment.rel_path} starts before {prev_rel} ends; the segments "
                        "overlap. Fix segment_starts_s or remove the duplicate segment"
                    )
                if runs and target <= end + tolerance:
                    target = end
                else:
                    runs.append((target, target))
                shift = target - start_pts
                if last_dts is not None and first.dts + shift <= last_dts:
                    shift = last_dts + 1 - first.dts  # keep decode order strictly increasing
                for packet in _chain(first, packets):
                    packet.pts += shift
                    packet.dts += shift
                    end = max(end, packet.pts + (packet.duration or 0))
                    last_dts = packet.dts
                    written.append((packet.pts, packet.dts, packet.size, packet.is_keyframe))
                    packet.stream = ostream
                    out.mux(packet)
                    sources.append(segment.rel_path)
                runs[-1] = (runs[-1][0], end)
                prev_rel = segment.rel_path
    return _Written(sources, written, runs)


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


_CHECKED_PACKETS = 16
"""How many packets of the output are demuxed to check the pts read from its sample table."""


def _from_sample_table(
    container: Any, name: str, written: _Written
) -> list[tuple[int, int, bool, int, int]] | None:
    """(pts, dts, keyframe, byte offset, size) of each packet, in decode order, from
    the file's sample table and the packets written; None if the two disagree
    anywhere (another time base, say), for the caller to demux the file instead."""
    entries = container.streams.video[0].index_entries
    if len(entries) != len(written.packets):
        return None
    rows = []
    for entry, (pts, dts, size, keyframe) in zip(entries, written.packets, strict=True):
        if entry.timestamp != dts or entry.size != size or entry.is_keyframe != keyframe:
            return None
        rows.append((pts, dts, keyframe, entry.pos, size))
    # The table holds no pts: the first packets, demuxed, show that they read as written.
    checked = rows[:_CHECKED_PACKETS]
    demuxed = islice(_packets(container, name), len(checked))
    if [(p.pts, p.dts, p.pos) for p in demuxed] != [(r[0], r[1], r[3]) for r in checked]:
        return None
    return rows


def _index(path: Path, written: _Written, origin_s: float) -> tuple[pa.Table, Fraction]:
    sources = written.sources
    with _open(path, path.name) as container:
        stream = container.streams.video[0]
        tb = Fraction(stream.time_base)
        rows = _from_sample_table(container, path.name, written)
    if rows is None:
        with _open(path, path.name) as container:
            rows = [
                (p.pts, p.dts, bool(p.is_keyframe), int(p.pos), int(p.size))
                for p in _packets(container, path.name)
            ]
    if len(rows) != len(sources):
        raise SegmentReadError(
            f"the remuxed {path.name} holds {len(rows)} video packets but {len(sources)} were "
            "written; a segment is damaged. Re-copy the segments from the rig"
        )
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    ordered = [rows[i] for i in order]
    # float(pts * tb) without a Fraction per frame: Python's int / int is correctly
    # rounded, so (pts * num) / den is the very same float.
    num, den = tb.numerator, tb.denominator
    columns: dict[str, list[Any]] = {
        "frame": list(range(len(ordered))),
        "pts": [r[0] for r in ordered],
        "dts": [r[1] for r in ordered],
        "time_s": [origin_s + (r[0] * num) / den for r in ordered],
        "keyframe": [r[2] for r in ordered],
        "byte_offset": [r[3] for r in ordered],
        "size": [r[4] for r in ordered],
        "segment": [sources[i] for i in order],
    }
    return pa.table(columns, schema=FRAME_INDEX_SCHEMA), tb


class VideoConverter:
    """MP4 segments → one remuxed faststart MP4 + a Lance frame index (PyAV, no decoding)."""

    name = "ursa.video.pyav"
    version = "1"
    kind = StreamKind.VIDEO
    formats = frozenset({"mp4"})
    storage_format = "mp4"
    suffix = ".mp4"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """See :class:`~ursa_lib.processing.Converter`; the index is described in this module."""
        params = _check_params(request)
        asset = f"{request.modality}{self.suffix}"
        entries = (asset, f"{asset}.lance")
        desc = request.description
        origin_s = desc.clock_offset_s + (
            desc.segment_starts_s[0] if desc.segment_starts_s else 0.0
        )
        with staged(request.out, entries) as stage:
            written = _remux(request, params, stage / asset)
            table, out_tb = _index(stage / asset, written, origin_s)
            lancedb.connect(str(stage)).create_table(asset, data=table)
        in_tb = params.time_base
        intervals = tuple(
            (origin_s + float(a * in_tb), origin_s + float(b * in_tb)) for a, b in written.runs
        )
        with _open(request.segments[0].path, request.segments[0].rel_path) as container:
            rate = container.streams.video[0].average_rate
        return ConversionOutput(
            converter=self.name,
            converter_version=self.version,
            storage_format=self.storage_format,
            asset=asset,
            entries=entries,
            sampling_rate=float(rate) if rate else None,
            domain_intervals=intervals,
            channel_spec={
                "codec": params.codec,
                "width": params.width,
                "height": params.height,
                "pix_fmt": params.pix_fmt,
                "time_base": str(out_tb),
            },
            count=table.num_rows,
            unit=CountUnit.FRAMES,
            input_bytes=sum(s.size for s in request.segments),
            output_bytes=total_size(request.out, entries),
        )
