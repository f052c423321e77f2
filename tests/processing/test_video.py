"""MP4 segments → one remuxed MP4 + frame index, checked against PyAV on the output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import lancedb
import pytest

from ursa_lib.processing import (
    ConversionRequest,
    SegmentMismatchError,
    SegmentOverlapError,
    SegmentReadError,
    StreamDescription,
    StreamKind,
    _video,
)
from ursa_lib.processing._video import VideoConverter

from .contract import ConverterContract
from .helpers import copy_into, segments, write_mp4
from .realfiles import MP4_BIKES, MP4_CARPHONE

MP4 = StreamDescription(kind=StreamKind.VIDEO, format="mp4")


def request(tmp_path: Path, files: list[Path], desc: StreamDescription = MP4) -> ConversionRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ConversionRequest(
        segments=segments(tmp_path, files), description=desc, modality="camera", out=out
    )


def frame_index(out: Path) -> list[dict[str, object]]:
    table = lancedb.connect(str(out)).open_table("camera.mp4").to_arrow()
    return table.sort_by("frame").to_pylist()


def assert_index_matches_pyav(out: Path) -> list[dict[str, object]]:
    """The index equals what PyAV demuxes from, and decodes out of, the written MP4."""
    rows = frame_index(out)
    with av.open(str(out / "camera.mp4")) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
    assert [r["frame"] for r in rows] == list(range(len(packets)))
    by_pts = sorted(packets, key=lambda p: p.pts)
    assert [r["pts"] for r in rows] == [p.pts for p in by_pts]
    assert [r["dts"] for r in rows] == [p.dts for p in by_pts]
    assert [r["byte_offset"] for r in rows] == [p.pos for p in by_pts]
    assert [r["size"] for r in rows] == [p.size for p in by_pts]
    assert [r["keyframe"] for r in rows] == [p.is_keyframe for p in by_pts]
    with av.open(str(out / "camera.mp4")) as container:
        frames = list(container.decode(video=0))
        tb = container.streams.video[0].time_base
    assert len(frames) == len(rows)
    assert [f.pts for f in frames] == [r["pts"] for r in rows]
    assert [f.key_frame for f in frames] == [r["keyframe"] for r in rows]
    assert [r["time_s"] for r in rows] == [float(f.pts * tb) for f in frames]
    # The bytes at each offset are the packet: the index can serve range reads.
    data = (out / "camera.mp4").read_bytes()
    assert all(data[p.pos : p.pos + p.size] == bytes(p) for p in packets)
    return rows


def faststart(path: Path) -> bool:
    head = path.read_bytes()[:4096]
    return head.find(b"moov") != -1 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    )


class TestVideoContract(ConverterContract):
    converter = VideoConverter()

    def good_input(self, tmp_path: Path) -> ConversionRequest:
        worker = tmp_path / "camera_0"
        worker.mkdir()
        return request(tmp_path, [write_mp4(worker / f"seg_{i}.mp4", 10, seed=i) for i in range(2)])

    def bad_input(self, tmp_path: Path) -> ConversionRequest:
        worker = tmp_path / "camera_0"
        worker.mkdir()
        files = [write_mp4(worker / "seg_0.mp4", 10), write_mp4(worker / "seg_1.mp4", 10, width=32)]
        return request(tmp_path, files)


def test_real_mp4_index_equals_pyav(tmp_path: Path) -> None:
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES], ".mp4")
    result = VideoConverter().convert(request(tmp_path, files))
    rows = assert_index_matches_pyav(tmp_path / "out")
    assert result.count == len(rows) == 250
    assert faststart(tmp_path / "out" / "camera.mp4")
    with av.open(str(MP4_BIKES)) as src, av.open(str(tmp_path / "out" / "camera.mp4")) as dst:
        original = [bytes(p) for p in src.demux(video=0) if p.size]
        remuxed = [bytes(p) for p in dst.demux(video=0) if p.size]
    assert remuxed == original  # no re-encoding: the very same compressed frames


def test_real_mp4_segments_are_joined_back_to_back(tmp_path: Path) -> None:
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES, MP4_BIKES, MP4_BIKES], ".mp4")
    result = VideoConverter().convert(request(tmp_path, files))
    rows = assert_index_matches_pyav(tmp_path / "out")
    assert result.count == 750
    assert [r["segment"] for r in rows[::250]] == [f"camera_0/seg_0000{i}.mp4" for i in range(3)]
    assert len(result.domain_intervals) == 1
    start, end = result.domain_intervals[0]
    assert start == 0.0
    assert end == pytest.approx(30.0, abs=0.05)  # 3 x 250 frames at 25 fps


def test_described_gaps_become_intervals(tmp_path: Path) -> None:
    worker = tmp_path / "camera_0"
    worker.mkdir()
    files = [write_mp4(worker / f"seg_{i}.mp4", 25, seed=i) for i in range(3)]
    desc = MP4.model_copy(update={"segment_starts_s": (0.0, 1.0, 5.0), "clock_offset_s": 2.0})
    result = VideoConverter().convert(request(tmp_path, files, desc))
    assert result.domain_intervals == ((2.0, 4.0), (7.0, 8.0))
    rows = frame_index(tmp_path / "out")
    assert rows[0]["time_s"] == 2.0
    assert rows[50]["time_s"] == 7.0
    assert result.sampling_rate == 25.0


def test_overlapping_described_starts_are_refused(tmp_path: Path) -> None:
    worker = tmp_path / "camera_0"
    worker.mkdir()
    files = [write_mp4(worker / f"seg_{i}.mp4", 25, seed=i) for i in range(2)]
    desc = MP4.model_copy(update={"segment_starts_s": (0.0, 0.5)})
    with pytest.raises(
        SegmentOverlapError, match=r"camera_0/seg_1\.mp4 starts before camera_0/seg_0\.mp4"
    ):
        VideoConverter().convert(request(tmp_path, files, desc))
    assert list((tmp_path / "out").iterdir()) == []


def test_real_segments_with_different_codec_parameters_are_refused(tmp_path: Path) -> None:
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES, MP4_CARPHONE], ".mp4")
    with pytest.raises(
        SegmentMismatchError,
        match=r"seg_00001\.mp4 differs from camera_0/seg_00000\.mp4 in width, height, time_base",
    ):
        VideoConverter().convert(request(tmp_path, files))
    assert list((tmp_path / "out").iterdir()) == []


def test_segments_with_another_codec_are_refused(tmp_path: Path) -> None:
    worker = tmp_path / "camera_0"
    worker.mkdir()
    files = [write_mp4(worker / "a.mp4", 5), write_mp4(worker / "b.mp4", 5, codec="libx264")]
    with pytest.raises(SegmentMismatchError, match=r"camera_0/b\.mp4 differs .* in codec"):
        VideoConverter().convert(request(tmp_path, files))


def test_truncated_mp4_is_refused_by_name(tmp_path: Path) -> None:
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES], ".mp4")
    files[0].write_bytes(files[0].read_bytes()[:5000])
    with pytest.raises(SegmentReadError, match=r"camera_0/seg_00000\.mp4"):
        VideoConverter().convert(request(tmp_path, files))
    assert list((tmp_path / "out").iterdir()) == []


def _counting_demux(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many packets the converter demuxes, counted as they are yielded."""
    demuxed = [0]
    packets = _video._packets

    def counted(container: object, rel: str) -> Iterator[object]:
        for packet in packets(container, rel):
            demuxed[0] += 1
            yield packet

    monkeypatch.setattr(_video, "_packets", counted)
    return demuxed


