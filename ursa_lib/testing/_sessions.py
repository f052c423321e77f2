"""Rig sessions written to disk, as a recording rig leaves them in a landing folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..ingestion import MANIFEST_NAME, augment

RIG_PART = {
    "rec_id": "rec_20261121T101500_rig3",
    "start_time": 1_763_720_100_000_000_000,
    "duration": 600.0,
    "device_info": {"rig": "rig3"},
    "metadata": {"task": "rest"},
    "participant_id": "p001",
}
"""The rig's part of the manifest `write_rig_session` writes (no ``files``, no hash)."""


def write_session(root: Path, rec_id: str, layout: dict[str, list[int]]) -> Path:
    """An augmented session ``root/rec_id``: ``layout`` maps each worker directory
    to its segment sizes in bytes (``""``: the session folder itself, in no stream
    folder, so the recording gets no modality row). Contents are derived from the
    names, so the same call always writes the same bytes (and the same recording
    hash)."""
    session = root / rec_id
    for worker, sizes in layout.items():
        (session / worker).mkdir(parents=True, exist_ok=not worker)
        for i, size in enumerate(sizes):
            seed = hashlib.sha256(f"{rec_id}/{worker}/{i}".encode()).digest()
            body = (seed * (size // len(seed) + 1))[:size]
            (session / worker / f"seg_{i:05d}.bin").write_bytes(body)
    rig = {"rec_id": rec_id, "start_time": 1_700_000_000, "duration": 60.0, "participant_id": "p1"}
    (session / MANIFEST_NAME).write_text(json.dumps(rig))
    augment(session)
    return session


def write_rig_session(root: Path, name: str = "rec_20261121T101500_rig3") -> Path:
    """A session ``root/name`` as the rig writes it, not yet augmented: small
    segments under ``eeg_0`` (3), ``camera_0`` (2) and ``events_0`` (1), and a
    manifest holding `RIG_PART` only (its ``rec_id`` is RIG_PART's, whatever ``name``)."""
    session = root / name
    for worker, count in (("eeg_0", 3), ("camera_0", 2), ("events_0", 1)):
        (session / worker).mkdir(parents=True)
        for i in range(count):
            (session / worker / f"seg_{i:05d}.bin").write_bytes(f"{worker}-{i}".encode() * 100)
    (session / MANIFEST_NAME).write_text(json.dumps(RIG_PART))
    return session
