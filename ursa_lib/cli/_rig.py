"""``ursa rig``: the rig's own disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._options import JsonOption, ProfileOption, RootOption
from ._output import emit_json, human_bytes, say
from ._profiles import open_profile

__all__ = ["rig_app"]

rig_app = typer.Typer(no_args_is_help=True, help="The rig's local sessions.")


@rig_app.command("clean")
def rig_clean(
    session: Annotated[
        Path,
        typer.Argument(help="Session directory on the rig.", exists=True, file_okay=False),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything; delete nothing.")
    ] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Delete a session from the rig once the archive provably holds all of it.

    Refuses (exit 1, naming what is missing) unless the raw bucket holds every
    manifest file with its size and sha256, the recording row exists, and the
    rig is not recording into it.
    """
    from .._interface import DataInterface

    loaded = open_profile(profile, root, roles=("raw_ro", "assets_ro"), needs_catalog=True)
    result = DataInterface(loaded).clean_rig(session, dry_run=dry_run)
    if as_json:
        emit_json(
            {
                "session_dir": str(result.session_dir),
                "recording_hash": result.recording_hash,
                "raw_prefix": result.raw_prefix,
                "files": result.files,
                "bytes": result.bytes,
                "dry_run": result.dry_run,
                "deleted": result.deleted,
            }
        )
        return
    verb = "verified; would delete" if dry_run else "verified and deleted"
    say(
        f"{result.session_dir}: {verb} {result.files} files ({human_bytes(result.bytes)}); "
        f"the archive holds them at {result.raw_prefix}"
    )
