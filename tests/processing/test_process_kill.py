"""kill -9 during processing, on a real S3 server, then a new process runs again.

Whether the process dies mid-upload or after the bytes and lineage are stored
but before the row flips: no row is ``processed`` without its asset, the row
it was working on is left ``ingesting`` under a dead lease, and the next run
takes it over and finishes. Every processed asset then passes its checks.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ursa_lib import DataInterface
from ursa_lib.catalog import IngestionStatus
from ursa_lib.testing import RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000_000_000_000


def no_processed_row_without_its_asset(ui: DataInterface, h: str) -> None:
    assets, lineages = ui.store("assets_ro"), ui.catalog().list_pipeline_assets()
    for row in ui.catalog().list_modalities({"recording_hash": h}):
        if row.ingestion_status is not IngestionStatus.PROCESSED:
            continue
        lineage = [a for a in lineages if a.storage_uri == row.storage_uri]
        assert len(lineage) == 1, row.modality
        for obj in lineage[0].metadata["objects"]:
            assert assets.head(obj["key"]).size == obj["size"], obj["key"]


@pytest.mark.slow
@pytest.mark.parametrize("stop_at", ["mid-upload", "before-flip"])
def test_kill_9_during_processing_then_the_next_run_finishes(
    stop_at: str, make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> None:
    ui = make_interface("rclone")
    rec_id = f"rec_{ns}"
    seed = int(hashlib.sha256(rec_id.encode()).hexdigest()[:8], 16)
    write_recording(
        tmp_path / "rig",
        RecordingSpec(rec_id=rec_id, start_time_ns=T0, segments=2, segment_s=5, seed=seed),
    )
    h = ui.ingest(tmp_path / "rig" / rec_id).recording_hash
    marker = tmp_path / "frozen"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.process_child",
            ui.profile.model_dump_json(),
            h,
            stop_at,
            str(marker),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"the child ended before freezing: {child.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("the child never reached its freeze point")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()

    rows = {m.modality: m for m in ui.catalog().list_modalities({"recording_hash": h})}
    status = {n: m.ingestion_status.value for n, m in rows.items()}
    assert status == {"audio": "processed", "camera": "processed", "eeg": "ingesting",
                      "events": "raw"}  # fmt: skip
    assert rows["eeg"].metadata["processing_lease"]["owner"].endswith(f":{child.pid}")
    assert rows["eeg"].storage_uri is None
    no_processed_row_without_its_asset(ui, h)

    outcomes = {o.modality: o.outcome for o in ui.process(h)[0].outcomes}
    assert outcomes == {"audio": "unchanged", "camera": "unchanged", "eeg": "processed",
                        "events": "processed"}  # fmt: skip
    rows = {m.modality: m for m in ui.catalog().list_modalities({"recording_hash": h})}
    assert {m.ingestion_status for m in rows.values()} == {IngestionStatus.PROCESSED}
    assert not [m for m in rows.values() if "processing_lease" in m.metadata]
    no_processed_row_without_its_asset(ui, h)
    for name in rows:
        report = ui.check_processed(h, name)
        assert report.ok, (name, report)
