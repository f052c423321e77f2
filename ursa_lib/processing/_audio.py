"""Audio: WAV and FLAC through soundfile, into the same Zarr shape as time series.

Samples stay as stored: PCM_16 as int16, PCM_24 as the 24-bit values in
int32, PCM_32 as int32, 8-bit PCM as int8, FLOAT/DOUBLE as float32/float64.
The gain is libsndfile's own normalisation (a power of two, 2^-(bits-1)), so
``gain * digital`` equals ``soundfile.read(dtype="float64")`` bit for bit:
scaling by a power of two is exact in float64.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile

from ._conversion import ConversionOutput, ConversionRequest
from ._describe import StreamKind
from ._errors import SegmentMismatchError, SegmentReadError
from ._sampled import SegmentHeader, convert_sampled

__all__ = ["AudioConverter"]

# subtype → (dtype soundfile reads, right shift to the stored value, stored dtype, gain)
_SUBTYPES: dict[str, tuple[str, int, str, float]] = {
    "PCM_S8": ("int16", 8, "int8", 2.0**-7),
    "PCM_U8": ("int16", 8, "int8", 2.0**-7),
    "PCM_16": ("int16", 0, "int16", 2.0**-15),
    "PCM_24": ("int32", 8, "int32", 2.0**-23),
    "PCM_32": ("int32", 0, "int32", 2.0**-31),
    "FLOAT": ("float32", 0, "float32", 1.0),
    "DOUBLE": ("float64", 0, "float64", 1.0),
}


def _open(request: ConversionRequest, index: int) -> soundfile.SoundFile:
    segment = request.segments[index]
    try:
        return soundfile.SoundFile(str(segment.path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise SegmentReadError(
            f"{segment.rel_path} is not a readable WAV/FLAC file ({exc}); it is truncated or "
            "corrupt. Re-copy it from the rig"
        ) from None


class _AudioFormat:
    def header(self, request: ConversionRequest, index: int) -> SegmentHeader:
        rel = request.segments[index].rel_path
        with _open(request, index) as f:
            if f.subtype not in _SUBTYPES:
                raise SegmentMismatchError(
                    f"{rel} stores {f.subtype} samples; Ursa keeps audio as stored only for "
                    f"{', '.join(_SUBTYPES)}. Re-encode it as PCM_16 or PCM_24"
                )
            _, _, stored, gain = _SUBTYPES[f.subtype]
            n_ch = int(f.channels)
            names = request.description.channels or tuple(f"ch{i}" for i in range(n_ch))
            if len(names) != n_ch:
                raise SegmentMismatchError(
                    f"{rel} has {n_ch} channels but the stream description names {len(names)}; "
                    "fix channels in the description"
                )
            return SegmentHeader(
                rate=float(f.samplerate),
                names=tuple(names),
                # Full scale: the physical value is soundfile's float sample in [-1, 1).
                units=("FS",) * n_ch,
                gain=(gain,) * n_ch,
                offset=(0.0,) * n_ch,
                dtype=np.dtype(stored),
                n_samples=int(f.frames),
            )

    def blocks(
        self, request: ConversionRequest, index: int, header: SegmentHeader, block_len: int
    ) -> Iterator[npt.NDArray[Any]]:
        with _open(request, index) as f:
            read_as, shift, stored, _ = _SUBTYPES[f.subtype]
            for block in f.blocks(blocksize=block_len, dtype=read_as, always_2d=True):
                if shift:
                    block = block >> shift
                yield block.astype(stored, copy=False)


class AudioConverter:
    """WAV and FLAC segments → Zarr, samples as stored (soundfile)."""

    name = "ursa.audio.soundfile"
    version = "2"  # 2: chunks of at least 5 s and 512 KiB (were 10 s and 1 MiB)
    kind = StreamKind.AUDIO
    formats = frozenset({"wav", "flac"})
    storage_format = "zarr"
    suffix = ".zarr"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """Convert as :class:`~ursa_lib.processing.Converter` promises; layout in ``_zarr_sink``."""
        return convert_sampled(request, _AudioFormat(), name=self.name, version=self.version)
