"""The ``ursa`` command: the root app, its global options and its sub-apps.

One module per group or verb (``_manifest``, ``_catalog``, ``_profile``,
``_ingest``, ``_query``, ``_download``, ``_lifecycle``, ``_rig``, ``_demo``);
every one runs inside the single error handler of ``_errors``. Nothing heavy is imported here: each
command imports the library parts it needs when it runs, so ``ursa --help``
and ``ursa profile show`` never load LanceDB or Arrow.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ._catalog import catalog_app
from ._demo import demo
from ._download import download
from ._errors import EXIT_CODES_HELP, STATE, handled
from ._ingest import backfill, ingest
from ._lifecycle import delete, scrub, verify
from ._manifest import manifest_app
from ._processing import plot, process, show
from ._profile import profile_app
from ._query import query
from ._rig import rig_app

__all__ = ["app", "main"]

_GLOBAL_FLAGS = frozenset({"--debug", "--quiet", "-q", "--verbose", "-v", "-vv"})


class _Root(TyperGroup):
    """The root group: global flags anywhere on the line, and the one error handler."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Hoist the global flags so they may also follow the subcommand
        # (``ursa download DEST -q``), as rclone and kubectl allow.
        cut = args.index("--") if "--" in args else len(args)
        flags = [a for a in args[:cut] if a in _GLOBAL_FLAGS]
        rest = [a for a in args[:cut] if a not in _GLOBAL_FLAGS] + args[cut:]
        # A fresh state, so a parse error already knows --debug (the callback runs later).
        STATE.reset(debug="--debug" in flags, quiet=False, verbose=0)
        STATE.args = tuple(rest)
        with handled():
            return list(super().parse_args(ctx, flags + rest))

    def invoke(self, ctx: Any) -> Any:
        with handled():
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Root,
    no_args_is_help=True,
    help="Ursa: recording sessions in object storage, catalogued, and back.",
    epilog=EXIT_CODES_HELP,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help imports markdown and pygments (~0.25 s).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ursa {version('ursa')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error (or URSA_DEBUG=1).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress, tables or hints; errors only.")
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="Log the library's steps (-vv: debug)."),
    ] = 0,
) -> None:
    """Ursa: recording sessions in object storage, catalogued, and back."""
    STATE.reset(debug=debug, quiet=quiet, verbose=verbose)
    _log_to_stderr(None if quiet or not verbose else logging.DEBUG if verbose > 1 else logging.INFO)


class _CliLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``-v`` puts on the ``ursa`` logger; writes to the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _log_to_stderr(level: int | None) -> None:
    """One handler on the ``ursa`` logger while ``-v`` is given, none otherwise."""
    logger = logging.getLogger("ursa")
    for old in [h for h in logger.handlers if isinstance(h, _CliLogHandler)]:
        logger.removeHandler(old)
    if level is None:
        return
    handler = _CliLogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


app.command("demo", epilog=EXIT_CODES_HELP)(demo)
app.command("ingest", epilog=EXIT_CODES_HELP)(ingest)
app.command("backfill", epilog=EXIT_CODES_HELP)(backfill)
app.command("query", epilog=EXIT_CODES_HELP)(query)
app.command("download", epilog=EXIT_CODES_HELP)(download)
app.command("process", epilog=EXIT_CODES_HELP)(process)
app.command("show", epilog=EXIT_CODES_HELP)(show)
app.command("plot", epilog=EXIT_CODES_HELP)(plot)
app.command("scrub", epilog=EXIT_CODES_HELP)(scrub)
app.command("delete", epilog=EXIT_CODES_HELP)(delete)
app.command("verify", epilog=EXIT_CODES_HELP)(verify)
app.add_typer(manifest_app, name="manifest")
app.add_typer(catalog_app, name="catalog")
app.add_typer(profile_app, name="profile")
app.add_typer(rig_app, name="rig")


def main(args: Sequence[str] | None = None) -> None:
    """Entry point of the ``ursa`` script."""
    app(args=args, prog_name="ursa")
