"""The ``ursa`` command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from .._config import LocalProfile, S3Profile, load_profile
from .._errors import UrsaError

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..delivery._query import QuerySpec

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Ursa: recording sessions in object storage."
)
profile_app = typer.Typer(no_args_is_help=True, help="Inspect profiles.")
app.add_typer(profile_app, name="profile")
manifest_app = typer.Typer(no_args_is_help=True, help="Session manifests.")
app.add_typer(manifest_app, name="manifest")
console = Console()

ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Profile name (default $URSA_PROFILE or local)."),
]


@app.command()
def demo(
    root: Annotated[
        Path | None,
        typer.Option(help="Local profile directory (default $URSA_LOCAL_ROOT or ./.ursa)."),
    ] = None,
    segments: Annotated[int, typer.Option(min=1, help="Segments per stream.")] = 12,
) -> None:
    """Move a synthetic session through the local profile and verify every byte."""
    from .._demo import run_demo

    profile = load_profile("local", local_root=root)
    assert isinstance(profile, LocalProfile)
    summary = run_demo(profile, segments=segments)
    table = Table(title=f"ursa demo — {summary.rec_id}", show_header=False)
    table.add_row("files", str(summary.files))
    table.add_row("bytes", f"{summary.bytes:,}")
    table.add_row("upload", f"{summary.upload_s:.2f} s ({summary.upload_mb_s:.0f} MiB/s)")
    table.add_row("download", f"{summary.download_s:.2f} s ({summary.download_mb_s:.0f} MiB/s)")
    table.add_row("raw objects", summary.raw_uri)
    table.add_row("downloaded to", str(summary.download_dir))
    table.add_row("verified", "every file's sha256 matches")
    console.print(table)


@manifest_app.command("augment")
def manifest_augment(
    session: Annotated[Path, typer.Argument(help="Session directory holding manifest.json.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Hashing threads.")] = None,
) -> None:
    """Hash every file of a session and add the listing and recording_hash."""
    import time

    from ..ingestion._manifest import augment

    started = time.perf_counter()
    manifest = augment(session, workers=workers)
    seconds = time.perf_counter() - started
    size = manifest.total_bytes
    console.print(
        f"augmented {session / 'manifest.json'}: {len(manifest.files or ())} files, "
        f"{size:,} bytes in {seconds:.2f} s ({size / 2**20 / max(seconds, 1e-9):.0f} MiB/s)\n"
        f"recording_hash {manifest.recording_hash}"
    )


def _local_or_named(profile: str | None, root: Path | None) -> LocalProfile | S3Profile:
    return load_profile(profile, local_root=root)


def _transfer_bar() -> Progress:
    """The live bar of ``ursa ingest`` and ``ursa download``: bytes, rate, files, ETA."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[files]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


RootOption = Annotated[
    Path | None, typer.Option(help="Local profile directory (default $URSA_LOCAL_ROOT or ./.ursa).")
]


@app.command("ingest")
def ingest_command(
    session: Annotated[
        Path, typer.Argument(help="Session directory with an augmented manifest.json.")
    ],
    participant: Annotated[
        str | None, typer.Option(help="Participant id (default: the manifest's).")
    ] = None,
    profile: ProfileOption = None,
    root: RootOption = None,
    overwrite: Annotated[bool, typer.Option(help="Re-upload files already stored.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Files uploaded at once.")] = 4,
) -> None:
    """Upload a session to the raw bucket and register it, with a live progress bar."""
    from ..catalog import Catalog
    from ..ingestion._ingest import IngestProgress, ingest
    from ..store import open_store

    loaded = _local_or_named(profile, root)
    raw = open_store(loaded, "raw_rw")
    catalog = Catalog.open(loaded, writable=True)
    with _transfer_bar() as bar:
        task = bar.add_task("ingest", total=None, files="")

        def update(event: IngestProgress) -> None:
            bar.update(
                task,
                total=event.bytes_total,
                completed=event.bytes_processed,
                files=f"{event.files_done}/{event.files_total} files",
            )

        result = ingest(
            session / "manifest.json",
            session,
            participant,
            raw=raw,
            catalog=catalog,
            overwrite=overwrite,
            max_concurrent_files=concurrency,
            progress=update,
        )
    console.print(
        f"{result.files_uploaded} uploaded, {result.files_skipped} skipped, "
        f"{result.bytes_uploaded:,} bytes sent in {result.seconds:.1f} s\n"
        f"recording {result.recording_hash} at {raw.base_uri}{result.prefix}/"
    )


