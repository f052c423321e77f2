"""Realistic rig sessions, written by the field's own writers.

EEG as EDF+ (pyedflib), audio as 16-bit WAV (soundfile), video as H.264 MP4
(PyAV), events as JSON lines: one worker directory per stream, fixed-length
segments back to back, and an augmented manifest. The demo, the tests and the
benchmarks use the same sessions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..ingestion import Manifest, augment

__all__ = ["RecordingSpec", "write_recording"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSpec:
    """What `write_recording` writes; every stream can be switched off."""

    rec_id: str
    start_time_ns: int
    segments: int = 3
    segment_s: int = 10
    eeg_channels: int = 8
    eeg_rate: int = 256
    audio_rate: int = 16_000
    video_fps: int = 10
    video_size: tuple[int, int] = (160, 120)
    events_per_segment: int = 5
    video_segments: int | None = None
    """Segments of video, when fewer (or more) than ``segments``."""
    participant_id: str | None = "p001"
    metadata: dict[str, object] | None = None
    eeg: bool = True
    audio: bool = True
    video: bool = True
    events: bool = True
    seed: int = 0


def write_recording(parent: Path, spec: RecordingSpec) -> Manifest:
    """Write the session folder ``parent/<rec_id>`` and augment its manifest."""
    session = parent / spec.rec_id
    session.mkdir(parents=True, exist_ok=True)  # even with every stream switched off
    rng = np.random.default_rng(spec.seed)
    if spec.eeg:
        _write_eeg(session / "eeg_0", spec, rng)
    if spec.audio:
        _write_audio(session / "audio_0", spec, rng)
    if spec.video:
        _write_video(session / "camera_0", spec)
    if spec.events:
        _write_events(session / "events_0", spec, rng)
    rig = {
        "rec_id": spec.rec_id,
        "start_time": spec.start_time_ns,
        "duration": float(spec.segments * spec.segment_s),
        "device_info": {"amplifier": "synthetic", "channels": spec.eeg_channels},
        "metadata": dict(spec.metadata or {}),
    }
    if spec.participant_id is not None:
        rig["participant_id"] = spec.participant_id
    (session / "manifest.json").write_text(json.dumps(rig, indent=2))
    return augment(session)


def _write_eeg(folder: Path, spec: RecordingSpec, rng: np.random.Generator) -> None:
    import pyedflib

    folder.mkdir(parents=True, exist_ok=True)
    n = spec.eeg_rate * spec.segment_s
    t = np.arange(n) / spec.eeg_rate
    for seg in range(spec.segments):
        path = folder / f"seg_{seg:05d}.edf"
        writer = pyedflib.EdfWriter(
            str(path), spec.eeg_channels, file_type=pyedflib.FILETYPE_EDFPLUS
        )
        try:
            writer.setSignalHeaders(
                [
                    {
                        "label": f"EEG{ch + 1:02d}",
                        "dimension": "uV",
                        "sample_frequency": spec.eeg_rate,
                        "physical_max": 500.0,
                        "physical_min": -500.0,
                        "digital_max": 32767,
                        "digital_min": -32768,
                        "transducer": "AgAgCl electrode",
                        "prefilter": "HP:0.1Hz LP:100Hz",
                    }
                    for ch in range(spec.eeg_channels)
                ]
            )
            start = dt.datetime.fromtimestamp(spec.start_time_ns / 1e9, tz=dt.UTC)
            writer.setStartdatetime(
                (start + dt.timedelta(seconds=seg * spec.segment_s)).replace(tzinfo=None)
            )
            alpha = 40 * np.sin(2 * np.pi * 10 * (t + seg * spec.segment_s))
            data = [alpha + rng.normal(0, 15, n) for _ in range(spec.eeg_channels)]
            writer.writeSamples(data)
        finally:
            writer.close()


def _write_audio(folder: Path, spec: RecordingSpec, rng: np.random.Generator) -> None:
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    n = spec.audio_rate * spec.segment_s
    for seg in range(spec.segments):
        t = np.arange(n) / spec.audio_rate + seg * spec.segment_s
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.2 * t)
        signal = 0.3 * envelope * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 0.02, n)
        soundfile.write(folder / f"seg_{seg:05d}.wav", signal, spec.audio_rate, subtype="PCM_16")


def _write_video(folder: Path, spec: RecordingSpec) -> None:
    import av

    folder.mkdir(parents=True, exist_ok=True)
    width, height = spec.video_size
    frames = spec.video_fps * spec.segment_s
    count = spec.segments if spec.video_segments is None else spec.video_segments
    for seg in range(count):
        with av.open(str(folder / f"seg_{seg:05d}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=spec.video_fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = Fraction(1, spec.video_fps * 1000)
            stream.codec_context.gop_size = spec.video_fps  # a keyframe every second
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            for index in range(frames):
                number = seg * frames + index
                image = np.zeros((height, width, 3), dtype=np.uint8)
                image[..., 0] = (number * 7) % 256
                x = (number * 3) % max(width - 20, 1)
                image[height // 3 : height // 3 + 20, x : x + 20] = 255
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)


def _write_events(folder: Path, spec: RecordingSpec, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    total = spec.segments * spec.segment_s
    count = spec.segments * spec.events_per_segment
    times = np.sort(rng.uniform(0, total, count))
    with open(folder / "events.jsonl", "w") as out:
        for i, t in enumerate(times):
            kind = "prompt" if i % 2 == 0 else "response"
            event = {"time": round(float(t), 6), "duration": 0.5, "type": kind}
            if kind == "prompt":
                event["prompt"] = f"word {i // 2}"
            else:
                event["response"] = "yes" if rng.random() < 0.5 else "no"
            out.write(json.dumps(event) + "\n")
