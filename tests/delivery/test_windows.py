"""Time windows of processed data, against the reference readers of the original files.

On the local profile and on a real S3 server, a window ``[t0, t1)`` of a
processed recording holds exactly the samples of the original EDF (pyedflib),
WAV (soundfile), MP4 (PyAV) and events whose time is ``>= t0`` and ``< t1`` on
the session clock: at the very start, at the very end, across a segment
boundary, off the sample grid, and of zero length. Across a gap the real
samples come back and the gap stays a gap. A window outside the domain is
refused with a message that says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pyedflib
import pytest
import soundfile

from ursa_lib import InvalidValueError, ObjectNotFoundError
from ursa_lib.delivery import WindowOutsideDomainError

from .conftest import T0, Processed

SEGMENTS, SEGMENT_S, EEG_RATE, AUDIO_RATE, FPS = 3, 10, 256, 16_000, 10


def edf_digital(session: Path) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """(digital, physical) of the EEG segments back to back, as pyedflib reads them."""
    digital, physical = [], []
    for path in sorted((session / "eeg_0").glob("*.edf")):
        with pyedflib.EdfReader(str(path)) as reader:
            n = reader.signals_in_file
            digital.append(np.stack([reader.readSignal(c, digital=True) for c in range(n)], 1))
            physical.append(np.stack([reader.readSignal(c) for c in range(n)], 1))
    return np.concatenate(digital), np.concatenate(physical)


def wav_samples(session: Path) -> npt.NDArray[Any]:
    return np.concatenate(
        [
            soundfile.read(p, dtype="float64", always_2d=True)[0]
            for p in sorted((session / "audio_0").glob("*.wav"))
        ]
    )


def mp4_frames(session: Path) -> list[npt.NDArray[np.uint8]]:
    frames = []
    for path in sorted((session / "camera_0").glob("*.mp4")):
        with av.open(str(path)) as container:
            frames += [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames


def in_window(n: int, rate: float, t0: float, t1: float) -> npt.NDArray[np.bool_]:
    t = np.arange(n) / rate
    return (t >= t0) & (t < t1)  # type: ignore[no-any-return]


@pytest.fixture(params=["local", "rclone"])
def recording(request: pytest.FixtureRequest, processed: Callable[..., Processed]) -> Processed:
    return processed(request.param, segments=SEGMENTS, segment_s=SEGMENT_S)


WINDOWS = {
    "start": (0.0, 1.0),
    "end": (29.0, 30.0),
    "end-overhanging": (29.5, 31.0),
    "across-segments": (9.5, 10.5),
    "off-grid": (3.0013, 4.99871),
    "zero-length": (12.0, 12.0),
    "between-frames": (5.01, 5.05),  # no frame starts in it: the one on screen did before
    "to-the-end-of-time": (0.0, 1e308),  # no overflow counting samples up to it
}


def test_windows_equal_the_reference_readers(recording: Processed) -> None:
    digital, physical = edf_digital(recording.session)
    audio = wav_samples(recording.session)
    frames = mp4_frames(recording.session)
    lines = (recording.session / "events_0" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    result = recording.result
    for name, (t0, t1) in WINDOWS.items():
        data = recording.ui.read(result, (t0, t1))
        eeg = in_window(len(digital), EEG_RATE, t0, t1)
        assert np.array_equal(data.eeg.signal.digital, digital[eeg]), name
        assert np.array_equal(data.eeg.signal.data, physical[eeg]), name
        if eeg.any():
            first = np.flatnonzero(eeg)[0] / EEG_RATE
            assert data.eeg.signal.timestamps[0] == pytest.approx(first, abs=1e-9), name
        sound = in_window(len(audio), AUDIO_RATE, t0, t1)
        assert np.array_equal(data.audio.signal.data, audio[sound]), name
        shown = np.flatnonzero(in_window(len(frames), FPS, t0, t1))
        assert list(data.camera.frame_numbers) == list(shown), name
        for i in range(0, len(shown), 4):  # decoded one by one, in any order
            assert np.array_equal(data.camera[i], frames[shown[i]]), (name, i)
        run = data.camera[1:4]  # consecutive frames, after one seek
        assert len(run) == len(shown[1:4]), name
        assert all(np.array_equal(f, frames[k]) for f, k in zip(run, shown[1:4], strict=True))
        if len(shown):
            assert np.array_equal(data.camera.at(data.camera.times[0]), frames[shown[0]]), name
        if t1 > t0 and t0 * FPS < len(frames):  # the frame on screen at t0, whenever it started
            assert np.array_equal(data.camera.at(t0), frames[int(t0 * FPS)]), name
            with pytest.raises(WindowOutsideDomainError, match="outside this window"):
                data.camera.at(t1 + 1.0)
        expected = sorted(e["time"] for e in events if t0 <= e["time"] < t1)
        assert list(data.events.timestamps) == pytest.approx(expected), name


@pytest.mark.parametrize("window", [(40.0, 50.0), (-5.0, -1.0), (30.0, 31.0)])
def test_a_window_outside_the_domain_is_refused(
    processed: Callable[..., Processed], window: tuple[float, float]
) -> None:
    recording = processed(segments=SEGMENTS, segment_s=SEGMENT_S, video=False, events=False)
    with pytest.raises(WindowOutsideDomainError, match=r"outside its time domain \[0, 30\) s"):
        recording.ui.read(recording.result, window)
    with pytest.raises(InvalidValueError, match="start is after its end"):
        recording.ui.read(recording.result, (5.0, 4.0))


def test_a_modality_with_nothing_in_the_window_reads_as_empty(
    processed: Callable[..., Processed],
) -> None:
    # seed 0: the first event is at 2.19 s
    recording = processed(segments=SEGMENTS, segment_s=SEGMENT_S, audio=False, video=False, seed=0)
    result = recording.result
    first_event = result.modalities["events"].domain_intervals[0].start
    assert first_event > 2.0
    data = recording.ui.read(result, (0.0, 0.5))
    assert len(data.events.timestamps) == 0
    assert len(data.eeg.signal.digital) == 128
    # Events record throughout the recording: before the first event, asked for
    # alone, they read as zero events over the window, as they do beside EEG.
    alone = recording.ui.read(result, (0.0, 0.5), ["events"])
    assert len(alone.events.timestamps) == 0
    assert (list(alone.domain.start), list(alone.domain.end)) == ([0.0], [0.5])
    # Beyond the recording's end they are refused, as every modality is.
    end = result.recording.duration
    with pytest.raises(WindowOutsideDomainError, match="'events'"):
        recording.ui.read(result, (end + 1.0, end + 2.0), ["events"])


def gap_stream(session: Path) -> None:
    """An npy stream of two 10 s segments at 100 Hz, the second starting at 15 s."""
    worker = session / "probe_0"
    worker.mkdir()
    for seg in range(2):
        samples = np.arange(1000 * 2, dtype=np.int16).reshape(1000, 2) + seg * 10_000
        np.save(worker / f"seg_{seg:05d}.npy", samples)
    rig = json.loads((session / "manifest.json").read_text())
    rig["streams"] = {
        "probe_0": {
            "kind": "timeseries",
            "format": "npy",
            "sampling_rate": 100.0,
            "channels": ["a", "b"],
            "units": ["mV", "mV"],
            "gain": [0.5, 0.25],
            "segment_starts_s": [0.0, 15.0],
        }
    }
    (session / "manifest.json").write_text(json.dumps(rig))


def test_a_window_across_a_gap_holds_the_real_samples_only(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(
        segments=1, segment_s=25, eeg=False, audio=False, video=False, prepare=gap_stream
    )
    result = recording.result
    assert [(i.start, i.end) for i in result.modalities["probe"].domain_intervals] == [
        (0.0, 10.0),
        (15.0, 25.0),
    ]
    data = recording.ui.read(result, (8.0, 17.0), ["probe"])
    signal = data.probe.signal
    assert list(data.probe.domain.start) == [8.0, 15.0]
    assert list(data.probe.domain.end) == [10.0, 17.0]
    times = np.asarray(signal.timestamps)
    assert len(times) == 400
    assert times[0] == 8.0
    assert times[199] == pytest.approx(9.99)
    assert times[200] == 15.0
    assert times[-1] == pytest.approx(16.99)
    first = np.arange(2000, dtype=np.int16).reshape(1000, 2)
    expected = np.concatenate([first[800:], first[:200] + 10_000])
    assert np.array_equal(signal.digital, expected)
    assert np.array_equal(signal.data, expected * np.array([0.5, 0.25]))
    # Inside the gap there is no data: the window is outside the domain, and the
    # error names the domain's runs.
    with pytest.raises(WindowOutsideDomainError, match=r"\[0, 10\) and \[15, 25\) s"):
        recording.ui.read(result, (11.0, 14.0), ["probe"])
    with pytest.raises(WindowOutsideDomainError, match=r"\[0, 10\) and \[15, 25\) s"):
        recording.ui.read(result, (12.0, 12.0), ["probe"])
    assert len(recording.ui.read(result, (10.0, 10.0), ["probe"]).probe.signal.digital) == 0


def edf_with_gap(session: Path) -> None:
    """Two 10 s EDF+ segments at 128 Hz whose header starts leave a 5 s gap."""
    from datetime import UTC, datetime, timedelta

    from pyedflib import highlevel

    start = datetime.fromtimestamp(T0 / 1e9, tz=UTC).replace(tzinfo=None)
    worker = session / "eeg_0"
    rng = np.random.default_rng(3)
    for seg, offset_s in enumerate((0, 15)):
        headers = highlevel.make_signal_headers(
            ["Fz", "Cz"], dimension="uV", sample_frequency=128, physical_min=-500,
            physical_max=500, digital_min=-32768, digital_max=32767,
        )  # fmt: skip
        header = highlevel.make_header(startdate=start + timedelta(seconds=offset_s))
        digital = rng.integers(-30000, 30000, size=(2, 1280)).astype(np.int32)
        highlevel.write_edf(
            str(worker / f"seg_{seg:05d}.edf"), list(digital), headers, header, digital=True
        )


def gapped_eeg(processed: Callable[..., Processed]) -> Processed:
    """A processed recording of `edf_with_gap`'s EEG alone."""
    return processed(
        segments=1, segment_s=25, eeg=False, audio=False, video=False, events=False,
        prepare=lambda s: ((s / "eeg_0").mkdir(), edf_with_gap(s)),
    )  # fmt: skip


