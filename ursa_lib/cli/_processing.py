"""``ursa process``, ``ursa show`` and ``ursa plot``: processed data made, described, drawn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._errors import CliError
from ._options import JsonOption, ProfileOption, RootOption, session_window
from ._output import emit_json, human_bytes, human_duration, print_table, say
from ._profiles import open_profile

if TYPE_CHECKING:
    from .._interface import DataInterface
    from ..processing import ProcessingResult

__all__ = ["plot", "process", "show"]

TargetArgument = Annotated[
    str, typer.Argument(help="A recording hash, or a rec_id that names one recording.")
]
FromOption = Annotated[
    float, typer.Option("--from", help="Window start, seconds from the session start.")
]
ToOption = Annotated[float, typer.Option("--to", help="Window end (exclusive), seconds.")]


def process(
    target: Annotated[
        str,
        typer.Argument(
            help="A recording hash (or its first 8+ characters), or a rec_id (every "
            "recording of that id)."
        ),
    ],
    modality: Annotated[
        list[str] | None, typer.Option("--modality", "-m", help="Only these modalities.")
    ] = None,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Make the assets again even when none looks damaged (bytes rotted at "
            "their size, an asset that does not open).",
        ),
    ] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Turn a recording's raw segments into processed assets (Zarr, MP4 + index, Lance,
    Parquet). Running it again changes nothing, but makes a damaged asset (an
    object gone, or of another size) again; --again makes them all again. A failed
    stream is reported, the others are processed."""
    from .._interface import DataInterface

    loaded = open_profile(profile, root, roles=("raw_ro", "assets_rw"), needs_catalog=True)
    ursa = DataInterface(loaded).enable_writes()
    is_hash = len(target) == 64 and all(c in "0123456789abcdef" for c in target)
    results = (
        ursa.process(target, modalities=modality, again=again)
        if is_hash
        else ursa.process(rec_id=target, modalities=modality, again=again)
    )
    if not results and not is_hash:  # the hash's first characters, as `ursa query` shows
        results = ursa.process(ursa.show(target).recording_hash, modalities=modality, again=again)
    if not results:
        raise CliError(
            f"no recording {target!r} in the catalog (ursa query --status all lists them)"
        )
    outcomes = [(r.recording_hash, o) for r in results for o in r.outcomes]
    unknown = sorted(set(modality or ()) - {o.modality for _, o in outcomes})
    if unknown:  # a typo would otherwise do nothing, silently
        raise CliError(
            f"no modality {', '.join(map(repr, unknown))} in {target!r}: its modalities are "
            + (", ".join(_modalities(ursa, results)) or "none")
            + " (ursa show lists them)"
        )
    if as_json:
        emit_json(
            [
                {
                    "recording_hash": h,
                    "modality": o.modality,
                    "outcome": o.outcome,
                    "reason": o.reason,
                    "converter": o.converter,
                    "converter_version": o.converter_version,
                    "storage_uri": o.storage_uri,
                    "count": o.count,
                    "unit": o.unit,
                    "input_bytes": o.input_bytes,
                    "output_bytes": o.output_bytes,
                }
                for h, o in outcomes
            ]
        )
    else:
        print_table(
            [
                {
                    "recording": h[:12],
                    "modality": o.modality,
                    "outcome": o.outcome,
                    "count": f"{o.count:,} {o.unit or ''}".strip() if o.count else "",
                    "in → out": (
                        f"{human_bytes(o.input_bytes)} → {human_bytes(o.output_bytes)}"
                        if o.output_bytes
                        else ""
                    ),
                    "time": human_duration(o.seconds) if o.seconds else "",
                    "reason": o.reason or "",
                }
                for h, o in outcomes
            ],
            ["recording", "modality", "outcome", "count", "in → out", "time", "reason"],
        )
        if not outcomes:
            from ..delivery._look import NO_STREAM_FOLDER

            say(f"nothing to process: {target!r} has no modality: {NO_STREAM_FOLDER}")
    failed = [o for _, o in outcomes if o.outcome == "failed"]
    if failed:
        raise CliError(
            f"{len(failed)} stream(s) failed: "
            + "; ".join(f"{o.modality}: {o.reason}" for o in failed)
        )


def _modalities(ursa: DataInterface, results: list[ProcessingResult]) -> list[str]:
    """Every modality the processed recordings hold, by name."""
    catalog = ursa.catalog()
    return sorted(
        {
            m.modality
            for r in results
            for m in catalog.list_modalities({"recording_hash": r.recording_hash})
        }
    )


def show(
    target: TargetArgument,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """A recording's modalities: status, format, channels, rate, duration, time domain."""
    from .._interface import DataInterface

    ursa = DataInterface(open_profile(profile, root, needs_catalog=True))
    summary = ursa.show(target)
    if as_json:
        emit_json(
            {
                "recording_hash": summary.recording_hash,
                "rec_id": summary.rec_id,
                "participant_ids": list(summary.participant_ids),
                "start_time": summary.start_time,
                "duration_s": summary.duration_s,
                "modalities": [
                    {
                        "modality": m.modality,
                        "status": m.status,
                        "format": m.format,
                        "channels": list(m.channels),
                        "sampling_rate": m.sampling_rate,
                        "duration_s": m.duration_s,
                        "domain": [list(d) for d in m.domain],
                        "storage_uri": m.storage_uri,
                    }
                    for m in summary.modalities
                ],
            }
        )
        return
    say(summary.title)
    if not summary.modalities:
        from ..delivery._look import NO_STREAM_FOLDER

        say(f"no modality: {NO_STREAM_FOLDER}")
        return
    print_table(summary.rows(), summary.COLUMNS)


def plot(
    target: TargetArgument,
    start: FromOption,
    end: ToOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file to write (.png).")],
    channels: Annotated[int, typer.Option(min=1, help="EEG channels drawn.")] = 4,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Draw one aligned window: EEG channels, audio envelope, event markers and the video
    frame at the window's start."""
    from .._interface import DataInterface

    if session_window(start, end) is not None and end == start:
        raise typer.BadParameter("--to must be after --from", param_hint="'--from' / '--to'")
    _check_image_path(output)
    ursa = DataInterface(open_profile(profile, root, needs_catalog=True))
    figure = ursa.plot(target, (start, end), channels=channels)
    figure.savefig(output, dpi=100)
    say(f"{output}: [{start:g}, {end:g}) s of {target}")


def _check_image_path(output: Path) -> None:
    """Refuse, before any read, an image file matplotlib cannot write there."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if output.suffix.lower().lstrip(".") not in formats:
        raise typer.BadParameter(
            f"{output.name!r} is not an image file name: end it in .png (or "
            f"{', '.join('.' + f for f in formats if f != 'png')})",
            param_hint="'-o' / '--output'",
        )
    if not output.parent.is_dir():
        raise typer.BadParameter(
            f"folder {output.parent} does not exist; create it or write elsewhere",
            param_hint="'-o' / '--output'",
        )
