"""``ursa plot -o`` refuses, on one line and before reading anything, a file it cannot write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ursa_lib.cli import app


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("window.txt", "'window.txt' is not an image file name: end it in .png"),
        ("missing/window.png", "folder .*missing does not exist"),
    ],
)
def test_an_output_it_cannot_write_is_a_one_line_usage_error(
    tmp_path: Path, name: str, message: str
) -> None:
    # No profile holds the recording: the refusal comes before any read.
    args = ["plot", "rec_x", "--from", "1", "--to", "2", "-o", str(tmp_path / name)]
    result = CliRunner().invoke(app, [*args, "--root", str(tmp_path / "ursa")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "'-o' / '--output'" in lines[0]
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / name).exists()
