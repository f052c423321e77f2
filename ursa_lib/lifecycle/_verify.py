"""Verify a downloaded folder against the catalog, the way ``rclone check`` does.

`verify_download` finds the recordings in a folder that `download` wrote (any
layout: ``<hash>/<modality>/``, ``<modality>/<hash>/`` or
``<hash>__<modality>/``, the recording folders named by hash or by
``rec_id``), plans what the download of each of those modalities wrote (see
`_delivered`: its raw segments or its processed asset, decided per modality,
as ``source="auto"`` delivers a recording with some of each), re-hashes every
file and compares it with the sha256 the archive recorded: the session
manifest's for a raw file, the publication's (``pipeline_assets``) for a
processed object.

The raw bucket is read only for what needs it: the stored manifests of raw
segments found here, and the session prefixes that ``rec_id`` folder names
come from. A processed-only download named by hash verifies with the assets
bucket's keys alone; given a getter for the raw store instead of a store,
verify calls it (and so asks for the raw keys) only then.

Every file that differs is named, in path order: missing, wrong size, wrong sha256, or
unexpected (a file no recording of the catalog accounts for). Hidden files
(``.part`` transfers, ``.ursa/``) are not data and are left out.

A time-window download (its clips recorded in ``.ursa/clips.jsonl``) holds no
object of the archive: each file its record lists is checked against the size
and sha256 recorded when it was cut, and any other file is unexpected.

The download's record (``.ursa/objects.jsonl``, absent with ``related=False``)
lists each file written and the object it came from, so what was deleted with
its folder is named too: every recorded file that is not here is missing,
with its origin, including all the files of a modality or a recording whose
whole folder is gone. The record accumulates every download into the folder
and never drops a path, so a recorded file may be gone because a later
download legitimately replaced it (a processed asset deleted and the modality
downloaded again ``source="raw"``; an asset republished with other objects).
The files on disk decide: a recorded file that is gone from the folder of a
modality that is still here is passed over when that folder, as it is now,
verifies whole (it holds every file the modality's delivery expects, each of
the right size and sha256, and nothing unaccounted for). Otherwise it is named
missing as well: nothing then shows it was replaced rather than lost.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .._errors import (
    ConfigError,
    IncompleteRecordingError,
    InvalidValueError,
    ObjectNotFoundError,
)

if TYPE_CHECKING:
    from ..catalog import Catalog, Modality
    from ..delivery import Layout, Names
    from ..delivery._plan import _Planner
    from ..store import Store

__all__ = ["FileProblem", "VerifyReport", "verify_download"]

_HASH = re.compile(r"[0-9a-f]{64}")
Problem = Literal["missing", "size", "sha256", "unexpected"]
Kind = Literal["raw", "processed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProblem:
    path: Path
    problem: Problem
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    dest: Path
    recordings: int
    files_checked: int
    bytes_hashed: int
    problems: tuple[FileProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class _RawBucket:
    """The raw bucket's store, opened at the first need (`verify_download`'s ``raw``)."""

    def __init__(self, raw: Store | Callable[[], Store]) -> None:
        from ..store import Store

        self._getter = raw if not isinstance(raw, Store) else None
        self.opened: Store | None = raw if isinstance(raw, Store) else None
        self.unplanned: dict[Path, str] = {}
        """Folders whose raw segments were not planned: why the bucket did not open."""

    def open(self) -> Store:
        if self.opened is None:
            assert self._getter is not None
            self.opened = self._getter()
        return self.opened

    def open_for(self, folder: Path) -> Store | None:
        """The store, or None (``folder`` noted, with why) when its keys are missing."""
        try:
            return self.open()
        except ConfigError as exc:
            self.unplanned[folder] = str(exc)
            return None

    def detail(self, path: Path) -> str:
        """Why ``path``, which nothing accounts for, was reported."""
        for folder, why in self.unplanned.items():
            if folder in path.parents:
                return (
                    "not part of its modality's processed asset; if it is a raw segment, "
                    f"checking it needs the raw bucket's keys ({why})"
                )
        return "no recording of the catalog accounts for it"


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class _Folders:
    """Recording folder names of a download back to recordings: a hash names itself;
    a session name (``<rec_id>`` or ``<rec_id>~<hash12>``, ``names="rec_id"``) is
    looked up in the catalog, all of the given names at once."""

    def __init__(self, catalog: Catalog, raw: _RawBucket, names: Iterable[str]) -> None:
        from ..catalog import Modality, Recording
        from ..delivery._plan import folder_namer

        self._known: dict[str, str] = {}
        """Session name → recording_hash."""
        wanted = {name for name in names if not _HASH.fullmatch(name)}
        if not wanted:
            return
        hashes_of: dict[str, list[str]] = {}
        rec_ids = {name.partition("~")[0] for name in wanted}
        for rec in catalog.rows_in(Recording, "rec_id", rec_ids):
            hashes_of.setdefault(rec.rec_id, []).append(rec.recording_hash)
        # Every modality of a recording lies under its one session prefix: any row names it.
        one_row: dict[str, Modality] = {}
        all_hashes = {h for hashes in hashes_of.values() for h in hashes}
        for row in catalog.rows_in(Modality, "recording_hash", all_hashes):
            one_row.setdefault(row.recording_hash, row)
        if not one_row:
            return  # no session of that name: nothing to read from the raw bucket
        rec_id_folder = folder_namer("rec_id", raw.open())
        for name in wanted:
            for recording_hash in hashes_of.get(name.partition("~")[0], []):
                mod = one_row.get(recording_hash)
                if mod is not None and rec_id_folder(mod) == name:
                    self._known[name] = recording_hash

    def resolve(self, name: str) -> tuple[str, Names] | None:
        """``(recording_hash, how the folder was named)``, or None: not a recording."""
        if _HASH.fullmatch(name):
            return name, "hash"
        recording_hash = self._known.get(name)
        return None if recording_hash is None else (recording_hash, "rec_id")


def _found(
    dest: Path, catalog: Catalog, raw: _RawBucket
) -> tuple[Layout, dict[tuple[str, Names], set[str]]]:
    """The folder's layout and the modalities it holds of each recording."""
    tops = {
        top: [p for p in top.iterdir() if p.is_dir()]
        for top in sorted(p for p in dest.iterdir() if p.is_dir() and not p.name.startswith("."))
    }
    # Each name a recording folder may have here: a top folder, its part before
    # "__" (flat), or a folder inside it (by_modality); all looked up at once.
    folders = _Folders(
        catalog,
        raw,
        {
            name
            for top, subs in tops.items()
            for name in (top.name, top.name.partition("__")[0], *(sub.name for sub in subs))
        },
    )
    by: dict[Layout, dict[tuple[str, Names], set[str]]] = {
        "by_recording": {},
        "by_modality": {},
        "flat": {},
    }
    for top, subs in tops.items():
        name, _, modality = top.name.partition("__")
        flat = folders.resolve(name) if modality else None
        if flat is not None:
            by["flat"].setdefault(flat, set()).add(modality)
            continue
        recording = folders.resolve(top.name)
        for sub in subs:
            if recording is not None:
                by["by_recording"].setdefault(recording, set()).add(sub.name)
            elif (inner := folders.resolve(sub.name)) is not None:
                by["by_modality"].setdefault(inner, set()).add(top.name)
    layout = max(by, key=lambda k: sum(len(v) for v in by[k].values()))
    return layout, by[layout]


