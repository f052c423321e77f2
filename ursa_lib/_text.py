"""Small text helpers for error messages."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["counted", "listed"]


def listed(items: Iterable[object], limit: int = 20) -> str:
    """``a, b, c and 7 more``: the first ``limit`` items, then a count of the rest."""
    texts = [str(i) for i in items]
    shown = ", ".join(texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: ``counted(1, "file")`` is ``"1 file"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
