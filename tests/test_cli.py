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
