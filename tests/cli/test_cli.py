"""The ``ursa`` command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ursa_lib import DataInterface, LocalProfile
from ursa_lib.cli import app


def test_demo_runs_the_whole_path_and_leaves_a_clean_archive(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--root", str(tmp_path), "--segments", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["verified"] is True
    assert summary["modalities"] == {
        "audio": "zarr", "camera": "mp4", "eeg": "zarr", "events": "lance",
    }  # fmt: skip
    assert summary["window"]["eeg"] == "1280 samples x 8 channels"  # 5 s at 256 Hz
    assert summary["window"]["camera"] == "50 video frames"  # 5 s at 10 fps
    # What it left is a real recording: found by the default query, and the
    # archive scrubs clean (no stray session in the raw bucket).
    ursa = DataInterface(LocalProfile(root=tmp_path))
    (found,) = ursa.query()
    assert (found.recording.rec_id, found.recording_hash) == (
        summary["rec_id"], summary["recording_hash"],
    )  # fmt: skip
    assert ursa.scrub().clean
    assert ursa.verify(summary["download_dir"]).ok
    shown = CliRunner().invoke(app, ["demo", "--root", str(tmp_path), "--segments", "1"])
    assert shown.exit_code == 0, shown.output
    assert "every file matches what publication recorded" in shown.output
    assert len(ursa.query()) == 2


def test_profile_show_never_prints_secrets(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "URSA_PROFILE": "lab",
        "URSA_PROFILES__LAB__RAW_BUCKET": "lab-raw",
        "URSA_PROFILES__LAB__ASSETS_BUCKET": "lab-assets",
        "URSA_LAB_RAW_RO_SECRET_ACCESS_KEY": "do-not-print-this-secret",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ursa_lib.cli", "profile", "show"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "lab-raw" in result.stdout
    assert "do-not-print-this-secret" not in result.stdout + result.stderr


def test_config_errors_are_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "URSA_PROFILE": "ghost"}
    result = subprocess.run(
        [sys.executable, "-m", "ursa_lib.cli", "profile", "show"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown profile 'ghost'" in result.stderr
    assert "Traceback" not in result.stderr


def test_query_download_and_status_commands(tmp_path: Path) -> None:
    import json

    from ursa_lib.testing import LAB_T0, build_lab

    lab = build_lab(tmp_path)
    root = ["--root", str(lab.profile.root)]
    runner = CliRunner(env={"COLUMNS": "250"})
    rows = runner.invoke(app, ["query", "--status", "raw", "--participant", "p1", "--json", *root])
    assert rows.exit_code == 0, rows.output
    parsed = [json.loads(line) for line in rows.output.splitlines()]
    assert [(r["rec_id"], r["modality"]) for r in parsed] == [
        ("rec_a", "events"),
        ("rec_b", "camera"),
        ("rec_b", "eeg"),
    ]
    table = runner.invoke(app, ["query", "--meta", "task=rest", "--status", "all", *root])
    assert table.exit_code == 0, table.output
    assert "2 recording(s)" in table.output
    bad = runner.invoke(
        app,
        ["query", "--status", "raw", "--start-ns", str(LAB_T0), "--end-ns", str(LAB_T0 + 1), *root],
    )
    assert bad.exit_code == 2
    assert "raw bytes have no time index" in bad.output
    dest = tmp_path / "dl"
    args = ["download", str(dest), "--status", "raw", "--modality", "eeg", *root]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "3 files" in done.output
    assert "3 written, 0 already there" in done.output
    again = runner.invoke(app, [*args, "--existing", "skip"])
    assert "0 written, 3 already there" in again.output
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "--existing skip" in refused.stderr
    assert "Traceback" not in refused.output
    status = runner.invoke(app, ["catalog", "status", *root])
    assert status.exit_code == 0, status.output
    assert "modalities processed" in status.output
