"""The ``ursa`` command, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ursa_lib.cli import app


def test_demo_moves_and_verifies_a_session(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--root", str(tmp_path), "--segments", "2"])
    assert result.exit_code == 0, result.output
    assert "every file's sha256 matches" in result.output
    raw = sorted(p.relative_to(tmp_path / "raw") for p in (tmp_path / "raw").rglob("*.bin"))
    assert len(raw) == 2
    assert all(str(p).startswith("recordings/rec_") for p in raw)
    downloaded = sorted((tmp_path / "demo-download").rglob("seg_*"))
    assert len(downloaded) == 8


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
