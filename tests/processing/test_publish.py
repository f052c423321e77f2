"""Publication of processed assets, on the local profile and two real S3 servers (rclone, moto).

* bytes first, then the row: when a modality row flips to processed, every
  object its ``pipeline_assets`` row lists is already stored, at its size;
* re-running the same converter version stores nothing and writes no row;
* a new converter version writes beside the old asset, flips the row last and
  leaves the old asset's bytes alone; ``raw_storage_uri`` never changes;
* a permanent converter error fails that modality only, with its reason;
* events become rows of the catalog's ``events`` table;
* a stream's segments are fetched four at a time;
* a transient store error is retried; one that outlasts the retries leaves the
  row ``ingesting`` under this process's lease, and the next call finishes it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ursa_lib import DataInterface, ObjectStoreTransientError, ingest
from ursa_lib.catalog import Catalog, IngestionStatus, Modality
from ursa_lib.processing import (
    ConversionOutput,
    ConversionRequest,
    ConverterRegistry,
    SegmentReadError,
    process_recording,
)
from ursa_lib.processing._audio import AudioConverter
from ursa_lib.processing._events import EventsConverter
from ursa_lib.processing._timeseries import EdfConverter
from ursa_lib.processing._video import VideoConverter
from ursa_lib.store import RetryPolicy, Store
from ursa_lib.testing import (
    ASSETS_BUCKET,
    Fault,
    FaultProxy,
    RcloneS3,
    RecordingSpec,
    s3_store,
    write_recording,
)

T0 = 1_700_000_000_000_000_000
ALL = ["audio", "camera", "eeg", "events"]


class CheckedCatalog(Catalog):
    """A catalog that refuses to flip a row before the asset's bytes are all stored."""

    assets: Store
    flips: list[tuple[str, str | None]]

    def mark_processed(self, recording_hash: str, modality: str, **kwargs: Any) -> Modality:
        before = self.get_modality(recording_hash, modality)
        assert before is not None
        lineage = [
            a
            for a in self.list_pipeline_assets()
            if a.recording_hash == recording_hash
            and a.modality == modality
            and a.storage_uri == kwargs["storage_uri"]
        ]
        assert len(lineage) == 1, "the lineage row is written before the flip"
        objects = lineage[0].metadata["objects"]
        assert objects
        for obj in objects:
            assert self.assets.head(obj["key"]).size == obj["size"], obj["key"]
        self.flips.append((modality, before.storage_uri))
        return super().mark_processed(recording_hash, modality, **kwargs)


def checked(ui: DataInterface) -> CheckedCatalog:
    catalog = ui.catalog(writable=True)
    catalog.__class__ = CheckedCatalog
    assert isinstance(catalog, CheckedCatalog)
    catalog.assets = ui.store("assets_rw")
    catalog.flips = []
    return catalog


def seed(rec_id: str) -> int:
    """A seed per session: the recording hash is over content only, and tests share a server."""
    return int(hashlib.sha256(rec_id.encode()).hexdigest()[:8], 16)


def ingested(ui: DataInterface, tmp_path: Path, ns: str, **spec: Any) -> str:
    rec_id = f"rec_{ns}_{len(list(tmp_path.glob('rig/*')))}"
    write_recording(
        tmp_path / "rig",
        RecordingSpec(
            rec_id=rec_id, start_time_ns=T0, segments=2, segment_s=5, seed=seed(rec_id), **spec
        ),
    )
    return ui.ingest(tmp_path / "rig" / rec_id).recording_hash


def stored(store: Store, recording_hash: str) -> dict[str, str]:
    """Key → sha256 of every processed object of the recording."""
    return {
        i.key: hashlib.sha256(store.get(i.key)).hexdigest()
        for i in store.list(f"processed/{recording_hash}/")
    }


def run(ui: DataInterface, h: str, catalog: Catalog, **kw: Any) -> dict[str, Any]:
    result = process_recording(
        h, raw=ui.store("raw_ro"), assets=ui.store("assets_rw"), catalog=catalog, **kw
    )
    return {o.modality: o for o in result.outcomes}


