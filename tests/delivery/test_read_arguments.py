"""The arguments of the processed reads are checked before anything is read.

* a ``time_range`` is a pair of finite numbers of seconds with start <= end
  (zero length allowed): anything else is an `InvalidValueError` that says so
  and shows what was given, never a Python ``TypeError`` from unpacking, nor a
  `WindowOutsideDomainError` for a window that is not one;
* ``stream``'s ``window`` and ``step`` are numbers of seconds greater than 0;
* ``modalities`` is a list of names each recording has (a bare string is
  refused), the target one or more query results: an empty list, a string or
  anything else is refused with a message naming the verb called.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ursa_lib import InvalidValueError, NotDeliverableError, NothingMatchedError
from ursa_lib.delivery import Window

from .conftest import Processed

NOT_WINDOWS: list[tuple[Any, str]] = [
    (10.0, r"got 10\.0$"),
    ((1, 2, 3), r"got 3 values: \(1, 2, 3\)"),
    ((5,), r"got 1 values"),
    ("ab", r"got 'ab'$"),
    (("a", "b"), r"'a' \(str\) and 'b' \(str\) are not numbers"),
    (("10", "20"), r"'10' \(str\) and '20' \(str\) are not numbers"),
    ((True, 3), r"True \(bool\) is not a number"),
    ((None, 3), r"None \(NoneType\) is not a number"),
    ((20, 10), r"got \(20, 10\), whose start is after its end"),
    ((math.nan, 10), r"got \(nan, 10\), which is not finite"),
    ((0, math.inf), r"got \(0, inf\), which is not finite"),
    ((0, 1e400), r"which is not finite"),
]


@pytest.mark.parametrize(("time_range", "said"), NOT_WINDOWS)
def test_a_time_range_that_is_not_a_window_is_refused(time_range: Any, said: str) -> None:
    with pytest.raises(InvalidValueError, match=r"time_range is \(start, end\)") as caught:
        Window.of(time_range)
    assert "start <= end" in str(caught.value)
    assert caught.match(said)


@pytest.mark.parametrize(
    "time_range",
    [(10, 20), [10.0, 20.5], (np.float64(1.5), np.int64(3)), (4, 4), (-2.0, 3)],
)
def test_pairs_of_numbers_are_windows(time_range: Any) -> None:
    window = Window.of(time_range)
    assert (window.start, window.end) == (float(time_range[0]), float(time_range[1]))
    assert isinstance(window.start, float)


def test_read_and_stream_refuse_bad_arguments_before_reading(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=1, segment_s=4, video=False, events=False)
    ui, result = recording.ui, recording.result
    for bad in [10.0, (1, 2, 3), ("a", "b"), ("10", "20"), (True, 3), (20, 10), (math.nan, 1)]:
        with pytest.raises(InvalidValueError, match=r"time_range is \(start, end\)"):
            ui.read(result, bad)
        with pytest.raises(InvalidValueError, match=r"time_range is \(start, end\)"):
            ui.materialize(result, bad)
    empty = ui.read(result, (1, 1))  # a zero-length window reads, and holds no sample
    assert (empty.domain.start.tolist(), len(empty.eeg.signal.data)) == ([1.0], 0)
    for window, step in [(0, None), (-1.0, None), (math.nan, None), (1.0, 0), (True, None)]:
        with pytest.raises(InvalidValueError, match="a finite number of seconds greater than 0"):
            ui.stream(result, window=window, step=step)
    with pytest.raises(InvalidValueError, match=r"stream's step .* got -2"):
        ui.stream(result, window=1.0, step=-2)


def test_targets_and_modalities_are_checked_by_every_read_verb(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(segments=1, segment_s=4, video=False)
    ui, result = recording.ui, recording.result
    has = r"has no modality 'eeeg' \(it has audio, eeg, events; did you mean 'eeg'\?\)"
    with pytest.raises(InvalidValueError, match=has):
        ui.read(result, (0, 1), ["eeeg"])
    with pytest.raises(InvalidValueError, match=has):
        ui.materialize(result, time_range=(0, 1), modalities=["eeeg"])
    with pytest.raises(InvalidValueError, match=has):
        ui.materialize(result, modalities=["eeeg"], source="raw")
    with pytest.raises(InvalidValueError, match=has):
        ui.stream(result, window=1.0, modalities=["eeeg"])
    with pytest.raises(
        InvalidValueError, match=r"no modality 'video' \(it has audio, eeg, events\)$"
    ):
        ui.read(result, (0, 1), ["video"])
    bare = r"modalities is a list of names, e.g. \['eeg'\], or None for all of them; got 'eeg'"
    for call in (
        lambda: ui.read(result, (0, 1), "eeg"),
        lambda: ui.materialize(result, time_range=(0, 1), modalities="eeg"),
        lambda: ui.stream(result, window=1.0, modalities="eeg"),
    ):
        with pytest.raises(InvalidValueError, match=bare):
            call()
    with pytest.raises(InvalidValueError, match="got an empty list"):
        ui.materialize(result, modalities=[])
    for verb in ("read", "materialize"):
        with pytest.raises(NothingMatchedError, match=f"{verb} got no query results"):
            getattr(ui, verb)([], (0, 1))
    text = f"rec_{recording.recording_hash[:8]}"
    for verb, call in [
        ("materialize", lambda: ui.materialize(text, time_range=(0, 1))),
        ("read", lambda: ui.read(text)),
        ("stream", lambda: ui.stream(text, window=1.0)),
        ("download", lambda: ui.download(text, "unused")),
    ]:
        with pytest.raises(InvalidValueError) as caught:
            call()
        assert str(caught.value) == (
            f"{verb} takes QueryResult objects from query(); got the string {text!r}: find a "
            "recording by its hash with query(recording_hash=...) (show() also takes a hash "
            "or a rec_id)"
        )
    with pytest.raises(InvalidValueError, match=r"read takes QueryResult .* got int 5"):
        ui.read(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"got a list holding str 'a'"):
        ui.materialize(["a"])  # type: ignore[list-item]


def test_materialize_of_processed_beside_raw_modalities_says_what_to_ask_for(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(audio=False, video=False, process=False, segments=1, segment_s=2)
    ui = recording.ui
    ui.process(recording.recording_hash, modalities=["eeg"])
    (result,) = ui.query(recording_hash=recording.recording_hash, status="all")
    said = (
        r"modality 'events' of recording [0-9a-f]{12}… is raw, not processed: pass "
        r"modalities=\['eeg'\] for their time-indexed data, pass source='raw' for the raw "
        r"segments of every modality"
    )
    for kw in ({}, {"source": "processed"}, {"time_range": (0.0, 1.0)}):
        with pytest.raises(NotDeliverableError, match=said):
            ui.materialize(result, **kw)
    assert ui.materialize(result, modalities=["eeg"]).eeg.signal.data.shape == (512, 8)
    with pytest.raises(InvalidValueError, match="source must be one of"):
        ui.materialize(result, modalities=["eeg"], source="cooked")  # type: ignore[arg-type]
    assert sorted(ui.materialize(result, source="raw")) == ["eeg", "events"]
    events_only = result.model_copy(update={"modalities": {"events": result.modalities["events"]}})
    with pytest.raises(NotDeliverableError, match="is raw, not processed: pass source='raw'"):
        ui.materialize(events_only, source="processed")
