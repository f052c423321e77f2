"""Clipped processed assets: the part of an asset in a time window, still openable in place.

* a Zarr of the window: the same group layout, attributes and codec, with
  ``intervals`` of the window's samples only (times stay session seconds);
* the events of the window, as a Lance table of the same schema;
* an MP4 cut at keyframes — from the keyframe at or before the window's start
  to the last frame before its end — remuxed (never re-encoded), faststart,
  with its frame index rebuilt beside it.

Each clip is cut into a hidden sibling folder and renamed into place, so a
failed clip leaves nothing behind. `download_window` cuts every clip of a
download before it moves any into place, and records each clip's asset, window
and files in ``DEST/.ursa/clips.jsonl`` (what ``existing="skip"`` and
`verify_download` go by).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._errors import InvalidValueError
from ..catalog import Modality
from ..processing._staging import remove_path
from ..store import zarr_store
from ._assets import AssetSource, Window
from ._query import QueryResult
from ._related import RELATED_DIR
from ._sampled import SampledLayout, sample_spans
from ._video import RangedFile

if TYPE_CHECKING:
    from ._download import DownloadProgress, _Reporter
    from ._plan import Existing, FolderName, Layout

__all__ = ["CLIPS_RECORD", "download_window", "read_clip_records", "write_clip"]

CLIPS_RECORD = f"{RELATED_DIR}/clips.jsonl"
"""Where, under a time-window download's root, the record of its clips lies."""


Written = Callable[[int], None]
"""Told, on the caller's thread, the bytes a clip has written so far, as it is cut."""


def _ignore(_: int) -> None:
    pass


def _stage_clip(
    source: AssetSource, row: Modality, window: Window, folder: Path, written: Written = _ignore
) -> Path:
    """Cut the window of ``row``'s processed asset into a new hidden folder in ``folder``
    (``.<name>.<id>.part/``, holding the clip and its sidecars); removed on failure.
    ``written`` hears how far the cut has got (bytes written into the folder)."""
    assert row.storage_uri is not None
    key = source.key_of(row.storage_uri).rstrip("/")
    name = key.rsplit("/", 1)[-1]
    what = f"modality {row.modality!r} of recording {row.recording_hash}"
    domain = row.domain_spans
    fmt = str(row.format)
    stage = folder / f".{name}.{uuid.uuid4().hex[:8]}.part"
    stage.mkdir(parents=True)
    try:
        if fmt == "zarr":
            _clip_zarr(source, key, window, stage / name, what, written)
        elif fmt == "lance":
            _clip_events(source, key, window, domain, stage, name, what)
        elif fmt == "mp4":
            _clip_mp4(source, key, window, domain, stage, name, what, written)
        else:
            raise _not_clippable(row)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def _not_clippable(row: Modality) -> Exception:
    from ._processed import NotProcessedError

    return NotProcessedError(
        f"modality {row.modality!r} of recording {row.recording_hash}: a {row.format} asset "
        "has no time axis to clip; leave it out (--modality) or drop the time window"
    )


@dataclass
class _MovedIn:
    """Clips moved from their hidden folder into place, with what they replaced kept
    aside (in ``stage/.replaced/``) until every clip of the download is in place."""

    stage: Path
    moved: list[Path] = field(default_factory=list)
    aside: list[tuple[Path, Path]] = field(default_factory=list)
    """(where it is kept, where it was) of each path replaced."""

    def undo(self) -> None:
        """Take the clips out again and put back what they replaced. What cannot be
        put back stays in the hidden folder, which is then kept: never the only copy
        of a clip removed."""
        for path in reversed(self.moved):
            remove_path(path)
        restored = True
        for kept, path in reversed(self.aside):
            try:
                kept.rename(path)
            except OSError:
                restored = False
        if restored:
            shutil.rmtree(self.stage, ignore_errors=True)

    def finish(self) -> None:
        """Drop what the clips replaced, and the hidden folder."""
        shutil.rmtree(self.stage)


