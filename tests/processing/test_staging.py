"""All or nothing under ``out``, including failures in the middle of writing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ursa_lib.processing import (
    ConversionRequest,
    ProcessingError,
    SegmentReadError,
    StreamDescription,
    StreamKind,
)
from ursa_lib.processing._sampled import SegmentHeader, convert_sampled
from ursa_lib.processing._staging import staged

from .helpers import segments


def test_success_moves_every_entry_in(tmp_path: Path) -> None:
    with staged(tmp_path, ("a.mp4", "a.mp4.lance")) as stage:
        (stage / "a.mp4").write_bytes(b"v")
        (stage / "a.mp4.lance").mkdir()
        (stage / "a.mp4.lance" / "x").write_bytes(b"i")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "a.mp4.lance"]


def write_then_fail(out: Path) -> None:
    with staged(out, ("a.zarr",)) as stage:
        (stage / "a.zarr").mkdir()
        raise RuntimeError("disk full")


def test_an_error_while_writing_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="disk full"):
        write_then_fail(tmp_path)
    assert list(tmp_path.iterdir()) == []


def write_only_the_video(out: Path) -> None:
    with staged(out, ("a.mp4", "a.mp4.lance")) as stage:
        (stage / "a.mp4").write_bytes(b"v")


def test_a_missing_entry_undoes_the_entries_already_moved(tmp_path: Path) -> None:
    with pytest.raises(ProcessingError, match=r"wrote no 'a\.mp4\.lance'"):
        write_only_the_video(tmp_path)
    assert list(tmp_path.iterdir()) == []


class FailsAfterOneBlock:
    """A format whose second segment breaks after its first block has been written."""

    def header(self, request: ConversionRequest, index: int) -> SegmentHeader:
        return SegmentHeader(
            rate=100.0,
            names=("a",),
            units=("V",),
            gain=(1.0,),
            offset=(0.0,),
            dtype=np.dtype(np.int16),
            n_samples=5000,
        )

    def blocks(
        self, request: ConversionRequest, index: int, header: SegmentHeader, block_len: int
    ) -> Iterator[np.ndarray[Any, Any]]:
        yield np.zeros((block_len, 1), dtype=np.int16)
        if index == 1:
            raise SegmentReadError(f"{request.segments[index].rel_path} broke mid-read")
        for _ in range(1, header.n_samples // block_len):
            yield np.zeros((block_len, 1), dtype=np.int16)


def test_a_segment_failing_mid_conversion_leaves_nothing(tmp_path: Path) -> None:
    worker = tmp_path / "x_0"
    worker.mkdir()
    files = []
    for i in range(2):
        (worker / f"seg_{i}.bin").write_bytes(b"\0")
        files.append(worker / f"seg_{i}.bin")
    out = tmp_path / "out"
    out.mkdir()
    req = ConversionRequest(
        segments=segments(tmp_path, files),
        description=StreamDescription(kind=StreamKind.TIMESERIES, format="bin"),
        modality="x",
        out=out,
    )
    with pytest.raises(SegmentReadError, match=r"x_0/seg_1\.bin broke mid-read"):
        convert_sampled(req, FailsAfterOneBlock(), name="t", version="1")
    assert list(out.iterdir()) == []
