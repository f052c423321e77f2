"""A look before a read: what a recording holds, and one aligned window drawn.

`summarize` lists a recording's modalities with their format, channels,
sampling rate, time domain and status. `plot_window` draws one window of the
processed data on a shared time axis: a few EEG channels, the audio envelope,
event markers, and the video frame shown at the window's start. It returns a
matplotlib ``Figure`` (a notebook shows it; ``fig.savefig`` writes it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import InvalidValueError
from .._text import human_duration
from ..catalog import IngestionStatus
from ._assets import AssetSource, Window
from ._processed import NotProcessedError, read_recording
from ._query import QueryResult, covered_spans

__all__ = ["ModalitySummary", "RecordingSummary", "plot_window", "summarize"]

NO_STREAM_FOLDER = (
    "its files lie in no stream folder (<stream>_<n>/): they are archived as they are, "
    "and nothing of them is processed or read by time"
)
"""Why a recording has no modality, for `show` and `plot`."""

ENVELOPE_BINS = 2000
"""Runs of samples the audio envelope is drawn from: finer than any figure's pixels."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModalitySummary:
    modality: str
    status: str
    format: str | None
    channels: tuple[str, ...]
    sampling_rate: float | None
    domain: tuple[tuple[float, float], ...]
    storage_uri: str | None

    @property
    def duration_s(self) -> float:
        return sum(end - start for start, end in self.domain)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSummary:
    recording_hash: str
    rec_id: str
    participant_ids: tuple[str, ...]
    start_time: int
    duration_s: float
    modalities: tuple[ModalitySummary, ...]

    COLUMNS = ("modality", "status", "format", "channels", "rate", "duration", "domain (s)")

    @property
    def title(self) -> str:
        """``rec_id (hash), participants …, duration``."""
        who = ", ".join(self.participant_ids)
        return f"{self.rec_id} ({self.recording_hash}), participants {who}, " + human_duration(
            self.duration_s
        )

    def rows(self) -> list[dict[str, str]]:
        """One row of text per modality, by `COLUMNS` (what ``ursa show`` prints)."""
        return [
            {
                "modality": m.modality,
                "status": m.status,
                "format": m.format or "",
                "channels": _channels(m.channels),
                "rate": f"{m.sampling_rate:g} Hz" if m.sampling_rate else "",
                "duration": human_duration(m.duration_s) if m.domain else "",
                "domain (s)": ", ".join(f"[{a:g}, {b:g})" for a, b in m.domain),
            }
            for m in self.modalities
        ]

    def __str__(self) -> str:
        if not self.modalities:
            return f"{self.title}\nno modality: {NO_STREAM_FOLDER}"
        rows = [dict(zip(self.COLUMNS, self.COLUMNS, strict=True)), *self.rows()]
        widths = {c: max(len(r[c]) for r in rows) for c in self.COLUMNS}
        lines = ["  ".join(r[c].ljust(widths[c]) for c in self.COLUMNS).rstrip() for r in rows]
        return "\n".join([self.title, *lines])


def _channels(names: tuple[str, ...]) -> str:
    if len(names) <= 4:
        return ", ".join(names)
    return f"{', '.join(names[:3])}, … ({len(names)})"


def summarize(result: QueryResult) -> RecordingSummary:
    """The recording and each of its modalities, as the catalog records them."""
    mods = []
    for name, row in result.modalities.items():
        names = row.channel_spec.get("names", ())
        mods.append(
            ModalitySummary(
                modality=name,
                status=row.ingestion_status.value,
                format=str(row.format) if row.format is not None else None,
                channels=tuple(str(n) for n in names) if isinstance(names, list) else (),
                sampling_rate=row.sampling_rate,
                # The spans a read covers: for events, the whole recording.
                domain=tuple(covered_spans(result.recording, row))
                if row.ingestion_status is IngestionStatus.PROCESSED
                else tuple((i.start, i.end) for i in row.domain_intervals),
                storage_uri=row.storage_uri,
            )
        )
    return RecordingSummary(
        recording_hash=result.recording_hash,
        rec_id=result.rec_id,
        participant_ids=tuple(result.participant_ids),
        start_time=result.start_time,
        duration_s=result.duration,
        modalities=tuple(mods),
    )


