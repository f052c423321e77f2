"""Stream descriptions: validation that names the field, and inference from extensions."""

from __future__ import annotations

import logging

import pytest

from ursa_lib.processing import (
    StreamDescription,
    StreamDescriptionError,
    StreamKind,
    infer_description,
    parse_description,
)


@pytest.mark.parametrize(
    ("names", "kind", "fmt"),
    [
        (["seg_0.edf", "seg_1.EDF"], StreamKind.TIMESERIES, "edf"),
        (["a.bdf"], StreamKind.TIMESERIES, "bdf"),
        (["a.wav"], StreamKind.AUDIO, "wav"),
        (["a.flac"], StreamKind.AUDIO, "flac"),
        (["a.mp4", "b.mp4"], StreamKind.VIDEO, "mp4"),
        (["a.jsonl"], StreamKind.EVENTS, "jsonl"),
        (["a.ndjson"], StreamKind.EVENTS, "jsonl"),
    ],
)
def test_well_known_extensions_are_inferred(names: list[str], kind: StreamKind, fmt: str) -> None:
    assert infer_description("w_0", names) == StreamDescription(kind=kind, format=fmt)


@pytest.mark.parametrize("names", [["a.csv"], ["a.bin"], ["a.edf", "b.wav"], []])
def test_ambiguous_or_unknown_streams_are_not_inferred(
    names: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ursa.processing"):
        assert infer_description("w_0", names) is None
    assert "stream w_0: kind cannot be inferred" in caplog.text


def test_a_full_description_round_trips() -> None:
    data = {
        "kind": "timeseries",
        "format": "npy",
        "sampling_rate": 1000.0,
        "channels": ["Fz", "Cz"],
        "units": ["uV", "uV"],
        "gain": [0.1, 0.1],
        "offset": [0.0, 0.0],
        "clock_offset_s": -0.25,
        "segment_starts_s": [0.0, 60.0],
    }
    desc = parse_description(data, where="eeg_0")
    assert desc.model_dump(mode="json") == data
    assert StreamDescription.model_fields["gain"].description is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "eeg", "format": "edf"}, r"kind: Input should be 'timeseries'"),
        ({"kind": "timeseries", "format": "npy", "sample_rate": 5}, r"sample_rate: Extra inputs"),
        (
            {"kind": "timeseries", "format": "npy", "sampling_rate": 0},
            r"sampling_rate: .*greater than 0",
        ),
        (
            {"kind": "timeseries", "format": "npy", "channels": ["a", "b"], "units": ["uV"]},
            r"units: 1 values for 2 channels; give exactly one per channel",
        ),
        ({"kind": "timeseries", "format": "npy", "gain": [1.0]}, r"gain: given without channels"),
        (
            {"kind": "video", "format": "mp4", "segment_starts_s": [5, 1]},
            r"segment_starts_s: must not decrease",
        ),
    ],
)
def test_invalid_descriptions_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(StreamDescriptionError, match=rf"'eeg_0' is invalid \(.*{message}") as info:
        parse_description(data, where="eeg_0")
    assert isinstance(info.value, ValueError)
