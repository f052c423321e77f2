"""The values a converter receives and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ._describe import StreamDescription

__all__ = [
    "ConversionOutput",
    "ConversionRequest",
    "CountUnit",
    "EventRow",
    "Segment",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One raw segment file of a stream, already on local disk."""

    rel_path: str
    """Path relative to the session directory, as listed in the manifest."""
    path: Path
    """Where the bytes are now."""
    size: int
    """Size in bytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversionRequest:
    """Everything a converter needs to turn one stream into one processed asset.

    The converter writes under ``out / f"{modality}{suffix}"`` (plus, for
    video, the ``.lance`` frame index beside it) and nothing else in ``out``.
    """

    segments: Sequence[Segment]
    """The stream's segments, in path order."""
    description: StreamDescription
    """How to read them (declared in the manifest or inferred)."""
    modality: str
    """Modality name; the asset is named after it (``eeg`` → ``eeg.zarr``)."""
    out: Path
    """Existing directory the asset is written into."""
    session_start: datetime | None = None
    """Session start, to place segments that carry absolute start times (EDF headers).

    Header times without a zone are read on ``session_start``'s clock. When
    ``None``, the first such segment starts at the stream clock's 0.
    """


class CountUnit(StrEnum):
    """What :attr:`ConversionOutput.count` counts."""

    SAMPLES = "samples"
    FRAMES = "frames"
    EVENTS = "events"
    ROWS = "rows"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRow:
    """One parsed event, in session-relative seconds."""

    time_s: float
    duration_s: float
    type: str
    prompt: str | None = None
    response: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable extra fields of the event."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversionOutput:
    """What a converter wrote, in the terms publication registers in the catalog."""

    converter: str
    converter_version: str
    storage_format: str
    """``zarr``, ``lance``, ``mp4``, ``parquet`` or a format a plug-in declares."""
    asset: str
    """Name of the asset under ``out`` (``eeg.zarr``, ``camera.mp4``…)."""
    entries: tuple[str, ...]
    """Every top-level name written under ``out`` (``camera.mp4`` and ``camera.mp4.lance``)."""
    sampling_rate: float | None
    domain_intervals: tuple[tuple[float, float], ...]
    """Session-relative [start, end) seconds covered; one interval per gap-free run."""
    channel_spec: Mapping[str, Any] | None
    """JSON-able: names, units, gain, offset, dtype (sampled streams only)."""
    count: int
    unit: CountUnit
    input_bytes: int
    output_bytes: int
    events: tuple[EventRow, ...] = ()
    """Parsed events (events streams only), for the catalog's ``events`` table."""
