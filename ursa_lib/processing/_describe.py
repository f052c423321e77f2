"""Stream descriptions: what a worker directory holds and how its clock relates to the session.

A rig manifest may carry, per worker directory, a :class:`StreamDescription`.
Formats that carry their own timing and channels (EDF/EDF+/BDF, WAV/FLAC, MP4)
need no description: :func:`infer_description` derives one from the file
extensions. Everything else (NumPy segments, CSV) must be described.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import StrEnum
from itertools import pairwise
from pathlib import PurePosixPath
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._errors import StreamDescriptionError

__all__ = ["StreamDescription", "StreamKind", "infer_description", "parse_description"]

log = logging.getLogger("ursa.processing")


class StreamKind(StrEnum):
    """What a stream records; selects the family of converters."""

    TIMESERIES = "timeseries"
    AUDIO = "audio"
    VIDEO = "video"
    EVENTS = "events"
    TABLE = "table"


# Extensions whose kind is unambiguous. A bare ``.csv`` is not here: it may be
# events or a table, so it has to be described.
_INFERRED: dict[str, tuple[StreamKind, str]] = {
    ".edf": (StreamKind.TIMESERIES, "edf"),
    ".bdf": (StreamKind.TIMESERIES, "bdf"),
    ".wav": (StreamKind.AUDIO, "wav"),
    ".flac": (StreamKind.AUDIO, "flac"),
    ".mp4": (StreamKind.VIDEO, "mp4"),
    ".jsonl": (StreamKind.EVENTS, "jsonl"),
    ".ndjson": (StreamKind.EVENTS, "jsonl"),
}


class StreamDescription(BaseModel):
    """How to read one stream (one worker directory) of a session.

    Session-relative time of a stream instant is ``clock_offset_s`` plus the
    instant on the stream's own clock. On the stream clock, segment *i* starts
    at ``segment_starts_s[i]`` if given, else where its format says (EDF
    header start), else right after segment *i-1* (back to back from 0).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    kind: StreamKind
    """What the stream records: timeseries, audio, video, events or table."""
    format: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_+-]*$")
    """Raw file format in lower case, e.g. "edf", "bdf", "npy", "wav", "mp4", "jsonl", "csv"."""
    sampling_rate: float | None = Field(default=None, gt=0)
    """Samples per second (Hz); required where the format carries none (e.g. npy)."""
    channels: tuple[str, ...] | None = None
    """Channel names, in column order; for EDF/BDF the subset of header labels to keep."""
    units: tuple[str, ...] | None = None
    """Physical unit per channel (e.g. "uV"); one per channel."""
    gain: tuple[float, ...] | None = None
    """Per-channel digital→physical gain: ``physical = gain * (digital + offset)``."""
    offset: tuple[float, ...] | None = None
    """Per-channel digital offset added before the gain; 0 if omitted."""
    clock_offset_s: float = 0.0
    """Session-relative time (s) of instant 0 on the stream's clock."""
    segment_starts_s: tuple[float, ...] | None = None
    """Start (s, stream clock) of each segment in path order; omit for back-to-back segments."""

    @model_validator(mode="after")
    def _per_channel_lengths_agree(self) -> Self:
        if self.channels is not None and len(set(self.channels)) != len(self.channels):
            raise ValueError("channels: names must be unique; rename the repeated channel")
        n = len(self.channels) if self.channels is not None else None
        for field in ("units", "gain", "offset"):
            values = getattr(self, field)
            if values is None:
                continue
            if n is None:
                raise ValueError(f"{field}: given without channels; list the channel names too")
            if len(values) != n:
                raise ValueError(
                    f"{field}: {len(values)} values for {n} channels; give exactly one per channel"
                )
        if self.segment_starts_s is not None:
            starts = self.segment_starts_s
            if any(b < a for a, b in pairwise(starts)):
                raise ValueError("segment_starts_s: must not decrease; list starts in path order")
        return self


def parse_description(data: object, *, where: str) -> StreamDescription:
    """Validate a manifest's stream description (a JSON object).

    Raises :class:`StreamDescriptionError` naming ``where`` (e.g. the worker
    directory), each bad field, and what to fix.
    """
    try:
        return StreamDescription.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(description)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise StreamDescriptionError(
            f"stream description of {where!r} is invalid ({problems}); fix these fields "
            "in the manifest's streams section"
        ) from None


def infer_description(worker_dir: str, file_names: Iterable[str]) -> StreamDescription | None:
    """Describe a stream from its files' extensions alone, or return ``None``.

    Returns a description when every file has one well-known extension (.edf,
    .bdf, .wav, .flac, .mp4, .jsonl/.ndjson). Returns ``None`` when there are no
    files, the extensions are unknown or ambiguous (a bare .csv), or mixed:
    such a stream must be described in the manifest (the reason is logged
    at DEBUG under ``worker_dir``). Inference never raises.
    """
    suffixes = sorted({PurePosixPath(name).suffix.lower() for name in file_names})
    found = _INFERRED.get(suffixes[0]) if len(suffixes) == 1 else None
    if found is None:
        log.debug(
            "stream %s: kind cannot be inferred from extensions %s; describe it in the manifest",
            worker_dir,
            suffixes or "(no files)",
        )
        return None
    kind, fmt = found
    return StreamDescription(kind=kind, format=fmt)
