"""``ursa download``: what a query matches, onto local disk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._options import (
    DryRunOption,
    EndOption,
    Existing,
    HashOption,
    JsonOption,
    Layout,
    LimitOption,
    MetaOption,
    ModalitiesOption,
    Names,
    ParticipantsOption,
    ProfileOption,
    RootOption,
    Source,
    StartOption,
    Status,
    StatusOption,
    Verify,
    filters,
    session_window,
)
from ._output import Transfer, emit_json, human_bytes, human_duration, say, show_plan
from ._profiles import open_profile

if TYPE_CHECKING:
    from ..delivery._download import DownloadProgress

__all__ = ["download"]


def _path(value: str) -> Path:
    """DEST as typed: an empty one (an unset variable's) is a usage error, not '.'."""
    if value == "":
        raise typer.BadParameter(
            "DEST is empty (an unset variable?); give a folder, or '.' for this one"
        )
    return Path(value)


def _folder(dest: Path) -> Path:
    """DEST, or its nearest existing parent, must be a folder (a usage error)."""
    from .._errors import InvalidValueError
    from ..delivery._plan import download_root

    try:
        download_root(dest)
    except InvalidValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'DEST'") from None
    return dest


def download(
    dest: Annotated[
        Path,
        typer.Argument(
            help="Destination folder (created if missing).", parser=_path, callback=_folder
        ),
    ],
    participant: ParticipantsOption = None,
    modality: ModalitiesOption = None,
    hash_: HashOption = None,
    meta: MetaOption = None,
    status: StatusOption = Status.ingested,
    start_ns: StartOption = None,
    end_ns: EndOption = None,
    limit: LimitOption = None,
    layout: Annotated[
        Layout, typer.Option(help="Folders: by_recording, by_modality or flat.")
    ] = Layout.by_recording,
    names: Annotated[
        Names,
        typer.Option(
            help="Recording folders named by hash or by rec_id (<rec_id>~<hash12> for a "
            "second session under one rec_id)."
        ),
    ] = Names.hash,
    source: Annotated[
        Source, typer.Option(help="Bytes to fetch: auto (processed if any), raw or processed.")
    ] = Source.auto,
    existing: Annotated[
        Existing,
        typer.Option(help="Files already there: error, skip (if identical) or overwrite."),
    ] = Existing.error,
    verify: Annotated[
        Verify,
        typer.Option(
            help="--existing skip keeps a file by size_mtime (fast) or sha256 (reads it)."
        ),
    ] = Verify.size_mtime,
    related: Annotated[
        bool,
        typer.Option(help="Also write the recordings' catalog rows to DEST/.ursa/ (offline use)."),
    ] = True,
    dry_run: DryRunOption = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Files downloaded at once.")] = 4,
    window_from: Annotated[
        float | None,
        typer.Option("--from", help="Clip processed assets from this second of the session."),
    ] = None,
    window_to: Annotated[
        float | None, typer.Option("--to", help="…to this second (exclusive).")
    ] = None,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Download what a query matches, with live progress.

    Nothing matched exits 3; a file already there is an error unless --existing
    says otherwise.
    """
    # Long by its options alone: typer reads every option from this signature.
    from .._interface import DataInterface
    from ._query import nothing_matched

    spec = filters(participant, modality, hash_, meta, status, start_ns, end_ns, limit)
    window = session_window(window_from, window_to)
    if window is not None and source is Source.raw:
        raise typer.BadParameter(
            "--from/--to clip processed assets, and raw segments have no time index: "
            "drop --source raw, or --from/--to",
            param_hint="'--source'",
        )
    if window is not None and status is Status.raw:
        raise typer.BadParameter(
            "--from/--to clip processed assets, and --status raw selects raw modalities "
            "only: drop --status raw, or --from/--to",
            param_hint="'--status'",
        )
    if window is not None and dry_run:
        raise typer.BadParameter(
            "a --from/--to download cannot be planned ahead (a clip's files and sizes are "
            "known only once it is cut): drop --dry-run, or --from/--to",
            param_hint="'--dry-run'",
        )
    loaded = open_profile(profile, root, roles=("raw_ro", "assets_ro"), needs_catalog=True)
    ursa = DataInterface(loaded, max_concurrent_files=concurrency)
    results = ursa.query(spec)
    if not results:
        raise nothing_matched(ursa, spec)
    if dry_run:
        plan = ursa.download(
            results,
            dest,
            layout=layout.value,
            names=names.value,
            source=source.value,
            existing=existing.value,
            verify=verify.value,
            dry_run=True,
            time_range=window,  # refused: a clip's files are known only once it is cut
        )
        show_plan(
            "download",
            [(str(f.dest), f.uri, f.size, f.action) for f in plan.files],
            plan.requests,
            as_json,
        )
        return
    skipped = kept = seen = 0
    started = time.perf_counter()
    with Transfer("download") as bar:

        def update(event: DownloadProgress) -> None:
            nonlocal skipped, kept, seen
            skipped += event.skipped
            if event.skipped:  # a file already there: its bytes count as done, not moved
                kept += event.bytes_done - seen
            seen = event.bytes_done
            bar.update(
                event.bytes_done,
                event.bytes_total,
                event.files_done,
                event.files_total,
                event.modality,
                kept=kept,
            )

        paths = ursa.download(
            results,
            dest,
            layout=layout.value,
            names=names.value,
            source=source.value,
            existing=existing.value,
            verify=verify.value,
            related=related,
            progress=update,
            time_range=window,
        )
    seconds = time.perf_counter() - started
    _summary(dest, paths, skipped, len(results), seconds, as_json, clipped=window is not None)


def _summary(
    dest: Path,
    paths: list[Path],
    skipped: int,
    recordings: int,
    seconds: float,
    as_json: bool,
    *,
    clipped: bool = False,
) -> None:
    """What a download wrote. A time-window download returns its clips (a clipped Zarr
    or Lance table is a folder): they are counted as clips, and their files as files."""
    from ..delivery._download import files_of

    files = files_of(paths)
    size = sum(f.stat().st_size for f in files)
    if as_json:
        counts = {"clips": len(paths), "files": len(files)} if clipped else {"files": len(paths)}
        emit_json(
            {
                "dest": str(dest),
                **counts,
                "bytes": size,
                "written": len(paths) - skipped,
                "skipped": skipped,
                "recordings": recordings,
                "seconds": round(seconds, 3),
            }
        )
        return
    what = f"{len(paths)} clips, {len(files)} files" if clipped else f"{len(paths)} files"
    say(
        f"{what} ({human_bytes(size)}, {size:,} bytes) in {dest}: "
        f"{len(paths) - skipped} written, {skipped} already there, {human_duration(seconds)}"
    )
