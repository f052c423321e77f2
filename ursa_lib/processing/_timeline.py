"""Placing sampled segments on the session clock: contiguous runs, gaps and overlaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._conversion import Segment
from ._errors import SegmentOverlapError

__all__ = ["Placed", "Run", "place_segments"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Placed:
    """A segment with its session-relative start and its place in the output array."""

    index: int
    """Position of the segment in the request (path order)."""
    segment: Segment
    start_s: float
    n_samples: int
    sample_offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """A gap-free run of samples: one domain interval."""

    start_s: float
    sample_offset: int
    n_samples: int

    def end_s(self, rate: float) -> float:
        return self.start_s + self.n_samples / rate


def place_segments(
    items: Sequence[tuple[Segment, float, int]], rate: float
) -> tuple[list[Placed], list[Run]]:
    """Order ``(segment, start_s, n_samples)`` by start and split them into gap-free runs.

    Each returned :class:`Placed` keeps the index of its item in ``items``.

    A segment starting within half a sample of where the previous one ends
    continues its run (its samples follow on the same grid); a later start
    opens a new run (a gap, never filled); an earlier start is an overlap and
    raises :class:`SegmentOverlapError` naming both files.
    """
    ordered = sorted(enumerate(items), key=lambda item: item[1][1])
    placed: list[Placed] = []
    runs: list[Run] = []
    tolerance = 0.5 / rate
    offset = 0
    prev: Placed | None = None
    for index, (segment, start_s, n) in ordered:
        if prev is not None and runs:
            prev_end = runs[-1].end_s(rate)
            if start_s < prev_end - tolerance:
                raise SegmentOverlapError(
                    f"{segment.rel_path} starts at {start_s:.6f} s, before "
                    f"{prev.segment.rel_path} ends at {prev_end:.6f} s; the segments overlap. "
                    "Fix the segment start times (EDF header or segment_starts_s) or remove "
                    "the duplicate segment"
                )
            if start_s <= prev_end + tolerance:
                last = runs[-1]
                runs[-1] = Run(
                    start_s=last.start_s,
                    sample_offset=last.sample_offset,
                    n_samples=last.n_samples + n,
                )
                start_s = prev_end
            else:
                runs.append(Run(start_s=start_s, sample_offset=offset, n_samples=n))
        else:
            runs.append(Run(start_s=start_s, sample_offset=offset, n_samples=n))
        prev = Placed(
            index=index, segment=segment, start_s=start_s, n_samples=n, sample_offset=offset
        )
        placed.append(prev)
        offset += n
    return placed, runs
