"""Building segment lists and writing multi-segment inputs with the real libraries."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pyedflib
from pyedflib import highlevel

from ursa_lib.processing import Segment


def segments(root: Path, paths: Sequence[Path]) -> list[Segment]:
    """Segments for files under ``root``, in the given order."""
    return [
        Segment(rel_path=p.relative_to(root).as_posix(), path=p, size=p.stat().st_size)
        for p in paths
    ]


def copy_into(worker: Path, sources: Sequence[Path], suffix: str) -> list[Path]:
    """Copy ``sources`` to ``worker/seg_00000<suffix>``… and return the copies."""
    worker.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(sources):
        dst = worker / f"seg_{i:05d}{suffix}"
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


def write_edf(
    path: Path,
    digital: npt.NDArray[np.int32],
    *,
    start: datetime,
    rate: int = 256,
    labels: Sequence[str] | None = None,
    bdf: bool = False,
) -> Path:
    """An EDF+ (or BDF+) file of ``digital`` (samples x channels) written by pyedflib."""
    n_ch = digital.shape[1]
    labels = list(labels or [f"EEG{i}" for i in range(n_ch)])
    dmax = 8388607 if bdf else 32767
    headers = highlevel.make_signal_headers(
        labels,
        dimension="uV",
        sample_frequency=rate,
        physical_min=-3276.8,
        physical_max=3276.7,
        digital_min=-dmax - 1,
        digital_max=dmax,
    )
    header = highlevel.make_header(startdate=start)
    highlevel.write_edf(
        str(path),
        [digital[:, i].astype(np.int32) for i in range(n_ch)],
        headers,
        header,
        digital=True,
        file_type=pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS,
    )
    return path


def write_mp4(
    path: Path,
    n_frames: int,
    *,
    width: int = 64,
    height: int = 48,
    codec: str = "mpeg4",
    seed: int = 0,
) -> Path:
    """A small MP4 encoded by PyAV (25 fps, keyframe every 5 frames)."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 5
        stream.codec_context.time_base = Fraction(1, 25)
        for i in range(n_frames):
            img = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
            img[:, : (i * 3) % width] = 0
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