def verify_download(
    dest: Path, *, catalog: Catalog, raw: Store | Callable[[], Store], assets: Store | None
) -> VerifyReport:
    """Re-hash every file of the downloaded folder ``dest`` and name every file its
    record lists that is gone (see the module docstring). ``raw`` is the raw
    bucket's store, or what opens it when verify first needs it."""
    return _verify(dest, catalog=catalog, raw=_RawBucket(raw), assets=assets)


def _verify(dest: Path, *, catalog: Catalog, raw: _RawBucket, assets: Store | None) -> VerifyReport:
    from ..delivery import query
    from ..delivery._expected import Publications, Recordings
    from ..delivery._plan import _Planner, _results, folder_namer
    from ..delivery._related import recorded_origins

    root = Path(dest).resolve()
    if not root.is_dir():
        raise InvalidValueError(f"{dest} is not a folder")
    nested = _nested_downloads(root)
    if nested:
        reports = [_verify(d, catalog=catalog, raw=raw, assets=assets) for d in nested]
        return VerifyReport(
            dest=root,
            recordings=sum(r.recordings for r in reports),
            files_checked=sum(r.files_checked for r in reports),
            bytes_hashed=sum(r.bytes_hashed for r in reports),
            problems=tuple(p for r in reports for p in r.problems),
        )
    clipped = _verify_clips(root)
    if clipped is not None:
        return clipped
    layout, holds = _found(root, catalog, raw)
    present = {p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))}
    found: list[tuple[Names, Modality]] = [
        (naming, mod)
        for (recording_hash, naming), modalities in sorted(holds.items())
        for result in _results(query(catalog, recording_hash=recording_hash, status="all"))
        for name, mod in result.modalities.items()
        if name in modalities
    ]
    uris = sorted({mod.storage_uri for _, mod in found if mod.storage_uri is not None})
    publications = Publications(uris, catalog)
    recordings = Recordings()
    planners = {
        naming: _Planner(
            root,
            layout,
            raw.opened,
            assets,
            publications,
            folder_namer(naming, raw.open() if naming == "rec_id" else None),
            recordings,
        )
        for naming in {naming for naming, _ in found}
    }
    recorded = recorded_origins(root)
    if not present and not recorded:
        raise InvalidValueError(
            f"{dest} holds no download: no file, and no record of one (.ursa/); give the "
            "folder a download wrote"
        )
    expected: dict[Path, tuple[int, str, str]] = {}
    delivering: set[Path] = set()  # the folders of the modalities here that expect a file
    for naming, mod in found:
        files = _delivered(planners[naming], mod, present, recorded.keys(), raw)
        expected.update(files)
        if files:
            delivering.add(planners[naming].folder(mod))
    problems, hashed = _checked(
        expected,
        missing="{origin} not here",
        size="{here} bytes here, {size} in {origin}",
        sha256="its bytes do not hash to the sha256 recorded for {origin}",
    )
    for path in sorted(present - set(expected)):
        problems.append(FileProblem(path=path, problem="unexpected", detail=raw.detail(path)))
    # A folder with any file missing, wrong or unaccounted for shows nothing replaced.
    whole = delivering - {parent for problem in problems for parent in problem.path.parents}
    gone = [
        FileProblem(path=path, problem="missing", detail=_recorded_detail(origin))
        for path, origin in sorted(recorded.items())
        if path not in expected and path not in present and whole.isdisjoint(path.parents)
    ]
    return VerifyReport(
        dest=root,
        recordings=len(holds),
        files_checked=len(expected) + len(gone),
        bytes_hashed=hashed,
        problems=tuple(sorted((*problems, *gone), key=lambda p: p.path)),
    )


