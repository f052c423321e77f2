"""download() and materialize(): every promise of SPEC §7, on the local profile."""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest

from ursa_lib import (
    ChecksumMismatchError,
    DownloadProgress,
    ObjectNotFoundError,
    QueryResult,
    WritesNotEnabledError,
    open_store,
)
from ursa_lib._layout import AssetKey
from ursa_lib.catalog import Catalog
from ursa_lib.lifecycle._verify import _Folders, _RawBucket
from ursa_lib.testing import Lab, build_lab, participant, publish_asset, write_session


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return build_lab(tmp_path)


def raw_files(lab: Lab, rec_id: str, worker: str) -> dict[str, bytes]:
    folder = lab.rigs / rec_id / worker
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def one(lab: Lab, rec_id: str, **filters: object) -> QueryResult:
    results = lab.ursa.query(status="all", recording_hash=lab.hashes[rec_id], **filters)
    assert len(results) == 1
    return results[0]


def test_layouts_and_order(lab: Lab, tmp_path: Path) -> None:
    results = lab.ursa.query(status="raw", participants="p1")
    h_a, h_b = lab.hashes["rec_a"], lab.hashes["rec_b"]
    paths = lab.ursa.download(results, tmp_path / "by_rec")
    rel = [p.relative_to(tmp_path / "by_rec").as_posix() for p in paths]
    assert rel == [
        f"{h_a}/events/seg_00000.bin",
        f"{h_b}/camera/seg_00000.bin",
        f"{h_b}/camera/seg_00001.bin",
        f"{h_b}/eeg/seg_00000.bin",
    ]
    for path in paths:  # verbatim bytes
        worker = {"events": "events_0", "camera": "camera_0", "eeg": "eeg_0"}[path.parent.name]
        rec = "rec_a" if h_a in str(path) else "rec_b"
        assert path.read_bytes() == raw_files(lab, rec, worker)[path.name]
    by_mod = lab.ursa.download(results, tmp_path / "by_mod", layout="by_modality")
    assert by_mod[0] == tmp_path / "by_mod" / "events" / h_a / "seg_00000.bin"
    flat = lab.ursa.download(results, tmp_path / "flat", layout="flat")
    assert flat[1] == tmp_path / "flat" / f"{h_b}__camera" / "seg_00000.bin"
    assert not list(tmp_path.rglob("*.part"))


