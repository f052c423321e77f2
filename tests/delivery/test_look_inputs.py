"""`show` finds a recording by what `ursa query` prints; `plot` draws a window, or refuses it.

* a recording is named by its rec_id, its hash, or the hash's first 8 or more
  characters (the query table prints 12); an ambiguous start names the
  candidates, and no match is `NothingMatchedError`;

* the audio panel is a peak envelope: one value per run of samples, each the
  largest absolute sample of its run, not the raw waveform;
* a window with no video frame says so where the frame would be;
* a zero-length or reversed window is refused before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ursa_lib import InvalidValueError, NothingMatchedError, UrsaError
from ursa_lib.delivery import NotProcessedError
from ursa_lib.delivery._look import ENVELOPE_BINS
from ursa_lib.testing import write_session

from .conftest import Processed
from .test_windows import gapped_eeg


def test_the_audio_panel_is_a_peak_envelope_and_a_missing_frame_is_named(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=1, segment_s=10, events=False)
    ui, result = recording.ui, recording.result
    figure = ui.plot(result, (2.0, 6.0))
    audio_axis = next(a for a in figure.axes if a.get_ylabel().startswith("audio"))
    (band,) = audio_axis.collections
    top = band.get_paths()[0].vertices[:, 1].max()
    samples = np.asarray(ui.read(result, (2.0, 6.0), ["audio"]).audio.signal.data)
    assert top == pytest.approx(np.abs(samples).max())
    # One vertex pair per run of samples (with steps), far fewer than 64,000 samples.
    assert len(band.get_paths()[0].vertices) <= 4 * ENVELOPE_BINS + 8 < len(samples)
    # The frame is the one on screen at the window's start, though it began before.
    video_s = result.modalities["camera"].domain_intervals[-1].end
    late = ui.plot(result, (video_s - 0.01, video_s))
    titles = [a.get_title() for a in late.axes]
    assert f"camera at {video_s - 0.01:.3f} s" in titles
    (image,) = [img for a in late.axes for img in a.get_images()]
    shown = ui.read(result, (video_s - 0.01, video_s), ["camera"]).camera.at(video_s - 0.01)
    assert np.array_equal(np.asarray(image.get_array()), shown)


def test_a_window_after_the_video_ends_says_it_has_no_frame(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=2, segment_s=5, video_segments=1, events=False)
    figure = recording.ui.plot(recording.result, (7.0, 8.0))
    assert any(
        "no camera frame in this window" in t.get_text() for a in figure.axes for t in a.texts
    )


def test_a_window_without_length_is_refused(processed: Callable[..., Processed]) -> None:
    recording = processed(segments=1, segment_s=10, video=False, events=False)
    with pytest.raises(InvalidValueError, match="plot needs a window of positive length"):
        recording.ui.plot(recording.result, (3.0, 3.0))
    with pytest.raises(UrsaError):
        recording.ui.plot(recording.result, (5.0, 4.0))


@pytest.mark.parametrize("channels", [0, -1, "4", None, True, 2.5])
def test_a_channel_count_that_is_not_one_or_more_is_refused(
    processed: Callable[..., Processed], channels: Any
) -> None:
    recording = processed(segments=1, segment_s=4, audio=False, video=False, events=False)
    with pytest.raises(InvalidValueError, match="a whole number of 1 or more"):
        recording.ui.plot(recording.result, (0.0, 1.0), channels=channels)


def test_a_recording_with_nothing_processed_is_refused_not_drawn_empty(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=1, segment_s=4, process=False, video=False)
    with pytest.raises(NotProcessedError, match="has no processed modality to draw"):
        recording.ui.plot(recording.result, (0.0, 1.0))


def test_a_gap_is_drawn_as_a_gap_and_the_axis_ends_with_the_recording(
    processed: Callable[..., Processed],
) -> None:
    recording = gapped_eeg(processed)
    figure = recording.ui.plot(recording.result, (5.0, 20.0), channels=2)
    (axis,) = figure.axes
    lines = axis.get_lines()
    assert len(lines) == 4  # two channels, each as two runs: before and after the gap
    for line in lines:
        assert np.diff(np.asarray(line.get_xdata())).max() < 1.5 / 128
    spans = sorted((float(line.get_xdata()[0]), float(line.get_xdata()[-1])) for line in lines)
    assert spans[0][0] == 5.0
    assert spans[-1][0] == 15.0
    # A window reaching far past the recording is drawn over the recording, not to 1e308.
    far = recording.ui.plot(recording.result, (0.0, 1e308))
    assert far.axes[0].get_xlim() == (0.0, 25.0)


@pytest.mark.parametrize("target", [None, 5, ["rec"], b"rec"])
def test_show_refuses_what_is_not_one_recording(
    processed: Callable[..., Processed], target: Any
) -> None:
    recording = processed(segments=1, segment_s=4, audio=False, video=False, events=False)
    with pytest.raises(InvalidValueError, match="show and plot take one recording"):
        recording.ui.show(target)
    with pytest.raises(InvalidValueError, match="show and plot take one recording"):
        recording.ui.plot(target, (0.0, 1.0))


def test_show_takes_a_rec_id_a_hash_or_the_start_of_one(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=1, segment_s=5, video=False, events=False, audio=False)
    ui, h = recording.ui, recording.recording_hash
    whole = ui.show(h)
    assert ui.show(h[:12]) == whole
    assert ui.show(h[:8].upper()) == whole
    assert ui.show(recording.result.rec_id) == whole
    # Printed, a summary reads as `ursa show` prints it: a title, then one row per modality.
    title, header, eeg = str(whole).splitlines()
    assert title.startswith(f"{recording.result.rec_id} ({h}), participants ")
    assert header.split() == ["modality", "status", "format", "channels", "rate", "duration",
                              "domain", "(s)"]  # fmt: skip
    assert eeg.split()[:3] == ["eeg", "processed", "zarr"]
    assert "256 Hz" in eeg
    assert eeg.endswith("[0, 5)")
    with pytest.raises(NothingMatchedError, match="no recording matches"):
        ui.show("0" * 12 if not h.startswith("0" * 12) else "f" * 12)
    with pytest.raises(NothingMatchedError):
        ui.show(h[:7])  # too short to be taken for a hash: read as a rec_id


def test_show_shows_a_recording_whose_files_lie_in_no_stream_folder(
    processed: Callable[..., Processed], tmp_path: Path
) -> None:
    ui = processed(segments=1, segment_s=2, audio=False, video=False, events=False).ui
    h = ui.ingest(write_session(tmp_path / "flat", "rec_flat", {"": [4]})).recording_hash
    assert len(ui.query(recording_hash=h, status="all")) == 0  # queries go by modality
    for target in ("rec_flat", h, h[:12]):
        summary = ui.show(target)
        assert (summary.recording_hash, summary.modalities) == (h, ())
    title, reason = str(ui.show(h)).splitlines()
    assert title.startswith(f"rec_flat ({h}), participants p1")
    assert reason.startswith("no modality: its files lie in no stream folder (<stream>_<n>/)")
    with pytest.raises(NotProcessedError, match="no modality to draw: its files lie in no"):
        ui.plot("rec_flat", (0.0, 1.0))
