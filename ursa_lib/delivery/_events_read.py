"""Events read back from their Lance table, by time window (pushed down to Lance)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._assets import AssetSource, Window

__all__ = ["read_events"]


def read_events(
    source: AssetSource,
    key: str,
    window: Window,
    domain: list[tuple[float, float]],
    what: str,
    *,
    strict: bool = True,
) -> Any:
    """Events whose time falls in ``window`` as a ``temporaldata.IrregularTimeSeries``.

    Columns: ``timestamps`` (session seconds), ``duration``, ``type``,
    ``prompt``, ``response`` (``""`` where the event has none: numpy text arrays
    hold no None) and ``metadata`` (JSON text). The domain is the
    window (clipped to the recorded domain), so an empty window is still a
    statement that nothing happened in it.
    """
    from temporaldata import Interval, IrregularTimeSeries

    if strict:
        window.check_overlaps(domain, what)
    rows = source.lance_rows(key, window.where("time")).sort_by("time")
    lo = domain[0][0] if domain else 0.0
    hi = domain[-1][1] if domain else 0.0
    start = lo if window.start is None else window.start
    end = hi if window.end is None else window.end

    def column(name: str, kind: Any) -> Any:
        return np.asarray(rows.column(name).to_pylist(), dtype=kind)

    return IrregularTimeSeries(
        column("time", np.float64),
        duration=column("duration", np.float64),
        type=column("type", str),
        prompt=np.asarray([p or "" for p in rows.column("prompt").to_pylist()], dtype=str),
        response=np.asarray([r or "" for r in rows.column("response").to_pylist()], dtype=str),
        metadata=column("metadata", str),
        domain=Interval(start, max(start, end)),
    )
