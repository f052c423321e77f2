"""A small lab for query and delivery tests: three ingested sessions, one processed modality."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import LocalProfile
from .._interface import DataInterface
from .._layout import MANIFEST_NAME, AssetKey
from ..catalog import Catalog, Interval, PipelineAsset, StorageFormat
from ..ingestion import augment, ingest
from ..store import Store, open_store
from ._sessions import write_session

LAB_T0 = 1_790_000_000_000_000_000
"""The lab's first session starts here (epoch ns); the others 1 h and 2 h later."""
LAB_SESSIONS = {
    # rec_id: (participant, start offset s, task, layout)
    "rec_a": ("p1", 0, "rest", {"eeg_0": [3000, 2000, 1000], "events_0": [100]}),
    "rec_b": ("p1", 3600, "task", {"eeg_0": [1500], "camera_0": [4000, 4000]}),
    "rec_c": ("p2", 7200, "rest", {"eeg_0": [700, 700], "audio_0": [900]}),
}


@dataclass
class Lab:
    """What `build_lab` made: a local profile, a facade on it, the rig folder."""

    profile: LocalProfile
    ursa: DataInterface
    rigs: Path
    hashes: dict[str, str]
    """rec_id → recording_hash."""


def build_lab(tmp_path: Path) -> Lab:
    """Ingest the `LAB_SESSIONS` into a local profile under ``tmp_path``, and publish
    rec_a's eeg processed (a small Zarr-like folder in the assets bucket)."""
    profile = LocalProfile(root=tmp_path / "ursa")
    raw = open_store(profile, "raw_rw")
    catalog = Catalog.open(profile, writable=True)
    hashes = {}
    for rec_id, (participant, offset, task, layout) in LAB_SESSIONS.items():
        session = write_session(tmp_path / "rigs", rec_id, layout)
        data = json.loads((session / MANIFEST_NAME).read_text())
        data.update(start_time=LAB_T0 + offset * 10**9, duration=600.0, metadata={"task": task})
        data["participant_id"] = participant
        (session / MANIFEST_NAME).write_text(json.dumps(data))
        augment(session)
        hashes[rec_id] = ingest(session / MANIFEST_NAME, raw=raw, catalog=catalog).recording_hash
    # rec_a's eeg is processed: a small zarr-like folder in the assets bucket.
    assets = open_store(profile, "assets_rw")
    h = hashes["rec_a"]
    asset = AssetKey(h, "eeg", "eeg.zarr").key
    publish_asset(
        catalog,
        assets,
        h,
        "eeg",
        asset + "/",
        {f"{asset}/zarr.json": b'{"zarr_format": 3}', f"{asset}/c/0": b"\x00" * 4096},
        format=StorageFormat.ZARR,
        sampling_rate=250.0,
        domain_intervals=[Interval(start=0.0, end=300.0)],
    )
    return Lab(profile, DataInterface(profile), tmp_path / "rigs", hashes)


def publish_asset(
    catalog: Catalog,
    assets: Store,
    recording_hash: str,
    modality: str,
    location: str,
    objects: dict[str, bytes],
    *,
    format: StorageFormat,
    **processed: Any,
) -> None:
    """Publish hand-made bytes as a modality's processed asset, the way processing
    does: the objects, then a ``pipeline_assets`` row recording each one's size and
    sha256, then the modality row flipped to processed at ``location`` (a key in
    ``assets``; ``processed`` goes to `Catalog.mark_processed`)."""
    for key, body in objects.items():
        assets.put(key, body)
    uri = assets.base_uri + location
    catalog.add_many(
        [
            PipelineAsset(
                asset_id=f"{recording_hash}-{modality}-handmade",
                recording_hash=recording_hash,
                modality=modality,
                storage_uri=uri,
                format=format,
                pipeline_version="handmade",
                created_at=LAB_T0,
                metadata={
                    "objects": [
                        {"key": k, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                        for k, b in objects.items()
                    ]
                },
            )
        ]
    )
    catalog.start_ingesting(recording_hash, modality)
    catalog.mark_processed(recording_hash, modality, storage_uri=uri, format=format, **processed)
