"""Time windows on the command line: each refusal names the options typed, and exits 2.

``--from/--to`` (``ursa download``, ``ursa plot``) are seconds from the session
start; ``--since/--until`` (or ``--start-ns/--end-ns``) filter ``query`` and
``download`` by absolute time. A refusal is one ``error:`` line naming the
options as the user typed them, never the other spelling nor the library's
``time_range``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ursa_lib.testing import one_error
from ursa_lib.testing import run_cli as ursa

ISO_10, ISO_11 = "2025-11-18T10:00:00Z", "2025-11-18T11:00:00Z"


@pytest.mark.parametrize(
    ("window", "said"),
    [
        (["--from", "20", "--to", "10"], "--from 20 is after --to 10"),
        (["--from", "nan", "--to", "10"], "--from and --to are finite seconds"),
        (["--from", "0", "--to", "1e400"], "got --from 0 --to inf"),
        (["--from", "10"], "give both --from and --to, or neither"),
        (["--source", "raw", "--from", "10", "--to", "15"], "drop --source raw, or --from/--to"),
        (["--status", "raw", "--from", "10", "--to", "15"], "drop --status raw, or --from/--to"),
        (["--dry-run", "--from", "10", "--to", "15"], "drop --dry-run, or --from/--to"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_download_names_from_and_to(tmp_path: Path, window: list[str], said: str) -> None:
    line = one_error(
        ursa("download", str(tmp_path / "d"), *window, "--root", str(tmp_path)), 2, said
    )
    assert "start-ns" not in line
    assert "time_range" not in line


@pytest.mark.parametrize(
    ("flags", "said", "absent"),
    [
        (
            ["--since", ISO_11, "--until", ISO_10],
            "--since/--until must end after it starts; got --since 2025-11-18 11:00:00 UTC "
            "and --until 2025-11-18 10:00:00 UTC",
            "--start-ns",
        ),
        (["--start-ns", ISO_11, "--end-ns", ISO_10], "--start-ns/--end-ns must end", "--since"),
        (["--since", ISO_11, "--end-ns", ISO_10], "--since/--end-ns must end", "--until"),
        (
            ["--since", ISO_10, "--until", ISO_11, "--status", "raw"],
            "--since/--until filters processed data only",
            "--start-ns",
        ),
        (
            ["--since", "10", "--until", "20"],
            "--since is an absolute time in epoch nano",
            "--start-ns",
        ),
        (["--until=later", "--since", ISO_10], "--until 'later' is neither epoch", "--end-ns"),
        (
            ["--since", ISO_10, "--status", "raw"],
            "--since filters processed data only; raw bytes have no time index (--status raw). "
            "Drop --since or",
            "--end-ns",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_query_names_the_time_options_typed(
    tmp_path: Path, flags: list[str], said: str, absent: str
) -> None:
    for command in (["query"], ["download", str(tmp_path / "d")]):
        line = one_error(ursa(*command, *flags, "--root", str(tmp_path)), 2, said)
        assert absent not in line
        assert "time_range" not in line


def test_plot_names_from_and_to(tmp_path: Path) -> None:
    args = ["plot", "rec", "-o", str(tmp_path / "p.png"), "--root", str(tmp_path)]
    one_error(ursa(*args, "--from", "nan", "--to", "5"), 2, "--from and --to are finite")
    one_error(ursa(*args, "--from", "5", "--to", "5"), 2, "--to must be after --from")
