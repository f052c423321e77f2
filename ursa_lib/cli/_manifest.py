"""``ursa manifest``: session manifests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ._options import JsonOption
from ._output import emit_json, human_bytes, human_duration, say

__all__ = ["manifest_app"]

manifest_app = typer.Typer(no_args_is_help=True, help="Session manifests.")


@manifest_app.command("augment")
def manifest_augment(
    session: Annotated[
        Path,
        typer.Argument(
            help="Session directory holding manifest.json.", exists=True, file_okay=False
        ),
    ],
    workers: Annotated[int | None, typer.Option(min=1, help="Hashing threads.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Hash every file of a session and add the listing and recording_hash."""
    from ..ingestion._manifest import augment

    started = time.perf_counter()
    manifest = augment(session, workers=workers)
    seconds = time.perf_counter() - started
    size = manifest.total_bytes
    path = session / "manifest.json"
    if as_json:
        emit_json(
            {
                "manifest": str(path),
                "files": len(manifest.files or ()),
                "bytes": size,
                "seconds": round(seconds, 3),
                "recording_hash": manifest.recording_hash,
            }
        )
        return
    say(
        f"augmented {path}: {len(manifest.files or ())} files, {human_bytes(size)} "
        f"({size:,} bytes) in {human_duration(seconds)} "
        f"({human_bytes(int(size / max(seconds, 1e-9)))}/s)\n"
        f"recording_hash {manifest.recording_hash}"
    )
