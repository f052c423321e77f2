"""A damaged processed asset is made again by processing the recording again.

Before, ``process`` said ``unchanged`` for an asset whose objects were gone,
because its publication row still matched: the reader's message ("process
the recording again") led nowhere.

* An asset with an object gone or of another size is remade in its own
  folder; the outcome is ``processed`` with the damage as its reason; what the
  old publication listed and the new one does not is removed, so scrub is
  clean afterwards; an interface that read the damaged asset reads the new
  one (a Lance table it kept open is opened afresh when its files are gone).
* A remake that fails removes nothing the catalog still lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ursa_lib.processing._publish as publish
from ursa_lib import DataInterface
from ursa_lib._errors import InvalidValueError

from .test_publish import ingested


def listed(ui: DataInterface, h: str) -> dict[str, list[str]]:
    """Modality → the object keys its current publication lists."""
    catalog = ui.catalog()
    rows = {m.modality: m for m in catalog.list_modalities({"recording_hash": h})}
    return {
        a.modality: sorted(str(o["key"]) for o in a.metadata["objects"])
        for a in catalog.list_pipeline_assets()
        if a.recording_hash == h and a.storage_uri == rows[a.modality].storage_uri
    }


def findings_of(ui: DataInterface, h: str) -> list[Any]:
    """Scrub's findings about this recording (tests share the S3 server)."""
    return [f for f in ui.scrub().findings if f.recording_hash == h or h in f.uri]


def leased_elsewhere(ui: DataInterface, h: str, modality: str, *, age_s: float = 0.0) -> None:
    """The row's processing lease, as another machine's process took it ``age_s`` ago
    (older than the staleness bound, 6 h: that machine died)."""
    catalog = ui.catalog(writable=True)
    row = catalog.get_modality(h, modality)
    assert row is not None
    lease = {"owner": "another-host:4242", "since_ns": time.time_ns() - int(age_s * 10**9)}
    catalog.take_over(row, metadata={**row.metadata, publish.LEASE_KEY: lease})


def leased(ui: DataInterface, h: str, modality: str) -> bool:
    row = ui.catalog().get_modality(h, modality)
    assert row is not None
    return publish.LEASE_KEY in row.metadata


