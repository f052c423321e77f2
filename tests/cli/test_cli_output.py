"""What the CLI prints for people: into a pipe or a file, and on a terminal.

* a table row stays one line, however wide (for grep), unless ``COLUMNS`` says;
* on a narrow terminal ``query`` leaves columns out, cuts ``rec_id``'s middle, and
  says so, rather than folding cells;
* progress counts files already there apart: its rates are over bytes moved;
* ``--dry-run`` prints the plan and one summary line that reads as English, and
  nothing moves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ursa_lib import DataInterface, LocalProfile
from ursa_lib.cli import app
from ursa_lib.cli._output import Transfer
from ursa_lib.testing import RecordingSpec, write_recording


def test_a_download_dry_run_says_what_it_would_do_and_writes_nothing(tmp_path: Path) -> None:
    write_recording(tmp_path / "rig", RecordingSpec(rec_id="rec_d", start_time_ns=10**18))
    root = tmp_path / "ursa"
    DataInterface(LocalProfile(root=root)).enable_writes().ingest(tmp_path / "rig" / "rec_d")
    dest = tmp_path / "out"
    args = ["download", str(dest), "--status", "raw", "--dry-run", "--root", str(root)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the summary may wrap at the terminal's width
    found = re.search(r"dry run, nothing moved: download would write (\d+) \(\1 files\)", text)
    assert found, text
    assert int(found.group(1)) > 0
    assert not dest.exists()


@pytest.mark.parametrize("columns", [None, "0", "-5", "wide"])
def test_piped_table_rows_stay_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    rec_id = "rec_20261118T090000_a_long_rig_name"
    write_recording(tmp_path / "rig", RecordingSpec(rec_id=rec_id, start_time_ns=10**18))
    root = tmp_path / "ursa"
    DataInterface(LocalProfile(root=root)).enable_writes().ingest(tmp_path / "rig" / rec_id)
    monkeypatch.delenv("COLUMNS", raising=False)
    if columns is not None:  # no usable width: as if unset, never an empty table
        monkeypatch.setenv("COLUMNS", columns)
    result = CliRunner().invoke(app, ["query", "--status", "raw", "--root", str(root)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if rec_id in line]
    assert len(rows) == 4  # audio, camera, eeg, events: each whole on its line
    assert all(line.split()[-4] == "raw" for line in rows), rows
    assert max(len(line) for line in rows) > 80


@pytest.mark.parametrize("width", [80, 60])
def test_a_narrow_terminal_gets_whole_rows_with_columns_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    rec_id = "rec_20261118T090000_a_long_rig_name"
    write_recording(tmp_path / "rig", RecordingSpec(rec_id=rec_id, start_time_ns=10**18))
    root = tmp_path / "ursa"
    ursa = DataInterface(LocalProfile(root=root)).enable_writes()
    stored = ursa.ingest(tmp_path / "rig" / rec_id)
    monkeypatch.setenv("COLUMNS", str(width))
    result = CliRunner().invoke(app, ["query", "--status", "raw", "--root", str(root)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width, result.output
    rows = [line.split() for line in lines if stored.recording_hash[:12] in line]
    assert [row[-4] for row in rows] == ["audio", "camera", "eeg", "events"], result.output
    cut = {row[1] for row in rows}  # its middle: rec_ids that differ at the end still do
    assert len(cut) == 1
    (shown,) = cut
    assert shown.startswith("rec_20"), shown
    assert shown.endswith("_name"), shown
    assert "…" in shown, shown
    assert all(row[-3] == "raw" for row in rows), result.output  # never folded
    caption = " ".join(lines[-2:]) if width < 80 else lines[-1]
    assert f"files, start (UTC){', who, length' * (width < 80)} left out" in caption, result.output
    assert f"to fit {width} columns" in caption, result.output


def test_a_wider_terminal_shows_the_rec_id_whole_before_files_and_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100 columns not every column fits beside a whole rec_id: files and
    start give way to it, and files, the narrow one, comes back when it fits
    beside the rest (a narrower terminal cuts rec_id, never showing more of it)."""
    rec_id = "rec_20261118T090000_a_long_rig_name"
    write_recording(tmp_path / "rig", RecordingSpec(rec_id=rec_id, start_time_ns=10**18))
    root = tmp_path / "ursa"
    DataInterface(LocalProfile(root=root)).enable_writes().ingest(tmp_path / "rig" / rec_id)
    shown = {}
    for width in (100, 90, 80):
        monkeypatch.setenv("COLUMNS", str(width))
        result = CliRunner().invoke(app, ["query", "--status", "raw", "--root", str(root)])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert max(len(line) for line in lines) <= width, result.output
        rows = [line.split() for line in lines if line.split()[-3:-2] == ["raw"]]
        assert len(rows) == 4, result.output
        shown[width] = rows[0][1]
        caption = "start (UTC) left out" if width == 100 else "files, start (UTC) left out"
        assert caption in lines[-1], result.output
    assert shown[100] == rec_id
    assert len(shown[80]) <= len(shown[90]) <= len(shown[100])


def test_a_download_of_files_already_there_reports_no_transfer_rate(tmp_path: Path) -> None:
    write_recording(tmp_path / "rig", RecordingSpec(rec_id="rec_k", start_time_ns=10**18))
    root = tmp_path / "ursa"
    DataInterface(LocalProfile(root=root)).enable_writes().ingest(tmp_path / "rig" / "rec_k")
    args = ["download", str(tmp_path / "out"), "--status", "raw", "--root", str(root)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "already there)" not in first.output
    again = CliRunner().invoke(app, [*args, "--existing", "skip"])
    assert again.exit_code == 0, again.output
    (progress,) = [line for line in again.output.splitlines() if line.startswith("download:")]
    assert re.search(r"\(100%\) \(\S+ \S+ already there\), \d+/\d+ files, 0 B/s", progress)
    assert "0 written" in again.output


def test_the_live_bar_counts_only_the_bytes_it_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr is a terminal: the live bar
    mib = 1024 * 1024
    with Transfer("download") as transfer:
        transfer.update(50 * mib, 60 * mib, 5, 6, kept=50 * mib)  # five files already there
        (task,) = transfer._bar.tasks
        assert (task.total, task.completed) == (10 * mib, 0)
        assert task.fields["files"] == "5/6 files, 50.0 MiB already there"
        transfer.update(55 * mib, 60 * mib, 5, 6, kept=50 * mib)
        assert (task.total, task.completed) == (10 * mib, 5 * mib)
