"""WAV/FLAC → Zarr, sample for sample against soundfile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import zarr

from ursa_lib.processing import (
    ConversionRequest,
    SegmentMismatchError,
    SegmentReadError,
    StreamDescription,
    StreamKind,
)
from ursa_lib.processing._audio import AudioConverter

from .contract import ConverterContract
from .helpers import copy_into, segments
from .realfiles import SCIPY_WAV, WAV_CORRUPT, WAV_READABLE

WAV = StreamDescription(kind=StreamKind.AUDIO, format="wav")
FLAC = StreamDescription(kind=StreamKind.AUDIO, format="flac")


def request(tmp_path: Path, files: list[Path], desc: StreamDescription = WAV) -> ConversionRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ConversionRequest(
        segments=segments(tmp_path, files), description=desc, modality="audio", out=out
    )


def open_data(out: Path) -> zarr.Array:
    return zarr.open_array(zarr.storage.LocalStore(out / "audio.zarr", read_only=True), path="data")


def physical(data: zarr.Array) -> np.ndarray:
    gain = np.array(data.attrs["gain"], dtype=np.float64)
    offset = np.array(data.attrs["offset"], dtype=np.float64)
    return gain * (data[:].astype(np.float64) + offset)


class TestAudioContract(ConverterContract):
    converter = AudioConverter()

    def good_input(self, tmp_path: Path) -> ConversionRequest:
        return request(
            tmp_path, copy_into(tmp_path / "audio_0", [SCIPY_WAV / WAV_READABLE[2]], ".wav")
        )

    def bad_input(self, tmp_path: Path) -> ConversionRequest:
        files = copy_into(
            tmp_path / "audio_0", [SCIPY_WAV / WAV_READABLE[2], SCIPY_WAV / WAV_CORRUPT], ".wav"
        )
        return request(tmp_path, files)


@pytest.mark.parametrize("name", WAV_READABLE)
def test_real_wav_sample_for_sample(tmp_path: Path, name: str) -> None:
    files = copy_into(tmp_path / "audio_0", [SCIPY_WAV / name], ".wav")
    result = AudioConverter().convert(request(tmp_path, files))
    data = open_data(tmp_path / "out")
    floats, rate = soundfile.read(files[0], dtype="float64", always_2d=True)
    assert np.array_equal(physical(data), floats)
    assert result.sampling_rate == rate == data.attrs["sampling_rate"]
    assert result.count == len(floats)
    info = soundfile.info(str(files[0]))
    if info.subtype.startswith("PCM"):
        assert data.dtype.kind == "i"
        if info.subtype in ("PCM_16", "PCM_32"):
            ints, _ = soundfile.read(files[0], dtype=str(data.dtype), always_2d=True)
            assert np.array_equal(data[:], ints)


def test_flac_segments_back_to_back_and_with_a_gap(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    worker = tmp_path / "mic_0"
    worker.mkdir()
    parts = [rng.integers(-(2**23), 2**23, size=(8000 * n, 2), dtype=np.int32) for n in (3, 2, 4)]
    files = []
    for i, p in enumerate(parts):
        f = worker / f"seg_{i}.flac"
        soundfile.write(f, p << 8, 8000, subtype="PCM_24")
        files.append(f)
    result = AudioConverter().convert(request(tmp_path, files, FLAC))
    assert result.domain_intervals == ((0.0, 9.0),)
    data = open_data(tmp_path / "out")
    assert np.array_equal(data[:], np.concatenate(parts))  # the 24-bit values as stored
    expected = np.concatenate(
        [soundfile.read(f, dtype="float64", always_2d=True)[0] for f in files]
    )
    assert np.array_equal(physical(data), expected)

    gapped = FLAC.model_copy(update={"segment_starts_s": (0.0, 3.0, 6.0), "clock_offset_s": 0.25})
    out2 = tmp_path / "out2"
    out2.mkdir()
    req = request(tmp_path, files, gapped)
    req = ConversionRequest(segments=req.segments, description=gapped, modality="audio", out=out2)
    result = AudioConverter().convert(req)
    assert result.domain_intervals == ((0.25, 5.25), (6.25, 10.25))


def test_segments_at_different_rates_are_refused_by_name(tmp_path: Path) -> None:
    worker = tmp_path / "mic_0"
    worker.mkdir()
    soundfile.write(worker / "a.wav", np.zeros((800, 1), dtype=np.int16), 8000)
    soundfile.write(worker / "b.wav", np.zeros((800, 1), dtype=np.int16), 16000)
    with pytest.raises(SegmentMismatchError, match=r"mic_0/b\.wav has rate 16000"):
        AudioConverter().convert(request(tmp_path, [worker / "a.wav", worker / "b.wav"]))
    assert list((tmp_path / "out").iterdir()) == []


def test_corrupt_wav_is_refused_by_name(tmp_path: Path) -> None:
    files = copy_into(tmp_path / "audio_0", [SCIPY_WAV / WAV_CORRUPT], ".wav")
    with pytest.raises(SegmentReadError, match=r"audio_0/seg_00000\.wav is not a readable WAV"):
        AudioConverter().convert(request(tmp_path, files))
