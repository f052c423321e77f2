"""Fast skip by size and modification time, sha256 on request, ``verify`` of a
downloaded folder, and dry runs of download and ingest that move no byte."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ursa_lib import DataInterface, InvalidValueError, LocalProfile
from ursa_lib.testing import RecordingSpec, write_recording, write_session
from ursa_lib.testing import run_cli as ursa

T0 = 1_790_000_000_000_000_000
LAYOUT = {"eeg_0": [3000, 2000], "events_0": [100]}


@pytest.fixture
def lab(tmp_path: Path) -> DataInterface:
    ursa_ = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    ursa_.ingest(write_session(tmp_path / "rig", "rec_skip", LAYOUT))
    return ursa_


def files(dest: Path) -> dict[str, Path]:
    """The data files (not the hidden .ursa/ rows)."""
    found = sorted(p for p in dest.rglob("*") if p.is_file() and ".ursa" not in p.parts)
    return {p.relative_to(dest).as_posix(): p for p in found}


def test_downloaded_files_carry_the_objects_modification_time(
    lab: DataInterface, tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    lab.download(lab.query(status="raw"), dest)
    raw = lab.store("raw_ro")
    # recordings/rec_skip/eeg_0/seg_00000.bin → <hash>/eeg/seg_00000.bin
    stored = {
        "/".join(o.key.replace("_0/", "/").split("/")[-2:]): o.last_modified
        for o in raw.list("recordings/rec_skip/")
    }
    for name, path in files(dest).items():
        when = stored["/".join(name.split("/")[-2:])]
        assert when is not None
        assert abs(path.stat().st_mtime - when.timestamp()) < 1e-3


def test_skip_trusts_size_and_time_and_sha256_reads_the_bytes(
    lab: DataInterface, tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    results = lab.query(status="raw")
    lab.download(results, dest)
    (eeg0, eeg1, events) = files(dest).values()
    stat = eeg0.stat()
    eeg0.write_bytes(b"\0" * stat.st_size)  # same size, same time: rot the skip pass cannot see
    os.utime(eeg0, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.utime(eeg1, ns=(0, 0))  # touched: fetched again
    events.write_bytes(b"shorter")  # another size: fetched again

    plan = lab.download(results, dest, existing="skip", dry_run=True)
    assert [f.action for f in plan.files] == ["skip", "replace", "replace"]
    assert (plan.requests, plan.bytes_to_transfer) == (2, 2100)
    assert eeg1.stat().st_mtime_ns == 0  # the dry run moved nothing

    kept: list[bool] = []
    lab.download(results, dest, existing="skip", progress=lambda e: kept.append(e.skipped))
    assert kept.count(True) == 1
    assert eeg0.read_bytes() == b"\0" * stat.st_size
    assert lab.verify(dest).problems[0].problem == "sha256"

    lab.download(results, dest, existing="skip", verify="sha256")
    assert lab.verify(dest).ok


def test_verify_of_a_folder_no_download_wrote_says_so(lab: DataInterface, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidValueError, match="holds no download"):
        lab.verify(tmp_path / "empty")


def test_verify_names_every_file_that_differs(lab: DataInterface, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    lab.download(lab.query(status="raw"), dest, layout="by_modality")
    assert lab.verify(dest).ok
    (eeg0, eeg1, events) = files(dest).values()
    eeg0.write_bytes(b"\0" * eeg0.stat().st_size)
    eeg1.unlink()
    events.write_bytes(b"x")
    (events.parent / "notes.txt").write_text("mine")
    (events.parent / ".seg.part").write_text("a transfer in flight")
    report = lab.verify(dest)
    assert sorted((p.path.name, p.problem) for p in report.problems) == [
        ("notes.txt", "unexpected"),
        ("seg_00000.bin", "sha256"),
        ("seg_00000.bin", "size"),
        ("seg_00001.bin", "missing"),
    ]
    root = ["--root", str(Path(lab.profile.root))]  # type: ignore[union-attr]
    shown = ursa("verify", str(dest), *root, "--json")
    assert shown.exit_code == 1
    assert {p["problem"] for p in json.loads(shown.stdout)["problems"]} == {
        "unexpected",
        "sha256",
        "size",
        "missing",
    }


def test_verify_checks_processed_objects_against_their_publication(tmp_path: Path) -> None:
    ursa_ = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    spec = RecordingSpec(
        rec_id="rec_p", start_time_ns=T0, segments=1, segment_s=2, audio=False, video=False
    )
    write_recording(tmp_path / "rig", spec)
    h = ursa_.ingest(tmp_path / "rig" / "rec_p").recording_hash
    ursa_.process(h, modalities=["eeg"])
    dest = tmp_path / "out"
    ursa_.download(ursa_.query(status="ingested", modalities="eeg"), dest)
    assert ursa_.verify(dest).ok
    chunk = next(p for p in dest.rglob("*") if p.is_file() and p.name == "0")
    chunk.write_bytes(bytes(b ^ 1 for b in chunk.read_bytes()))
    assert [p.problem for p in ursa_.verify(dest).problems] == ["sha256"]


def test_dry_runs_of_ingest_and_download_move_no_byte(tmp_path: Path) -> None:
    ursa_ = DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes()
    session = write_session(tmp_path / "rig", "rec_dry", LAYOUT)
    first = ursa_.ingest(session, dry_run=True)
    assert first.counts() == {"upload": 3, "skip": 0, "replace": 0}
    assert (first.claims_prefix, first.bytes_to_upload, first.requests) == (True, 5100, 5)
    assert list(ursa_.store("raw_ro").list("")) == []
    ursa_.ingest(session)
    again = ursa_.ingest(session, dry_run=True)
    assert (again.counts()["skip"], again.registers, again.claims_prefix) == (3, False, False)

    root = ["--root", str(tmp_path / "ursa")]
    shown = ursa("ingest", str(session), "--dry-run", "--json", *root)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["counts"] == {"skip": 3}
    dest = tmp_path / "out"
    planned = ursa("download", str(dest), "--status", "raw", "--dry-run", "--json", *root)
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert (plan["counts"], plan["bytes_to_transfer"], plan["requests"]) == ({"write": 3}, 5100, 3)
    assert not dest.exists()