@app.command("backfill")
def backfill_command(
    rec_id: Annotated[str, typer.Argument(help="rec_id of a session already in the raw bucket.")],
    participant: Annotated[
        str | None, typer.Option(help="Participant id (default: the manifest's).")
    ] = None,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Register a session whose files are already in the raw bucket (no bytes move)."""
    from ..catalog import Catalog
    from ..ingestion._ingest import ingest_from_store
    from ..store import open_store

    loaded = _local_or_named(profile, root)
    result = ingest_from_store(
        rec_id,
        participant,
        raw=open_store(loaded, "raw_ro"),
        catalog=Catalog.open(loaded, writable=True),
    )
    console.print(
        f"registered {rec_id}: recording {result.recording_hash}, "
        f"{len(result.modalities)} modalities, {result.files_skipped} files"
    )


catalog_app = typer.Typer(no_args_is_help=True, help="The catalog.")
app.add_typer(catalog_app, name="catalog")

ParticipantsOption = Annotated[
    list[str] | None, typer.Option("--participant", help="Participant id (repeatable).")
]
ModalitiesOption = Annotated[
    list[str] | None, typer.Option("--modality", help="Modality name (repeatable).")
]
HashOption = Annotated[
    list[str] | None, typer.Option("--hash", help="recording_hash (repeatable).")
]
MetaOption = Annotated[
    list[str] | None,
    typer.Option("--meta", help="Recording metadata KEY=VALUE (VALUE as JSON or text)."),
]
StatusOption = Annotated[str, typer.Option(help="ingested (processed rows), raw, or all.")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="At most this many recordings.")]


def _filters(
    participants: list[str] | None,
    modalities: list[str] | None,
    hashes: list[str] | None,
    meta: list[str] | None,
    status: str,
    start_ns: int | None,
    end_ns: int | None,
    limit: int | None,
) -> QuerySpec:
    import json

    from pydantic import ValidationError

    from ..delivery._query import QuerySpec

    filters: dict[str, object] = {"status": status}
    if participants:
        filters["participants"] = tuple(participants)
    if modalities:
        filters["modalities"] = tuple(modalities)
    if hashes:
        filters["recording_hash"] = tuple(hashes)
    if meta:
        metadata: dict[str, object] = {}
        for item in meta:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise typer.BadParameter(f"--meta takes KEY=VALUE, got {item!r}")
            try:
                metadata[key] = json.loads(value)
            except json.JSONDecodeError:
                metadata[key] = value
        filters["metadata"] = metadata
    if start_ns is not None or end_ns is not None:
        if start_ns is None or end_ns is None:
            raise typer.BadParameter("--start-ns and --end-ns go together")
        filters["time_range"] = (start_ns, end_ns)
    if limit is not None:
        filters["limit"] = limit
    try:
        return QuerySpec.model_validate(filters)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise typer.BadParameter(problems) from None


StartOption = Annotated[
    int | None, typer.Option("--start-ns", help="Time window start (epoch ns).")
]
EndOption = Annotated[int | None, typer.Option("--end-ns", help="Time window end (epoch ns).")]


@app.command("query")
def query_command(
    participant: ParticipantsOption = None,
    modality: ModalitiesOption = None,
    hash_: HashOption = None,
    meta: MetaOption = None,
    status: StatusOption = "ingested",
    start_ns: StartOption = None,
    end_ns: EndOption = None,
    limit: LimitOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """List recordings and modalities that match (a table, or JSON lines)."""
    import json

    from .._interface import DataInterface

    ursa = DataInterface(_local_or_named(profile, root))
    results = ursa.query(
        _filters(participant, modality, hash_, meta, status, start_ns, end_ns, limit)
    )
    if as_json:
        for row in results.rows():
            typer.echo(json.dumps(row, sort_keys=True))
        return
    table = Table(title=f"{len(results)} recording(s)")
    for column in ("recording_hash", "rec_id", "participants", "modality", "status", "uri"):
        table.add_column(column, overflow="fold")
    for row in results.rows():
        table.add_row(
            str(row["recording_hash"])[:12],
            str(row["rec_id"]),
            ",".join(row["participant_ids"]),
            str(row["modality"]),
            str(row["status"]),
            str(row["storage_uri"] or row["raw_storage_uri"]),
        )
    console.print(table)


@app.command("download")
def download_command(
    dest: Annotated[Path, typer.Argument(help="Destination directory.")],
    participant: ParticipantsOption = None,
    modality: ModalitiesOption = None,
    hash_: HashOption = None,
    meta: MetaOption = None,
    status: StatusOption = "ingested",
    start_ns: StartOption = None,
    end_ns: EndOption = None,
    limit: LimitOption = None,
    layout: Annotated[str, typer.Option(help="by_recording, by_modality or flat.")] = (
        "by_recording"
    ),
    source: Annotated[str, typer.Option(help="auto, raw or processed.")] = "auto",
    existing: Annotated[
        str, typer.Option(help="Files already there: error, skip (if identical) or overwrite.")
    ] = "error",
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Download what a query matches, with a live progress bar."""
    from .._interface import DataInterface
    from ..delivery._download import DownloadProgress

    ursa = DataInterface(_local_or_named(profile, root))
    results = ursa.query(
        _filters(participant, modality, hash_, meta, status, start_ns, end_ns, limit)
    )
    if not results:
        console.print("nothing matches; nothing downloaded")
        raise typer.Exit(1)
    skipped = 0
    with _transfer_bar() as bar:
        task = bar.add_task("download", total=None, files="")

        def update(event: DownloadProgress) -> None:
            nonlocal skipped
            skipped += event.skipped
            bar.update(
                task,
                total=event.bytes_total,
                completed=event.bytes_done,
                files=f"{event.files_done}/{event.files_total or '?'} files",
                description=event.modality or "download",
            )

        paths = ursa.download(
            results,
            dest,
            layout=layout,  # type: ignore[arg-type]
            source=source,  # type: ignore[arg-type]
            existing=existing,  # type: ignore[arg-type]
            progress=update,
        )
    size = sum(p.stat().st_size for p in paths)
    console.print(
        f"{len(paths)} files ({size:,} bytes) in {dest}: {len(paths) - skipped} written, "
        f"{skipped} already there"
    )


@catalog_app.command("status")
def catalog_status(profile: ProfileOption = None, root: RootOption = None) -> None:
    """Row counts by table and modalities by ingestion status."""
    from .._interface import DataInterface

    status = DataInterface(_local_or_named(profile, root)).status()
    table = Table(show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    by_status = status.pop("modalities_by_status", {})
    for name, count in status.items():
        table.add_row(name, f"{count:,}")
    for name, count in by_status.items():
        table.add_row(f"  modalities {name}", f"{count:,}")
    console.print(table)


@profile_app.command("show")
def profile_show(profile: ProfileOption = None) -> None:
    """Print the active profile's settings (never its secrets)."""
    loaded = load_profile(profile)
    table = Table(show_header=False)
    table.add_row("name", loaded.name)
    table.add_row("kind", loaded.kind)
    table.add_row("raw", loaded.bucket_uri("raw"))
    table.add_row("assets", loaded.bucket_uri("assets"))
    if isinstance(loaded, S3Profile):
        table.add_row("endpoint", loaded.endpoint or "(AWS default)")
        table.add_row("catalog", loaded.resolved_catalog_uri)
    else:
        table.add_row("catalog", loaded.catalog_uri)
    console.print(table)


def main() -> None:
    """Entry point: Ursa errors print as one clear line and exit 2."""
    try:
        app()
    except UrsaError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}")
        raise SystemExit(2) from None
