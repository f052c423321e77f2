"""A time-window download: what it keeps, what it refuses, and what a failure leaves.

* each clipped download records, in ``DEST/.ursa/clips.jsonl``, the asset and
  the window every clip holds, with its files' sizes and sha256;
  ``existing="skip"`` keeps a clip only when that record says it is the same
  asset and the same window, and reports what it kept;
* a time-window dry run writes nothing: it is refused, naming what to drop;
* a zero-length window, or one outside a modality's domain, is refused before
  anything is written, and a failure while clipping leaves nothing this call
  created (what was there before stays as it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyedflib
import pytest
import zarr

from ursa_lib import DestinationExistsError, InvalidValueError
from ursa_lib.delivery import Window, WindowOutsideDomainError, _clip
from ursa_lib.processing import chunk_length
from ursa_lib.store import zarr_store

from .conftest import T0, Processed


@pytest.fixture
def recording(processed: Callable[..., Processed]) -> Processed:
    # 20 s of EEG, audio, events and video
    return processed("local", segments=2, segment_s=10, seed=101)


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too) with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _eeg_start(dest: Path) -> float:
    (clip,) = dest.glob("*/eeg/eeg.zarr")
    data = zarr.open_group(str(clip), mode="r")["data"]
    return float(data.attrs["intervals"][0]["start_s"])


def _download(recording: Processed, dest: Path, window: tuple[float, float], **kw: Any) -> Any:
    events: list[Any] = []
    paths = recording.ui.download(
        recording.result, dest, time_range=window, progress=events.append, **kw
    )
    phases = [e.phase for e in events]
    assert phases[:2] == ["start", "plan_done"]
    assert phases[-1] == "finish"
    assert phases.count("modality_done") == len(recording.result.modalities)
    skipped = sum(1 for e in events if e.phase == "file_done" and e.skipped)
    done = sum(1 for e in events if e.phase == "file_done")
    assert done == len(paths)
    return paths, skipped


def test_skip_keeps_a_clip_only_of_the_same_asset_and_window(
    recording: Processed, tmp_path: Path
) -> None:
    dest = tmp_path / "window"
    paths, skipped = _download(recording, dest, (10.0, 15.0))
    assert skipped == 0
    assert _eeg_start(dest) == 10.0

    # Another window: every clip is replaced, and reported written.
    paths, skipped = _download(recording, dest, (2.0, 5.0), existing="skip")
    assert skipped == 0
    assert _eeg_start(dest) == 2.0

    # The same window again: every clip is kept, untouched, and reported kept.
    before = _tree(dest)
    paths, skipped = _download(recording, dest, (2.0, 5.0), existing="skip")
    assert skipped == len(paths) > 0
    assert _tree(dest) == before

    # The record names each clip's asset and window, and its files as written.
    lines = (dest / ".ursa" / "clips.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    result = recording.result
    assert sorted(r["modality"] for r in records) == sorted(result.modalities)
    for record in records:
        assert record["storage_uri"] == result.modalities[record["modality"]].storage_uri
        assert record["window"] == [2.0, 5.0]
        assert record["files"]
        for entry in record["files"]:
            data = (dest / entry["path"]).read_bytes()
            assert entry["size"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    listed = {e["path"] for r in records for e in r["files"]}
    assert listed == {p for p in _tree(dest) if not p.startswith(".ursa/")}


def test_skip_replaces_a_clip_whose_files_changed_size(
    recording: Processed, tmp_path: Path
) -> None:
    dest = tmp_path / "window"
    _download(recording, dest, (10.0, 15.0))
    (video,) = dest.glob("*/camera/camera.mp4")
    video.write_bytes(b"truncated")
    _, skipped = _download(recording, dest, (10.0, 15.0), existing="skip")
    assert video.stat().st_size > len(b"truncated")
    assert skipped > 0  # the other clips were kept


def test_skip_never_replaces_a_whole_asset_with_a_clip(
    recording: Processed, tmp_path: Path
) -> None:
    dest = tmp_path / "mixed"
    recording.ui.download(recording.result, dest)  # the whole assets, no window
    before = _tree(dest)
    with pytest.raises(DestinationExistsError, match="already exist") as refused:
        recording.ui.download(recording.result, dest, time_range=(10.0, 15.0))
    assert "existing='skip' to keep the clips of this window" in str(refused.value)
    with pytest.raises(DestinationExistsError, match="hold what no time-window download wrote"):
        recording.ui.download(recording.result, dest, time_range=(10.0, 15.0), existing="skip")
    assert _tree(dest) == before
    assert recording.ui.verify(dest).ok


def test_a_window_dry_run_writes_nothing(recording: Processed, tmp_path: Path) -> None:
    dest = tmp_path / "window"
    with pytest.raises(InvalidValueError, match="cannot be planned ahead"):
        recording.ui.download(recording.result, dest, time_range=(10.0, 15.0), dry_run=True)
    assert not dest.exists()


@pytest.mark.parametrize(
    ("window", "error", "message"),
    [
        ((10.0, 10.0), InvalidValueError, "zero-length window"),
        ((60.0, 61.0), WindowOutsideDomainError, "outside its time domain"),
    ],
)
def test_a_refused_window_writes_nothing(
    recording: Processed,
    tmp_path: Path,
    window: tuple[float, float],
    error: type[Exception],
    message: str,
) -> None:
    dest = tmp_path / "window"
    with pytest.raises(error, match=message):
        recording.ui.download(recording.result, dest, time_range=window)
    assert not dest.exists()
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(error, match=message):
        recording.ui.download(recording.result, dest, time_range=window)
    assert _tree(dest) == {"notes.txt": b"mine"}


def test_a_failure_while_clipping_leaves_what_was_there(
    recording: Processed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "window"

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_clip, "_clip_mp4", broken)
    with pytest.raises(OSError, match="disk full"):
        recording.ui.download(recording.result, dest, time_range=(10.0, 15.0))
    assert not dest.exists()

    monkeypatch.undo()
    _download(recording, dest, (10.0, 15.0))
    before = _tree(dest)
    monkeypatch.setattr(_clip, "_clip_mp4", broken)
    for existing in ("overwrite", "skip"):
        with pytest.raises(OSError, match="disk full"):
            recording.ui.download(recording.result, dest, time_range=(2.0, 5.0), existing=existing)
        assert _tree(dest) == before


def test_a_failure_while_moving_clips_in_puts_back_what_they_replaced(
    recording: Processed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clips move into place one modality at a time (audio, camera, eeg, events). When
    the last one cannot, or the record cannot be written after them, the clips
    already moved in come out again and the ones they replaced, and their record, go
    back: the folder is as it was, hidden folders included. A replaced clip that
    cannot go back stays whole in the hidden folder, never removed."""
    dest = tmp_path / "window"
    _download(recording, dest, (10.0, 15.0))
    before = _tree(dest)
    rename = Path.rename

    def events_cannot_move_in(self: Path, target: Any) -> Path:
        if self.parent.name.startswith(".events.lance.") and self.parent.name.endswith(".part"):
            raise OSError("device busy")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", events_cannot_move_in)
    for existing in ("overwrite", "skip"):
        with pytest.raises(OSError, match="device busy"):
            recording.ui.download(recording.result, dest, time_range=(2.0, 5.0), existing=existing)
        assert _tree(dest) == before
        hidden = sorted(p.relative_to(dest).as_posix() for p in dest.rglob(".*"))
        assert hidden == [".ursa", ".ursa/.clips.jsonl.lock"]  # no clip left aside
    monkeypatch.undo()

    from ursa_lib.delivery import _related

    write_jsonl, calls = _related._write_jsonl, []

    def second_record_write_fails(path: Path, records: dict[str, Any]) -> None:
        calls.append(len(records))
        if len(calls) == 2:  # the record of the new clips, after they moved in
            raise OSError("disk full")
        write_jsonl(path, records)

    monkeypatch.setattr(_related, "_write_jsonl", second_record_write_fails)
    with pytest.raises(OSError, match="disk full"):
        recording.ui.download(recording.result, dest, time_range=(2.0, 5.0), existing="overwrite")
    assert len(calls) == 3  # the old records out, the new ones in (failed), the old ones back
    assert _tree(dest) == before
    monkeypatch.undo()
    assert recording.ui.verify(dest).ok

    # A clip that cannot be put back is never removed: it stays in the hidden folder.
    def nothing_goes_back(self: Path, target: Any) -> Path:
        if self.parent.name.startswith(".events.lance.") or self.parent.name == ".replaced":
            raise OSError("device busy")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", nothing_goes_back)
    with pytest.raises(OSError, match="device busy"):
        recording.ui.download(recording.result, dest, time_range=(2.0, 5.0), existing="overwrite")
    monkeypatch.undo()
    after = _tree(dest)
    for path, data in before.items():
        if path.split("/")[1] in ("audio", "camera", "eeg", "events"):
            inside = "/".join(path.split("/")[2:])  # under the modality's folder
            kept = [p for p in after if p.endswith(f"/.replaced/{inside}")]
            assert len(kept) == 1, (path, sorted(after))
            assert after[kept[0]] == data, path
            assert path not in after  # and the new clip came out again


