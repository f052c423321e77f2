"""Self-describing downloads: the folder carries its catalog rows and reopens
offline, with the archive and its catalog gone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ursa_lib import DataInterface, LocalProfile, ObjectNotFoundError
from ursa_lib.catalog import Event
from ursa_lib.testing import RecordingSpec, write_recording, write_session

T0 = 1_790_000_000_000_000_000


def test_a_downloaded_folder_reopens_offline(tmp_path: Path) -> None:
    archive = tmp_path / "ursa"
    ursa = DataInterface(LocalProfile(root=archive)).enable_writes()
    spec = RecordingSpec(
        rec_id="rec_proc", start_time_ns=T0, segments=1, segment_s=2, audio=False, video=False
    )
    write_recording(tmp_path / "rig", spec)
    processed = ursa.ingest(tmp_path / "rig" / "rec_proc").recording_hash
    ursa.process(processed, modalities=["eeg"])
    ursa.catalog(writable=True).add_event(
        Event(event_id="ev-1", recording_hash=processed, event_time=0.5, event_type="prompt")
    )
    raw_only = ursa.ingest(write_session(tmp_path / "rig", "rec_raw", {"eeg_0": [700, 300]}), "p2")

    dest = tmp_path / "out"
    ursa.download(ursa.query(status="ingested", modalities="eeg"), dest)
    ursa.download(ursa.query(status="raw", recording_hash=raw_only.recording_hash), dest)
    rows = dest / ".ursa" / "rows"
    recordings = [json.loads(x) for x in (rows / "recordings.jsonl").read_text().splitlines()]
    assert sorted(r["rec_id"] for r in recordings) == ["rec_proc", "rec_raw"]
    participants = (rows / "participants.jsonl").read_text()
    assert '"p001"' in participants
    assert '"p2"' in participants
    assert '"ev-1"' in (rows / "events.jsonl").read_text()
    assets = [json.loads(x) for x in (rows / "pipeline_assets.jsonl").read_text().splitlines()]
    assert [a["modality"] for a in assets] == ["eeg"]
    expected_eeg = ursa.read(ursa.query(status="ingested", modalities="eeg")[0])
    expected_raw = ursa.materialize(
        ursa.query(status="raw", recording_hash=raw_only.recording_hash)
    )

    # Another machine: the folder moved, the archive and its catalog are gone.
    moved = tmp_path / "elsewhere" / "study"
    shutil.move(dest, moved)
    shutil.rmtree(archive)
    local = DataInterface.open_local(moved)
    assert not local.writes_enabled
    found = local.query(status="all")
    assert sorted((r.recording.rec_id, sorted(r.modalities)) for r in found) == [
        ("rec_proc", ["eeg"]),
        ("rec_raw", ["eeg"]),
    ]
    raw = local.materialize(local.query(status="raw"))
    assert [b for _, b in raw["eeg"]] == [b for _, b in expected_raw["eeg"]]
    eeg = local.read(local.query(status="ingested")[0])
    assert np.array_equal(
        np.asarray(eeg.eeg.signal.digital), np.asarray(expected_eeg.eeg.signal.digital)
    )
    assert local.list_events()[0].event_id == "ev-1"
    assert local.verify(moved).ok


def test_a_download_from_one_bucket_alone_reopens_offline(tmp_path: Path) -> None:
    # The rows name both buckets (a processed modality keeps its raw segments'
    # URI); a download of the processed assets alone, or of the raw segments
    # alone, still reopens, and reads what it holds.
    archive = tmp_path / "ursa"
    ursa = DataInterface(LocalProfile(root=archive)).enable_writes()
    spec = RecordingSpec(
        rec_id="rec_one", start_time_ns=T0, segments=1, segment_s=2, audio=False, video=False,
        events=False,
    )  # fmt: skip
    write_recording(tmp_path / "rig", spec)
    ursa.process(ursa.ingest(tmp_path / "rig" / "rec_one").recording_hash)
    (found,) = ursa.query()
    expected_eeg = ursa.read(found)
    expected_raw = ursa.materialize(found, source="raw")
    for source in ("processed", "raw"):
        ursa.download(found, tmp_path / source, source=source)
    shutil.rmtree(archive)

    assets_only = DataInterface.open_local(tmp_path / "processed")
    (offline,) = assets_only.query()
    assert np.array_equal(
        np.asarray(assets_only.read(offline).eeg.signal.digital),
        np.asarray(expected_eeg.eeg.signal.digital),
    )
    raw_only = DataInterface.open_local(tmp_path / "raw")
    (offline,) = raw_only.query()
    raw = raw_only.materialize(offline, source="raw")
    assert [b for _, b in raw["eeg"]] == [b for _, b in expected_raw["eeg"]]
    with pytest.raises(ObjectNotFoundError, match="is not in the assets bucket"):
        raw_only.read(offline)


def test_no_related_writes_only_the_bytes(tmp_path: Path) -> None:
    from ursa_lib.testing import run_cli as cli

    ursa = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    ursa.ingest(write_session(tmp_path / "rig", "rec_plain", {"eeg_0": [100]}))
    dest = tmp_path / "out"
    done = cli(
        "download", str(dest), "--status", "raw", "--no-related", "--root", str(tmp_path / "ursa")
    )
    assert done.exit_code == 0, done.output
    assert not (dest / ".ursa").exists()
    assert len(list(dest.rglob("seg_*.bin"))) == 1
