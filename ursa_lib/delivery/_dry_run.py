"""Download plans: what a download would write, skip or replace, and the requests
it would make (``dry_run=True``), and the checks every download makes first."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .._errors import (
    DestinationExistsError,
    InvalidValueError,
    NotDeliverableError,
)
from .._text import listed
from ..catalog import Catalog
from ..store import Store
from ._plan import (
    Action,
    Existing,
    FolderName,
    Layout,
    Names,
    SourceKind,
    Verify,
    _check_no_symlinks,
    _File,
    _Group,
    _identical,
    _one_of,
    _plan,
    _results,
    download_root,
    folder_namer,
)
from ._query import QueryResult

__all__ = ["DownloadPlan", "PlannedFile", "plan_download"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFile:
    """One file of a download plan and what the download would do with it."""

    uri: str
    dest: Path
    size: int
    action: Action
    """``write`` (not there), ``skip`` (already there and identical) or ``replace``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadPlan:
    """What a download would do, decided without moving a byte."""

    files: tuple[PlannedFile, ...]
    requests: int
    """Store requests the transfer would make: one GET per file written or replaced
    (objects above the store's part size take one ranged GET per part)."""

    def _of(self, action: Action) -> list[PlannedFile]:
        return [f for f in self.files if f.action == action]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bytes_to_transfer(self) -> int:
        return sum(f.size for f in self.files if f.action != "skip")

    def counts(self) -> dict[str, int]:
        """Files by action."""
        return {a: len(self._of(a)) for a in ("write", "skip", "replace")}


def _prepare(
    results: list[QueryResult],
    root: Path,
    layout: Layout,
    source: SourceKind,
    raw: Store | None,
    assets: Store | None,
    existing: Existing,
    catalog: Catalog | None,
    recording_folder: FolderName,
) -> tuple[list[_Group], list[_File], list[_File]]:
    """The groups, their files, and the files already present (refused for ``error``)."""
    groups = _plan(results, root, layout, source, raw, assets, catalog, recording_folder)
    files = [f for g in groups for f in g.files]
    seen: dict[Path, _File] = {}
    for file in files:
        if file.dest in seen:
            raise NotDeliverableError(
                f"two objects would be written to {file.dest}: {seen[file.dest].key} and "
                f"{file.key}; choose layout='by_recording' or download them separately"
            )
        seen[file.dest] = file
        _check_no_symlinks(root, file.dest)
    present = [f for f in files if os.path.lexists(f.dest)]
    if present and existing == "error":
        raise DestinationExistsError(
            f"{len(present)} destination file(s) already exist: "
            f"{listed(f.dest for f in present)}; pass "
            "existing='skip' to keep identical ones or existing='overwrite' to replace them"
        )
    return groups, files, present


def _existing_mode(existing: Existing | None, overwrite: bool) -> Existing:
    if existing is None:
        existing = "overwrite" if overwrite else "error"
    elif overwrite and existing != "overwrite":
        raise InvalidValueError(
            f"overwrite=True contradicts existing={existing!r}; pass one of them"
        )
    _one_of("existing", existing, Existing)
    return existing


def plan_download(
    target: QueryResult | Iterable[QueryResult],
    dest: str | os.PathLike[str],
    layout: Layout = "by_recording",
    source: SourceKind = "auto",
    *,
    raw: Store | None = None,
    assets: Store | None = None,
    existing: Existing = "error",
    verify: Verify = "size_mtime",
    catalog: Catalog | None = None,
    names: Names = "hash",
) -> DownloadPlan:
    """What `download` with the same arguments would do; writes nothing.

    It lists and reads manifests as the download would, and with
    ``existing="skip"`` compares the files already there (``verify="sha256"``
    reads them). A file already there with ``existing="error"`` raises, as the
    download would. Processed assets need ``catalog``, which holds what their
    publication recorded.
    """
    _one_of("existing", existing, Existing)
    _one_of("verify", verify, Verify)
    _one_of("layout", layout, Layout)
    _one_of("source", source, SourceKind)
    recording_folder = folder_namer(names, raw)
    root = download_root(dest)
    results = _results(target, "download")
    _, files, present = _prepare(
        results, root, layout, source, raw, assets, existing, catalog, recording_folder
    )
    there = {id(f) for f in present}
    planned = []
    for file in files:
        action: Action = "write"
        if id(file) in there:
            keep = existing == "skip" and _identical(file, verify)
            action = "skip" if keep else "replace"
        planned.append(
            PlannedFile(
                uri=file.store.base_uri + file.key, dest=file.dest, size=file.size, action=action
            )
        )
    requests = sum(1 for f in planned if f.action != "skip")
    return DownloadPlan(files=tuple(planned), requests=requests)