def test_a_destination_that_is_a_file_is_refused_before_anything_is_written(
    recording: Processed, tmp_path: Path
) -> None:
    """Every download (processed, raw, planned, time window) names the file in the
    way; nothing is created beside or under it."""
    (tmp_path / "mine").mkdir()
    target = tmp_path / "mine" / "notes.txt"
    target.write_text("mine")
    calls: list[Callable[[Path], Any]] = [
        lambda dest: recording.ui.download(recording.result, dest),
        lambda dest: recording.ui.download(recording.result, dest, source="raw"),
        lambda dest: recording.ui.download(recording.result, dest, dry_run=True),
        lambda dest: recording.ui.download(recording.result, dest, time_range=(2.0, 5.0)),
    ]
    for call in calls:
        for dest in (target, target / "inside"):
            with pytest.raises(InvalidValueError, match=f"{target} is a file; a download goes"):
                call(dest)
    assert target.read_text() == "mine"
    assert sorted(p.name for p in target.parent.iterdir()) == ["notes.txt"]


def test_an_empty_destination_is_refused_not_taken_for_this_folder(
    recording: Processed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for kw in ({}, {"source": "raw"}, {"dry_run": True}, {"time_range": (2.0, 5.0)}):
        with pytest.raises(InvalidValueError, match="destination is empty"):
            recording.ui.download(recording.result, "", **kw)
        with pytest.raises(InvalidValueError, match="destination is a folder path"):
            recording.ui.download(recording.result, None, **kw)  # type: ignore[arg-type]
    assert list(here.iterdir()) == []


def test_verify_checks_a_window_download_against_its_clips(
    recording: Processed, tmp_path: Path
) -> None:
    dest = tmp_path / "window"
    _download(recording, dest, (10.0, 15.0))
    ui = recording.ui
    report = ui.verify(dest)
    assert report.ok, report.problems
    assert report.recordings == 1
    assert report.files_checked == len([p for p in _tree(dest) if not p.startswith(".")])

    (video,) = dest.glob("*/camera/camera.mp4")
    video.write_bytes(video.read_bytes()[:-1] + b"\0")  # same size, other bytes
    (events,) = dest.glob("*/events/events.lance")
    gone = next(p for p in events.rglob("*") if p.is_file())
    gone.unlink()
    (eeg,) = dest.glob("*/eeg/eeg.zarr")
    (eeg / "zarr.json").write_text("{}")
    (eeg.parent / "stray.txt").write_text("?")
    found = {(p.path, p.problem) for p in ui.verify(dest).problems}
    assert found == {
        (video, "sha256"),
        (gone, "missing"),
        (eeg / "zarr.json", "size"),
        (eeg.parent / "stray.txt", "unexpected"),
    }


def test_open_local_refuses_a_window_download_naming_why(
    recording: Processed, tmp_path: Path
) -> None:
    from ursa_lib import DataInterface

    dest = tmp_path / "window"
    _download(recording, dest, (10.0, 15.0))
    with pytest.raises(InvalidValueError, match="clipped downloads carry no catalog rows"):
        DataInterface.open_local(dest)


GAPPED_STARTS = (0, 65, 130)


def long_edf_with_gaps(session: Path) -> None:
    """Three 60 s EDF+ segments of 64 channels at 1 kHz starting at 0, 65 and 130 s."""
    from datetime import UTC, datetime, timedelta

    from pyedflib import highlevel

    start = datetime.fromtimestamp(T0 / 1e9, tz=UTC).replace(tzinfo=None)
    worker = session / "eeg_0"
    worker.mkdir()
    rng = np.random.default_rng(5)
    for seg, offset_s in enumerate(GAPPED_STARTS):
        headers = highlevel.make_signal_headers(
            [f"E{c}" for c in range(64)], dimension="uV", sample_frequency=1000,
            physical_min=-500, physical_max=500, digital_min=-32768, digital_max=32767,
        )  # fmt: skip
        header = highlevel.make_header(startdate=start + timedelta(seconds=offset_s))
        digital = rng.integers(-30000, 30000, size=(64, 60_000)).astype(np.int32)
        highlevel.write_edf(
            str(worker / f"seg_{seg:05d}.edf"), list(digital), headers, header, digital=True
        )


LONG_WINDOW = (5.0, 185.0)
"""Across both gaps of `long_edf_with_gaps`: 170 s of samples, 21.8 MB."""
CHUNK = chunk_length(1000.0, 64, 2)
"""Samples per chunk of its 64-channel 1 kHz EEG."""


@pytest.fixture
def long_eeg(processed: Callable[..., Processed], monkeypatch: pytest.MonkeyPatch) -> Processed:
    recording = processed(
        segments=1, segment_s=10, eeg=False, audio=False, video=False, events=False,
        prepare=long_edf_with_gaps,
    )  # fmt: skip
    source = recording.ui.asset_source()
    key = source.key_of(recording.result.modalities["eeg"].storage_uri or "")
    eeg = zarr.open_array(store=zarr_store(source.store), path=f"{key}/data", mode="r")
    assert eeg.chunks == (CHUNK, 64)  # 5 s: the window's clip has 34 chunks
    # Blocks of 1.5 chunks' bytes, so one chunk at a time, and blocks that cross
    # the gaps of the window (its runs are 55, 60 and 55 s long).
    monkeypatch.setattr(_clip, "CLIP_BLOCK_BYTES", CHUNK * 3 // 2 * 64 * 2)
    return recording


def _reference(session: Path, window: tuple[float, float]) -> np.ndarray:
    """The samples of ``window`` as pyedflib reads them from the segments."""
    parts = []
    for seg, offset_s in enumerate(GAPPED_STARTS):
        lo = max(0, round((window[0] - offset_s) * 1000))
        hi = min(60_000, round((window[1] - offset_s) * 1000))
        if lo < hi:
            with pyedflib.EdfReader(str(session / "eeg_0" / f"seg_{seg:05d}.edf")) as reader:
                signals = [reader.readSignal(c, lo, hi - lo, digital=True) for c in range(64)]
            parts.append(np.stack(signals, 1))
    return np.concatenate(parts)


def _clip_samples(path: Path) -> np.ndarray:
    return np.asarray(zarr.open_group(str(path), mode="r")["data"][:])


def test_a_long_zarr_clip_is_cut_block_by_block_in_bounded_memory(
    long_eeg: Processed, tmp_path: Path
) -> None:
    expected = _reference(long_eeg.session, LONG_WINDOW)
    assert expected.shape == (170_000, 64)
    row = long_eeg.result.modalities["eeg"]
    tracemalloc.start()
    try:
        _clip.write_clip(long_eeg.ui.asset_source(), row, Window(*LONG_WINDOW), tmp_path / "eeg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole window read at once held all of it (21.8 MB, and more); block by
    # block, a few chunks (0.64 MB each) at most: those read, decoded and written.
    assert peak < 6 * CHUNK * 64 * 2, peak
    clip = zarr.open_group(str(tmp_path / "eeg" / "eeg.zarr"), mode="r")["data"]
    assert np.array_equal(clip[:], expected)
    assert [
        (i["start_s"], i["sample_offset"], i["n_samples"]) for i in clip.attrs["intervals"]
    ] == [
        (5.0, 0, 55_000),
        (65.0, 55_000, 60_000),
        (130.0, 115_000, 55_000),
    ]


def test_a_window_download_reports_each_clip_as_it_is_cut(
    long_eeg: Processed, tmp_path: Path
) -> None:
    dest = tmp_path / "window"
    events: list[Any] = []
    paths = long_eeg.ui.download(
        long_eeg.result, dest, time_range=LONG_WINDOW, progress=events.append
    )
    phases = [e.phase for e in events]
    # One event per block (one per chunk), and one when the clip is whole.
    blocks = -(-170_000 // CHUNK)
    assert phases == [
        "start", "plan_done", "modality_start", *["cutting"] * (blocks + 1), "file_done",
        "modality_done", "finish",
    ]  # fmt: skip
    sizes = [e.bytes_done for e in events]
    assert sizes == sorted(sizes)
    written = sum(p.stat().st_size for path in paths for p in path.rglob("*") if p.is_file())
    assert sizes[-1] == written > 0
    first_done = phases.index("file_done")
    assert all(e.bytes_total is None for e in events[:first_done])
    done = events[first_done]
    assert (done.bytes_total, done.files_done, done.files_total) == (written, 1, 1)
    assert (done.key, done.modality, done.skipped) == (
        paths[0].relative_to(dest.resolve()).as_posix(), "eeg", False,
    )  # fmt: skip
    assert np.array_equal(_clip_samples(paths[0]), _reference(long_eeg.session, LONG_WINDOW))

    # Kept again: nothing is cut, and the kept clip's bytes count at its file_done.
    events.clear()
    long_eeg.ui.download(
        long_eeg.result, dest, time_range=LONG_WINDOW, existing="skip", progress=events.append
    )
    assert [e.phase for e in events] == [
        "start", "plan_done", "file_done", "modality_done", "finish",
    ]  # fmt: skip
    kept = events[2]
    assert (kept.skipped, kept.bytes_done, kept.bytes_total) == (True, written, written)


def test_an_interrupted_zarr_clip_leaves_no_hidden_folder_behind(
    long_eeg: Processed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zarr writes chunks on its own event loop, which Ctrl-C in the waiting thread
    # does not stop: slowed down here, a write is in flight when the interrupt comes.
    # The interrupt comes with the clip's first chunk write (a timer raced a fast
    # machine: the clip could be written before it fired).
    written = zarr.storage.LocalStore.set
    interrupted = threading.Event()

    async def slow(self: Any, key: str, value: Any) -> None:
        if "/c/" in key and not interrupted.is_set():
            interrupted.set()
            os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        await written(self, key, value)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", slow)
    dest = tmp_path / "window"
    # Ctrl-C as a terminal sends it, whatever handler an earlier test left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            long_eeg.ui.download(long_eeg.result, dest, time_range=LONG_WINDOW)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert interrupted.is_set()
    time.sleep(0.5)  # what zarr had in flight would have landed by now
    assert not dest.exists() or _tree(dest) == {}


def test_window_downloads_into_one_folder_at_once_keep_each_others_clips(
    processed: Callable[..., Processed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = processed(segments=1, segment_s=6, video=False, seed=7)
    second = processed(segments=1, segment_s=6, video=False, seed=8)
    # Both read the record before either writes it: the race, made certain.
    read = _clip.read_clip_records
    both_read = threading.Barrier(2, timeout=10)

    planned: set[str] = set()

    def read_then_wait(root: Path) -> dict[str, Any]:
        records = read(root)
        name = threading.current_thread().name
        if name.startswith("window-") and name not in planned:  # its first read: the plan
            planned.add(name)
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()
        return records

    monkeypatch.setattr(_clip, "read_clip_records", read_then_wait)
    dest, failures = tmp_path / "shared", []

    def download(recording: Processed) -> None:
        try:
            recording.ui.download(recording.result, dest, time_range=(1.0, 4.0))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [
        threading.Thread(target=download, args=(r,), name=f"window-{i}")
        for i, r in enumerate((first, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    monkeypatch.undo()
    records = _clip.read_clip_records(dest.resolve())
    assert {r["recording_hash"] for r in records.values()} == {
        first.recording_hash, second.recording_hash,
    }  # fmt: skip
    assert len(records) == 6  # eeg, audio and events of each
    assert first.ui.verify(dest).ok
