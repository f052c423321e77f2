"""The catalog benchmark's synthetic catalog: participants, recordings and their modalities.

Every participant, recording hash and row is a function of its index, so a
catalog built once (``--keep``) is the same on every run.
"""

from __future__ import annotations

import hashlib
import time

from ursa_lib.catalog import Catalog, IngestionStatus, Modality, Participant, Recording

MODALITIES = ("eeg", "camera", "audio", "events", "eye", "ecg", "emg", "imu", "resp", "gsr")
PARTICIPANTS = 500
BATCH = 50_000


def rhash(n: int) -> str:
    return hashlib.sha256(f"rec-{n}".encode()).hexdigest()


def pid(n: int) -> str:
    return f"p{n % PARTICIPANTS:04d}"


def build(catalog: Catalog, recordings: int) -> float:
    started = time.perf_counter()
    catalog.add_many(
        Participant(
            participant_id=pid(i), enrolled_at=1_700_000_000_000_000_000, metadata={"cohort": i % 5}
        )
        for i in range(PARTICIPANTS)
    )
    for start in range(0, recordings, BATCH // 10):
        stop = min(recordings, start + BATCH // 10)
        catalog.add_many(
            Recording(
                recording_hash=rhash(n),
                rec_id=f"rec_{n:07d}",
                participant_ids=[pid(n)],
                start_time=1_763_700_000_000_000_000 + n * 1_000_000_000,
                duration=600.0,
                device_info={"rig": f"rig{n % 7}"},
                metadata={"site": f"lab{n % 10}", "batch": n // 1000},
            )
            for n in range(start, stop)
        )
        catalog.add_many(
            Modality(
                recording_hash=rhash(n),
                modality=name,
                worker_id="0",
                ingestion_status=IngestionStatus.RAW,
                raw_storage_uri=f"s3://lab-raw/recordings/rec_{n:07d}/{name}_0/",
            )
            for n in range(start, stop)
            for name in MODALITIES
        )
        print(f"  {stop:,} recordings", flush=True)
    catalog.optimize()
    return time.perf_counter() - started
