"""The ``ursa`` command run in-process, as tests drive it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer.testing import Result

__all__ = ["one_error", "run_cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """``ursa ARGS`` through typer's runner, on a wide terminal (tables do not wrap)."""
    from typer.testing import CliRunner

    from ..cli import app

    return CliRunner(env={"COLUMNS": "200", **(env or {})}).invoke(app, list(args))


def one_error(result: Result, code: int, *needles: str) -> str:
    """The single ``error:`` line of a failed command, checked."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]
