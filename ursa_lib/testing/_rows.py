"""Valid catalog rows for tests and benchmarks, each overridable field by field.

``n`` names a recording: rows built with the same ``n`` belong together.
"""

from __future__ import annotations

import hashlib

from .._layout import SessionPrefix
from ..catalog import IngestionStatus, Modality, Participant, Recording


def rhash(n: int | str) -> str:
    """The recording hash of recording ``n``: the sha256 hex of ``str(n)``."""
    return hashlib.sha256(str(n).encode()).hexdigest()


def participant(pid: str = "p001", **kw: object) -> Participant:
    """A participant row; ``kw`` replaces fields."""
    data: dict[str, object] = {"participant_id": pid, "enrolled_at": 1_700_000_000_000_000_000}
    data.update(kw)
    return Participant.model_validate(data)


def recording(
    n: int | str = 1, participants: tuple[str, ...] = ("p001",), **kw: object
) -> Recording:
    """Recording ``n`` (``rec_<n>`` on rig3, 600 s, ``participants``); ``kw`` replaces fields."""
    data: dict[str, object] = {
        "recording_hash": rhash(n),
        "rec_id": f"rec_{n}",
        "participant_ids": list(participants),
        "start_time": 1_763_700_000_000_000_000,
        "duration": 600.0,
        "device_info": {"rig": "rig3"},
        "metadata": {"site": "lab1", "task": "rest"},
    }
    data.update(kw)
    return Recording.model_validate(data)


def modality(
    n: int | str = 1, name: str = "eeg", *, raw_root: str = "s3://lab-raw", **kw: object
) -> Modality:
    """The ``name`` modality of recording ``n``, status RAW, stored under ``raw_root``;
    ``kw`` replaces fields."""
    data: dict[str, object] = {
        "recording_hash": rhash(n),
        "modality": name,
        "worker_id": "0",
        "ingestion_status": IngestionStatus.RAW,
        "raw_storage_uri": f"{raw_root}/{SessionPrefix(f'rec_{n}').file_key(f'{name}_0')}/",
    }
    data.update(kw)
    return Modality.model_validate(data)
