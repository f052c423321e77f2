"""What ``ursa`` shares with rclone, DVC and huggingface-cli: --version, --json,
--quiet, progress in CI logs, human units, and a light start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ursa_lib import augment
from ursa_lib.cli._errors import CommandFailed, handled
from ursa_lib.cli._output import human_bytes, human_duration, human_time
from ursa_lib.testing import run_cli as ursa
from ursa_lib.testing import write_rig_session


def test_version_and_completion() -> None:
    from importlib.metadata import version

    result = ursa("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"ursa {version('ursa')}"
    shown = ursa("--help")
    assert "--install-completion" in shown.stdout
    assert "Exit codes: 0 ok" in shown.stdout


def test_json_on_every_reporting_command(lab: Path, tmp_path: Path) -> None:
    rows = [
        json.loads(x)
        for x in ursa("query", "--status", "raw", "--json", "--root", str(lab)).stdout.splitlines()
    ]
    assert [r["modality"] for r in rows] == ["audio", "camera", "eeg", "events"]
    assert {(r["raw_files"], r["raw_bytes"]) for r in rows} == {(2, 2000)}
    unsized = ursa("query", "--status", "raw", "--json", "--no-sizes", "--root", str(lab))
    assert json.loads(unsized.stdout.splitlines()[0])["raw_bytes"] is None

    home = {"HOME": str(tmp_path)}  # no ~/.config/ursa/config.toml of the machine's user
    status = json.loads(ursa("catalog", "status", "--json", "--root", str(lab), env=home).stdout)
    assert status["catalog"] == str(lab / "catalog")
    assert status["config_file"] is None
    assert status["modalities_by_status"]["raw"] == 4

    shown = json.loads(ursa("profile", "show", "--json", env=home).stdout)
    assert shown["name"] == "local"
    assert "config_file" in shown
    listed = [
        json.loads(x) for x in ursa("profile", "list", "--json", env=home).stdout.splitlines()
    ]
    assert [p["name"] for p in listed] == ["local"]

    dest = tmp_path / "dl"
    done = ursa("download", str(dest), "--status", "raw", "--json", "--root", str(lab))
    summary = json.loads(done.stdout)
    assert summary == {**summary, "files": 8, "bytes": 8000, "written": 8, "skipped": 0}
    named = tmp_path / "named"
    done = ursa("download", str(named), "--status", "raw", "--names", "rec_id", "--root", str(lab))
    assert done.exit_code == 0
    folders = {p.name for p in named.iterdir() if not p.name.startswith(".")}
    assert folders == {"rec_new"}


def test_profile_show_names_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "ursa.toml"
    config.write_text('[profiles.lab]\nraw_bucket = "lab-raw"\nassets_bucket = "lab-assets"\n')
    env = {"URSA_CONFIG": str(config)}
    shown = ursa("profile", "show", "-p", "lab", env=env)
    assert str(config) in shown.stdout
    assert "URSA_LAB_RAW_RO_ACCESS_KEY_ID" in shown.stdout
    listed = ursa("profile", "list", env=env)
    assert "lab" in listed.stdout
    assert str(config) in listed.stdout


def test_progress_off_a_terminal_is_plain_lines(lab: Path, tmp_path: Path) -> None:
    env = {"URSA_PROGRESS_INTERVAL_S": "0"}
    done = ursa("download", str(tmp_path / "dl"), "--status", "raw", "--root", str(lab), env=env)
    assert done.exit_code == 0, done.output
    lines = [x for x in done.stderr.splitlines() if x.startswith("download: ")]
    assert len(lines) >= 2
    assert "7.8 KiB / 7.8 KiB (100%), 8/8 files" in lines[-1]
    assert "100%" not in lines[-2]  # the last state said once, not again on exit
    assert "/s, " in lines[-1]
    assert "\x1b[" not in done.stderr  # no terminal control codes in a log


def test_quiet_anywhere_on_the_line(lab: Path, tmp_path: Path) -> None:
    done = ursa("download", str(tmp_path / "dl"), "--status", "raw", "--root", str(lab), "-q")
    assert done.exit_code == 0, done.output
    assert done.stdout == ""
    assert done.stderr == ""
    assert (tmp_path / "dl").is_dir()


def test_human_units() -> None:
    assert [human_bytes(n) for n in (None, 0, 1023, 1536, 5 * 2**30)] == [
        "?",
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]
    assert [human_duration(s) for s in (0.084, 12.34, 75, 7260)] == [
        "84 ms",
        "12.3 s",
        "1m15s",
        "2h01m",
    ]
    assert human_time(1_790_000_000_000_000_000) == "2026-09-21 14:13:20 UTC"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["profile", "show"], ["profile", "list"], ["manifest", "augment", "{session}"]],
    ids=["help", "profile-show", "profile-list", "manifest-augment"],
)
def test_commands_off_the_catalog_import_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    session = tmp_path / "rec_light"
    (session / "eeg_0").mkdir(parents=True)
    (session / "eeg_0" / "seg_00000.bin").write_bytes(b"x" * 100)
    rig = {"rec_id": "rec_light", "start_time": 1, "duration": 1.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    code = (
        "import sys\n"
        "from ursa_lib.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert not exc.code, exc\n"
        "print(sorted(m for m in ('lancedb', 'pyarrow', 'dagster', 'pandas') if m in sys.modules))"
    )
    argv = [a.replace("{session}", str(session)) for a in args]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_verbose_logs_the_library_steps(lab: Path, tmp_path: Path) -> None:
    done = ursa("download", str(tmp_path / "dl"), "--status", "raw", "--root", str(lab), "-v")
    assert done.exit_code == 0, done.output
    assert "ursa.download INFO download plan_done" in done.stderr


def test_json_summaries_of_augment_ingest_and_backfill(tmp_path: Path) -> None:
    from ursa_lib._demo import make_synthetic_session

    session = make_synthetic_session(tmp_path / "rigs", "rec_json", segments=1, segment_bytes=500)
    rig = {"rec_id": "rec_json", "start_time": 1, "duration": 1.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    root = ["--root", str(tmp_path / "ursa")]
    augmented = json.loads(ursa("manifest", "augment", str(session), "--json").stdout)
    assert (augmented["files"], augmented["bytes"]) == (4, 2000)
    ingested = json.loads(ursa("ingest", str(session), "--json", *root).stdout)
    assert ingested["recording_hash"] == augmented["recording_hash"]
    assert (ingested["files_uploaded"], ingested["bytes_uploaded"]) == (4, 2000)
    assert ingested["modalities"] == ["audio", "camera", "eeg", "events"]
    again = json.loads(ursa("backfill", "rec_json", "--json", *root).stdout)
    assert again == {**again, "rec_id": "rec_json", "files": 4}


def test_a_terminal_gets_a_live_bar(lab: Path, tmp_path: Path) -> None:
    import os
    import pty

    main, secondary = pty.openpty()
    args = ["download", str(tmp_path / "dl"), "--status", "raw", "--root", str(lab)]
    child = subprocess.Popen(
        [sys.executable, "-m", "ursa_lib.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
        text=True,
    )
    os.close(secondary)
    chunks = []
    try:
        while True:  # read as it comes, so the child never blocks on a full terminal
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    stdout, _ = child.communicate(timeout=120)
    shown = b"".join(chunks).decode(errors="replace")
    assert child.returncode == 0, shown
    assert "8/8 files" in shown  # the bar's file column
    assert "download: " not in shown  # no plain progress lines on a terminal
    assert "8 written" in stdout


def test_an_interrupt_is_one_line_saying_how_to_go_on(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandFailed) as failed, handled():
        raise KeyboardInterrupt
    assert failed.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: interrupted; nothing half-written was kept")


def test_a_bad_participant_id_names_the_option(tmp_path: Path) -> None:
    session = write_rig_session(tmp_path / "rig")
    augment(session)
    refused = ursa("ingest", str(session), "--participant", "p 1", "--root", str(tmp_path / "u"))
    assert refused.exit_code != 0
    assert "fix --participant. Nothing was written" in refused.stderr
    assert not (tmp_path / "u" / "raw").exists() or not any((tmp_path / "u" / "raw").rglob("*.*"))
