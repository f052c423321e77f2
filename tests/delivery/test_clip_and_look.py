"""Clipped assets open in place and hold exactly the window; a look before a read.

* `write_clip` of a Zarr holds the source's samples of ``[t0, t1)`` (zarr opens
  it), of events only the window's events (lancedb opens it), of an MP4 the
  frames from the keyframe at or before ``t0`` to the last one before ``t1``,
  never re-encoded, with a frame index beside it (PyAV and lancedb open them);
* `summarize` and `plot_window` (`DataInterface.show` / `.plot`) describe and
  draw one aligned window.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import av
import lancedb
import numpy as np
import pyedflib
import pytest
import zarr
from matplotlib.figure import Figure

from ursa_lib import InvalidValueError
from ursa_lib.delivery import Window
from ursa_lib.delivery._clip import write_clip  # not public yet: downloads will use it

from .conftest import Processed

T0, T1 = 12.35, 14.55


@pytest.fixture(params=["local", "rclone"])
def recording(request: pytest.FixtureRequest, processed: Callable[..., Processed]) -> Processed:
    # seed 101: two of the ten events fall in [T0, T1)
    return processed(request.param, segments=2, segment_s=10, audio=False, seed=101)


def test_clipped_assets_open_in_place_and_hold_the_window(
    recording: Processed, tmp_path: Path
) -> None:
    result, source = recording.result, recording.ui.asset_source()
    out = tmp_path / "clip"
    window = Window(T0, T1)
    for name in ("eeg", "events", "camera"):
        write_clip(source, result.modalities[name], window, out / name)
    assert sorted(p.name for p in out.rglob("*") if p.parent.parent == out) == [
        "camera.mp4",
        "camera.mp4.lance",
        "eeg.zarr",
        "events.lance",
    ]

    # Zarr: the EDF's own samples of the window, at their session times.
    clip = zarr.open_group(str(out / "eeg" / "eeg.zarr"), mode="r")["data"]
    with pyedflib.EdfReader(str(recording.session / "eeg_0" / "seg_00001.edf")) as reader:
        source_digital = np.stack([reader.readSignal(c, digital=True) for c in range(8)], 1)
    k0, k1 = math.ceil(T0 * 256), math.ceil(T1 * 256)
    assert np.array_equal(clip[:], source_digital[k0 - 2560 : k1 - 2560])
    assert clip.attrs["intervals"] == [
        {"start_s": k0 / 256, "sample_offset": 0, "n_samples": k1 - k0}
    ]

    # Events: only those of the window.
    lines = (recording.session / "events_0" / "events.jsonl").read_text().splitlines()
    expected = sorted(t for t in (json.loads(x)["time"] for x in lines) if T0 <= t < T1)
    assert len(expected) == 2
    table = lancedb.connect(str(out / "events")).open_table("events").to_arrow()
    assert table.column("time").to_pylist() == pytest.approx(expected)

    # MP4: from the keyframe at 12 s (frame 120) to frame 145 (14.5 s), remuxed.
    original = recording.session / "camera_0" / "seg_00001.mp4"
    with av.open(str(original)) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(original)) as container:
        packets = {bytes(p) for p in container.demux(video=0) if p.size}
    with av.open(str(out / "camera" / "camera.mp4")) as clipped:
        decoded = list(clipped.decode(video=0))
    assert decoded[0].key_frame
    assert len(decoded) == 26
    for frame, picture in zip(decoded, pictures[20:46], strict=True):
        assert np.array_equal(frame.to_ndarray(format="rgb24"), picture)
    with av.open(str(out / "camera" / "camera.mp4")) as clipped:
        assert {bytes(p) for p in clipped.demux(video=0) if p.size} <= packets
    index = lancedb.connect(str(out / "camera")).open_table("camera.mp4").to_arrow()
    times = sorted(index.column("time_s").to_pylist())
    assert times[0] == pytest.approx(12.0)
    assert times[-1] == pytest.approx(14.5)
    assert times[-1] < T1
    assert index.num_rows == 26


@pytest.mark.parametrize("backend", ["local", "rclone"])
def test_show_and_plot_one_aligned_window(
    backend: str, processed: Callable[..., Processed], tmp_path: Path
) -> None:
    recording = processed(backend, segments=2, segment_s=10, audio=False)
    ui, result = recording.ui, recording.result
    summary = ui.show(result.rec_id)
    assert summary == ui.show(recording.recording_hash)
    assert summary.rec_id == result.rec_id
    assert summary.duration_s == 20.0
    mods = {m.modality: m for m in summary.modalities}
    assert sorted(mods) == ["camera", "eeg", "events"]
    assert mods["eeg"].channels == tuple(f"EEG{i:02d}" for i in range(1, 9))
    assert mods["eeg"].sampling_rate == 256.0
    assert mods["eeg"].domain == ((0.0, 20.0),)
    assert mods["eeg"].status == "processed"
    assert mods["camera"].format == "mp4"
    figure = ui.plot(result, (T0, T1))
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2  # EEG, and the video frame at the window's start
    eeg_axis = figure.axes[0]
    assert eeg_axis.get_xlim() == (T0, T1)
    assert len(eeg_axis.lines) >= 4  # four channels, then one marker per event
    figure.savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_window_download_refuses_an_unknown_layout_or_mode_before_writing(
    processed: Callable[..., Processed], tmp_path: Path
) -> None:
    recording = processed("local", segments=2, segment_s=10, audio=False, seed=101)
    dest = tmp_path / "window"
    for bad, message in (
        ({"layout": "nested"}, "layout must be one of"),
        ({"existing": "keep"}, "existing must be one of"),
    ):
        with pytest.raises(InvalidValueError, match=message):
            recording.ui.download(recording.result, dest, time_range=(T0, T1), **bad)
    assert not dest.exists()
