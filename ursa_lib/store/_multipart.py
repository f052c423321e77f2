"""Upload sizing within S3 and R2 limits."""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import InvalidValueError

__all__ = [
    "MAX_OBJECT_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "UploadPlan",
    "plan_upload",
]

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

MAX_PARTS = 10_000
"""S3 and R2 accept at most this many parts in one multipart upload."""
MIN_PART_SIZE = 5 * MiB
"""Every part but the last must be at least this big."""
MAX_PART_SIZE = 5 * GiB
"""Also the largest single PUT."""
MAX_OBJECT_SIZE = 5 * TiB
"""Largest object S3 accepts."""

DEFAULT_SINGLE_PUT_LIMIT = 16 * MiB
"""Objects up to this size go up in one PUT (read into memory once)."""
DEFAULT_PART_SIZE = 16 * MiB
"""Preferred part size; grows for huge objects so the part count stays ≤ 10,000."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadPlan:
    """How one object of known size is uploaded."""

    size: int
    multipart: bool
    part_size: int
    """Size of every part but the last (equal sizes, as R2 requires)."""
    parts: int


def plan_upload(
    size: int,
    *,
    single_put_limit: int = DEFAULT_SINGLE_PUT_LIMIT,
    part_size: int = DEFAULT_PART_SIZE,
) -> UploadPlan:
    """Choose single PUT or multipart, and the part size, for ``size`` bytes.

    Guarantees: at most 10,000 parts, every part but the last the same size and
    between 5 MiB and 5 GiB, part sizes a whole number of MiB, single PUTs at
    most 5 GiB. Raises `ValueError` for a negative size or one above 5 TiB.
    """
    if size < 0:
        raise InvalidValueError(f"object size must be >= 0, got {size}")
    if size > MAX_OBJECT_SIZE:
        raise InvalidValueError(f"object of {size} bytes exceeds S3's 5 TiB object limit")
    single_put_limit = min(single_put_limit, MAX_PART_SIZE)
    if size <= single_put_limit:
        return UploadPlan(size=size, multipart=False, part_size=size, parts=1)
    needed = -(-size // MAX_PARTS)  # ceil
    chosen = max(part_size, MIN_PART_SIZE, needed)
    chosen = -(-chosen // MiB) * MiB  # round up to whole MiB
    chosen = min(chosen, MAX_PART_SIZE)
    return UploadPlan(size=size, multipart=True, part_size=chosen, parts=-(-size // chosen))
