"""A small lab for query and delivery tests: three ingested sessions, one processed modality."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ursa_lib import DataInterface, LocalProfile, augment, ingest, open_store
from ursa_lib.catalog import Catalog, Interval, StorageFormat

from .test_ingest_reliability import write_session

T0 = 1_790_000_000_000_000_000  # epoch ns
SESSIONS = {
    # rec_id: (participant, start offset s, task, layout)
    "rec_a": ("p1", 0, "rest", {"eeg_0": [3000, 2000, 1000], "events_0": [100]}),
    "rec_b": ("p1", 3600, "task", {"eeg_0": [1500], "camera_0": [4000, 4000]}),
    "rec_c": ("p2", 7200, "rest", {"eeg_0": [700, 700], "audio_0": [900]}),
}


@dataclass
class Lab:
    profile: LocalProfile
    ursa: DataInterface
    rigs: Path
    hashes: dict[str, str]
    """rec_id → recording_hash."""


def build_lab(tmp_path: Path) -> Lab:
    profile = LocalProfile(root=tmp_path / "ursa")
    raw = open_store(profile, "raw_rw")
    catalog = Catalog.open(profile, writable=True)
    hashes = {}
    for rec_id, (participant, offset, task, layout) in SESSIONS.items():
        session = write_session(tmp_path / "rigs", rec_id, layout)
        data = json.loads((session / "manifest.json").read_text())
        data.update(start_time=T0 + offset * 10**9, duration=600.0, metadata={"task": task})
        data["participant_id"] = participant
        (session / "manifest.json").write_text(json.dumps(data))
        augment(session)
        hashes[rec_id] = ingest(session / "manifest.json", raw=raw, catalog=catalog).recording_hash
    # rec_a's eeg is processed: a small zarr-like folder in the assets bucket.
    assets = open_store(profile, "assets_rw")
    h = hashes["rec_a"]
    asset = f"processed/{h}/eeg/eeg.zarr"
    assets.put(f"{asset}/zarr.json", b'{"zarr_format": 3}')
    assets.put(f"{asset}/c/0", b"\x00" * 4096)
    catalog.start_ingesting(h, "eeg")
    catalog.mark_processed(
        h,
        "eeg",
        storage_uri=f"{assets.base_uri}{asset}/",
        format=StorageFormat.ZARR,
        sampling_rate=250.0,
        domain_intervals=[Interval(start=0.0, end=300.0)],
    )
    return Lab(profile, DataInterface(profile), tmp_path / "rigs", hashes)
