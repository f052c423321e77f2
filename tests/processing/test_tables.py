"""CSV segments → one Parquet file."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ursa_lib.processing import (
    ConversionRequest,
    SegmentMismatchError,
    StreamDescription,
    StreamKind,
)
from ursa_lib.processing._tables import TableConverter

from .contract import ConverterContract
from .helpers import segments

CSV = StreamDescription(kind=StreamKind.TABLE, format="csv")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def request(tmp_path: Path, files: list[Path]) -> ConversionRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ConversionRequest(
        segments=segments(tmp_path, files), description=CSV, modality="trials", out=out
    )


class TestTableContract(ConverterContract):
    converter = TableConverter()

    def good_input(self, tmp_path: Path) -> ConversionRequest:
        return request(
            tmp_path, [write(tmp_path / "trials_0" / "a.csv", "trial,rt\n1,0.5\n2,0.25\n")]
        )

    def bad_input(self, tmp_path: Path) -> ConversionRequest:
        files = [
            write(tmp_path / "trials_0" / "a.csv", "trial,rt\n1,0.5\n"),
            write(tmp_path / "trials_0" / "b.csv", "trial,reaction\n2,0.25\n"),
        ]
        return request(tmp_path, files)


def test_csv_segments_become_one_parquet(tmp_path: Path) -> None:
    files = [
        write(tmp_path / "trials_0" / "a.csv", "trial,rt,label\n1,0.5,x\n2,0.25,y\n"),
        write(tmp_path / "trials_0" / "b.csv", "trial,rt,label\n3,0.125,z\n"),
    ]
    result = TableConverter().convert(request(tmp_path, files))
    assert result.count == 3
    table = pq.read_table(tmp_path / "out" / "trials.parquet")
    assert table.to_pydict() == {
        "trial": [1, 2, 3],
        "rt": [0.5, 0.25, 0.125],
        "label": ["x", "y", "z"],
    }


def test_a_segment_with_other_columns_is_refused_by_name(tmp_path: Path) -> None:
    req = TestTableContract().bad_input(tmp_path)
    with pytest.raises(SegmentMismatchError, match=r"trials_0/b\.csv has columns"):
        TableConverter().convert(req)
    assert list((tmp_path / "out").iterdir()) == []