def modalities(catalog: Catalog, h: str) -> dict[str, Modality]:
    return {m.modality: m for m in catalog.list_modalities({"recording_hash": h})}


@pytest.fixture(params=["local", "rclone", "moto"])
def ui(request: pytest.FixtureRequest, make_interface: Callable[[str], DataInterface]) -> Any:
    return make_interface(request.param)


def test_bytes_first_then_row_and_a_rerun_is_a_no_op(ui: Any, tmp_path: Path, ns: str) -> None:
    h = ingested(ui, tmp_path, ns)
    catalog = checked(ui)
    raw_uris = {n: m.raw_storage_uri for n, m in modalities(catalog, h).items()}
    outcomes = run(ui, h, catalog)
    assert {n: o.outcome for n, o in outcomes.items()} == dict.fromkeys(ALL, "processed")
    assert sorted(m for m, _ in catalog.flips) == ALL
    rows = modalities(catalog, h)
    assert {n: m.raw_storage_uri for n, m in rows.items()} == raw_uris
    for name, row in rows.items():
        assert row.ingestion_status is IngestionStatus.PROCESSED
        assert "processing_lease" not in row.metadata
        assert row.storage_uri == outcomes[name].storage_uri
        assert f"processed/{h}/{name}/" in str(row.storage_uri)
    objects, lineage = stored(ui.store("assets_rw"), h), catalog.list_pipeline_assets()
    events = catalog.list_events({"recording_hash": h})

    again = run(ui, h, catalog)
    assert {n: o.outcome for n, o in again.items()} == dict.fromkeys(ALL, "unchanged")
    assert stored(ui.store("assets_rw"), h) == objects
    assert len(catalog.list_pipeline_assets()) == len(lineage)
    assert len(catalog.list_events({"recording_hash": h})) == len(events)
    assert modalities(catalog, h) == rows


def test_events_become_catalog_rows(ui: Any, tmp_path: Path, ns: str) -> None:
    h = ingested(ui, tmp_path, ns, eeg=False, audio=False, video=False)
    source = (tmp_path / "rig").glob("*/events_0/events.jsonl")
    lines = next(source).read_text().splitlines()
    assert {o.outcome for o in ui.process(h)[0].outcomes} == {"processed"}
    events = sorted(ui.catalog().list_events({"recording_hash": h}), key=lambda e: e.event_time)
    assert len(events) == len(lines) == 10
    assert {e.event_type for e in events} == {"prompt", "response"}
    assert next(e.prompt for e in events if e.event_type == "prompt") == "word 0"


class EdfV2(EdfConverter):
    version = str(int(EdfConverter.version) + 1)


def test_a_new_version_writes_beside_the_old_and_flips_last(
    ui: Any, tmp_path: Path, ns: str
) -> None:
    h = ingested(ui, tmp_path, ns, audio=False, video=False, events=False)
    catalog = checked(ui)
    assert run(ui, h, catalog)["eeg"].outcome == "processed"
    old_row = modalities(catalog, h)["eeg"]
    old_objects = stored(ui.store("assets_rw"), h)

    outcome = run(ui, h, catalog, registry=ConverterRegistry([EdfV2()]))["eeg"]
    assert outcome.outcome == "processed"
    assert outcome.converter_version == EdfV2.version
    # The flip found the row still processed and on the old asset.
    assert catalog.flips[-1] == ("eeg", old_row.storage_uri)
    new_row = modalities(catalog, h)["eeg"]
    assert new_row.storage_uri != old_row.storage_uri
    assert f"/ursa.timeseries.edf-{EdfV2.version}/" in str(new_row.storage_uri)
    assert new_row.raw_storage_uri == old_row.raw_storage_uri
    now = stored(ui.store("assets_rw"), h)
    assert {k: now[k] for k in old_objects} == old_objects  # the old asset is untouched
    assert all(f"/ursa.timeseries.edf-{EdfV2.version}/" in k for k in set(now) - set(old_objects))
    versions = {a.pipeline_version for a in catalog.list_pipeline_assets() if a.modality == "eeg"}
    assert versions == {f"ursa.timeseries.edf-{v}" for v in (EdfConverter.version, EdfV2.version)}
    # Readers of the new row see the same samples.
    data = ui.read(ui.query(recording_hash=h)[0], (0.0, 10.0), ["eeg"])
    assert data.eeg.signal.digital.shape == (2560, 8)


