"""A new user's first hour with ``ursa``: every everyday mistake is one clear line.

Each case runs the real command against a local profile in ``tmp_path`` and
checks the exit code, that stderr holds exactly one ``error:`` line saying
what to change, and that no traceback is printed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest

from ursa_lib.cli._options import Existing, Layout, Names, Source, Status
from ursa_lib.testing import ASSETS_BUCKET, RAW_BUCKET, RcloneS3, one_error
from ursa_lib.testing import run_cli as ursa

T0 = 1_790_000_000_000_000_000


@pytest.mark.parametrize(
    ("option", "typo", "valid"),
    [
        ("--layout", "flt", "'by_recording', 'by_modality', 'flat'"),
        ("--existing", "skp", "'error', 'skip', 'overwrite'"),
        ("--source", "proc", "'auto', 'raw', 'processed'"),
        ("--status", "rawx", "'ingested', 'raw', 'all'"),
        ("--names", "rid", "'hash', 'rec_id'"),
    ],
)
def test_a_typo_in_a_choice_is_a_usage_error_listing_the_choices(
    tmp_path: Path, option: str, typo: str, valid: str
) -> None:
    # No --root: the typo is refused while parsing, before any profile or catalog.
    result = ursa("download", str(tmp_path / "dl"), option, typo)
    one_error(result, 2, option, repr(typo), valid)
    assert not (tmp_path / "dl").exists()


def test_a_second_download_into_the_same_folder_names_the_flag(lab: Path, tmp_path: Path) -> None:
    args = ("download", str(tmp_path / "dl"), "--status", "raw", "--root", str(lab))
    assert ursa(*args).exit_code == 0
    line = one_error(ursa(*args), 1, "already exist", "--existing skip", "--existing overwrite")
    assert "existing='skip'" not in line
    assert ursa(*args, "--existing", "skip").exit_code == 0


def test_a_destination_that_is_a_file(lab: Path, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    for dest in (target, target / "inside"):
        result = ursa("download", str(dest), "--status", "raw", "--root", str(lab))
        one_error(result, 2, "DEST", f"{target} is a file")
    assert target.read_text() == "mine"


@pytest.mark.parametrize(
    "command",
    [["query"], ["catalog", "status"], ["download", "dl"]],
    ids=["query", "catalog-status", "download"],
)
def test_a_read_command_without_a_catalog_creates_none(tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / ".ursa"
    result = ursa(*command, "--root", str(root))
    one_error(result, 1, "profile 'local'", str(root / "catalog"), "ursa ingest", "--root")
    assert not root.exists()


def test_nothing_matched_after_a_raw_only_ingest_names_status_raw(lab: Path) -> None:
    one_error(ursa("query", "--root", str(lab)), 3, "nothing matched", "--status raw")
    as_json = ursa("query", "--json", "--root", str(lab))
    one_error(as_json, 3, "--status raw")
    assert as_json.stdout == ""
    download = ursa("download", "dl-none", "--root", str(lab))
    one_error(download, 3, "--status raw")


def test_nothing_matched_other_filters(lab: Path) -> None:
    root = ("--status", "all", "--root", str(lab))
    one_error(ursa("query", "--modality", "eeg_0", *root), 3, "no modality 'eeg_0' (--modality)")
    one_error(ursa("query", "--participant", "nobody", *root), 3, "'nobody' (--participant)")
    together = ursa("query", "--participant", "p1", "--meta", "task=x", *root)
    line = one_error(together, 3, "nothing matched these filters together", "4 modalities")
    assert "(drop a filter)" in line  # --status all was given: not suggested again


def test_an_unknown_profile(tmp_path: Path) -> None:
    one_error(ursa("query", "-p", "ghost"), 2, "unknown profile 'ghost'", "known: local")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lab_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "URSA_PROFILE": "lab",
        "URSA_PROFILES__LAB__ENDPOINT": endpoint,
        "URSA_PROFILES__LAB__RAW_BUCKET": "lab-raw",
        "URSA_PROFILES__LAB__ASSETS_BUCKET": "lab-assets",
    }
    for role in ("RAW_RO", "RAW_RW", "ASSETS_RO", "ASSETS_RW"):
        env[f"URSA_LAB_{role}_ACCESS_KEY_ID"] = "key"
        env[f"URSA_LAB_{role}_SECRET_ACCESS_KEY"] = "do-not-print"
    return env


def _one_line_soon(env: dict[str, str], cwd: Path, command: list[str], *needles: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ursa_lib.cli", *command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "do-not-print" not in done.stdout + done.stderr
    assert time.monotonic() - started < 20  # the library alone took 13 s, or hung


def test_an_unreachable_endpoint_is_one_fast_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = _lab_env(tmp_path, url)
    for command in (
        ["query"],
        ["catalog", "status"],
        ["download", str(tmp_path / "dl"), "--status", "raw"],
        ["backfill", "rec_x"],
    ):
        _one_line_soon(
            env,
            tmp_path,
            command,
            f"error: cannot reach {url} (profile 'lab'): connection refused",
            "URSA_PROFILES__LAB__ENDPOINT",
        )


def test_a_silent_endpoint_is_one_line_too(tmp_path: Path) -> None:
    with socket.socket() as server:  # accepts connections (backlog), never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        _one_line_soon(
            _lab_env(tmp_path, url),
            tmp_path,
            ["catalog", "status"],
            f"error: cannot reach {url} (profile 'lab'): connected, but no HTTP answer",
        )


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--segments", "0"],
        ["manifest", "augment", "/nonexistent/session"],
        ["ingest", "/nonexistent/session"],
        ["ingest", ".", "--concurrency", "0"],
        ["backfill"],
        ["query", "--limit", "0"],
        ["query", "--meta", "novalue"],
        ["query", "--meta", "rig=a", "--meta", "rig=b"],
        ["query", "--start-ns", "5"],
        ["download"],
        ["download", "dl", "--concurrency", "0"],
        ["download", ""],
        ["catalog", "status", "--bogus"],
        ["catalog", "status", "--root", __file__],
        ["profile", "show", "--bogus"],
        ["profile", "list", "extra"],
        ["qury"],
    ],
    ids=lambda a: "-".join(a),
)
def test_a_wrong_argument_per_subcommand(args: list[str]) -> None:
    one_error(ursa(*args), 2)


def test_choices_mirror_the_library() -> None:
    from ursa_lib.delivery._download import Existing as LibExisting
    from ursa_lib.delivery._download import Layout as LibLayout
    from ursa_lib.delivery._download import Names as LibNames
    from ursa_lib.delivery._download import SourceKind
    from ursa_lib.delivery._query import Status as LibStatus

    pairs = ((Layout, LibLayout), (Existing, LibExisting), (Source, SourceKind), (Names, LibNames))
    for cli, lib in pairs:
        assert tuple(c.value for c in cli) == typing.get_args(lib)
    assert tuple(c.value for c in Status) == typing.get_args(LibStatus)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = ursa("--debug", "query", "--root", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.s3
def test_wrong_keys_name_the_profile_and_the_variables(rclone_s3: RcloneS3, tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "URSA_PROFILE": "lab",
        "URSA_PROFILES__LAB__ENDPOINT": rclone_s3.rw.url,
        "URSA_PROFILES__LAB__REGION": "us-east-1",
        "URSA_PROFILES__LAB__RAW_BUCKET": RAW_BUCKET,
        "URSA_PROFILES__LAB__ASSETS_BUCKET": ASSETS_BUCKET,
    }
    for role in ("RAW_RO", "ASSETS_RO"):
        env[f"URSA_LAB_{role}_ACCESS_KEY_ID"] = "not-a-key"
        env[f"URSA_LAB_{role}_SECRET_ACCESS_KEY"] = "not-a-secret-either"
    started = time.monotonic()
    for command in (
        ["query", "--status", "raw"],
        ["catalog", "status"],
        ["download", str(tmp_path / "dl"), "--status", "raw"],
    ):
        line = one_error(ursa(*command, env=env), 1, "profile 'lab'", "URSA_LAB_")
        assert "not-a-secret-either" not in line
        assert len(line) < 400
    assert time.monotonic() - started < 30
