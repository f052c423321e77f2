"""A window reads only what overlaps it.

* Zarr: every request the reader makes goes through a counting zarr
  ``WrapperStore``; a 10 s window of a long recording costs at most 4 objects:
  exactly the chunks it overlaps (at most three), plus the array's metadata the
  first time; an interface reads an array's metadata once.
* Video: one frame of a long video costs its header and its own packets, far
  below the file's size (`RangedFile.bytes_read`).
* Lance (events, frame index): an interface opens each table once; later
  windows query the table it keeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from zarr.storage import WrapperStore

import ursa_lib.delivery._sampled as sampled_reader
from ursa_lib.processing import chunk_length
from ursa_lib.store import Store, zarr_store

from .conftest import Processed

RATE, CHANNELS, SEGMENT_S, SEGMENTS = 1000, 64, 20, 9  # 180 s, 6 chunks of 32.768 s


class CountingStore(WrapperStore[Any]):
    """A zarr store that records every key it is asked for."""

    keys: list[str]

    async def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.keys.append(key)
        return await super().get(key, *args, **kwargs)

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> Any:
        self.keys.extend(k for k, _ in key_ranges)
        return await super().get_partial_values(prototype, key_ranges)

    async def exists(self, key: str) -> bool:
        self.keys.append(key)
        return await super().exists(key)


def long_eeg(session: Path) -> None:
    worker = session / "probe_0"
    worker.mkdir()
    rng = np.random.default_rng(0)
    for seg in range(SEGMENTS):
        samples = rng.integers(-200, 200, size=(RATE * SEGMENT_S, CHANNELS), dtype=np.int16)
        np.save(worker / f"seg_{seg:05d}.npy", samples)
    rig = json.loads((session / "manifest.json").read_text())
    rig["streams"] = {"probe_0": {"kind": "timeseries", "format": "npy", "sampling_rate": RATE}}
    (session / "manifest.json").write_text(json.dumps(rig))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "rclone"])
def test_a_10s_window_reads_at_most_4_objects(
    backend: str, processed: Callable[..., Processed], monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = processed(
        backend,
        segments=1,
        segment_s=SEGMENT_S * SEGMENTS,
        eeg=False,
        audio=False,
        video=False,
        events=False,
        prepare=long_eeg,
    )
    chunk_s = chunk_length(RATE, CHANNELS, 2) / RATE
    assert SEGMENT_S * SEGMENTS / chunk_s > 5  # the array is many chunks
    stores: list[CountingStore] = []

    def counting(store: Store, **kwargs: Any) -> CountingStore:
        wrapped = CountingStore(zarr_store(store, **kwargs))
        wrapped.keys = []
        stores.append(wrapped)
        return wrapped

    monkeypatch.setattr(sampled_reader, "zarr_store", counting)
    result = recording.result
    for i, t0 in enumerate((0.0, 30.0, 96.5, 170.0)):  # in one chunk, across an edge, the end
        for store in stores:
            store.keys.clear()
        data = recording.ui.read(result, (t0, t0 + 10.0))
        assert data.probe.signal.digital.shape == (10 * RATE, CHANNELS)
        keys = [k for store in stores for k in store.keys]
        chunks = [k for k in keys if "/data/c/" in k]
        assert len(keys) <= 4, keys
        if i > 0:
            assert keys == chunks, keys  # the array's metadata was read once, by the first
        first, last = int(t0 / chunk_s), int((t0 + 9.999) / chunk_s)
        expected = set(range(first, last + 1))
        assert len(expected) <= 3  # chunks hold >= 5 s: a 10 s window touches 2 or 3
        assert {int(k.rsplit("/c/", 1)[1].split("/")[0]) for k in chunks} == expected
        assert len(chunks) == len(expected), keys
    # The reference: the same samples as the source segments.
    source = np.concatenate(
        [np.load(p) for p in sorted((recording.session / "probe_0").glob("*.npy"))]
    )
    assert np.array_equal(data.probe.signal.digital, source[170_000:180_000])


def long_video(session: Path) -> None:
    """Two minutes of noise at 25 fps (nothing compresses it): ~10 MB of MP4."""
    worker = session / "camera_0"
    worker.mkdir()
    rng = np.random.default_rng(1)
    for seg in range(2):
        with av.open(str(worker / f"seg_{seg:05d}.mp4"), "w") as container:
            stream = container.add_stream("mpeg4", rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            stream.codec_context.gop_size = 25
            stream.bit_rate = 8_000_000  # as much as noise takes
            stream.codec_context.time_base = Fraction(1, 25)
            for _ in range(25 * 60):
                image = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)


@pytest.mark.slow
def test_one_frame_of_a_long_video_reads_a_small_part_of_it(
    processed: Callable[..., Processed],
) -> None:
    recording = processed(
        segments=1, segment_s=120, eeg=False, audio=False, video=False, events=False,
        prepare=long_video,
    )  # fmt: skip
    result = recording.result
    key = recording.ui.asset_source().key_of(str(result.modalities["camera"].storage_uri))
    size = recording.ui.store("assets_ro").head(key).size
    assert size > 5_000_000
    frames = recording.ui.read(result, (70.0, 71.0)).camera
    assert len(frames) == 25
    picture = frames[13]  # mid-GOP: decoded from the keyframe at 70 s
    assert picture.shape == (48, 64, 3)
    assert frames.bytes_read < size / 10
    with av.open(str(recording.session / "camera_0" / "seg_00001.mp4")) as original:
        for i, frame in enumerate(original.decode(video=0)):
            if i == 10 * 25 + 13:
                assert np.array_equal(picture, frame.to_ndarray(format="rgb24"))
                break


def test_an_interface_opens_each_lance_table_once(
    processed: Callable[..., Processed], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lancedb

    recording = processed(segments=2, segment_s=5)
    result = recording.result  # (the catalog is a Lance database too)
    opened: list[str] = []
    connect = lancedb.connect

    def counting(uri: str, **kwargs: Any) -> Any:
        opened.append(uri)
        return connect(uri, **kwargs)

    monkeypatch.setattr(lancedb, "connect", counting)
    first = recording.ui.read(result, (0.0, 4.0))
    assert sorted(uri.rsplit("/", 2)[-2] for uri in opened) == ["camera", "events"]
    opened.clear()
    second = recording.ui.read(result, (4.0, 8.0))
    assert opened == []  # the tables opened for the first window serve the second
    # ... and answer for the second window, not the first.
    assert len(first.camera) == len(second.camera) > 0
    assert second.camera.times.min() >= 4.0
    events = np.concatenate([first.events.timestamps, second.events.timestamps])
    assert (first.events.timestamps < 4.0).all()
    assert (second.events.timestamps >= 4.0).all()
    everything = recording.ui.read(result, (0.0, 8.0)).events.timestamps
    assert len(first.events.timestamps) > 0
    assert len(second.events.timestamps) > 0
    assert np.array_equal(events, everything)
