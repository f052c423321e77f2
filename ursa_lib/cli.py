"""The ``ursa`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._config import LocalProfile, S3Profile, load_profile
from ._errors import UrsaError

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
    from ._demo import run_demo

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

    from ._manifest import augment

    started = time.perf_counter()
    manifest = augment(session, workers=workers)
    seconds = time.perf_counter() - started
    size = manifest.total_bytes
    console.print(
        f"augmented {session / 'manifest.json'}: {len(manifest.files or ())} files, "
        f"{size:,} bytes in {seconds:.2f} s ({size / 2**20 / max(seconds, 1e-9):.0f} MiB/s)\n"
        f"recording_hash {manifest.recording_hash}"
    )


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


if __name__ == "__main__":
    main()