@pytest.fixture
def processed_only(
    make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> Callable[[str], tuple[DataInterface, str]]:
    """``processed_only(stream)``: a local recording of that one stream, processed."""

    def make(stream: str) -> tuple[DataInterface, str]:
        ui = make_interface("local")
        streams = {name: name == stream for name in ("eeg", "audio", "video", "events")}
        h = ingested(ui, tmp_path, ns, **streams)
        ui.process(h)
        return ui, h

    return make


def one_key(keys: list[str], part: str) -> str:
    return next(k for k in keys if part in k)


@pytest.mark.parametrize("backend", ["local", "rclone"])
def test_a_damaged_asset_is_made_again_and_scrub_is_clean(
    backend: str, make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> None:
    ui = make_interface(backend)
    h = ingested(ui, tmp_path, ns)
    assert {o.outcome for o in ui.process(h)[0].outcomes} == {"processed"}
    result = ui.query(recording_hash=h)[0]
    reader = make_interface(backend)  # another process's interface, say a notebook's
    before = reader.read(result, (1.0, 7.0))
    frames_before = list(before.camera)
    before.camera.close()
    keys = listed(ui, h)

    assets = ui.store("assets_rw")
    chunk = one_key(keys["eeg"], "/data/c/0/")
    events_data = one_key(keys["events"], "events.lance/data/")
    mp4 = one_key(keys["camera"], "camera.mp4")
    assets.delete(chunk)
    assets.delete(events_data)
    assets.put(mp4, assets.get(mp4)[:1000])
    kinds = sorted(f.kind for f in findings_of(ui, h))
    assert kinds == ["missing_object", "missing_object", "wrong_size"]

    outcomes = {o.modality: o for o in ui.process(h)[0].outcomes}
    assert {m: o.outcome for m, o in outcomes.items()} == {
        "audio": "unchanged",
        "camera": "processed",
        "eeg": "processed",
        "events": "processed",
    }
    damaged = f"eeg.zarr/{chunk.split('/eeg.zarr/', 1)[1]} is gone"
    assert outcomes["eeg"].reason == f"its asset was damaged ({damaged})"
    assert "camera.mp4 is 1000 bytes, not " in str(outcomes["camera"].reason)
    assert "is gone" in str(outcomes["events"].reason)

    # Every object under the recording's folder is one a current publication lists.
    now = listed(ui, h)
    stored = sorted(i.key for i in assets.list(f"processed/{h}/"))
    assert stored == sorted(k for ks in now.values() for k in ks)
    assert findings_of(ui, h) == []
    # Both interfaces read the remade assets, the one that processed and the one
    # that kept the damaged assets' tables open: the same values as before.
    for interface in (ui, reader):
        after = interface.read(result, (1.0, 7.0))
        assert np.array_equal(after.eeg.signal.digital, before.eeg.signal.digital)
        assert np.array_equal(after.events.timestamps, before.events.timestamps)
        assert list(after.events.type) == list(before.events.type)
        frames_after = list(after.camera)
        after.camera.close()
        assert len(frames_after) == len(frames_before) > 0
        pairs = zip(frames_after, frames_before, strict=True)
        assert all(np.array_equal(a, b) for a, b in pairs)
    # ... and an intact asset is left alone again.
    again = {o.modality: o.outcome for o in ui.process(h)[0].outcomes}
    assert set(again.values()) == {"unchanged"}


def test_a_remake_that_fails_removes_nothing_the_catalog_lists(
    processed_only: Callable[[str], tuple[DataInterface, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ui, h = processed_only("eeg")
    keys = listed(ui, h)["eeg"]
    assets = ui.store("assets_rw")
    gone = one_key(keys, "/data/c/0/")
    assets.delete(gone)
    transfer = publish.transfer_files

    def one_then_refused(store: Any, uploads: list[Any], **kwargs: Any) -> None:
        assert uploads[-1].key != gone
        transfer(store, uploads[-1:], **kwargs)  # one object of the asset is rewritten
        raise InvalidValueError("the assets bucket refused the upload (a policy, say)")

    monkeypatch.setattr(publish, "transfer_files", one_then_refused)
    [outcome] = ui.process(h)[0].outcomes
    assert outcome.outcome == "failed"
    assert "refused the upload" in str(outcome.reason)
    present = {i.key for i in assets.list(f"processed/{h}/")}
    assert set(keys) - present == {gone}  # the rewritten object was not removed
    row = ui.catalog().get_modality(h, "eeg")
    assert row is not None
    assert row.ingestion_status.value == "processed"
    assert not leased(ui, h, "eeg")  # released for the next run
    monkeypatch.undo()
    [outcome] = ui.process(h)[0].outcomes
    assert outcome.outcome == "processed"
    assert {i.key for i in assets.list(f"processed/{h}/")} == set(keys)


def test_an_asset_being_made_again_elsewhere_is_busy_not_made_twice(
    processed_only: Callable[[str], tuple[DataInterface, str]],
) -> None:
    ui, h = processed_only("eeg")
    keys = listed(ui, h)["eeg"]
    ui.store("assets_rw").delete(one_key(keys, "/data/c/0/"))
    leased_elsewhere(ui, h, "eeg")  # another machine's process is making it again, now
    [outcome] = ui.process(h)[0].outcomes
    assert (outcome.outcome, outcome.reason) == (
        "busy",
        "another live process holds this modality's processing lease",
    )
    assert {i.key for i in ui.store("assets_rw").list(f"processed/{h}/")} < set(keys)
    # Its lease gone stale (that machine died), the next run makes it.
    leased_elsewhere(ui, h, "eeg", age_s=7 * 3600)
    [outcome] = ui.process(h)[0].outcomes
    assert outcome.outcome == "processed"
    assert not leased(ui, h, "eeg")
    assert {i.key for i in ui.store("assets_rw").list(f"processed/{h}/")} == set(keys)


def test_again_makes_an_asset_rotted_at_its_size_again(
    processed_only: Callable[[str], tuple[DataInterface, str]],
) -> None:
    ui, h = processed_only("eeg")
    result = ui.query(recording_hash=h)[0]
    before = ui.read(result, (0.0, 10.0)).eeg.signal.digital
    assets = ui.store("assets_rw")
    chunk = one_key(listed(ui, h)["eeg"], "/data/c/0/")
    rotted = bytearray(assets.get(chunk))
    rotted[-20:] = bytes(20)  # the same size: a listing cannot see it
    assets.put(chunk, bytes(rotted))
    [unchanged] = ui.process(h)[0].outcomes
    assert unchanged.outcome == "unchanged"
    [outcome] = ui.process(h, again=True)[0].outcomes
    assert (outcome.outcome, outcome.reason) == ("processed", "made again")
    assert np.array_equal(ui.read(result, (0.0, 10.0)).eeg.signal.digital, before)
    assert {i.key for i in assets.list(f"processed/{h}/")} == set(listed(ui, h)["eeg"])


def test_a_download_again_into_the_same_folder_verifies_after_a_remake(
    processed_only: Callable[[str], tuple[DataInterface, str]], tmp_path: Path
) -> None:
    ui, h = processed_only("events")
    result = ui.query(recording_hash=h)[0]
    dest = tmp_path / "download"
    ui.download(result, dest)
    before = {p for p in dest.rglob("*") if p.is_file() and ".ursa" not in p.parts}
    ui.store("assets_rw").delete(one_key(listed(ui, h)["events"], "events.lance/data/"))
    ui.process(h)  # made again: Lance names its files afresh
    assert not ui.verify(dest).ok  # the old download no longer matches the catalog
    ui.download(ui.query(recording_hash=h)[0], dest, existing="skip")
    report = ui.verify(dest)
    assert report.ok, [(str(p.path), p.problem) for p in report.problems]
    after = {p for p in dest.rglob("*") if p.is_file() and ".ursa" not in p.parts}
    gone = before - after
    assert gone  # the files of the asset as it was made before
    assert all("events.lance" in p.parts for p in gone)


def test_a_killed_remake_leaves_nothing_the_next_remake_keeps(
    processed_only: Callable[[str], tuple[DataInterface, str]],
) -> None:
    ui, h = processed_only("events")
    keys = listed(ui, h)["events"]
    folder = one_key(keys, "events.lance/data/").split("events.lance/")[0]
    assets = ui.store("assets_rw")
    # A remake killed before its flip: a data file no publication lists, and its
    # dead lease on the row (another host's, older than the staleness bound).
    assets.put(folder + "events.lance/data/killed.lance", b"x" * 100)
    leased_elsewhere(ui, h, "events", age_s=7 * 3600)
    [outcome] = ui.process(h)[0].outcomes
    assert outcome.outcome == "unchanged"
    assert not leased(ui, h, "events")  # no host waits on a dead lease
    assert [f.kind for f in findings_of(ui, h)] == ["unaccounted_object"]
    [outcome] = ui.process(h, again=True)[0].outcomes
    assert outcome.outcome == "processed"
    assert findings_of(ui, h) == []
    assert {i.key for i in assets.list(f"processed/{h}/")} == set(listed(ui, h)["events"])
