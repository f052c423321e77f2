"""Absolute times as the catalog keeps them: whole nanoseconds since the Unix epoch (UTC).

`epoch_ns` turns what a caller may give for one (nanoseconds, a ``datetime``,
an ISO-8601 string) into them; the library's ``query(time_range=...)`` and the
CLI's ``--since``/``--until`` both read their times through it.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers

from ._errors import InvalidValueError

__all__ = ["EARLIEST_NS", "LATEST_NS", "PYTHON_FORMS", "epoch_ns"]

EARLIEST_NS = 10**15
"""The earliest absolute time accepted: 1970-01-12T13:46:40Z. A smaller number is
almost surely seconds, or seconds from a session start, rather than nanoseconds."""
LATEST_NS = 2**63 - 1
"""The latest time an ``int64`` of nanoseconds holds (2262-04-11)."""
PYTHON_FORMS = (
    "epoch nanoseconds (e.g. 1_763_456_400_000_000_000), a datetime "
    "(e.g. datetime(2025, 11, 18, 9, tzinfo=UTC); without a zone: UTC) or an ISO-8601 "
    "string (e.g. '2025-11-18T09:00:00Z')"
)
"""What a Python caller may pass for an absolute time, with examples."""


def epoch_ns(value: object, name: str = "time", forms: str = PYTHON_FORMS) -> int:
    """``value`` as epoch nanoseconds: an int (or a whole float) of nanoseconds, a
    ``datetime`` (timezone-aware, or naive meaning UTC), or an ISO-8601 string
    (without a zone: UTC; ``Z`` allowed), or a string of digits.

    Anything else, or a time before `EARLIEST_NS` or after `LATEST_NS`, raises
    `InvalidValueError` naming ``name`` and listing ``forms``, what may be given.
    """
    ns: int
    refusal = f"{name} is an absolute time: {forms}; got {value!r}"
    if isinstance(value, bool):  # an int to Python, but never a time
        raise InvalidValueError(refusal)
    if isinstance(value, dt.datetime):
        ns = _datetime_ns(value)
    elif isinstance(value, str):
        ns = _parse_text(value, name, forms)
    elif isinstance(value, numbers.Integral) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer()
    ):
        ns = int(value)
    else:
        raise InvalidValueError(refusal)
    if ns < EARLIEST_NS:
        raise InvalidValueError(
            f"{name} is an absolute time in epoch nanoseconds, and {value!r} is before "
            f"1970-01-12 (seconds from a session start?); give {forms}"
        )
    if ns > LATEST_NS:
        raise InvalidValueError(f"{name} {value!r} is after 2262-04-11; give {forms}")
    return ns


def _parse_text(text: str, name: str, forms: str) -> int:
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        moment = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValueError(
            f"{name} {text!r} is neither epoch nanoseconds nor an ISO-8601 time; give {forms}"
        ) from None
    return _datetime_ns(moment)


def _datetime_ns(moment: dt.datetime) -> int:
    """Exact epoch nanoseconds of ``moment`` (naive: UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
