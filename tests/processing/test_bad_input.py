"""Bad input, end to end: ingest a session with one broken stream, then process it.

Each case fails that modality with a reason that names the file (or the
stream) and says what to fix, publishes nothing of it, and processes the rest
of the recording. A stream whose format cannot be inferred is not an error: it
is reported ``undescribed`` and stays ``raw``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ursa_lib import DataInterface, LocalProfile, augment
from ursa_lib.catalog import IngestionStatus
from ursa_lib.testing import RecordingSpec, write_recording

from .helpers import write_edf, write_mp4

T0 = 1_700_000_000_000_000_000
START = dt.datetime(2023, 11, 14, 22, 13, 20)


def truncated_edf(session: Path) -> str:
    path = session / "eeg_0" / "seg_00001.edf"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2 + 7])
    return "eeg_0/seg_00001.edf"


def garbage_edf(session: Path) -> str:
    (session / "eeg_0" / "seg_00001.edf").write_bytes(b"0       not an EDF header at all" * 20)
    return "eeg_0/seg_00001.edf"


def other_channels(session: Path) -> str:
    digital = np.zeros((256 * 5, 8), dtype=np.int32)
    labels = [f"C{i}" for i in range(8)]
    write_edf(session / "eeg_0" / "seg_00001.edf", digital, start=START, labels=labels)
    return "eeg_0/seg_00001.edf"


def other_rate(session: Path) -> str:
    digital = np.zeros((128 * 5, 8), dtype=np.int32)
    labels = [f"EEG{i + 1:02d}" for i in range(8)]
    write_edf(session / "eeg_0" / "seg_00001.edf", digital, start=START, rate=128, labels=labels)
    return "eeg_0/seg_00001.edf"


def overlapping_npy(session: Path) -> str:
    for seg in (0, 1):
        (session / "eeg_0" / f"seg_{seg:05d}.edf").unlink()
        np.save(session / "eeg_0" / f"seg_{seg:05d}.npy", np.zeros((1000, 2), dtype=np.int16))
    describe(session, "eeg_0", kind="timeseries", format="npy", sampling_rate=100.0,
             segment_starts_s=[0.0, 5.0])  # fmt: skip
    return "eeg_0/seg_00001.npy"


def other_codec(session: Path) -> str:
    write_mp4(session / "camera_0" / "seg_00001.mp4", 10, codec="mpeg4", width=64, height=48)
    return "camera_0/seg_00001.mp4"


def bad_events_line(session: Path) -> str:
    path = session / "events_0" / "events.jsonl"
    lines = path.read_text().splitlines()
    lines.insert(3, "{time: 1.5, this is not json")
    path.write_text("\n".join(lines) + "\n")
    return "events.jsonl"


def unknown_format(session: Path) -> str:
    describe(session, "eeg_0", kind="timeseries", format="xyz")
    return "eeg_0/: no converter for timeseries streams in format 'xyz'"


def describe(session: Path, worker: str, **description: object) -> None:
    rig = json.loads((session / "manifest.json").read_text())
    rig.setdefault("streams", {})[worker] = description
    (session / "manifest.json").write_text(json.dumps(rig))


CASES: dict[str, tuple[str, Callable[[Path], str]]] = {
    "truncated-edf": ("eeg", truncated_edf),
    "corrupt-edf": ("eeg", garbage_edf),
    "channel-set-differs": ("eeg", other_channels),
    "rate-differs": ("eeg", other_rate),
    "overlapping-segments": ("eeg", overlapping_npy),
    "codec-differs": ("camera", other_codec),
    "events-line-not-json": ("events", bad_events_line),
    "unknown-format": ("eeg", unknown_format),
}


def session_with(tmp_path: Path, breaks: Callable[[Path], str]) -> tuple[DataInterface, str, str]:
    spec = RecordingSpec(rec_id="rec_bad", start_time_ns=T0, segments=2, segment_s=5)
    write_recording(tmp_path / "rig", spec)
    session = tmp_path / "rig" / "rec_bad"
    named = breaks(session)
    augment(session)
    ui = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    return ui, ui.ingest(session).recording_hash, named


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_its_modality_only(case: str, tmp_path: Path) -> None:
    broken, breaks = CASES[case]
    ui, h, named = session_with(tmp_path, breaks)
    outcomes = {o.modality: o for o in ui.process(h)[0].outcomes}
    assert outcomes[broken].outcome == "failed"
    reason = str(outcomes[broken].reason)
    assert named in reason, reason
    for other in {"audio", "camera", "eeg", "events"} - {broken}:
        assert outcomes[other].outcome == "processed", outcomes[other].reason
    rows = {m.modality: m for m in ui.catalog().list_modalities({"recording_hash": h})}
    assert rows[broken].ingestion_status is IngestionStatus.FAILED
    assert rows[broken].metadata["failure"] == reason
    assert rows[broken].storage_uri is None
    assets = ui.store("assets_ro")
    assert not list(assets.list(f"processed/{h}/{broken}/"))
    assert not [a for a in ui.catalog().list_pipeline_assets() if a.modality == broken]
    if broken == "events":
        assert not ui.catalog().list_events({"recording_hash": h})


def test_an_undescribed_stream_is_reported_and_stays_raw(tmp_path: Path) -> None:
    def add_blob(session: Path) -> str:
        (session / "blob_0").mkdir()
        (session / "blob_0" / "seg_00000.bin").write_bytes(b"\x00\x01" * 500)
        return "blob_0"

    ui, h, _ = session_with(tmp_path, add_blob)
    outcomes = {o.modality: o for o in ui.process(h)[0].outcomes}
    assert outcomes["blob"].outcome == "undescribed"
    assert "blob_0/" in str(outcomes["blob"].reason)
    assert "streams" in str(outcomes["blob"].reason)  # says how to fix it
    assert {o.outcome for n, o in outcomes.items() if n != "blob"} == {"processed"}
    row = ui.catalog().get_modality(h, "blob")
    assert row is not None
    assert row.ingestion_status is IngestionStatus.RAW
    assert "failure" not in row.metadata
