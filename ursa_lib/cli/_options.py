"""Options shared by several commands, and the choices checked while parsing.

The choice enums mirror the library's ``Literal`` types (a test keeps them
equal); they live here so that parsing a command line never imports the
catalog.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..delivery._query import QuerySpec

__all__ = [
    "Existing",
    "Layout",
    "Names",
    "Source",
    "Status",
    "filters",
]


class Status(StrEnum):
    """Which modalities a query returns (``QuerySpec.status``)."""

    ingested = "ingested"
    raw = "raw"
    all = "all"


class Layout(StrEnum):
    """Folder layout of a download (``delivery.Layout``)."""

    by_recording = "by_recording"
    by_modality = "by_modality"
    flat = "flat"


class Names(StrEnum):
    """What a download names each recording's folder (``delivery.Names``)."""

    hash = "hash"
    rec_id = "rec_id"


class Source(StrEnum):
    """Which bytes a download fetches (``delivery.SourceKind``)."""

    auto = "auto"
    raw = "raw"
    processed = "processed"


class Existing(StrEnum):
    """What a download does with files already there (``delivery.Existing``)."""

    error = "error"
    skip = "skip"
    overwrite = "overwrite"


class Verify(StrEnum):
    """How --existing skip tells a file is already there (``delivery.Verify``)."""

    size_mtime = "size_mtime"
    sha256 = "sha256"


DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan (files, bytes, requests); move no byte.")
]
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Profile name (default $URSA_PROFILE or local)."),
]


def _root_folder(root: Path | None) -> Path | None:
    if root is not None and root.exists() and not root.is_dir():
        raise typer.BadParameter(f"{root} is a file; --root names the local profile's folder")
    return root


RootOption = Annotated[
    Path | None,
    typer.Option(
        help="Local profile directory (default $URSA_LOCAL_ROOT or ./.ursa).",
        callback=_root_folder,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable output on stdout (JSON).")
]
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
StatusOption = Annotated[
    Status,
    typer.Option(help="ingested (processed modalities), raw, or all.", case_sensitive=False),
]
LimitOption = Annotated[int | None, typer.Option(min=1, help="At most this many recordings.")]


def _epoch_ns(value: str | None) -> int | None:
    """Epoch nanoseconds, or an ISO-8601 time (without a zone: UTC) turned into them."""
    if value is None:
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither epoch nanoseconds nor an ISO-8601 time "
            "(e.g. 2026-11-18T09:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


StartOption = Annotated[
    int | None,
    typer.Option(
        "--start-ns",
        "--since",
        parser=_epoch_ns,
        help="Time window start: epoch ns or an ISO-8601 time (UTC unless it says).",
    ),
]
EndOption = Annotated[
    int | None,
    typer.Option(
        "--end-ns",
        "--until",
        parser=_epoch_ns,
        help="Time window end: epoch ns or an ISO-8601 time.",
    ),
]


def filters(
    participants: list[str] | None,
    modalities: list[str] | None,
    hashes: list[str] | None,
    meta: list[str] | None,
    status: Status,
    start_ns: int | None,
    end_ns: int | None,
    limit: int | None,
) -> QuerySpec:
    """The `QuerySpec` of the filter options; a bad combination is a usage error."""
    from pydantic import ValidationError

    from ..delivery._query import QuerySpec

    given: dict[str, object] = {"status": status.value}
    if participants:
        given["participants"] = tuple(participants)
    if modalities:
        given["modalities"] = tuple(modalities)
    if hashes:
        given["recording_hash"] = tuple(hashes)
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
        given["metadata"] = metadata
    if start_ns is not None or end_ns is not None:
        if start_ns is None or end_ns is None:
            raise typer.BadParameter("--start-ns and --end-ns go together")
        given["time_range"] = (start_ns, end_ns)
    if limit is not None:
        given["limit"] = limit
    try:
        return QuerySpec.model_validate(given)
    except ValidationError as exc:
        from ._errors import cli_words

        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise typer.BadParameter(cli_words(problems)) from None
