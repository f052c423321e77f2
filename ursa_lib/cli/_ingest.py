"""``ursa ingest`` and ``ursa backfill``: sessions into the raw bucket and the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._options import DryRunOption, JsonOption, ProfileOption, RootOption
from ._output import Transfer, emit_json, human_bytes, human_duration, say, show_plan
from ._profiles import open_profile

if TYPE_CHECKING:
    from ..ingestion._ingest import IngestProgress

__all__ = ["backfill", "ingest"]

ParticipantOption = Annotated[
    str | None, typer.Option(help="Participant id (default: the manifest's).")
]


def ingest(
    session: Annotated[
        Path,
        typer.Argument(
            help="Session directory with an augmented manifest.json.",
            exists=True,
            file_okay=False,
        ),
    ],
    participant: ParticipantOption = None,
    profile: ProfileOption = None,
    root: RootOption = None,
    overwrite: Annotated[bool, typer.Option(help="Re-upload files already stored.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Files uploaded at once.")] = 4,
    allow_deleted: Annotated[
        bool,
        typer.Option(help="Ingest again a recording that was deleted (refused otherwise)."),
    ] = False,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Upload a session to the raw bucket and register it, with live progress."""
    from ..catalog import Catalog
    from ..ingestion._ingest import ingest as run_ingest
    from ..store import open_store
    from ._errors import CliError

    if dry_run:
        from .._interface import DataInterface

        loaded = open_profile(profile, root, roles=("raw_ro", "assets_ro"))
        plan = DataInterface(loaded).ingest(
            session, participant, dry_run=True, overwrite=overwrite, allow_deleted=allow_deleted
        )
        raw_uri = loaded.bucket_uri("raw")
        show_plan(
            f"ingest (recording {plan.recording_hash} at {plan.prefix}/)",
            [(f.rel_path, f"{raw_uri}{f.key}", f.size, f.action) for f in plan.files],
            plan.requests,
            as_json,
        )
        return

    from ..ingestion import ACTIVE_MARKER, rig_active

    if rig_active(session):
        marker = next(
            m for m in (session / ACTIVE_MARKER, session.parent / ACTIVE_MARKER) if m.exists()
        )
        raise CliError(
            f"the rig is still recording ({marker} is there): ingest {session} once it has "
            "stopped and removed the marker"
        )
    loaded = open_profile(profile, root, roles=("raw_rw", "assets_rw"))
    raw = open_store(loaded, "raw_rw")
    catalog = Catalog.open(loaded, writable=True)
    with Transfer("ingest") as bar:

        def update(event: IngestProgress) -> None:
            bar.update(
                event.bytes_processed, event.bytes_total, event.files_done, event.files_total
            )

        result = run_ingest(
            session / "manifest.json",
            session,
            participant,
            raw=raw,
            catalog=catalog,
            overwrite=overwrite,
            max_concurrent_files=concurrency,
            progress=update,
            allow_deleted=allow_deleted,
            is_active=lambda: rig_active(session),  # it starts recording again: pause
        )
    if result.paused:
        raise CliError(
            f"paused: the rig started recording again ({ACTIVE_MARKER}); nothing was "
            f"registered. Re-run `ursa ingest {session}` once it stops: stored files are skipped"
        )
    uri = f"{raw.base_uri}{result.prefix}/"
    if as_json:
        emit_json(
            {
                "recording_hash": result.recording_hash,
                "uri": uri,
                "paused": result.paused,
                "files_uploaded": result.files_uploaded,
                "files_skipped": result.files_skipped,
                "bytes_uploaded": result.bytes_uploaded,
                "bytes_skipped": result.bytes_skipped,
                "modalities": [m.modality for m in result.modalities],
                "seconds": round(result.seconds, 3),
            }
        )
        return
    say(
        f"{result.files_uploaded} uploaded, {result.files_skipped} skipped, "
        f"{human_bytes(result.bytes_uploaded)} ({result.bytes_uploaded:,} bytes) sent in "
        f"{human_duration(result.seconds)}\nrecording {result.recording_hash} at {uri}"
    )


def backfill(
    rec_id: Annotated[str, typer.Argument(help="rec_id of a session already in the raw bucket.")],
    participant: ParticipantOption = None,
    profile: ProfileOption = None,
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a session whose files are already in the raw bucket (no bytes move)."""
    from ..catalog import Catalog
    from ..ingestion._backfill import ingest_from_store
    from ..store import open_store

    loaded = open_profile(profile, root, roles=("raw_ro", "assets_rw"))
    result = ingest_from_store(
        rec_id,
        participant,
        raw=open_store(loaded, "raw_ro"),
        catalog=Catalog.open(loaded, writable=True),
    )
    if as_json:
        emit_json(
            {
                "rec_id": rec_id,
                "recording_hash": result.recording_hash,
                "modalities": [m.modality for m in result.modalities],
                "files": result.files_skipped,
            }
        )
        return
    say(
        f"registered {rec_id}: recording {result.recording_hash}, "
        f"{len(result.modalities)} modalities, {result.files_skipped} files"
    )