def _move_in(stage: Path) -> _MovedIn:
    """Move what ``stage`` holds into its parent folder. What is there under the same
    names is moved aside into ``stage`` first (a rename, like the move in), so that
    a failure, here or in a later clip's move, can put it back (`_MovedIn.undo`)."""
    entries = sorted(stage.iterdir())
    aside = stage / ".replaced"
    aside.mkdir()
    done = _MovedIn(stage)
    try:
        for entry in entries:
            dest = stage.parent / entry.name
            if os.path.lexists(dest):
                dest.rename(aside / entry.name)
                done.aside.append((aside / entry.name, dest))
            entry.rename(dest)
            done.moved.append(dest)
    except BaseException:
        done.undo()
        raise
    return done


def write_clip(source: AssetSource, row: Modality, window: Window, folder: Path) -> list[Path]:
    """Write the window of ``row``'s processed asset into ``folder``; returns what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    done = _move_in(_stage_clip(source, row, window, folder))
    done.finish()
    return done.moved


CLIP_BLOCK_BYTES = 64 * 2**20
"""At most about this many bytes of samples are held in memory while a Zarr is
clipped: the window is copied in blocks of whole clip chunks, so a clip of hours
of many channels needs no more memory than one of a minute."""


def _clip_zarr(
    source: AssetSource, key: str, window: Window, dest: Path, what: str, written: Written
) -> None:
    import zarr

    group: Any = zarr.open_group(
        store=zarr_store(source.store, published=True), path=key, mode="r", zarr_format=3
    )
    array = group["data"]
    layout = SampledLayout.from_attrs(dict(array.attrs))
    window.check_overlaps(layout.domain, what)
    spans = sample_spans(layout, window)
    runs, offset = [], 0
    for start_s, a, b in spans:
        runs.append({"start_s": start_s, "sample_offset": offset, "n_samples": b - a})
        offset += b - a
    attrs = {**dict(array.attrs), "intervals": runs}
    attrs["time_origin_s"] = runs[0]["start_s"] if runs else float(window.start or 0.0)
    store = _counting(zarr.storage.LocalStore(dest))
    out = zarr.create_group(store, zarr_format=3, attributes=attrs)
    clip = out.create_array(
        "data",
        shape=(offset, array.shape[1]),
        chunks=(max(1, min(array.chunks[0], offset or 1)), array.shape[1]),
        dtype=array.dtype,
        compressors=array.compressors,
        fill_value=0,
        config={"write_empty_chunks": True},  # every chunk stored: a missing one is lost
        attributes=attrs,
        dimension_names=("time", "channel"),
    )
    step = int(clip.chunks[0])
    sample_bytes = max(1, int(array.shape[1]) * array.dtype.itemsize)
    block = step * max(1, CLIP_BLOCK_BYTES // (step * sample_bytes))
    try:
        for at in range(0, offset, block):
            clip[at : min(offset, at + block)] = _clip_samples(array, spans, at, at + block)
            written(store.written)
    except BaseException:
        store.stop()  # before the caller removes the clip's folder
        raise


def _clip_samples(
    array: Any, spans: list[tuple[float, int, int]], start: int, stop: int
) -> npt.NDArray[Any]:
    """Samples ``[start, stop)`` of the clip of ``spans`` (each ``(t0, a, b)`` the
    source's samples ``[a, b)``, the clip holding them one after another)."""
    parts, at = [], 0
    for _, a, b in spans:
        lo, hi = max(start, at), min(stop, at + b - a)
        if lo < hi:
            parts.append(np.asarray(array[a + lo - at : a + hi - at]))
        at += b - a
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


_STOP_WAIT_S = 10.0
"""How long an interrupted Zarr clip waits for the writes zarr has in flight."""


def _counting(store: Any) -> Any:
    """``store``, counting the bytes written through it (``.written``), and able to stop
    (``.stop()``): zarr writes on its own event loop, which an interrupt (Ctrl-C) of
    the waiting caller does not stop, so a clip's folder removed then would fill again
    with the chunks still being written."""
    from zarr.storage import WrapperStore

    class _Counting(WrapperStore[Any]):
        written = 0
        busy = 0
        stopped = False
        idle = threading.Condition()  # a write starts, or the store stops: never both at once

        async def set(self, key: str, value: Any) -> None:
            with self.idle:
                if self.stopped:
                    return  # the clip is being taken out: write nothing more
                self.busy += 1
            try:
                await self._store.set(key, value)
            finally:
                with self.idle:
                    self.busy -= 1
                    self.idle.notify_all()
            self.written += len(value)

        def stop(self) -> None:
            """Write nothing more, and wait (a while) for the writes in flight."""
            with self.idle:
                self.stopped = True
                self.idle.wait_for(lambda: self.busy == 0, timeout=_STOP_WAIT_S)

    return _Counting(store)


def _clip_events(
    source: AssetSource,
    key: str,
    window: Window,
    domain: list[tuple[float, float]],
    stage: Path,
    name: str,
    what: str,
) -> None:
    import lancedb
    from lancedb.index import BTree

    # No domain check: events span only from their first to their last event,
    # and a window without events is a clip of no events, not an error.
    rows = source.lance_rows(key, window.where("time")).sort_by("time")
    table = lancedb.connect(str(stage)).create_table(name.removesuffix(".lance"), data=rows)
    if rows.num_rows:
        table.create_index("time", config=BTree())


def _clip_mp4(
    source: AssetSource,
    key: str,
    window: Window,
    domain: list[tuple[float, float]],
    stage: Path,
    name: str,
    what: str,
    written: Written,
) -> None:
    import av
    import lancedb
    import pyarrow as pa

    window.check_overlaps(domain, what)
    index = source.lance_rows(key + ".lance").sort_by("pts")
    times = np.asarray(index.column("time_s").to_numpy())
    pts = np.asarray(index.column("pts").to_numpy(), dtype=np.int64)
    keys = np.asarray(index.column("keyframe").to_numpy(), dtype=bool)
    start = window.start if window.start is not None else times[0]
    end = window.end if window.end is not None else np.inf
    inside = np.flatnonzero((times >= start) & (times < end))
    if not len(inside):
        raise InvalidValueError(
            f"{what}: no video frame lies in the window [{start:g}, {end:g}) s; "
            "widen the window to hold at least one frame"
        )
    before = np.flatnonzero(keys[: inside[0] + 1])
    first_pts = int(pts[before[-1]]) if len(before) else int(pts[0])
    last_pts = int(pts[inside[-1]])
    with av.open(RangedFile(source.store, key), "r", format="mp4") as src:
        stream = src.streams.video[0]
        with av.open(
            str(stage / name), "w", format="mp4", options={"movflags": "+faststart"}
        ) as out:
            ostream = out.add_stream_from_template(stream)
            src.seek(first_pts, stream=stream, backward=True, any_frame=False)
            muxed = told = 0
            for packet in src.demux(stream):
                if packet.pts is None or packet.dts is None:
                    continue
                if packet.pts < first_pts:
                    continue
                if packet.pts > last_pts:
                    break
                packet.stream = ostream
                out.mux(packet)
                muxed += packet.size
                if muxed - told >= 2**20:
                    written(told := muxed)
    origin = float(times[0] - pts[0] * stream.time_base) if len(pts) else 0.0
    with av.open(str(stage / name), "r") as clip:
        vs = clip.streams.video[0]
        tb = Fraction(vs.time_base or 1)
        rows = sorted(
            (p.pts, p.dts, bool(p.is_keyframe), int(p.pos or 0), int(p.size))
            for p in clip.demux(vs)
            if p.size and p.pts is not None
        )
    seconds = [origin + float(r[0] * tb) for r in rows]
    segment = index.column("segment").to_pylist()
    by_time = {round(float(t), 6): s for t, s in zip(times.tolist(), segment, strict=True)}
    table = pa.table(
        {
            "frame": list(range(len(rows))),
            "pts": [r[0] for r in rows],
            "dts": [r[1] for r in rows],
            "time_s": seconds,
            "keyframe": [r[2] for r in rows],
            "byte_offset": [r[3] for r in rows],
            "size": [r[4] for r in rows],
            "segment": [by_time.get(round(t, 6), "") for t in seconds],
        },
        schema=index.schema,
    )
    lancedb.connect(str(stage)).create_table(name, data=table)


@dataclass(slots=True)
class _Clip:
    """One asset of a time-window download: where its clip goes, and what is done."""

    row: Modality
    folder: Path
    target: Path
    rel: str
    """``target`` relative to the download's root: the key of its record."""
    keep: bool = False
    stage: Path | None = None
    record: dict[str, Any] | None = None
    cut_from: int = 0
    """The download's ``bytes_done`` when this clip's cut began."""


def _cut(report: _Reporter, clip: _Clip) -> Written:
    """What tells ``report`` how far ``clip``'s cut has got: a ``cutting`` event for
    each step, with the bytes written so far in this download."""
    clip.cut_from = report.bytes_done

    def written(n: int) -> None:
        report.bytes_done = clip.cut_from + n
        report.emit("cutting", clip.row)

    return written


def read_clip_records(root: Path) -> dict[str, dict[str, Any]]:
    """The record of the clips a time-window download wrote into ``root``, by each
    clip's path under it (empty when there is none)."""
    path = root / CLIPS_RECORD
    if not path.exists():
        return {}
    records = (json.loads(line) for line in path.read_text().splitlines() if line)
    return {r["_key"]: r for r in records}


def _holds(root: Path, record: dict[str, Any] | None, row: Modality, window: Window) -> bool:
    """Whether ``record`` says the clip is of ``row``'s asset in ``window`` and each of its
    files is still there at the size it was written."""
    if record is None or record.get("storage_uri") != row.storage_uri:
        return False
    if record.get("window") != [window.start, window.end] or not record.get("files"):
        return False
    for entry in record["files"]:
        path = root / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return False
    return True


def _record(root: Path, clip: _Clip, window: Window) -> dict[str, Any]:
    """The record of a staged clip: its asset, its window, and each of its files (the
    path it will have, size, sha256)."""
    assert clip.stage is not None
    files = []
    for path in sorted(p for p in clip.stage.rglob("*") if p.is_file()):
        with open(path, "rb") as handle:
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
        final = clip.folder / path.relative_to(clip.stage)
        files.append(
            {
                "path": final.relative_to(root).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha,
            }
        )
    return {
        "_key": clip.rel,
        "path": clip.rel,
        "recording_hash": clip.row.recording_hash,
        "modality": clip.row.modality,
        "storage_uri": clip.row.storage_uri,
        "window": [window.start, window.end],
        "files": files,
    }


def _kept_paths(root: Path, clip: _Clip) -> list[Path]:
    """The paths a kept clip holds in its folder (the asset and its sidecars)."""
    assert clip.record is not None
    tops = {
        clip.folder / (root / e["path"]).relative_to(clip.folder).parts[0]
        for e in clip.record["files"]
    }
    return sorted(tops)


def _created_by_us(root: Path, folders: list[Path]) -> list[Path]:
    """The outermost of the folders between ``root`` (itself included) and each of
    ``folders`` that do not exist yet: what removing undoes every folder this call makes."""
    missing = set()
    for folder in folders:
        outermost = None
        for path in (folder, *folder.parents):
            if path.exists():
                break
            outermost = path
            if path == root:
                break
        if outermost is not None:
            missing.add(outermost)
    return sorted(p for p in missing if not any(q in missing for q in p.parents))


def _update_records(root: Path, drop: set[str], add: dict[str, dict[str, Any]]) -> None:
    """Take the clips ``drop`` out of the record of ``root``'s clips and put ``add`` in,
    re-read under its lock: the clips another window download into the same folder
    recorded meanwhile are kept."""
    from ._related import _write_jsonl, updating

    path = root / CLIPS_RECORD
    with updating(path):
        records = {rel: r for rel, r in read_clip_records(root).items() if rel not in drop}
        records.update(add)
        _write_jsonl(path, records)


def _restore_record(path: Path, records: dict[str, dict[str, Any]] | None) -> None:
    """Write ``records`` back as the clips' record, or with None remove a record this
    call made (and its folder, if empty)."""
    from ._related import _write_jsonl

    if records is not None:
        _write_jsonl(path, records)
        return
    path.unlink(missing_ok=True)
    path.with_name(f".{path.name}.lock").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def download_window(
    results: list[QueryResult],
    dest: str | os.PathLike[str],
    window: Window,
    *,
    source: AssetSource,
    layout: Layout = "by_recording",
    existing: Existing = "error",
    recording_folder: FolderName,
    progress: Callable[[DownloadProgress], None] | None = None,
) -> list[Path]:
    """Clipped processed assets of every result in ``window``, under the download layouts.

    Every modality must be processed (raw segments have no time index). Like
    `download`, the whole plan is checked before anything is written: the window
    must be longer than zero and overlap each modality's time domain, and with
    ``existing="error"`` every destination already there is named in one
    `DestinationExistsError`. ``"overwrite"`` replaces every clip already there;
    ``"skip"`` keeps one only when the download's record (``.ursa/clips.jsonl``)
    says it holds the same asset in the same window, with its files at the sizes
    written, and replaces it otherwise. ``recording_folder`` names each
    recording's folder (see `folder_namer`).

    Every clip is cut into a hidden folder beside its destination first; only
    when all are cut are they moved into place, and then the record is written.
    A failure before that leaves the destination as it was: the hidden folders,
    and every folder this call created, are removed. A failure while moving in
    or writing the record puts back the clips replaced (kept aside until then)
    and their record.

    ``progress`` gets ``start`` and ``plan_done``; then, for each clip cut,
    ``modality_start`` and ``cutting`` events as it is cut (``bytes_done``
    counts the bytes written so far); once every clip is in place, for each
    clip a ``file_done`` per path returned (``skipped`` for a clip kept, whose
    bytes count then) and ``modality_done``; and finally ``finish``.
    ``bytes_total`` and ``files_total`` are known only once every clip is cut:
    they are None until the first ``file_done``.
    """
    from .._errors import DestinationExistsError, NotDeliverableError
    from ..catalog import IngestionStatus
    from ._download import _Reporter
    from ._plan import Existing, Layout, _base, _one_of, download_root

    report = _Reporter(progress)
    report.emit("start")
    _one_of("layout", layout, Layout)
    _one_of("existing", existing, Existing)
    if window.start is not None and window.start == window.end:
        raise InvalidValueError(
            f"nothing to download in a zero-length window ({window.start:g} to "
            f"{window.end:g} s): time_range must end after it starts"
        )
    root = download_root(dest)
    plan: list[_Clip] = []
    for result in results:
        for name, row in result.modalities.items():
            if row.ingestion_status is not IngestionStatus.PROCESSED or row.storage_uri is None:
                raise NotDeliverableError(
                    f"modality {name!r} of recording {row.recording_hash} is "
                    f"{row.ingestion_status.value}: a time window needs processed data "
                    "(query status='ingested', or drop time_range for raw segments)"
                )
            if str(row.format) not in ("zarr", "lance", "mp4"):
                raise _not_clippable(row)
            if str(row.format) != "lance":  # events span only their events: no domain
                domain = row.domain_spans
                window.check_overlaps(
                    domain, f"modality {name!r} of recording {row.recording_hash}"
                )
            folder = _base(root, layout, recording_folder(row), name)
            target = folder / source.key_of(row.storage_uri).rstrip("/").rsplit("/", 1)[-1]
            plan.append(_Clip(row, folder, target, target.relative_to(root).as_posix()))
    there = [str(c.target) for c in plan if os.path.lexists(c.target)]
    if there and existing == "error":
        raise DestinationExistsError(
            f"{len(there)} destination(s) already exist ({', '.join(there[:20])}); "
            "pass existing='overwrite', or existing='skip' to keep the clips of this window"
        )
    record_path = root / CLIPS_RECORD
    records = read_clip_records(root)
    # "skip" keeps a clip, or replaces a clip of another window: never what no time-window
    # download wrote (a whole asset, downloaded without one, or the user's own files).
    foreign = [str(c.target) for c in plan if c.rel not in records and os.path.lexists(c.target)]
    if foreign and existing == "skip":
        raise DestinationExistsError(
            f"{len(foreign)} destination(s) hold what no time-window download wrote here (a "
            f"whole asset downloaded without a window?): {', '.join(foreign[:20])}; download "
            "the window into another folder, or pass existing='overwrite' to replace them"
        )
    for clip in plan:
        record = records.get(clip.rel)
        if existing == "skip" and _holds(root, record, clip.row, window):
            clip.keep, clip.record = True, record
    todo = [c for c in plan if not c.keep]
    report.emit("plan_done")
    created = _created_by_us(root, [c.folder for c in todo])
    moved_in: list[_MovedIn] = []
    stale: set[str] = set()
    had_record = record_path.exists()
    try:
        for clip in todo:
            clip.folder.mkdir(parents=True, exist_ok=True)
            report.emit("modality_start", clip.row)
            clip.stage = _stage_clip(source, clip.row, window, clip.folder, _cut(report, clip))
            clip.record = _record(root, clip, window)
            report.bytes_done = clip.cut_from + sum(e["size"] for e in clip.record["files"])
            report.emit("cutting", clip.row)
        if todo:
            # The old records go first: a clip replaced is never recorded as what it was.
            stale = {c.rel for c in todo} & records.keys()
            if stale:
                _update_records(root, stale, {})
            for clip in todo:
                assert clip.stage is not None
                # From here the stage is _move_in's: on failure it keeps it if it holds
                # a replaced clip it could not put back.
                stage, clip.stage = clip.stage, None
                moved_in.append(_move_in(stage))
            ours = {c.rel: c.record for c in todo if c.record is not None}
            _update_records(root, stale, ours)
    except BaseException:
        for swap in reversed(moved_in):
            swap.undo()
        if moved_in or stale:  # what was there is back: so is its record, as it was
            with contextlib.suppress(OSError):
                _restore_record(record_path, records if had_record else None)
        for clip in todo:
            if clip.stage is not None:
                shutil.rmtree(clip.stage, ignore_errors=True)
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
        raise
    for swap in moved_in:
        swap.finish()
    done = [(clip, path) for clip in plan for path in _kept_paths(root, clip)]
    sizes = {
        e["path"]: int(e["size"]) for c in plan if c.record is not None for e in c.record["files"]
    }
    report.bytes_total, report.files_total = sum(sizes.values()), len(done)
    for n, (clip, path) in enumerate(done):
        if clip.keep:  # its bytes count now; a clip cut here counted them as it was cut
            prefix = path.relative_to(root).as_posix()
            report.bytes_done += sum(
                size for p, size in sizes.items() if p == prefix or p.startswith(prefix + "/")
            )
        report.files_done += 1
        report.emit("file_done", clip.row, path.relative_to(root).as_posix(), skipped=clip.keep)
        if n + 1 == len(done) or done[n + 1][0] is not clip:
            report.emit("modality_done", clip.row)
    report.emit("finish")
    return [path for _, path in done]