class BrokenVideo(VideoConverter):
    def convert(self, request: ConversionRequest) -> ConversionOutput:
        raise SegmentReadError(
            f"{request.segments[0].rel_path}: the camera firmware wrote no moov atom; "
            "re-export the segment from the rig"
        )


def test_a_permanent_error_fails_that_modality_only(ui: Any, tmp_path: Path, ns: str) -> None:
    h = ingested(ui, tmp_path, ns)
    catalog = checked(ui)
    registry = ConverterRegistry(
        [EdfConverter(), AudioConverter(), EventsConverter(), BrokenVideo()]
    )
    outcomes = run(ui, h, catalog, registry=registry)
    assert {n: o.outcome for n, o in outcomes.items()} == {
        "audio": "processed",
        "camera": "failed",
        "eeg": "processed",
        "events": "processed",
    }
    assert "camera_0/seg_00000.mp4" in str(outcomes["camera"].reason)
    row = modalities(catalog, h)["camera"]
    assert row.ingestion_status is IngestionStatus.FAILED
    assert "re-export the segment" in row.metadata["failure"]
    assert not [k for k in stored(ui.store("assets_rw"), h) if "/camera/" in k]
    # Fixed (the built-in converter again): the failed modality is processed.
    assert run(ui, h, catalog)["camera"].outcome == "processed"


class BuggyEdf(EdfConverter):
    def convert(self, request: ConversionRequest) -> ConversionOutput:
        raise ValueError("operands could not be broadcast together with shapes (8,) (7,)")