def test_edf_segments_with_a_gap_read_as_the_reference_reader(
    processed: Callable[..., Processed],
) -> None:
    recording = gapped_eeg(processed)
    result = recording.result
    assert [(i.start, i.end) for i in result.modalities["eeg"].domain_intervals] == [
        (0.0, 10.0),
        (15.0, 25.0),
    ]
    parts = []
    for path in sorted((recording.session / "eeg_0").glob("*.edf")):
        with pyedflib.EdfReader(str(path)) as reader:
            parts.append(np.stack([reader.readSignal(c, digital=True) for c in range(2)], 1))
    data = recording.ui.read(result, (9.5, 15.5))
    assert np.array_equal(data.eeg.signal.digital, np.concatenate([parts[0][-64:], parts[1][:64]]))
    assert list(data.eeg.domain.start) == [9.5, 15.0]
    assert list(data.eeg.domain.end) == [10.0, 15.5]
    assert data.eeg.signal.timestamps[64] == 15.0


def offset_stream(session: Path) -> None:
    worker = session / "probe_0"
    worker.mkdir()
    np.save(worker / "seg_00000.npy", np.arange(1000, dtype=np.int16).reshape(1000, 1))
    rig = json.loads((session / "manifest.json").read_text())
    rig["streams"] = {
        "probe_0": {
            "kind": "timeseries",
            "format": "npy",
            "sampling_rate": 100.0,
            "clock_offset_s": 2.5,
        }
    }
    (session / "manifest.json").write_text(json.dumps(rig))