def _checked(
    expected: dict[Path, tuple[int, str, str]], *, missing: str, size: str, sha256: str
) -> tuple[list[FileProblem], int]:
    """Each ``path → (size, sha256, origin)`` checked: there, of that size, of that
    sha256 (read only when the size matches). The problems, worded by the templates
    (``{origin}``, ``{here}`` and ``{size}``), and the bytes hashed."""
    problems = []
    hashed = 0
    for path, (want, sha, origin) in sorted(expected.items()):
        if not path.is_file():
            detail = missing.format(origin=origin)
            problems.append(FileProblem(path=path, problem="missing", detail=detail))
            continue
        here = path.stat().st_size
        if here != want:
            detail = size.format(origin=origin, here=here, size=want)
            problems.append(FileProblem(path=path, problem="size", detail=detail))
            continue
        hashed += want
        if _sha256(path) != sha:
            detail = sha256.format(origin=origin)
            problems.append(FileProblem(path=path, problem="sha256", detail=detail))
    return problems, hashed


def _verify_clips(root: Path) -> VerifyReport | None:
    """The report on a time-window download, checked against the record its clips
    wrote (``.ursa/clips.jsonl``: each clip's files with their size and sha256 as
    cut), or None when ``root`` holds no such record.

    A clip is not any object of the archive, so the catalog cannot vouch for it:
    each recorded file is checked against the record, and every other file in the
    folder is unexpected.
    """
    from ..delivery._clip import CLIPS_RECORD, read_clip_records

    if not (root / CLIPS_RECORD).is_file():
        return None
    records = read_clip_records(root)
    expected: dict[Path, tuple[int, str, str]] = {
        root / entry["path"]: (int(entry["size"]), str(entry["sha256"]), str(record["path"]))
        for record in records.values()
        for entry in record["files"]
    }
    present = {p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))}
    problems, hashed = _checked(
        expected,
        missing="a file of the clip {origin}, as the download's record lists it",
        size="{here} bytes here, {size} when the clip {origin} was cut",
        sha256="its bytes do not hash to the sha256 recorded when the clip {origin} was cut",
    )
    for path in sorted(present - expected.keys()):
        detail = "no clip of the download's record (.ursa/clips.jsonl) lists it"
        problems.append(FileProblem(path=path, problem="unexpected", detail=detail))
    return VerifyReport(
        dest=root,
        recordings=len({r["recording_hash"] for r in records.values()}),
        files_checked=len(expected),
        bytes_hashed=hashed,
        problems=tuple(sorted(problems, key=lambda p: p.path)),
    )