def test_processed_assets_keep_their_basename(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_a", modalities="eeg")
    paths = lab.ursa.download(result, tmp_path / "out")
    base = tmp_path / "out" / lab.hashes["rec_a"] / "eeg" / "eeg.zarr"
    assert paths == [base / "c" / "0", base / "zarr.json"]
    raw = lab.ursa.download(result, tmp_path / "raw", source="raw")
    assert [p.name for p in raw] == ["seg_00000.bin", "seg_00001.bin", "seg_00002.bin"]
    with pytest.raises(ValueError, match="source='processed' but modality 'events'"):
        lab.ursa.download(one(lab, "rec_a"), tmp_path / "p", source="processed")
    assert not (tmp_path / "p").exists()  # refused while planning: nothing written


def test_rows_being_processed_or_failed_are_refused(lab: Lab, tmp_path: Path) -> None:
    catalog = Catalog.open(lab.profile, writable=True)
    catalog.start_ingesting(lab.hashes["rec_c"], "audio")
    for source in ("auto", "raw", "processed"):
        with pytest.raises(ValueError, match="is ingesting"):
            lab.ursa.download(one(lab, "rec_c"), tmp_path / "x", source=source)  # type: ignore[arg-type]


def test_flat_refuses_double_underscores(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_c")
    renamed = result.model_copy(
        update={
            "modalities": {"a__b": result.modalities["eeg"].model_copy(update={"modality": "a__b"})}
        }
    )
    with pytest.raises(ValueError, match="contains '__'"):
        lab.ursa.download(renamed, tmp_path / "flat", layout="flat")


def test_two_writes_to_one_destination_are_refused(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_c")
    with pytest.raises(ValueError, match="two objects would be written to"):
        lab.ursa.download([result, result], tmp_path / "dup")
    assert not (tmp_path / "dup").exists()


def test_existing_files_are_all_named_before_any_transfer(lab: Lab, tmp_path: Path) -> None:
    results = lab.ursa.query(status="raw")
    dest = tmp_path / "out"
    paths = lab.ursa.download(results, dest)
    for path in paths[:3]:
        path.write_bytes(b"mine")
    for path in paths[3:]:
        path.unlink()
    with pytest.raises(FileExistsError) as caught:
        lab.ursa.download(results, dest)
    assert "3 destination file(s) already exist" in str(caught.value)
    assert all(str(p) in str(caught.value) for p in paths[:3])
    assert not any(p.exists() for p in paths[3:])  # no I/O happened
    assert paths[0].read_bytes() == b"mine"


def test_skip_keeps_identical_files_and_replaces_the_rest(lab: Lab, tmp_path: Path) -> None:
    results = lab.ursa.query(status="raw")
    dest = tmp_path / "out"
    paths = lab.ursa.download(results, dest)
    paths[0].write_bytes(b"x" * paths[0].stat().st_size)  # same size, other bytes
    paths[1].unlink()
    kept = paths[2].stat().st_mtime_ns
    events: list[DownloadProgress] = []
    again = lab.ursa.download(results, dest, existing="skip", progress=events.append)
    assert again == paths
    assert paths[2].stat().st_mtime_ns == kept
    done = {e.key.rsplit("/", 1)[-1] + e.modality: e.skipped for e in events if e.key}  # type: ignore[operator]
    assert sum(not s for s in done.values()) == 2  # the changed one and the missing one
    first = one(lab, "rec_a", modalities="events")
    assert paths[0].read_bytes() == raw_files(lab, "rec_a", "events_0")["seg_00000.bin"]
    assert first.rec_id == "rec_a"
    with pytest.raises(ValueError, match="contradicts"):
        lab.ursa.download(results, dest, overwrite=True, existing="skip")


def test_an_empty_prefix_is_a_file_not_found(lab: Lab, tmp_path: Path) -> None:
    raw = open_store(lab.profile, "raw_rw")
    result = one(lab, "rec_c", modalities="audio")
    prefix = result.modalities["audio"].raw_storage_uri.removeprefix(raw.base_uri)
    for info in list(raw.list(prefix)):
        raw.delete(info.key)
    with pytest.raises(FileNotFoundError, match=r"recordings/rec_c/audio_0/ lists no objects"):
        lab.ursa.download(result, tmp_path / "out")


def test_corrupt_object_never_reaches_the_canonical_path(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_c", modalities="eeg")
    dest = tmp_path / "out"
    paths = lab.ursa.download(result, dest)
    old = paths[1].read_bytes()
    # Bit rot in the bucket: same size, other bytes, metadata untouched.
    stored = lab.profile.bucket_path("raw") / "recordings" / "rec_c" / "eeg_0" / "seg_00001.bin"
    stored.write_bytes(b"\xff" * stored.stat().st_size)
    with pytest.raises(ChecksumMismatchError, match=r"seg_00001\.bin is corrupt"):
        lab.ursa.download(result, dest, overwrite=True)
    assert paths[1].read_bytes() == old  # the old file is intact
    assert not list(dest.rglob("*.part"))
    paths[1].unlink()
    with pytest.raises(ChecksumMismatchError):
        lab.ursa.download(result, dest, existing="skip")
    assert not paths[1].exists()


def test_symlinks_never_lead_outside_dest(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_c", modalities="eeg")
    h = lab.hashes["rec_c"]
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    (dest / h).mkdir(parents=True)
    (dest / h / "eeg").symlink_to(outside)  # a planted parent directory
    with pytest.raises(ValueError, match="is a symbolic link"):
        lab.ursa.download(result, dest)
    assert list(outside.iterdir()) == []
    (dest / h / "eeg").unlink()
    (dest / h / "eeg").mkdir()
    (dest / h / "eeg" / "seg_00000.bin").symlink_to(outside / "victim")  # a planted file
    with pytest.raises(ValueError, match="is a symbolic link"):
        lab.ursa.download(result, dest, overwrite=True)
    assert list(outside.iterdir()) == []
    # dest itself may be a link the user chose.
    (dest / h / "eeg" / "seg_00000.bin").unlink()
    alias = tmp_path / "alias"
    alias.symlink_to(dest)
    assert len(lab.ursa.download(result, alias, overwrite=True)) == 2


def test_progress_events_logger_and_broken_callbacks(
    lab: Lab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    results = lab.ursa.query(status="raw", participants="p1")
    events: list[DownloadProgress] = []
    threads = set()

    def callback(event: DownloadProgress) -> None:
        threads.add(threading.get_ident())
        events.append(event)
        if event.phase == "file_done":
            raise RuntimeError("progress bar crashed")

    with caplog.at_level(logging.DEBUG, logger="ursa.download"):
        paths = lab.ursa.download(results, tmp_path / "out", progress=callback)
    assert threads == {threading.get_ident()}
    assert [e.phase for e in events] == [
        "start",
        "plan_done",
        "modality_start",
        "file_done",
        "modality_done",
        "modality_start",
        "file_done",
        "file_done",
        "modality_done",
        "modality_start",
        "file_done",
        "modality_done",
        "finish",
    ]
    done = [e.bytes_done for e in events]
    assert done == sorted(done)
    assert events[-1].bytes_done == events[1].bytes_total == sum(p.stat().st_size for p in paths)
    assert events[-1].files_done == events[-1].files_total == 4
    assert all(e.worker_id is None for e in events if e.phase in ("start", "plan_done", "finish"))
    assert all(e.worker_id == "0" for e in events if e.modality)
    records = [r for r in caplog.records if r.name == "ursa.download"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert all("progress bar crashed" in r.callback_error for r in warnings)  # type: ignore[attr-defined]
    phases = [(r.levelname, r.phase) for r in records if r.levelno != logging.WARNING]  # type: ignore[attr-defined]
    assert phases[0] == ("INFO", "start")
    assert ("DEBUG", "file_done") in phases
    assert {lvl for lvl, ph in phases if ph != "file_done"} == {"INFO"}
    for record in records:
        for key in ("phase", "recording_hash", "modality", "worker_id", "key", "bytes_done"):
            assert hasattr(record, key)
        assert hasattr(record, "bytes_total")
        assert hasattr(record, "elapsed_s")


def test_interrupt_from_the_callback_stops_the_download(lab: Lab, tmp_path: Path) -> None:
    def stop(event: DownloadProgress) -> None:
        if event.phase == "file_done":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lab.ursa.download(lab.ursa.query(status="raw"), tmp_path / "out", progress=stop)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_materialize_raw_segments(lab: Lab) -> None:
    result = one(lab, "rec_c")
    data = lab.ursa.materialize(result)
    assert list(data) == ["audio", "eeg"]
    assert [k.rsplit("/", 1)[-1] for k, _ in data["eeg"]] == ["seg_00000.bin", "seg_00001.bin"]
    assert [b for _, b in data["eeg"]] == list(raw_files(lab, "rec_c", "eeg_0").values())
    assert data["eeg"].modality == result.modalities["eeg"]
    both = lab.ursa.materialize(lab.ursa.query(status="raw", modalities="eeg", participants="p1"))
    assert len(both["eeg"].segments) == 1  # only rec_b's eeg is raw
    with pytest.raises(ValueError, match="modality sets align"):
        lab.ursa.materialize(lab.ursa.query(status="raw", participants="p1"))
    # The lab's processed row has no asset behind it: a processed read says so.
    with pytest.raises(ObjectNotFoundError, match="not in the assets bucket"):
        lab.ursa.materialize(one(lab, "rec_a", modalities="eeg"))
    processed_raw = lab.ursa.materialize(one(lab, "rec_a", modalities="eeg"), source="raw")
    assert hashlib.sha256(processed_raw["eeg"].segments[0][1]).hexdigest()
    with pytest.raises(ValueError, match="not processed"):
        lab.ursa.stream(result, window=1.0)


def test_interface_is_lazy_and_read_only_until_enabled(lab: Lab, tmp_path: Path) -> None:
    from ursa_lib import DataInterface, LocalProfile

    ghost = DataInterface(LocalProfile(root=tmp_path / "nothing-here"))
    assert not (tmp_path / "nothing-here").exists()  # nothing opened
    assert "read-only" in repr(ghost)
    assert hasattr(lab.ursa, "register_participant")  # the guard runs on the call
    with pytest.raises(WritesNotEnabledError, match="enable_writes"):
        lab.ursa.register_participant(participant("p_new"))
    with pytest.raises(WritesNotEnabledError, match="enable_writes"):
        lab.ursa.backfill("rec_a")
    assert lab.ursa.get_recording(lab.hashes["rec_a"]) is not None
    assert lab.ursa.enable_writes() is lab.ursa.enable_writes()
    assert lab.ursa.backfill("rec_a", "p1").recording_hash == lab.hashes["rec_a"]
    with pytest.raises(ValueError, match="max_concurrent_files"):
        DataInterface(max_concurrent_files=0)


def test_a_video_asset_comes_with_its_frame_index(lab: Lab, tmp_path: Path) -> None:
    from ursa_lib.catalog import StorageFormat

    h = lab.hashes["rec_b"]
    assets = open_store(lab.profile, "assets_rw")
    video = AssetKey(h, "camera", "camera.mp4").key
    objects = {
        video: b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 1000,
        f"{video}.lance/data/0.lance": b"frame index",
    }
    catalog = Catalog.open(lab.profile, writable=True)
    publish_asset(catalog, assets, h, "camera", video, objects, format=StorageFormat.MP4)
    result = one(lab, "rec_b", modalities="camera")
    paths = lab.ursa.download(result, tmp_path / "out")
    base = tmp_path / "out" / h / "camera"
    assert paths == [base / "camera.mp4", base / "camera.mp4.lance" / "data" / "0.lance"]
    assert paths[1].read_bytes() == b"frame index"


def test_unknown_choices_are_refused_before_anything_is_read(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_c")
    for option, value in (("layout", "by_day"), ("source", "cooked"), ("existing", "merge")):
        with pytest.raises(ValueError, match=f"{option} must be one of .*got '{value}'"):
            lab.ursa.download(result, tmp_path / "out", **{option: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source must be one of"):
        lab.ursa.materialize(result, source="cooked")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_recording_folders_can_be_named_by_rec_id(lab: Lab, tmp_path: Path) -> None:
    # A second session under rec_a, with other bytes: the bucket stores it at
    # recordings/rec_a~<hash12>/, and its download folder is named the same way.
    again = write_session(tmp_path / "rigs2", "rec_a", {"eeg_0": [1234]})
    h2 = lab.ursa.enable_writes().ingest(again).recording_hash
    results = lab.ursa.query(status="all", modalities="eeg", participants="p1")
    assert h2 in {r.recording_hash for r in results}
    dest = tmp_path / "named"
    paths = lab.ursa.download(results, dest, names="rec_id")
    tops = sorted({p.relative_to(dest).parts[0] for p in paths})
    assert tops == sorted(["rec_a", "rec_b", f"rec_a~{h2[:12]}"])
    assert (dest / f"rec_a~{h2[:12]}" / "eeg" / "seg_00000.bin").stat().st_size == 1234
    assert lab.ursa.verify(dest).ok  # verify finds the recordings behind the names
    (dest / "rec_b" / "eeg" / "seg_00000.bin").write_bytes(b"x" * 1500)
    assert [p.problem for p in lab.ursa.verify(dest).problems] == ["sha256"]
    by_modality = lab.ursa.download(results, tmp_path / "bm", "by_modality", names="rec_id")
    assert tmp_path / "bm" / "eeg" / "rec_b" / "seg_00000.bin" in by_modality
    with pytest.raises(ValueError, match="names must be one of"):
        lab.ursa.download(results, tmp_path / "x", names="id")  # type: ignore[arg-type]


class CountingCatalog:
    """A real catalog that counts the row queries made of each table."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.queries: Counter[str] = Counter()

    def rows(self, model: Any, *args: Any) -> Any:
        self.queries[model.__table__] += 1
        return self.catalog.rows(model, *args)

    def rows_in(self, model: Any, *args: Any) -> Any:
        self.queries[model.__table__] += 1
        return self.catalog.rows_in(model, *args)


def test_verify_looks_up_a_downloads_rec_id_folders_in_one_query(lab: Lab, tmp_path: Path) -> None:
    again = write_session(tmp_path / "rigs2", "rec_a", {"eeg_0": [1234]})
    h2 = lab.ursa.enable_writes().ingest(again).recording_hash
    catalog = CountingCatalog(lab.ursa.catalog())
    expected = {
        "rec_a": (lab.hashes["rec_a"], "rec_id"),
        f"rec_a~{h2[:12]}": (h2, "rec_id"),
        "rec_b": (lab.hashes["rec_b"], "rec_id"),
        lab.hashes["rec_c"]: (lab.hashes["rec_c"], "hash"),
        "eeg": None,  # a modality folder, not a recording
        f"rec_b~{h2[:12]}": None,  # no session of rec_b is stored there
        "rec_z": None,
    }
    folders = _Folders(cast(Catalog, catalog), _RawBucket(lab.ursa.store("raw_ro")), expected)
    assert {name: folders.resolve(name) for name in expected} == expected
    assert catalog.queries == {"recordings": 1, "modalities": 1}


def flip(path: Path) -> None:
    """Change a file's bytes in place, keeping its size."""
    path.write_bytes(bytes(b ^ 1 for b in path.read_bytes()))


def test_verify_checks_each_modality_the_way_it_was_delivered(lab: Lab, tmp_path: Path) -> None:
    # rec_a's eeg is processed, its events raw: source="auto" delivers one of each.
    result = one(lab, "rec_a")
    for layout in ("by_recording", "by_modality", "flat"):
        dest = tmp_path / layout
        paths = lab.ursa.download(result, dest, layout=layout)
        assert {p.parent.name for p in paths} >= {"c", "eeg.zarr"}
        report = lab.ursa.verify(dest)
        assert report.ok, report.problems
        assert (report.recordings, report.files_checked) == (1, 3)
        chunk = next(p for p in paths if p.name == "0")  # an object of eeg.zarr
        segment = next(p for p in paths if p.name == "seg_00000.bin")  # raw events
        flip(chunk)
        flip(segment)
        found = sorted((p.path, p.problem) for p in lab.ursa.verify(dest).problems)
        assert found == sorted([(chunk, "sha256"), (segment, "sha256")]), layout

    # The download's own record says eeg came processed: its asset gone is missing,
    # not a reason to expect raw segments instead.
    dest = tmp_path / "by_recording"
    shutil.rmtree(dest / lab.hashes["rec_a"] / "eeg" / "eeg.zarr")
    missing = {p.path.name: p.problem for p in lab.ursa.verify(dest).problems}
    assert missing == {"0": "missing", "zarr.json": "missing", "seg_00000.bin": "sha256"}

    # Without a record, the folder's own files say how each modality came.
    bare = lab.ursa.download(result, tmp_path / "bare", related=False)
    assert not (tmp_path / "bare" / ".ursa").exists()
    assert lab.ursa.verify(tmp_path / "bare").ok
    flip(bare[0])
    assert [p.path for p in lab.ursa.verify(tmp_path / "bare").problems] == [bare[0]]

    # A processed modality downloaded raw verifies as raw, beside the mixed folder too.
    lab.ursa.download(result, tmp_path / "raw", source="raw")
    assert lab.ursa.verify(tmp_path / "raw").ok


def test_verify_names_every_recorded_file_whose_folder_is_gone(lab: Lab, tmp_path: Path) -> None:
    # rec_a: eeg processed, events raw; rec_b: camera and eeg raw.
    results = [one(lab, "rec_a"), one(lab, "rec_b")]
    h_a, h_b = lab.hashes["rec_a"], lab.hashes["rec_b"]
    raw = lab.ursa.store("raw_ro").base_uri
    asset = lab.ursa.store("assets_ro").base_uri + AssetKey(h_a, "eeg", "eeg.zarr").key
    dest = tmp_path / "out"
    paths = lab.ursa.download(results, dest)
    assert lab.ursa.verify(dest).ok

    def missing() -> dict[str, str]:
        """Each problem's path under dest → the origin its detail names."""
        report = lab.ursa.verify(dest)
        found = {p.path.relative_to(dest).as_posix(): p for p in report.problems}
        assert {p.problem for p in found.values()} == {"missing"}
        assert report.files_checked == len(paths)  # the gone ones are checked too
        suffix = " not here; the download's record lists it"
        assert all(p.detail.endswith(suffix) for p in found.values())
        return {path: p.detail.removesuffix(suffix) for path, p in found.items()}

    shutil.rmtree(dest / h_b / "camera")  # a whole modality folder
    camera = {
        f"{h_b}/camera/{seg}": f"{raw}recordings/rec_b/camera_0/{seg}"
        for seg in ("seg_00000.bin", "seg_00001.bin")
    }
    assert missing() == camera

    shutil.rmtree(dest / h_a)  # a whole recording folder
    rec_a = {
        f"{h_a}/eeg/eeg.zarr/zarr.json": f"{asset}/zarr.json",
        f"{h_a}/eeg/eeg.zarr/c/0": f"{asset}/c/0",
        f"{h_a}/events/seg_00000.bin": f"{raw}recordings/rec_a/events_0/seg_00000.bin",
    }
    assert missing() == camera | rec_a

    # Without a record nothing tells what a gone folder held: as before, it is not named.
    lab.ursa.download(results, tmp_path / "bare", related=False)
    shutil.rmtree(tmp_path / "bare" / h_b / "camera")
    assert lab.ursa.verify(tmp_path / "bare").ok


def test_verify_passes_over_an_asset_a_later_raw_download_replaced(
    lab: Lab, tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    eeg = dest / lab.hashes["rec_a"] / "eeg"
    lab.ursa.download(one(lab, "rec_a"), dest)  # eeg processed, events raw
    shutil.rmtree(eeg)
    segments = lab.ursa.download(one(lab, "rec_a", modalities="eeg"), dest, source="raw")
    # The record still lists the asset; the raw segments now here verify, so they replaced it.
    assert not (eeg / "eeg.zarr").exists()
    report = lab.ursa.verify(dest)
    assert report.ok, report.problems
    assert report.files_checked == 4  # 3 eeg segments, 1 events segment

    # Once the segments no longer verify, nothing shows the asset was replaced, not lost.
    flip(segments[0])
    found = {(p.path, p.problem) for p in lab.ursa.verify(dest).problems}
    assert found == {
        (segments[0], "sha256"),
        (eeg / "eeg.zarr" / "zarr.json", "missing"),
        (eeg / "eeg.zarr" / "c" / "0", "missing"),
    }


def test_verify_checks_downloads_kept_side_by_side_in_one_report(lab: Lab, tmp_path: Path) -> None:
    result = one(lab, "rec_a")
    parent = tmp_path / "downloads"
    raw_paths = lab.ursa.download(result, parent / "raw", source="raw")
    auto_paths = lab.ursa.download(result, parent / "auto")
    report = lab.ursa.verify(parent)
    assert report.ok, report.problems
    both = (lab.ursa.verify(parent / "raw"), lab.ursa.verify(parent / "auto"))
    assert (
        report.files_checked
        == sum(r.files_checked for r in both)
        == len(raw_paths) + len(auto_paths)
    )
    assert report.recordings == 2
    flip(raw_paths[0])
    flip(auto_paths[-1])
    assert sorted(p.path for p in lab.ursa.verify(parent).problems) == sorted(
        [raw_paths[0], auto_paths[-1]]
    )
    # Anything beside the downloads: the folder is checked as one download, as before.
    (parent / "notes.txt").write_text("mine")
    assert any(p.problem == "unexpected" for p in lab.ursa.verify(parent).problems)
