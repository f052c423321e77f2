"""``ursa scrub``, ``ursa delete`` and ``ursa verify``: keeping the archive true."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._layout import PROCESSED_ROOT
from .._text import counted
from ._errors import CliError, ExitCode
from ._options import JsonOption, ProfileOption, RootOption
from ._output import emit_json, human_bytes, human_duration, print_table, say
from ._profiles import open_profile

if TYPE_CHECKING:
    from .._config import Role
    from ..lifecycle import Finding

__all__ = ["delete", "scrub", "verify"]


def scrub(
    sample: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Fraction of stored objects, raw and processed, re-hashed (0 to 1).",
        ),
    ] = 0.0,
    repair: Annotated[
        bool,
        typer.Option(help="Do the safe repairs: backfill, hand stuck rows to processing."),
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the sample (repeatable runs).")] = None,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Walk both buckets against the catalog and report what does not add up.

    Never deletes. Exits 1 when anything is found (and not repaired), 0 when clean.
    """
    from .._interface import DataInterface

    roles: tuple[Role, ...] = (
        ("raw_ro", "assets_ro", "assets_rw") if repair else ("raw_ro", "assets_ro")
    )
    loaded = open_profile(profile, root, roles=roles, needs_catalog=True)
    ursa = DataInterface(loaded)
    if repair:
        ursa.enable_writes()
    report = ursa.scrub(sample=sample, repair=repair, seed=seed)
    open_findings = [f for f in report.findings if not f.repaired]
    if as_json:
        emit_json(
            {
                "clean": report.clean,
                "findings": [asdict(f) for f in report.findings],
                "by_kind": report.by_kind(),
                "sessions": report.sessions,
                "raw_objects": report.raw_objects,
                "asset_objects": report.asset_objects,
                "rows_checked": report.rows_checked,
                "sampled_objects": report.sampled_objects,
                "superseded_objects": report.superseded_objects,
                "superseded_bytes": report.superseded_bytes,
                "requests": report.requests,
                "seconds": round(report.seconds, 3),
            }
        )
    else:
        if report.findings:
            rows = [
                {
                    "kind": f.kind,
                    "repaired": "yes" if f.repaired else "",
                    "uri": f.uri,
                    "detail": f.detail,
                }
                for f in report.findings
            ]
            print_table(rows, ("kind", "repaired", "uri", "detail"))
        kept = (
            f" ({report.superseded_objects:,} of older asset versions, "
            f"{human_bytes(report.superseded_bytes)}, kept beside the current ones)"
            if report.superseded_objects
            else ""
        )
        say(
            f"{report.sessions} sessions, {report.raw_objects:,} raw and "
            f"{report.asset_objects:,} asset objects{kept}, {report.sampled_objects:,} "
            f"re-hashed, {report.requests:,} requests in {human_duration(report.seconds)}: "
            + ("clean" if report.clean else f"{len(report.findings)} findings")
        )
        fixes = _process_commands(open_findings, ursa.store("assets_ro").base_uri)
        if fixes:
            say("next: " + " · ".join(fixes) + " (makes a damaged processed asset again)")
    if open_findings:
        raise typer.Exit(ExitCode.FAILURE)


def _process_commands(findings: list[Finding], assets: str) -> list[str]:
    """The `ursa process` line that repairs each recording with a damaged processed asset.

    An object gone or resized is found by `process` itself; an asset that does
    not open, or whose bytes rotted at their size, needs ``--again``, and only
    for its own modalities (``-m``): the recording's other assets are sound.
    """
    found: dict[str, set[str]] = {}
    again: dict[str, set[str]] = {}
    for f in findings:
        # An object of a processed asset: in the assets bucket (``assets``), under
        # processed/<hash>/<modality>/.
        parts = f.uri.removeprefix(assets).removeprefix(PROCESSED_ROOT).split("/")
        in_asset = f.uri.startswith(assets + PROCESSED_ROOT) and len(parts) > 2
        if not f.recording_hash or not in_asset:
            continue
        modality = parts[1]
        if f.kind in ("missing_object", "wrong_size"):
            found.setdefault(f.recording_hash[:12], set()).add(modality)
        elif f.kind in ("unreadable_asset", "bit_rot"):
            again.setdefault(f.recording_hash[:12], set()).add(modality)
    commands = []
    for h in sorted(found.keys() | again.keys()):
        if h not in again:
            commands.append(f"ursa process {h}")
            continue
        # --again remakes the modalities it names; those merely damaged come too.
        names = sorted(again[h] | found.get(h, set()))
        commands.append(f"ursa process {h} --again " + " ".join(f"-m {m}" for m in names))
    return commands


