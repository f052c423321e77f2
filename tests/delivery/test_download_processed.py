"""A processed download delivers exactly what publication recorded, verified.

On the local profile and on a real S3 server, with the assets processing made:

* every delivered object equals the size and sha256 its publication recorded in
  the ``pipeline_assets`` row, and lands under the asset's basename;
* an object planted in the asset's folder is never delivered and is named;
* a recorded object that is missing fails the plan before any byte is written;
  one replaced by other bytes of the same size fails its sha256, leaving no file;
* without the catalog (no publication record to check against) it is refused.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from ursa_lib import (
    ChecksumMismatchError,
    IncompleteRecordingError,
    NotDeliverableError,
    download,
)

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