def test_the_index_is_read_from_the_files_sample_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES, MP4_BIKES], ".mp4")
    demuxed = _counting_demux(monkeypatch)
    VideoConverter().convert(request(tmp_path, files))
    assert_index_matches_pyav(tmp_path / "out")
    # Each segment once to remux it, then only the first packets of the output.
    assert demuxed[0] == 2 * 250 + _video._CHECKED_PACKETS


@pytest.mark.parametrize("off", ["dts", "size", "pts"])
def test_a_sample_table_that_disagrees_with_the_packets_written_is_demuxed_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, off: str
) -> None:
    remux = _video._remux

    def wrong_record(request: ConversionRequest, params: Any, dst: Path) -> Any:
        written = remux(request, params, dst)
        pts, dts, size, keyframe = written.packets[3]  # one packet misremembered
        written.packets[3] = (
            pts + (off == "pts"),
            dts + (off == "dts"),
            size + (off == "size"),
            keyframe,
        )
        return written

    monkeypatch.setattr(_video, "_remux", wrong_record)
    files = copy_into(tmp_path / "camera_0", [MP4_BIKES], ".mp4")
    demuxed = _counting_demux(monkeypatch)
    VideoConverter().convert(request(tmp_path, files))
    assert_index_matches_pyav(tmp_path / "out")  # the file's truth, not the record
    # Remuxed, then (only when the table agreed) its first packets checked, then demuxed whole.
    assert demuxed[0] == 250 + (_video._CHECKED_PACKETS if off == "pts" else 0) + 250
