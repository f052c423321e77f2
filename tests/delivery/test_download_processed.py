"""A processed download delivers exactly what publication recorded, verified.

On the local profile and on a real S3 server, with the assets processing made:

* every delivered object equals the size and sha256 its publication recorded in
  the ``pipeline_assets`` row, and lands under the asset's basename;
* an object planted in the asset's folder is never delivered and is named;
* a recorded object that is missing fails the plan before any byte is written;
  one replaced by other bytes of the same size fails its sha256, leaving no file;
* without the catalog (no publication record to check against) it is refused;
* every chunk of a Zarr asset is stored, even one of zeros, so a chunk lost from
  the bucket fails a read instead of reading as zeros.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ursa_lib import (
    ChecksumMismatchError,
    ConfigError,
    DataInterface,
    IncompleteRecordingError,
    InvalidValueError,
    LocalProfile,
    NotDeliverableError,
    ObjectNotFoundError,
    augment,
    download,
)
from ursa_lib.processing import chunk_length

from .conftest import Processed


@pytest.fixture(params=["local", "rclone"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _published(recording: Processed, modality: str) -> dict[str, tuple[int, str]]:
    uri = recording.result.modalities[modality].storage_uri
    (row,) = recording.ui.list_pipeline_assets({"storage_uri": uri})
    return {o["key"]: (o["size"], o["sha256"]) for o in row.metadata["objects"]}


def _data_files(dest: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dest).as_posix(): p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file() and ".ursa" not in p.relative_to(dest).parts
    }


def test_delivered_objects_match_their_publication(
    processed: Callable[..., Processed],
    backend: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recording = processed(backend, segments=1, audio=False, events=False)
    result = recording.ui.query(recording_hash=recording.recording_hash, modalities="eeg")[0]
    published = _published(recording, "eeg")
    assert len(published) >= 2  # the array's metadata and its chunks
    folder = next(iter(published)).split("/eeg.zarr/")[0] + "/"
    assets = recording.ui.store("assets_rw")
    assets.put(folder + "eeg.zarr/c/9/9", b"planted beside the asset")

    with caplog.at_level(logging.WARNING, logger="ursa.download"):
        paths = recording.ui.download(result, tmp_path / "out")
    base = tmp_path / "out" / recording.recording_hash / "eeg"
    assert sorted(paths) == sorted(base / key[len(folder) :] for key in published)
    for key, (size, sha) in published.items():
        body = (base / key[len(folder) :]).read_bytes()
        assert (len(body), hashlib.sha256(body).hexdigest()) == (size, sha)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "eeg.zarr/c/9/9" in warning.getMessage()
    assert not (base / "eeg.zarr" / "c" / "9").exists()

    chunk = max(published, key=lambda k: published[k][0])  # a data chunk, not metadata
    size = published[chunk][0]
    assets.put(chunk, b"\x00" * size)  # same size, other bytes
    with pytest.raises(ChecksumMismatchError, match="is corrupt or was replaced"):
        recording.ui.download(result, tmp_path / "replaced")
    replaced = tmp_path / "replaced" / recording.recording_hash / "eeg" / chunk[len(folder) :]
    assert not replaced.exists()
    assert not [p for p in (tmp_path / "replaced").rglob("*") if p.name.endswith(".part")]

    assets.delete(chunk)
    with pytest.raises(IncompleteRecordingError, match=r"\(missing\)") as caught:
        recording.ui.download(result, tmp_path / "missing")
    assert chunk in str(caught.value)
    assert not (tmp_path / "missing").exists() or _data_files(tmp_path / "missing") == {}


def test_without_the_catalog_a_processed_download_is_refused(
    processed: Callable[..., Processed], tmp_path: Path
) -> None:
    recording = processed("local", segments=1, audio=False, video=False, events=False)
    ui = recording.ui
    with pytest.raises(NotDeliverableError, match=r"pass catalog="):
        download(
            ui.query(recording_hash=recording.recording_hash),
            tmp_path / "out",
            raw=ui.store("raw_ro"),
            assets=ui.store("assets_ro"),
        )
    assert not (tmp_path / "out").exists()
    paths = download(
        ui.query(recording_hash=recording.recording_hash),
        tmp_path / "out",
        raw=ui.store("raw_ro"),
        assets=ui.store("assets_ro"),
        catalog=ui.catalog(),
    )
    assert {p.name for p in paths} >= {"zarr.json"}


def test_a_lost_chunk_fails_a_read_never_reads_as_zeros(
    processed: Callable[..., Processed], backend: str
) -> None:
    recording = processed(backend, segments=3, audio=False, video=False, events=False)
    result = recording.ui.query(recording_hash=recording.recording_hash, modalities="eeg")[0]
    published = _published(recording, "eeg")
    # Every chunk is stored, even one of zeros, so a missing one is lost data.
    chunks = sorted(k for k in published if "/data/c/" in k)
    assert len(chunks) >= 1
    before = recording.ui.read(result, (0.0, 1.0)).eeg.signal.digital
    recording.ui.store("assets_rw").delete(chunks[0])
    fresh = DataInterface(recording.ui.profile)  # no array kept open from before
    with pytest.raises(ObjectNotFoundError, match="is missing: a chunk") as caught:
        fresh.read(result, (0.0, 1.0))
    assert chunks[0] in str(caught.value)
    assert before.any()


def test_every_chunk_is_written_even_one_of_zeros(tmp_path: Path) -> None:
    samples = np.zeros((2 * 5000, 3), dtype=np.int16)
    samples[-1] = 7  # the first chunk's samples are all zeros
    profile = LocalProfile(root=tmp_path / "ursa")
    ui = DataInterface(profile).enable_writes()
    session = tmp_path / "rig" / "rec_zeros"
    (session / "probe_0").mkdir(parents=True)
    np.save(session / "probe_0" / "seg_00000.npy", samples)
    rig = {
        "rec_id": "rec_zeros",
        "start_time": 1_700_000_000_000_000_000,
        "duration": 10.0,
        "participant_id": "p1",
        "streams": {"probe_0": {"kind": "timeseries", "format": "npy", "sampling_rate": 1000}},
    }
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    h = ui.ingest(session).recording_hash
    ui.process(h)
    (result,) = ui.query(recording_hash=h)
    (row,) = ui.list_pipeline_assets({"recording_hash": h})
    keys = [o["key"] for o in row.metadata["objects"]]
    n_chunks = -(-len(samples) // chunk_length(1000.0, 3, 2))
    assert len([k for k in keys if "/data/c/" in k]) == n_chunks
    data = ui.read(result, (0.0, 10.0)).probe.signal.digital
    assert np.array_equal(data, samples)


def test_processed_data_needs_only_the_assets_buckets_keys(
    processed: Callable[..., Processed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analyst given the assets bucket's read-only keys alone downloads, reads and
    verifies processed data; only what reads the raw bucket asks for its keys, by name."""
    recording = processed("rclone", segments=1, audio=False, video=False, events=True)
    # Downloads the lab made with every key: raw segments, and folders named by rec_id.
    lab = recording.ui.query(recording_hash=recording.recording_hash)
    recording.ui.download(lab, tmp_path / "lab-raw", source="raw")
    recording.ui.download(lab, tmp_path / "lab-named", source="processed", names="rec_id")
    for part in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY"):
        for role in ("RAW_RO", "RAW_RW", "ASSETS_RW"):
            monkeypatch.delenv(f"URSA_LAB_{role}_{part}")
    analyst = DataInterface(recording.ui.profile)
    results = analyst.query(recording_hash=recording.recording_hash)

    plan = analyst.download(results, tmp_path / "plan", dry_run=True)
    assert plan.counts()["write"] == len(plan.files) > 0
    paths = analyst.download(results, tmp_path / "whole", source="processed")
    assert {"eeg.zarr", "events.lance"} <= {p.parts[-3] for p in paths} | {
        p.parts[-2] for p in paths
    }
    window = analyst.download(results, tmp_path / "window", time_range=(1.0, 3.0))
    assert {p.name for p in window} >= {"eeg.zarr"}
    assert analyst.read(results[0], (1.0, 3.0)).eeg.signal.data.shape[0] == 2 * 256
    assert next(iter(analyst.stream(results, 2.0))).data.eeg.signal.data.shape[0] == 2 * 256
    assert "eeg" in str(analyst.show(recording.recording_hash))
    for folder in ("whole", "window"):
        report = analyst.verify(tmp_path / folder)
        assert report.ok, report.problems
        assert report.files_checked > 0
    # Files of the analyst's own, at the top and beside the asset, are named as with
    # every key: unexpected.
    (tmp_path / "whole" / "notes.txt").write_text("not from the archive")
    (tmp_path / "whole" / recording.recording_hash / "eeg" / "plot.png").write_bytes(b"png")
    problems = analyst.verify(tmp_path / "whole").problems
    assert [(p.path.name, p.problem) for p in problems] == [
        ("plot.png", "unexpected"),
        ("notes.txt", "unexpected"),
    ]
    # Beside the asset it could be a raw segment: the detail says which keys would tell.
    assert "URSA_LAB_RAW_RO_ACCESS_KEY_ID" in problems[0].detail
    assert problems[1].detail == "no recording of the catalog accounts for it"

    needs_raw = "URSA_LAB_RAW_RO_ACCESS_KEY_ID"
    with pytest.raises(ConfigError, match=needs_raw):
        analyst.download(results, tmp_path / "raw", source="raw")
    with pytest.raises(ConfigError, match=needs_raw):
        analyst.download(results, tmp_path / "named", names="rec_id")
    with pytest.raises(ConfigError, match=needs_raw):
        analyst.download(results, tmp_path / "named-window", time_range=(1.0, 3.0), names="rec_id")
    assert not any((tmp_path / d).exists() for d in ("raw", "named", "named-window"))
    for folder in ("lab-raw", "lab-named"):
        with pytest.raises(ConfigError, match=needs_raw):
            analyst.verify(tmp_path / folder)


def test_raw_segments_without_the_raw_store_are_refused_by_name(
    processed: Callable[..., Processed], tmp_path: Path
) -> None:
    recording = processed("local", segments=1, audio=False, video=False, events=False)
    ui = recording.ui
    results = ui.query(recording_hash=recording.recording_hash)
    with pytest.raises(InvalidValueError, match=r"'eeg' .* raw segments.* pass raw="):
        download(results, tmp_path / "out", source="raw", catalog=ui.catalog())
    assert not (tmp_path / "out").exists()
