"""Manifests: augment hashes the session; every untrustworthy manifest is refused
before anything is uploaded, with a message that says what to fix."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ursa_lib import InvalidValueError, ManifestError, augment, load_manifest, recording_hash
from ursa_lib.cli import app
from ursa_lib.testing import RIG_PART, write_rig_session


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return write_rig_session(tmp_path)


def edit(session: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    path = session / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def test_augment_lists_every_file_with_size_and_sha256(session: Path) -> None:
    manifest = augment(session)
    assert manifest.augmented
    assert [f.rel_path for f in manifest.files or []] == [
        "camera_0/seg_00000.bin",
        "camera_0/seg_00001.bin",
        "eeg_0/seg_00000.bin",
        "eeg_0/seg_00001.bin",
        "eeg_0/seg_00002.bin",
        "events_0/seg_00000.bin",
    ]
    first = (manifest.files or [])[0]
    data = (session / first.rel_path).read_bytes()
    assert first.size == len(data)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    on_disk = json.loads((session / "manifest.json").read_text())
    assert on_disk["recording_hash"] == manifest.recording_hash
    assert on_disk["rec_id"] == RIG_PART["rec_id"]
    assert load_manifest(session / "manifest.json") == manifest
    assert not [p for p in session.iterdir() if p.name.startswith(".manifest")]


def test_recording_hash_is_the_documented_canonical_listing(session: Path) -> None:
    manifest = augment(session)
    lines = "".join(
        f"{f.rel_path}\t{f.size}\t{f.sha256}\n"
        for f in sorted(manifest.files or [], key=lambda f: f.rel_path.encode())
    )
    assert manifest.recording_hash == hashlib.sha256(lines.encode()).hexdigest()
    assert recording_hash(reversed(manifest.files or [])) == manifest.recording_hash


def test_same_bytes_same_hash_anywhere_and_any_change_a_new_one(tmp_path: Path) -> None:
    a = augment(write_rig_session(tmp_path / "a"))
    b = augment(write_rig_session(tmp_path / "b"))
    assert a.recording_hash == b.recording_hash
    assert augment(tmp_path / "a" / "rec_20261121T101500_rig3") == a  # re-augment is stable
    seg = tmp_path / "b" / "rec_20261121T101500_rig3" / "eeg_0" / "seg_00001.bin"
    data = bytearray(seg.read_bytes())
    data[10] ^= 1
    seg.write_bytes(bytes(data))
    assert augment(tmp_path / "b" / "rec_20261121T101500_rig3").recording_hash != a.recording_hash


def test_augment_uses_parallel_workers_and_reports_through_the_cli(session: Path) -> None:
    result = CliRunner().invoke(app, ["manifest", "augment", str(session), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "6 files" in result.output
    assert load_manifest(session / "manifest.json").augmented


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("rec_id"), "missing field 'rec_id'"),
        (lambda d: d.update(surprise=1), "unknown field 'surprise'"),
        (lambda d: d.update(rec_id="bad id"), "rec_id"),
        (lambda d: d["files"][0].update(rel_path="/etc/passwd"), "is absolute"),
        (lambda d: d["files"][0].update(rel_path="eeg_0/../../x"), r"contains '\.\.'"),
        (lambda d: d["files"][0].update(rel_path="eeg_0\\seg"), "backslash"),
        (lambda d: d["files"][0].update(sha256="AB" * 32), r"files\.0\.sha256"),
        (lambda d: d["files"][0].update(sha256="ab" * 31), r"files\.0\.sha256"),
        (lambda d: d["files"][0].update(size=-1), r"files\.0\.size"),
        (lambda d: d["files"][0].update(extra=1), r"unknown field 'files\.0\.extra'"),
        (lambda d: d["files"].append(dict(d["files"][0])), "is listed twice"),
        (lambda d: d["files"][0].update(size=d["files"][0]["size"] + 1), "bytes on disk but"),
        (
            lambda d: d["files"].append({**d["files"][0], "rel_path": "eeg_0/gone.bin"}),
            "is missing",
        ),
        (lambda d: d.update(recording_hash="0" * 64), "does not match the file listing"),
    ],
)
def test_bad_manifests_are_refused_with_what_to_fix(
    session: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    augment(session)
    path = edit(session, change)
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_not_json_says_where(session: Path) -> None:
    (session / "manifest.json").write_text('{"rec_id": "x",\n  oops}')
    with pytest.raises(ManifestError, match=r"not valid JSON \(line 2"):
        load_manifest(session / "manifest.json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        augment(session)


def test_not_augmented_points_to_the_command(session: Path) -> None:
    with pytest.raises(ManifestError, match="ursa manifest augment"):
        load_manifest(session / "manifest.json")


def test_files_added_after_augment_are_refused(session: Path) -> None:
    augment(session)
    (session / "eeg_0" / "seg_00099.bin").write_bytes(b"late")
    with pytest.raises(ManifestError, match=r"not in the manifest.*seg_00099"):
        load_manifest(session / "manifest.json")


def test_a_session_still_being_recorded_is_neither_augmented_nor_ingested(
    session: Path, tmp_path: Path
) -> None:
    augment(session)
    (session / ".recording").touch()  # the rig is recording into it again
    with pytest.raises(ManifestError, match=r"still being recorded \(\.recording is there\)"):
        augment(session)
    with pytest.raises(ManifestError, match="still being recorded"):
        load_manifest(session / "manifest.json")  # what ingest reads first
    assert "files" in json.loads((session / "manifest.json").read_text())  # untouched
    root = str(tmp_path / "ursa")
    refused = CliRunner().invoke(app, ["ingest", str(session), "--root", root])
    assert refused.exit_code == 1
    assert f"the rig is still recording ({session / '.recording'} is there)" in refused.output
    # The marker in the landing folder (the rig records another session there).
    (session / ".recording").unlink()
    (session.parent / ".recording").touch()
    refused = CliRunner().invoke(app, ["ingest", str(session), "--root", root])
    assert refused.exit_code == 1
    assert f"the rig is still recording ({session.parent / '.recording'}" in refused.output
    assert not (tmp_path / "ursa" / "raw").exists() or not any(
        (tmp_path / "ursa" / "raw").rglob("*.bin")
    )


def test_augment_refuses_a_file_name_that_ingest_would_refuse(session: Path) -> None:
    (session / "eeg_0" / "a\nb.bin").write_bytes(b"x")
    with pytest.raises(ManifestError, match=r"file 'eeg_0/a\\nb.bin' contains a control"):
        augment(session)
    (session / "eeg_0" / "a\nb.bin").unlink()
    (session / "eeg_0" / os.fsdecode(b"bad\xff.bin")).write_bytes(b"x")
    with pytest.raises(ManifestError, match="a file name that is not UTF-8; rename it"):
        augment(session)


def test_augment_keeps_the_manifests_mode(session: Path) -> None:
    (session / "manifest.json").chmod(0o644)  # readable by the service that ingests
    augment(session)
    assert (session / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_a_manifest_that_cannot_be_read_is_a_manifest_error(session: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "manifest.json").write_bytes(b'{"rec_id": "caf\xe9"}')
    with pytest.raises(ManifestError, match="is not UTF-8 text"):
        load_manifest(latin / "manifest.json")
    folder = tmp_path / "folder"
    (folder / "manifest.json").mkdir(parents=True)
    with pytest.raises(ManifestError, match=r"cannot be read \(Is a directory\)"):
        augment(folder)
    afile = tmp_path / "afile"
    afile.write_text("not a session")
    with pytest.raises(ManifestError, match=r"cannot be read \(Not a directory\)"):
        augment(afile)
    with pytest.raises(InvalidValueError, match="workers is how many files"):
        augment(session, workers=-1)


def test_symlink_escaping_the_session_is_refused(session: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    (session / "eeg_0" / "link.bin").symlink_to(outside)
    with pytest.raises(ManifestError, match="leaves the session directory"):
        augment(session)
    (session / "eeg_0" / "link.bin").unlink()
    augment(session)
    # A directory swapped for a link after augment is caught too.
    (session / "events_0" / "seg_00000.bin").rename(tmp_path / "moved.bin")
    (session / "events_0").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "moved.bin").rename(tmp_path / "elsewhere" / "seg_00000.bin")
    (session / "events_0").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ManifestError, match="outside the session directory"):
        load_manifest(session / "manifest.json")


def test_non_regular_files_are_refused(session: Path) -> None:
    os.mkfifo(session / "eeg_0" / "pipe")
    with pytest.raises(ManifestError, match="not a regular file"):
        augment(session)
    (session / "eeg_0" / "pipe").unlink()
    (session / "eeg_0" / "loop").symlink_to(session / "eeg_0" / "loop")
    with pytest.raises(ManifestError, match="looping symbolic link"):
        augment(session)


def test_names_equal_after_nfc_are_refused(session: Path) -> None:
    (session / "eeg_0" / "caf\u00e9.bin").write_bytes(b"1")
    (session / "eeg_0" / "cafe\u0301.bin").write_bytes(b"2")
    with pytest.raises(ManifestError, match="same name after Unicode NFC"):
        augment(session)


def test_an_unknown_field_suggests_the_closest_known_one(session: Path) -> None:
    augment(session)
    path = session / "manifest.json"
    data = json.loads(path.read_text())
    data["strat_time"] = data.pop("start_time")
    data["files"][0]["sha"] = data["files"][0].pop("sha256")
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "unknown field 'strat_time' (did you mean 'start_time'?)" in message
    assert "(did you mean 'sha256'?)" in message
    data["zzz"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"unknown field 'zzz';|unknown field 'zzz'$"):
        load_manifest(path)