def plot_window(
    source: AssetSource, result: QueryResult, window: Window, *, channels: int = 4
) -> Any:
    """One aligned window of the recording's processed modalities, drawn."""
    from matplotlib.figure import Figure

    if window.start is None or window.end is None or not window.end > window.start:
        raise InvalidValueError(
            f"plot needs a window of positive length; got [{window.start}, {window.end}): "
            "give (start, end) in seconds from the session start, with end > start"
        )
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise InvalidValueError(
            f"plot's channels is how many EEG channels to draw, a whole number of 1 or more; "
            f"got {channels!r}"
        )
    processed = [
        n for n, m in result.modalities.items() if m.ingestion_status is IngestionStatus.PROCESSED
    ]
    if not result.modalities:
        raise NotProcessedError(
            f"recording {result.recording_hash[:12]} ({result.rec_id}) has no modality to "
            f"draw: {NO_STREAM_FOLDER}"
        )
    if not processed:
        raise NotProcessedError(
            f"recording {result.recording_hash[:12]} ({result.rec_id}) has no processed "
            f"modality to draw; process it first (ursa process {result.recording_hash[:12]})"
        )
    data = read_recording(source, result, window, processed)
    # The axis spans the window, or the recording where the window reaches past it.
    spans = [s for n in processed for s in result.modalities[n].domain_spans]
    shown_start, shown_end = window.start, window.end
    if spans:
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        if max(shown_start, first) < min(shown_end, last):
            shown_start, shown_end = max(shown_start, first), min(shown_end, last)
    sampled = [n for n in processed if str(result.modalities[n].format) == "zarr"]
    events = [n for n in processed if str(result.modalities[n].format) == "lance"]
    videos = [n for n in processed if str(result.modalities[n].format) == "mp4"]
    rows = len(sampled) + (1 if videos else 0) or 1
    figure = Figure(figsize=(10, 2.2 * rows), layout="constrained")
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    start, end = window.start, window.end
    for axis, name in zip(axes, sampled, strict=False):
        part = getattr(data, name)
        times = np.asarray(part.signal.timestamps)
        values = np.asarray(part.signal.data)
        # Each gap-free run is drawn on its own: a gap stays a gap, never a line across.
        runs = gap_free_runs(times, float(part.sampling_rate))
        if not len(times):
            axis.text(0.5, 0.5, f"no {name} samples in this window (a gap)", ha="center",
                      va="center", transform=axis.transAxes)  # fmt: skip
            axis.set_ylabel(name)
        elif name.startswith("audio") or values.shape[1] == 1:
            for run in runs:
                at, peak = envelope(times[run], values[run])
                axis.fill_between(at, -peak, peak, linewidth=0, color="tab:green", step="post")
            axis.set_ylabel(f"{name}\nenvelope")
        else:
            shown = min(channels, values.shape[1])
            spread = float(np.std(values[:, :shown])) * 4 or 1.0
            names = list(part.channels.names)
            for c in range(shown):
                for run in runs:
                    label = names[c] if run is runs[0] else None
                    axis.plot(times[run], values[run, c] - c * spread, linewidth=0.6,
                              color=f"C{c}", label=label)  # fmt: skip
            axis.set_yticks([-c * spread for c in range(shown)], names[:shown])
            axis.set_ylabel(name)
        for ev in events:
            for t in np.asarray(getattr(data, ev).timestamps):
                axis.axvline(t, color="tab:red", linewidth=0.8, alpha=0.7)
        axis.set_xlim(shown_start, shown_end)
    if videos:
        axis = axes[len(sampled)]
        frames = getattr(data, videos[0])
        recorded = any(a <= start < b for a, b in result.modalities[videos[0]].domain_spans)
        if recorded:  # the frame on screen at the window's start, whenever it began
            axis.imshow(frames.at(start))
            axis.set_title(f"{videos[0]} at {start:.3f} s", fontsize=9)
        elif len(frames):  # the video starts inside the window: its first frame
            axis.imshow(frames[0])
            axis.set_title(f"{videos[0]} at {frames.times[0]:.3f} s", fontsize=9)
        else:
            axis.text(0.5, 0.5, f"no {videos[0]} frame in this window", ha="center")
        axis.set_axis_off()
    axes[min(len(sampled), rows) - 1].set_xlabel("seconds from the session start")
    figure.suptitle(f"{result.rec_id} ({result.recording_hash[:12]}) [{start:g}, {end:g}) s")
    return figure


def gap_free_runs(times: npt.NDArray[np.float64], rate: float) -> list[slice]:
    """The runs of ``times`` (sampled at ``rate``) with no gap inside: a step of more
    than one and a half sample periods starts a new run."""
    if len(times) == 0:
        return []
    breaks = np.flatnonzero(np.diff(times) > 1.5 / rate) + 1
    edges = [0, *breaks.tolist(), len(times)]
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def envelope(
    times: npt.NDArray[np.float64], values: npt.NDArray[Any], bins: int = ENVELOPE_BINS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The peak amplitude over every channel in each of ``bins`` equal runs of samples:
    each run's first time and its largest absolute value (all samples when fewer)."""
    if len(times) == 0:
        return np.asarray(times, dtype=np.float64), np.zeros(0)
    edges = np.unique(np.linspace(0, len(times), min(bins, len(times)) + 1).astype(np.int64))[:-1]
    peak = np.maximum.reduceat(np.abs(values).max(axis=1), edges).astype(np.float64)
    return np.asarray(times, dtype=np.float64)[edges], peak
