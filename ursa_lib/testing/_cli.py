"""The ``ursa`` command run in-process, as tests drive it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer.testing import Result

__all__ = ["run_cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """``ursa ARGS`` through typer's runner, on a wide terminal (tables do not wrap)."""
    from typer.testing import CliRunner

    from ..cli import app

    return CliRunner(env={"COLUMNS": "200", **(env or {})}).invoke(app, list(args))
