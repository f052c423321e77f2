"""Video frames read back on demand: the frame index says where, PyAV decodes.

The processed video is one faststart MP4 with a Lance frame index beside it
(``<name>.mp4.lance``: frame, pts, dts, time_s, keyframe, byte_offset, size,
segment). `VideoFrames` holds the index rows of a window and decodes only the
frames asked for: it seeks to the keyframe at or before a frame and decodes
forward. The MP4 is read through ranged reads of the assets bucket: the header
in blocks, then, from the keyframe the decoder seeks to, the packets of the
frames asked for (the frame index gives their byte offsets) in one request, so
a short clip of a long video costs its header and its own packets.
"""

from __future__ import annotations

import io
import math
import threading
import typing
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..store import Store
from ._assets import AssetSource, Window, WindowOutsideDomainError

__all__ = ["RangedFile", "VideoFrames", "read_video"]

BLOCK = 32 * 1024
"""Reads outside an expected span (the MP4 header) go in blocks of this size..."""
READ_AHEAD = 8
"""...and up to this many blocks per request while they go on in order."""
MAX_SPAN = 32 * 1024 * 1024
"""The most one request of an expected span fetches (and holds in memory)."""
MAX_LEAD = 8 * 1024 * 1024
"""How far before a window's first packet its keyframe may start (a GOP's bytes)."""


class RangedFile(io.RawIOBase):
    """A seekable, read-only file over one object, fetched in cached blocks.

    ``bytes_read`` and ``requests`` count what went over the wire. A caller
    that knows which bytes it is about to read says so with `expect`: a read
    that starts inside that span then fetches the rest of it in one request.
    """

    def __init__(self, store: Store, key: str, *, block: int = BLOCK, cache_blocks: int = 512):
        super().__init__()
        info = store.head(key)
        self._store, self._key, self._etag = store, key, info.etag
        self.size = info.size
        self._block = block
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_blocks = cache_blocks
        self._pos = 0
        self._span: tuple[int, bytes] | None = None
        self._ahead = 1
        self._next_miss = -1
        self._expect: tuple[int, int] | None = None
        self.bytes_read = 0
        self.requests = 0

    def expect(self, start: int, end: int) -> None:
        """Bytes ``[start, end)`` are about to be read, in order (fetched `MAX_SPAN` at a time)."""
        end = min(end, self.size)
        self._expect = (start, end) if 0 <= start < end else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _fetch(self, index: int) -> bytes:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        # Read-ahead: each miss right after the previous one fetches twice as many
        # blocks, up to READ_AHEAD; a miss elsewhere fetches one block.
        self._ahead = min(self._ahead * 2, READ_AHEAD) if index == self._next_miss else 1
        start = index * self._block
        count = self._ahead
        data = self._store.read_range(
            self._key, start, min(start + count * self._block, self.size), etag=self._etag
        )
        self.bytes_read += len(data)
        self.requests += 1
        self._next_miss = index + count
        for i in range(count):
            piece = data[i * self._block : (i + 1) * self._block]
            if not piece:
                break
            self._cache[index + i] = piece
        while len(self._cache) > self._cache_blocks:
            self._cache.popitem(last=False)
        return self._cache.get(index, b"")

    def _from_span(self) -> memoryview | None:
        """The expected span's bytes from the current position, fetching the span once."""
        if self._span is not None:
            start, data = self._span
            if start <= self._pos < start + len(data):
                return memoryview(data)[self._pos - start :]
        if self._expect is not None and self._expect[0] <= self._pos < self._expect[1]:
            end = self._expect[1]
            stop = min(end, self._pos + MAX_SPAN)
            data = self._store.read_range(self._key, self._pos, stop, etag=self._etag)
            self.bytes_read += len(data)
            self.requests += 1
            self._span = (self._pos, data)
            self._expect = (stop, end) if stop < end and data else None
            return memoryview(data)
        return None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self._pos)
        done = 0
        while done < want:
            spanned = self._from_span()
            if spanned:
                piece = spanned[: want - done]
                view[done : done + len(piece)] = piece
                done += len(piece)
                self._pos += len(piece)
                continue
            index, within = divmod(self._pos, self._block)
            if done and index not in self._cache:
                break  # a short read rather than a request for bytes not asked for yet
            data = self._fetch(index)[within : within + want - done]
            if not data:
                break
            view[done : done + len(data)] = data
            done += len(data)
            self._pos += len(data)
        return done