def delete(
    recording: Annotated[
        str | None,
        typer.Option(
            "--recording",
            help="recording_hash (or its first 8+ characters, as `ursa query` shows) or rec_id.",
        ),
    ] = None,
    participant: Annotated[
        str | None,
        typer.Option("--participant", help="Delete every recording of this participant."),
    ] = None,
    reason: Annotated[
        str, typer.Option(help="Why (kept in the audit row), e.g. 'consent withdrawn'.")
    ] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: really delete.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show exactly what would go; change nothing.")
    ] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Delete a recording, or a participant's recordings, with an audit row that stays.

    Needs the read-write keys, a --reason, and --yes (or --dry-run). Readers stop
    seeing the recording first; a delete that was interrupted completes when run again.
    """
    from .._interface import DataInterface

    if (recording is None) == (participant is None):
        raise CliError("give exactly one of --recording or --participant", ExitCode.USAGE)
    if not reason.strip():
        raise CliError("--reason is required (it is kept in the audit row)", ExitCode.USAGE)
    if not (yes or dry_run):
        raise CliError(
            "delete removes objects and rows for good: add --yes to confirm, "
            "or --dry-run to see what would go",
            ExitCode.USAGE,
        )
    loaded = open_profile(profile, root, roles=("raw_rw", "assets_rw"), needs_catalog=True)
    ursa = DataInterface(loaded).enable_writes()
    result = ursa.delete(
        recording=recording, participant=participant, reason=reason, dry_run=dry_run
    )
    if as_json:
        emit_json(
            {
                "dry_run": result.dry_run,
                "objects": result.objects,
                "bytes": result.bytes,
                "deletions": [asdict(d) for d in result.deletions],
            }
        )
        return
    rows = [
        {
            "rec_id": d.rec_id,
            "recording_hash": d.recording_hash[:12],
            "objects": f"{d.objects:,}",
            "bytes": human_bytes(d.bytes),
            "rows": f"{d.rows:,}",
            "audit": d.deletion_id or "(dry run)",
        }
        for d in result.deletions
    ]
    print_table(
        rows,
        ("rec_id", "recording_hash", "objects", "bytes", "rows", "audit"),
        right=("objects", "rows"),
    )
    verb = "would delete" if result.dry_run else "deleted"
    say(
        f"{verb} {len(result.deletions)} recordings: {result.objects:,} objects, "
        f"{human_bytes(result.bytes)}"
        + ("\n" + "\n".join(f"  {p}" for d in result.deletions for p in d.prefixes))
    )


def verify(
    dest: Annotated[
        Path,
        typer.Argument(help="A folder that ursa download wrote.", exists=True, file_okay=False),
    ],
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """Re-hash a downloaded folder against the catalog and name every file that differs.

    Exits 1 when a file is missing, differs, or is not accounted for; 0 when all match.
    """
    from .._interface import DataInterface

    # The raw bucket is opened only if the folder needs it (raw segments, rec_id names).
    loaded = open_profile(profile, root, roles=("assets_ro",), needs_catalog=True)
    report = DataInterface(loaded).verify(dest)
    if as_json:
        emit_json(
            {
                "dest": str(report.dest),
                "ok": report.ok,
                "recordings": report.recordings,
                "files_checked": report.files_checked,
                "bytes_hashed": report.bytes_hashed,
                "problems": [
                    {"path": str(p.path), "problem": p.problem, "detail": p.detail}
                    for p in report.problems
                ],
            }
        )
    else:
        if report.problems:
            rows = [
                {"problem": p.problem, "path": str(p.path), "detail": p.detail}
                for p in report.problems
            ]
            print_table(rows, ("problem", "path", "detail"))
        say(
            f"{counted(report.files_checked, 'file')} of "
            f"{counted(report.recordings, 'recording')} checked "
            f"({human_bytes(report.bytes_hashed)} re-hashed): "
            + ("all match" if report.ok else f"{len(report.problems)} differ")
        )
    if not report.ok:
        raise typer.Exit(ExitCode.FAILURE)
