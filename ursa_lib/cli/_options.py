"""Options shared by several commands, and the choices checked while parsing.

The choice enums mirror the library's ``Literal`` types (a test keeps them
equal); they live here so that parsing a command line never imports the
catalog.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._errors import STATE, CliError, ExitCode, cli_words, flag_used

if TYPE_CHECKING:
    from ..delivery._query import QuerySpec

__all__ = [
    "Existing",
    "Layout",
    "Names",
    "Source",
    "Status",
    "filters",
    "session_window",
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
    list[str] | None, typer.Option("--hash", help="Hash or its first 8+ characters (repeatable).")
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


_START_FLAGS = ("--start-ns", "--since")
_END_FLAGS = ("--end-ns", "--until")
_CLI_FORMS = (
    "epoch nanoseconds (e.g. 1763456400000000000) or an ISO-8601 time "
    "(e.g. 2025-11-18T09:00:00Z; without a zone: UTC)"
)


def _absolute(value: str | None, flags: tuple[str, ...]) -> int | None:
    """Epoch nanoseconds of an option's value (see `ursa_lib._time.epoch_ns`)."""
    if value is None:
        return None
    from .._errors import InvalidValueError
    from .._time import epoch_ns

    try:
        return epoch_ns(value, flag_used(*flags), _CLI_FORMS)
    except InvalidValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None


def _start_ns(value: str | None) -> int | None:
    return _absolute(value, _START_FLAGS)


def _end_ns(value: str | None) -> int | None:
    return _absolute(value, _END_FLAGS)


def session_window(start: float | None, end: float | None) -> tuple[float, float] | None:
    """The ``--from``/``--to`` window (seconds from the session start), or None.

    Both or neither, finite, ``--from`` not after ``--to``: else a usage error. The
    library's messages about ``time_range`` then name ``--from/--to``.
    """
    if start is None and end is None:
        return None
    hint = "'--from' / '--to'"
    if start is None or end is None:
        raise typer.BadParameter("give both --from and --to, or neither", param_hint=hint)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise typer.BadParameter(
            f"--from and --to are finite seconds from the session start; got --from {start:g} "
            f"--to {end:g}",
            param_hint=hint,
        )
    if end < start:
        raise typer.BadParameter(
            f"--from {start:g} is after --to {end:g}; give the window's start first",
            param_hint=hint,
        )
    STATE.time_range_flags = "--from/--to"
    return start, end


StartOption = Annotated[
    int | None,
    typer.Option(
        "--start-ns",
        "--since",
        parser=_start_ns,
        metavar="TIME",
        help="Time window start: epoch ns or an ISO-8601 time (UTC unless it says).",
    ),
]
EndOption = Annotated[
    int | None,
    typer.Option(
        "--end-ns",
        "--until",
        parser=_end_ns,
        metavar="TIME",
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
    from .._errors import InvalidValueError
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
            if key in metadata:  # every filter must match: one key cannot equal two values
                raise typer.BadParameter(
                    f"--meta {key}= is given twice; a recording's {key} equals one value, "
                    "so give it once (run one query per value)"
                )
            try:
                metadata[key] = json.loads(value)
            except json.JSONDecodeError:
                metadata[key] = value
        given["metadata"] = metadata
    # The options as typed: one end alone is named alone (--since, not --since/--end-ns).
    typed = [
        flag_used(*names)
        for names, value in ((_START_FLAGS, start_ns), (_END_FLAGS, end_ns))
        if value is not None
    ]
    flags = "/".join(typed) or f"{flag_used(*_START_FLAGS)}/{flag_used(*_END_FLAGS)}"
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        from ._output import human_time

        raise typer.BadParameter(
            f"{flags} must end after it starts; got {flag_used(*_START_FLAGS)} "
            f"{human_time(start_ns)} and {flag_used(*_END_FLAGS)} {human_time(end_ns)}: give "
            "the start first"
        )
    if start_ns is not None or end_ns is not None:
        given["time_range"] = (start_ns, end_ns)  # one alone: since, or until
    if limit is not None:
        given["limit"] = limit
    STATE.time_range_flags = flags
    try:
        return QuerySpec(**given)
    except InvalidValueError as exc:
        raise typer.BadParameter(cli_words(str(exc))) from None
