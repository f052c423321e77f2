"""`stream` walks aligned windows with one read ahead; results concatenate only when aligned.

* every window of every modality starts and ends together, with exactly the
  samples and frames of ``[t, t + window)``;
* a gap in the domain is reported in ``gaps``, never filled;
* the next window is read in a background thread (named ``ursa-stream…``),
  and a consumer that breaks early leaves no thread behind;
* several results are read together only when their modality sets and time
  domains align, else an `InvalidValueError` (a ``ValueError``) says why;
* raw rows still materialize as their verified segments.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ursa_lib import InvalidValueError
from ursa_lib.delivery import _sampled

from .conftest import Processed


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ursa-stream")]


@pytest.mark.parametrize("backend", ["local", "rclone"])
def test_stream_yields_aligned_windows_read_ahead(
    backend: str, processed: Callable[..., Processed]
) -> None:
    recording = processed(backend, segments=2, segment_s=5, events=False)
    result = recording.result
    whole = recording.ui.read(result)
    seen = []
    for w in recording.ui.stream(result, window=2.0, modalities=["audio", "camera", "eeg"]):
        assert stream_threads(), "the next window is read in the background"
        assert w.recording_hash == recording.recording_hash
        assert w.gaps == ()
        eeg, audio = w.data.eeg.signal, w.data.audio.signal
        k0 = round(w.start * 256)
        assert np.array_equal(eeg.digital, whole.eeg.signal.digital[k0 : k0 + len(eeg.digital)])
        assert eeg.timestamps[0] == w.start
        assert audio.timestamps[0] == w.start
        assert list(w.data.camera.frame_numbers) == list(
            range(round(w.start * 10), round(min(w.end, 10.0) * 10))
        )
        seen.append((w.start, w.end, len(eeg.digital), len(audio.data)))
    assert [s[:2] for s in seen] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0), (8.0, 10.0)]
    assert {s[2] for s in seen} == {512}
    assert {s[3] for s in seen} == {32_000}
    assert not stream_threads()


def test_a_stream_of_eeg_and_audio_decodes_each_chunk_once(
    processed: Callable[..., Processed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overlapping windows over two sampled streams share their chunks: a 10 s
    window touches up to three 5 s EEG chunks and one or two audio chunks."""
    recording = processed(
        segments=6, segment_s=10, eeg_channels=64, eeg_rate=1000, video=False, events=False
    )
    read: list[tuple[str, int]] = []
    chunks = _sampled.ChunkReader.chunks

    def counted(reader: _sampled.ChunkReader, numbers: list[int]) -> Any:
        read.extend((reader.array.store_path.path, c) for c in numbers)
        return chunks(reader, numbers)

    monkeypatch.setattr(_sampled.ChunkReader, "chunks", counted)
    windows = list(recording.ui.stream(recording.result, window=10.0, step=2.0))
    assert len(windows) == 30
    assert {path.split("/")[-2] for path, _ in read} == {"eeg.zarr", "audio.zarr"}
    assert len(read) == len(set(read)), "a chunk was decoded again"
    assert len({c for path, c in read if "/eeg.zarr/" in path}) == 12  # 60 s of 5 s chunks


def test_a_consumer_that_breaks_early_leaves_no_thread(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=3, segment_s=10, video=False, events=False)
    for i, window in enumerate(recording.ui.stream(recording.result, window=1.0, step=0.5)):
        assert window.start == i * 0.5
        if i == 2:
            assert stream_threads()
            break
    assert not stream_threads()
    with pytest.raises(InvalidValueError, match="window is a finite number of seconds greater"):
        recording.ui.stream(recording.result, window=0.0)  # refused at the call
    # Windows are made as they are read, not listed ahead: a nanosecond step over
    # 30 s (3e10 windows) starts at once, in bounded memory.
    tiny = recording.ui.stream(recording.result, window=1e-9)
    first = [w.start for w in itertools.islice(tiny, 3)]
    assert first == pytest.approx([0.0, 1e-9, 2e-9])
    tiny.close()
    assert not stream_threads()


def gap_stream(session: Path) -> None:
    worker = session / "probe_0"
    worker.mkdir()
    for seg in range(2):
        np.save(worker / f"seg_{seg:05d}.npy", np.full((400, 1), seg + 1, dtype=np.int16))
    rig = json.loads((session / "manifest.json").read_text())
    rig["streams"] = {
        "probe_0": {
            "kind": "timeseries",
            "format": "npy",
            "sampling_rate": 100.0,
            "segment_starts_s": [0.0, 9.0],
        }
    }
    (session / "manifest.json").write_text(json.dumps(rig))