def test_an_unexpected_error_goes_on_whole_and_leaves_the_row_failed_not_leased(
    make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> None:
    ui = make_interface("local")
    h = ingested(ui, tmp_path, ns, audio=False, video=False, events=False)
    catalog = checked(ui)
    with pytest.raises(ValueError, match="could not be broadcast"):
        run(ui, h, catalog, registry=ConverterRegistry([BuggyEdf()]))
    # Not left `ingesting` under this process's lease (which another machine would
    # honour for hours): failed, with the error, and taken over by the next run.
    row = modalities(catalog, h)["eeg"]
    assert row.ingestion_status is IngestionStatus.FAILED
    assert "raised ValueError: operands could not be broadcast" in row.metadata["failure"]
    assert not stored(ui.store("assets_rw"), h)
    assert run(ui, h, catalog)["eeg"].outcome == "processed"


@pytest.mark.slow  # obstore's request retries wait 1 s, 2 s, 4 s
def test_transient_store_errors_are_retried_then_taken_over(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, tmp_path: Path, ns: str
) -> None:
    raw = s3_store(rclone_s3.rw)
    catalog = Catalog(str(tmp_path / "catalog"), writable=True)
    rec_id = f"rec_{ns}"
    write_recording(
        tmp_path / "rig",
        RecordingSpec(
            rec_id=rec_id, start_time_ns=T0, segments=2, segment_s=5, video=False, seed=seed(rec_id)
        ),
    )
    h = ingest(tmp_path / "rig" / rec_id / "manifest.json", raw=raw, catalog=catalog).recording_hash
    assets = s3_store(rclone_s3.rw, bucket=ASSETS_BUCKET, url=fault_proxy.url)

    # A few 503s on asset uploads: retried, the recording is processed.
    fault_proxy.add(Fault("status", method="PUT", path_contains="/eeg/", times=2, status=503))
    result = process_recording(h, raw=raw, assets=assets, catalog=catalog, modalities=["eeg"])
    assert [o.outcome for o in result.outcomes] == ["processed"]
    assert len(fault_proxy.fired()) == 2

    # Faults that outlast the retries: the error propagates, the row stays
    # ingesting under this process's lease, nothing is published.
    fault_proxy.clear()
    fault_proxy.add(Fault("status", method="PUT", path_contains="/audio/", times=1000))
    impatient = assets.with_retry(RetryPolicy(attempts=1))  # obstore's own retries remain
    with pytest.raises(ObjectStoreTransientError):
        process_recording(h, raw=raw, assets=impatient, catalog=catalog, modalities=["audio"])
    row = modalities(catalog, h)["audio"]
    assert row.ingestion_status is IngestionStatus.INGESTING
    assert row.metadata["processing_lease"]["owner"] == f"{socket.gethostname()}:{os.getpid()}"
    assert row.storage_uri is None

    # The next call (the orchestrator's retry) takes the row over and finishes.
    fault_proxy.clear()
    result = process_recording(h, raw=raw, assets=assets, catalog=catalog)
    outcomes = {o.modality: o.outcome for o in result.outcomes}
    assert outcomes == {"audio": "processed", "eeg": "unchanged", "events": "processed"}
    assert {m.ingestion_status for m in modalities(catalog, h).values()} == {
        IngestionStatus.PROCESSED
    }


def test_a_live_lease_is_respected_and_a_stale_one_taken_over(
    make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> None:
    ui = make_interface("local")
    h = ingested(ui, tmp_path, ns, video=False, events=False)
    catalog = ui.catalog(writable=True)
    # Another live process on this machine (our parent) holds the eeg row.
    lease = {"owner": f"{socket.gethostname()}:{os.getppid()}", "since_ns": time.time_ns()}
    catalog.start_ingesting(h, "eeg", metadata={"processing_lease": lease})
    outcomes = run(ui, h, catalog)
    assert {n: o.outcome for n, o in outcomes.items()} == {"audio": "processed", "eeg": "busy"}
    assert "lease" in str(outcomes["eeg"].reason)
    row = modalities(catalog, h)["eeg"]
    assert row.ingestion_status is IngestionStatus.INGESTING
    assert row.metadata["processing_lease"] == lease
    assert not list(ui.store("assets_rw").list(f"processed/{h}/eeg/"))
    # The same lease, once older than stale_after_s, is taken over.
    outcomes = run(ui, h, catalog, stale_after_s=0.0)
    assert {n: o.outcome for n, o in outcomes.items()} == {"audio": "unchanged", "eeg": "processed"}


def test_a_streams_segments_are_fetched_four_at_a_time(
    make_interface: Callable[[str], DataInterface],
    tmp_path: Path,
    ns: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ui = make_interface("local")
    rec_id = f"rec_{ns}_fetch"
    only_eeg = {"audio": False, "video": False, "events": False}
    spec = RecordingSpec(
        rec_id=rec_id, start_time_ns=T0, segments=8, segment_s=1, seed=seed(rec_id), **only_eeg
    )
    write_recording(tmp_path / "rig", spec)
    h = ui.ingest(tmp_path / "rig" / rec_id).recording_hash
    lock, flying, peak = threading.Lock(), [0], [0]
    download = Store.download

    def counted(self: Store, *args: Any, **kwargs: Any) -> Any:
        with lock:
            flying[0] += 1
            peak[0] = max(peak[0], flying[0])
        try:
            time.sleep(0.05)  # long enough for the others to start, if they do
            return download(self, *args, **kwargs)
        finally:
            with lock:
                flying[0] -= 1

    monkeypatch.setattr(Store, "download", counted)
    assert run(ui, h, ui.catalog(writable=True))["eeg"].outcome == "processed"
    assert peak[0] == 4  # eight segments, four at a time
