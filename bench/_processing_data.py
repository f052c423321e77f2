"""The processing benchmark's sessions: EEG, video and events, written once.

Sessions of several lengths share their segments by hard links, and each
extra round of video and events gets its own copy of the session (a processed
recording is not processed again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

T0 = 1_795_000_000_000_000_000
EEG_CHANNELS, EEG_RATE = 64, 1000
VIDEO_FPS, VIDEO_SIZE = 25, (320, 240)


def _session_of(
    parent: Path, rec_id: str, source: Path, worker: str, count: int, duration: float | None = None
) -> Path:
    """A session whose ``worker`` folder hard-links the first ``count`` segments of ``source``."""
    from ursa_lib import augment

    session = parent / rec_id
    if (session / "manifest.json").exists():
        return session
    folder = session / worker
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((source / worker).iterdir())[:count]:
        os.link(path, folder / path.name)
    if duration is not None:
        # A copy of a session for another round: the recording hash is that of the
        # files, so one more small file (never processed) makes it a new recording.
        (session / "round_0").mkdir(exist_ok=True)
        (session / "round_0" / "round.txt").write_text(rec_id)
    rig = {
        "rec_id": rec_id,
        "start_time": T0,
        "duration": float(count * 60) if duration is None else duration,
        "participant_id": "p_bench",
    }
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    return session


def prepare(data_dir: Path, sizes: dict[str, Any]) -> dict[str, Path]:
    """Write (once) the EEG, video and events sessions; returns rec_id → session folder."""
    from ursa_lib.testing import RecordingSpec, write_recording

    longest = max(sizes["eeg_min"], *sizes["rss_min"])
    eeg_source = data_dir / "source" / f"eeg-{longest}"
    if not (eeg_source / "manifest.json").exists():
        print(f"writing {longest} one-minute EDF segments ...", flush=True)
        write_recording(
            data_dir / "source",
            RecordingSpec(
                rec_id=f"eeg-{longest}",
                start_time_ns=T0,
                segments=longest,
                segment_s=60,
                eeg_channels=EEG_CHANNELS,
                eeg_rate=EEG_RATE,
                audio=False,
                video=False,
                events=False,
            ),
        )
    sessions = {}
    for minutes in sorted({sizes["eeg_min"], *sizes["rss_min"]}):
        rec_id = f"eeg_{minutes}min"
        sessions[rec_id] = _session_of(data_dir / "sessions", rec_id, eeg_source, "eeg_0", minutes)
    video_id = f"video_{sizes['video_min']}min"
    if not (data_dir / "sessions" / video_id / "manifest.json").exists():
        print(f"writing {sizes['video_min']} one-minute MP4 segments ...", flush=True)
        write_recording(
            data_dir / "sessions",
            RecordingSpec(
                rec_id=video_id,
                start_time_ns=T0,
                segments=sizes["video_min"],
                segment_s=60,
                video_fps=VIDEO_FPS,
                video_size=VIDEO_SIZE,
                eeg=False,
                audio=False,
                events=False,
            ),
        )
    sessions[video_id] = data_dir / "sessions" / video_id
    for r in range(1, sizes["rounds"]):
        sessions[f"{video_id}_r{r}"] = _session_of(
            data_dir / "sessions",
            f"{video_id}_r{r}",
            sessions[video_id],
            "camera_0",
            sizes["video_min"],
            sizes["video_min"] * 60.0,
        )
    events_id = f"events_{sizes['events']}"
    if not (data_dir / "sessions" / events_id / "manifest.json").exists():
        write_recording(
            data_dir / "sessions",
            RecordingSpec(
                rec_id=events_id,
                start_time_ns=T0,
                segments=1,
                segment_s=3600,
                events_per_segment=sizes["events"],
                eeg=False,
                audio=False,
                video=False,
            ),
        )
    sessions[events_id] = data_dir / "sessions" / events_id
    for r in range(1, sizes["rounds"]):
        sessions[f"{events_id}_r{r}"] = _session_of(
            data_dir / "sessions", f"{events_id}_r{r}", sessions[events_id], "events_0", 1, 3600.0
        )
    return sessions
