"""Clipped processed assets: the part of an asset in a time window, still openable in place.

* a Zarr of the window: the same group layout, attributes and codec, with
  ``intervals`` of the window's samples only (times stay session seconds);
* the events of the window, as a Lance table of the same schema;
* an MP4 cut at keyframes — from the keyframe at or before the window's start
  to the last frame before its end — remuxed (never re-encoded), faststart,
  with its frame index rebuilt beside it.

Each clip is written into a hidden sibling folder and renamed into place, so a
failed clip leaves nothing behind.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import Modality
from ..store import zarr_store
from ._assets import AssetSource, Window
from ._query import QueryResult
from ._sampled import SampledLayout, sample_spans
from ._video import RangedFile

if TYPE_CHECKING:
    from ._plan import Existing, FolderName, Layout

__all__ = ["download_window", "write_clip"]


@contextmanager
def _staged(dest: Path) -> Iterator[Path]:
    """A hidden folder beside ``dest`` whose content replaces ``dest`` on success."""
    stage = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.part"
    stage.mkdir(parents=True)
    try:
        yield stage
        target = stage / dest.name
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        target.rename(dest)
        for extra in stage.iterdir():  # sidecars (a video's index)
            sidecar = dest.parent / extra.name
            if sidecar.exists():
                shutil.rmtree(sidecar) if sidecar.is_dir() else sidecar.unlink()
            extra.rename(sidecar)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_clip(source: AssetSource, row: Modality, window: Window, folder: Path) -> list[Path]:
    """Write the window of ``row``'s processed asset into ``folder``; returns what was written."""
    assert row.storage_uri is not None
    key = source.key_of(row.storage_uri).rstrip("/")
    name = key.rsplit("/", 1)[-1]
    what = f"modality {row.modality!r} of recording {row.recording_hash}"
    domain = [(i.start, i.end) for i in row.domain_intervals]
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    fmt = str(row.format)
    with _staged(dest) as stage:
        if fmt == "zarr":
            _clip_zarr(source, key, window, stage / name, what)
        elif fmt == "lance":
            _clip_events(source, key, window, domain, stage, name, what)
        elif fmt == "mp4":
            _clip_mp4(source, key, window, domain, stage, name, what)
        else:
            from ._processed import NotProcessedError

            raise NotProcessedError(f"{what}: a {fmt} asset has no time axis to clip")
    return sorted(p for p in folder.iterdir() if p.name.startswith(name))


def _clip_zarr(source: AssetSource, key: str, window: Window, dest: Path, what: str) -> None:
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
    out = zarr.create_group(zarr.storage.LocalStore(dest), zarr_format=3, attributes=attrs)
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
    at = 0
    for _, a, b in spans:
        clip[at : at + b - a] = np.asarray(array[a:b])
        at += b - a


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
    query = source.open_lance(key).search()
    where = window.where("time")
    if where:
        query = query.where(where)
    rows = query.limit(None).to_arrow().sort_by("time")
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
) -> None:
    import av
    import lancedb
    import pyarrow as pa

    window.check_overlaps(domain, what)
    index = source.open_lance(key + ".lance").search().limit(None).to_arrow().sort_by("pts")
    times = np.asarray(index.column("time_s").to_numpy())
    pts = np.asarray(index.column("pts").to_numpy(), dtype=np.int64)
    keys = np.asarray(index.column("keyframe").to_numpy(), dtype=bool)
    start = window.start if window.start is not None else times[0]
    end = window.end if window.end is not None else np.inf
    inside = np.flatnonzero((times >= start) & (times < end))
    if not len(inside):
        first_pts = last_pts = None
    else:
        before = np.flatnonzero(keys[: inside[0] + 1])
        first_pts = int(pts[before[-1]]) if len(before) else int(pts[0])
        last_pts = int(pts[inside[-1]])
    with av.open(RangedFile(source.store, key), "r", format="mp4") as src:
        stream = src.streams.video[0]
        with av.open(
            str(stage / name), "w", format="mp4", options={"movflags": "+faststart"}
        ) as out:
            ostream = out.add_stream_from_template(stream)
            if first_pts is not None and last_pts is not None:
                src.seek(first_pts, stream=stream, backward=True, any_frame=False)
                for packet in src.demux(stream):
                    if packet.pts is None or packet.dts is None:
                        continue
                    if packet.pts < first_pts:
                        continue
                    if packet.pts > last_pts:
                        break
                    packet.stream = ostream
                    out.mux(packet)
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


def download_window(
    results: list[QueryResult],
    dest: Path,
    window: Window,
    *,
    source: AssetSource,
    layout: Layout = "by_recording",
    existing: Existing = "error",
    recording_folder: FolderName,
) -> list[Path]:
    """Clipped processed assets of every result in ``window``, under the download layouts.

    Every modality must be processed (raw segments have no time index). Like
    `download`, the whole plan is checked before anything is written: with
    ``existing="error"`` every destination already there is named in one
    `DestinationExistsError`; ``"overwrite"`` and ``"skip"`` replace or keep it.
    ``recording_folder`` names each recording's folder (see `folder_namer`).
    """
    from .._errors import DestinationExistsError, NotDeliverableError
    from ..catalog import IngestionStatus
    from ._plan import Existing, Layout, _base, _one_of

    _one_of("layout", layout, Layout)
    _one_of("existing", existing, Existing)
    plan = []
    for result in results:
        for name, row in result.modalities.items():
            if row.ingestion_status is not IngestionStatus.PROCESSED or row.storage_uri is None:
                raise NotDeliverableError(
                    f"modality {name!r} of recording {row.recording_hash} is "
                    f"{row.ingestion_status.value}: a time window needs processed data "
                    "(query status='ingested', or drop time_range for raw segments)"
                )
            recording = recording_folder(row)
            folder = _base(Path(dest), layout, recording, name)
            target = folder / source.key_of(row.storage_uri).rstrip("/").rsplit("/", 1)[-1]
            plan.append((row, folder, target))
    there = [str(t) for _, _, t in plan if t.exists()]
    if there and existing == "error":
        raise DestinationExistsError(
            f"{len(there)} destination(s) already exist ({', '.join(there[:20])}); "
            "pass existing='overwrite' (CLI: --existing overwrite) or 'skip'"
        )
    written: list[Path] = []
    for row, folder, target in plan:
        if existing == "skip" and target.exists():
            written.append(target)
            continue
        written.extend(write_clip(source, row, window, folder))
    return written
