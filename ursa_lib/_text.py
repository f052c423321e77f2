"""Small text helpers for messages and summaries."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["counted", "human_duration", "listed"]


def listed(items: Iterable[object], limit: int = 20) -> str:
    """``a, b, c and 7 more``: the first ``limit`` items, then a count of the rest."""
    texts = [str(i) for i in items]
    shown = ", ".join(texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: ``counted(1, "file")`` is ``"1 file"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def human_duration(seconds: float) -> str:
    """``0.084`` → ``84 ms``, ``75`` → ``1m15s``, ``7260`` → ``2h01m``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
