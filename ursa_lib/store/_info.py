"""What the store layer knows about one object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ObjectInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """One stored object.

    ``metadata`` is the user metadata (e.g. ``{"sha256": ...}``); it is ``None``
    in listings, which do not carry it, and a mapping from `Store.head` and reads.
    """

    key: str
    size: int
    etag: str | None = None
    last_modified: dt.datetime | None = None
    metadata: Mapping[str, str] | None = field(default=None, compare=False)