def test_windows_are_on_the_session_clock(processed: Callable[..., Processed]) -> None:
    recording = processed(
        segments=1, segment_s=13, eeg=False, audio=False, video=False, events=False,
        prepare=offset_stream,
    )  # fmt: skip
    result = recording.result
    assert [(i.start, i.end) for i in result.modalities["probe"].domain_intervals] == [(2.5, 12.5)]
    data = recording.ui.read(result, (3.0, 4.0))
    assert list(data.probe.signal.digital[:, 0]) == list(range(50, 150))
    assert data.probe.signal.timestamps[0] == 3.0
    start = recording.ui.read(result, (0.0, 2.6))
    assert list(start.probe.signal.digital[:, 0]) == list(range(10))


@pytest.mark.parametrize("modality", ["eeg", "events"])
def test_a_processed_row_whose_asset_is_gone_says_so(
    processed: Callable[..., Processed], modality: str
) -> None:
    recording = processed(segments=1, segment_s=5, audio=False, video=False)
    result = recording.result
    assets = recording.ui.store("assets_rw")
    key = recording.ui.asset_source().key_of(str(result.modalities[modality].storage_uri))
    for info in list(assets.list(key + "/")):
        assets.delete(info.key)
    start = result.modalities[modality].domain_intervals[0].start
    window = (start, start + 0.5)  # inside the domain, wherever the events fall
    with pytest.raises(ObjectNotFoundError, match=f"{key} is not in the assets bucket.*scrub"):
        recording.ui.read(result, window)
    with pytest.raises(FileNotFoundError):
        recording.ui.read(result, window, [modality])