class VideoFrames:
    """The frames of one video in a window; ``frames[i]`` decodes frame ``i`` only.

    ``times`` are session seconds; ``frame_numbers`` the frames' numbers in the
    whole video. Frames decode to RGB ``uint8`` arrays (height x width x 3).
    """

    def __init__(
        self, source: AssetSource, key: str, index: Any, window: Window | None = None
    ) -> None:
        self._source, self._key = source, key
        self.window = window or Window()
        """The window the frames were read for (session seconds, ``[start, end)``)."""
        rows = index.sort_by("pts")
        self._pts = np.asarray(rows.column("pts").to_numpy(), dtype=np.int64)
        self.times: npt.NDArray[np.float64] = np.asarray(rows.column("time_s").to_numpy())
        self.frame_numbers = np.asarray(rows.column("frame").to_numpy(), dtype=np.int64)
        self._key_pts = np.asarray(rows.column("keyframe").to_numpy(), dtype=bool)
        self._offsets = np.asarray(rows.column("byte_offset").to_numpy(), dtype=np.int64)
        self._ends = self._offsets + np.asarray(rows.column("size").to_numpy(), dtype=np.int64)
        self._lock = threading.Lock()
        self._file: RangedFile | None = None
        self._container: Any = None

    def __len__(self) -> int:
        return len(self._pts)

    def __repr__(self) -> str:
        span = f"{self.times[0]:.3f}-{self.times[-1]:.3f} s" if len(self) else "empty"
        return f"VideoFrames({len(self)} frames, {span})"

    @property
    def bytes_read(self) -> int:
        return self._file.bytes_read if self._file is not None else 0

    def _open(self) -> Any:
        import av

        if self._container is None:
            self._file = RangedFile(self._source.store, self._key)
            self._container = av.open(self._file, "r", format="mp4")
        return self._container

    def close(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
                self._container = None

    @typing.overload
    def __getitem__(self, i: int) -> npt.NDArray[np.uint8]: ...

    @typing.overload
    def __getitem__(self, i: slice) -> list[npt.NDArray[np.uint8]]: ...

    def __getitem__(self, i: int | slice) -> npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]:
        """Frame ``i`` of the window, or the frames of a slice (a run of consecutive
        frames decodes after one seek)."""
        if isinstance(i, slice):
            picked = range(len(self))[i]
            if len(picked) > 1 and picked.step == 1:
                first, last = int(self._pts[picked[0]]), int(self._pts[picked[-1]])
                return list(self._decode(first, last))
            return [self[j] for j in picked]
        if not -len(self) <= i < len(self):
            raise IndexError(f"frame {i} of a window of {len(self)} frames")
        return next(self._decode(int(self._pts[i]), int(self._pts[i])))

    def at(self, t: float) -> npt.NDArray[np.uint8]:
        """The frame shown at session time ``t``: the last one that starts at or before
        it, which for a time before the window's first frame started before the
        window (the frame index is asked for it). ``t`` must lie in the window the
        frames were read for."""
        start, end = self.window.start, self.window.end
        lo, hi = -math.inf if start is None else start, math.inf if end is None else end
        if not lo <= t < hi:
            raise WindowOutsideDomainError(
                f"{t:g} s is outside this window [{lo:g}, {hi:g}) s; read a window that holds it"
            )
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        if i >= 0:
            return self[i]
        # Frames are numbered in time order: the one before the window's first is shown.
        # A window without a frame asks for the last one that starts at or before t.
        if len(self):
            where = f"frame = {int(self.frame_numbers[0]) - 1}"
        else:
            where = f"time_s <= {float(t)!r}"
        rows = self._source.lance_rows(self._key + ".lance", where, ["pts", "time_s"])
        if not rows.num_rows:
            raise WindowOutsideDomainError(f"no frame of the video starts at or before {t:g} s")
        shown = int(rows.column("pts")[int(np.argmax(rows.column("time_s").to_numpy()))].as_py())
        return next(self._decode(shown, shown))

    def __iter__(self) -> Iterator[npt.NDArray[np.uint8]]:
        """Every frame of the window, in order, after one seek."""
        if len(self):
            yield from self._decode(int(self._pts[0]), int(self._pts[-1]))

    def _decode(self, first: int, last: int) -> Iterator[npt.NDArray[np.uint8]]:
        with self._lock:
            container = self._open()
            stream = container.streams.video[0]
            # After the seek the demuxer reads from the keyframe at or before
            # `first` up to the last packet of the frames asked for: one request.
            asked = (self._pts >= first) & (self._pts <= last)
            if asked.any() and self._file is not None:
                start = int(self._offsets[asked].min())
                self._file.expect(max(0, start - MAX_LEAD), int(self._ends[asked].max()))
            container.seek(first, stream=stream, backward=True, any_frame=False)
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if frame.pts is None or frame.pts < first:
                        continue
                    if frame.pts > last:
                        return
                    yield frame.to_ndarray(format="rgb24")
                    if frame.pts == last:
                        return


def read_video(
    source: AssetSource,
    key: str,
    window: Window,
    domain: list[tuple[float, float]],
    what: str,
    *,
    strict: bool = True,
) -> VideoFrames:
    """The frames of the MP4 at ``key`` whose time falls in ``window`` (index pushed down)."""
    if strict:
        window.check_overlaps(domain, what)
    rows = source.lance_rows(key + ".lance", window.where("time_s"))
    return VideoFrames(source, key, rows, window)