def test_stream_reports_gaps_and_never_fills_them(processed: Callable[..., Processed]) -> None:
    recording = processed(
        segments=1, segment_s=13, eeg=False, audio=False, video=False, events=False,
        prepare=gap_stream,
    )  # fmt: skip
    windows = list(recording.ui.stream(recording.result, window=3.0))
    assert [(w.start, w.end) for w in windows] == [(0.0, 3.0), (3.0, 6.0), (6.0, 9.0), (9.0, 12.0),
                                                   (12.0, 15.0)]  # fmt: skip
    assert [w.gaps for w in windows] == [(), ((4.0, 6.0),), ((6.0, 9.0),), (), ((13.0, 15.0),)]
    counts = [len(w.data.probe.signal.digital) for w in windows]
    assert counts == [300, 100, 0, 300, 100]
    assert set(np.unique(windows[1].data.probe.signal.digital)) == {1}
    assert set(np.unique(windows[3].data.probe.signal.digital)) == {2}


def test_a_gap_in_one_stream_is_reported_for_it_while_others_record(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(
        segments=1, segment_s=13, eeg=False, audio=False, video=False, prepare=gap_stream,
    )  # fmt: skip
    result = recording.result
    assert result.recording.duration == 13.0
    windows = list(recording.ui.stream(result, window=3.0))
    assert [w.start for w in windows] == [0.0, 3.0, 6.0, 9.0, 12.0]
    # Events record throughout (until the recording's end, or their last event's if
    # later): past that, and only there, is a gap of them all.
    end = max(13.0, result.modalities["events"].domain_intervals[-1].end)
    assert [w.gaps for w in windows] == [(), (), (), (), ((end, 15.0),)]
    assert [w.gaps_by_modality["probe"] for w in windows] == [
        (), ((4.0, 6.0),), ((6.0, 9.0),), (), ((13.0, 15.0),),
    ]  # fmt: skip
    assert [w.gaps_by_modality["events"] for w in windows] == [(), (), (), (), ((end, 15.0),)]
    assert len(windows[2].data.probe.signal.digital) == 0
    # Events alone walk the session's grid from its start, not from their first event.
    alone = list(recording.ui.stream(result, window=3.0, modalities=["events"]))
    assert [w.start for w in alone] == [0.0, 3.0, 6.0, 9.0, 12.0]
    assert sum(len(w.data.events.timestamps) for w in alone) == len(
        recording.ui.read(result, modalities=["events"]).events.timestamps
    )


def test_results_concatenate_only_when_aligned(processed: Callable[..., Processed]) -> None:
    a = processed(segments=2, segment_s=5, video=False)
    b = processed(segments=2, segment_s=5, video=False)
    shorter = processed(segments=1, segment_s=5, video=False)
    fewer = processed(segments=2, segment_s=5, video=False, audio=False)
    ui = a.ui
    both = ui.read([a.result, b.result], (1.0, 3.0), ["eeg", "audio"])
    assert [d.recording_hash for d in both] == [a.recording_hash, b.recording_hash]
    assert {d.eeg.signal.digital.shape for d in both} == {(512, 8)}
    # Events cover only their first to their last event, so their spans differ from
    # session to session; they do not make two recordings misaligned.
    with_events = ui.read([a.result, b.result], (1.0, 3.0))
    assert [set(d.keys()) >= {"eeg", "events"} for d in with_events] == [True, True]
    with pytest.raises(ValueError, match=r"time domains of 'eeg' differ.*\[\(0.0, 5.0\)\]"):
        ui.read([a.result, shorter.result], (1.0, 3.0), ["eeg"])
    with pytest.raises(InvalidValueError, match="modality sets differ"):
        ui.read([a.result, fewer.result], (1.0, 3.0))
    with pytest.raises(InvalidValueError, match="align"):
        ui.materialize([a.result, fewer.result], time_range=(1.0, 3.0))


def test_raw_rows_keep_materializing_as_segments(processed: Callable[..., Processed]) -> None:
    recording = processed(segments=3, segment_s=2, process=False, video=False, events=False)
    (result,) = recording.ui.query(recording_hash=recording.recording_hash, status="raw")
    segments = recording.ui.materialize(result)
    assert sorted(segments) == ["audio", "eeg"]
    assert len(segments["eeg"].segments) == 3
    with pytest.raises(InvalidValueError, match="time_range needs processed data"):
        recording.ui.materialize(result, time_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="is raw, not processed"):
        recording.ui.stream(result, window=1.0)
    assert not stream_threads()
