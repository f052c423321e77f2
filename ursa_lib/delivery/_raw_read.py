"""Raw segments in memory (`materialize` of raw rows), verified like `download`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .._errors import (
    ChecksumMismatchError,
    NotDeliverableError,
)
from ..catalog import Modality
from ..store import Store
from ._plan import (
    SourceKind,
    _kind,
    _one_of,
    _plan,
    _results,
)
from ._query import QueryResult


@dataclass(frozen=True, slots=True)
class RawSegments:
    """A modality's raw segments in memory, in key order, with the row(s) they belong to."""

    modalities: tuple[Modality, ...]
    """One row per result that contributed (in input order)."""
    segments: tuple[tuple[str, bytes], ...]
    """``(key, bytes)`` in input order, then key order."""

    @property
    def modality(self) -> Modality:
        return self.modalities[0]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return iter(self.segments)


def materialize(
    target: QueryResult | Iterable[QueryResult],
    *,
    raw: Store,
    source: SourceKind = "auto",
) -> dict[str, RawSegments]:
    """Bytes in memory, by modality name, verified like `download`.

    Several results are concatenated per modality only when they have the same
    set of modalities; otherwise `ValueError` says which differ. Processed rows
    are read by time window with `DataInterface.materialize` (or
    `read_recording`, which needs the assets bucket); here they are refused,
    and ``source="raw"`` reads their raw segments.
    """
    _one_of("source", source, SourceKind)
    results = _results(target, "materialize")
    if not results:
        return {}
    names = [tuple(r.modalities) for r in results]
    for result, these in zip(results, names, strict=True):
        if these != names[0]:
            raise NotDeliverableError(
                "results can be concatenated only when their modality sets align: "
                f"{results[0].recording_hash} has {list(names[0])}, "
                f"{result.recording_hash} has {list(these)}"
            )
    for result in results:
        for mod in result.modalities.values():
            if _kind(mod, source) == "processed":
                raise NotDeliverableError(
                    f"modality {mod.modality!r} is processed ({mod.format}): read it by time "
                    "window with DataInterface.materialize, or pass source='raw' for its "
                    "raw segments"
                )
    groups = _plan(
        results, Path("/nonexistent-materialize"), "by_recording", "raw", raw, None, None
    )
    out: dict[str, tuple[list[Modality], list[tuple[str, bytes]]]] = {}
    for result, group in zip((r for r in results for _ in r.modalities), groups, strict=True):
        rows, segments = out.setdefault(group.modality, ([], []))
        rows.append(result.modalities[group.modality])
        for file in group.files:
            with file.store.open(file.key) as reader:
                data = reader.read()
                recorded = (reader.info.metadata or {}).get("sha256")
            actual = hashlib.sha256(data).hexdigest()
            # The manifest's digest decides; the object's metadata is a second opinion.
            for expected in (file.sha256, recorded):
                if expected is not None and actual != expected:
                    raise ChecksumMismatchError(
                        f"{file.store.base_uri}{file.key} is corrupt or was replaced: its "
                        f"bytes hash to {actual}, but {expected} was recorded for it",
                        uri=file.store.base_uri + file.key,
                    )
            segments.append((file.key, data))
    return {name: RawSegments(tuple(rows), tuple(segs)) for name, (rows, segs) in out.items()}
