"""``ursa scrub``, ``delete``, ``verify`` and ``rig clean``, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from ursa_lib import LocalProfile, augment, ingest, open_store
from ursa_lib._demo import make_synthetic_session
from ursa_lib.catalog import Catalog
from ursa_lib.testing import one_error
from ursa_lib.testing import run_cli as ursa

T0 = 1_790_000_000_000_000_000


def ingested(base: Path, rec_id: str = "rec_cli") -> tuple[Path, Path]:
    """(the rig's session folder, the local profile's root) after one ingest."""
    profile = LocalProfile(root=base / "ursa")
    session = make_synthetic_session(base / "rigs", rec_id, segments=2, segment_bytes=1000)
    rig = {"rec_id": rec_id, "start_time": T0, "duration": 60.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    ingest(
        session / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog.open(profile, writable=True),
    )
    return session, profile.root


def test_scrub_reports_clean_then_names_a_missing_object(tmp_path: Path) -> None:
    _, root = ingested(tmp_path)
    clean = ursa("scrub", "--root", str(root), "--sample", "1")
    assert clean.exit_code == 0, clean.output
    assert "clean" in clean.stdout
    open_store(LocalProfile(root=root), "raw_rw").delete("recordings/rec_cli/eeg_0/seg_00000.bin")
    found = ursa("scrub", "--root", str(root), "--json")
    assert found.exit_code == 1
    report = json.loads(found.stdout)
    assert report["by_kind"] == {"missing_object": 1}
    assert report["findings"][0]["uri"].endswith("eeg_0/seg_00000.bin")
    table = ursa("scrub", "--root", str(root))
    assert "missing_object" in table.stdout
    assert "1 findings" in table.stdout


def test_delete_needs_a_reason_and_confirmation_and_shows_a_dry_run(tmp_path: Path) -> None:
    _, root = ingested(tmp_path)
    where = ["--root", str(root), "--recording", "rec_cli"]
    one_error(ursa("delete", *where, "--yes"), 2, "--reason is required")
    one_error(ursa("delete", *where, "--reason", "consent withdrawn"), 2, "add --yes")
    plan = ursa("delete", *where, "--reason", "consent withdrawn", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    planned = json.loads(plan.stdout)
    assert (planned["dry_run"], planned["objects"]) == (True, 9)  # 8 segments, the manifest
    assert planned["bytes"] > 8000
    assert ursa("query", "--status", "all", "--root", str(root)).exit_code == 0
    done = ursa("delete", *where, "--reason", "consent withdrawn", "--yes")
    assert done.exit_code == 0, done.output
    assert "deleted 1 recordings: 9 objects" in done.stdout
    gone = ursa("query", "--status", "all", "--root", str(root), "--json")
    assert gone.exit_code == 3


def test_rig_clean_refuses_then_deletes(tmp_path: Path) -> None:
    session, root = ingested(tmp_path)
    open_store(LocalProfile(root=root), "raw_rw").delete("recordings/rec_cli/eeg_0/seg_00001.bin")
    one_error(ursa("rig", "clean", str(session), "--root", str(root)), 1, "seg_00001.bin (missing)")
    ingest(
        session / "manifest.json",
        raw=open_store(LocalProfile(root=root), "raw_rw"),
        catalog=Catalog.open(LocalProfile(root=root), writable=True),
    )
    dry = ursa("rig", "clean", str(session), "--root", str(root), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would delete 8 files" in dry.stdout
    assert session.exists()
    done = json.loads(ursa("rig", "clean", str(session), "--root", str(root), "--json").stdout)
    assert (done["deleted"], done["files"]) == (True, 8)
    assert not session.exists()
