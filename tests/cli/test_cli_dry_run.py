"""``--dry-run`` prints the plan and one summary line that reads as English; nothing moves."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from ursa_lib import DataInterface, LocalProfile
from ursa_lib.cli import app
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