def _nested_downloads(root: Path) -> list[Path]:
    """The downloads ``root`` holds side by side (``raw/`` and ``processed/``, say), when
    it is not a download itself and holds nothing else; else none."""
    from ..delivery._related import RELATED_DIR

    if (root / RELATED_DIR).exists():
        return []
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    if entries and all(p.is_dir() and (p / RELATED_DIR).is_dir() for p in entries):
        return entries
    return []


def _recorded_detail(origin: str | None) -> str:
    where = "the download's record lists it"
    return f"{origin} not here; {where}" if origin else f"not here; {where}"


def _delivered(
    planner: _Planner, mod: Modality, present: Set[Path], recorded: Set[Path], raw: _RawBucket
) -> dict[Path, tuple[int, str, str]]:
    """``path → (size, sha256, origin)`` of every file the download of ``mod`` wrote.

    Each way the modality can be delivered (its raw segments; its processed
    asset, when it has one) is planned to exact paths. The ways whose files are
    in the folder are expected whole: a modality downloaded ``source="raw"``
    verifies as raw, one downloaded ``source="auto"`` as it came, and a folder
    holding both as both.

    The files on disk decide first because they show what is there now. The
    download's record (``.ursa/objects.jsonl``) is less reliable for this:
    downloads into one folder merge into it and it never forgets a path, so it
    can still list an asset that a later download replaced with raw segments;
    and ``related=False`` writes none. It decides only when the folder holds no
    file of either way (all deleted); without it, what ``source="auto"``
    delivers is expected. Either way those files are named missing, never
    passed over.
    """
    from ..delivery._plan import _auto

    ways: dict[Kind, dict[Path, tuple[int, str, str]]] = {}
    if mod.storage_uri is not None and (asset := _planned(planner, mod, "processed")):
        ways["processed"] = asset
    if planner.raw is None:
        planner = _with_raw_if_needed(planner, mod, present | recorded, raw, ways)
    if planner.raw is not None and (segments := _planned(planner, mod, "raw")):
        ways["raw"] = segments
    for evidence in (present, recorded):
        held = [files for files in ways.values() if evidence & files.keys()]
        if held:
            return {path: want for files in held for path, want in files.items()}
    return ways.get(_auto(mod), {})


def _planned(planner: _Planner, mod: Modality, kind: Kind) -> dict[Path, tuple[int, str, str]]:
    """``path → (size, sha256, origin)`` of the modality delivered as ``kind``; empty
    when the archive cannot deliver it that way (none of its files are expected)."""
    try:
        group = planner.group(mod, kind)
    except (ObjectNotFoundError, IncompleteRecordingError):
        return {}
    return {f.dest: (f.size, f.sha256, f.store.base_uri + f.key) for f in group.files}


def _with_raw_if_needed(
    planner: _Planner,
    mod: Modality,
    files: Set[Path],
    raw: _RawBucket,
    ways: dict[Kind, dict[Path, tuple[int, str, str]]],
) -> _Planner:
    """``planner`` with the raw bucket, unless the modality's folder (its files here
    or recorded) is its processed asset's alone (``ways``), or ``auto`` would
    deliver that and it holds nothing. A folder that holds some of the asset and
    other files too gets the raw bucket when its keys are there; without them,
    the other files are reported as unexpected, saying which keys would tell a
    raw segment."""
    from ..delivery._plan import _auto

    asset = ways.get("processed", {}).keys()
    folder = planner.folder(mod)
    mine = {path for path in files if folder in path.parents}
    if asset and mine <= asset and (mine or _auto(mod) == "processed"):
        return planner  # the processed asset alone: no raw segment to plan
    if not mine & asset:
        return replace(planner, raw=raw.open())  # raw segments, if anything: need their keys
    return replace(planner, raw=raw.open_for(folder))


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)
