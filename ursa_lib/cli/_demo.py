"""``ursa demo``: one realistic session through the whole path on the local profile."""

from __future__ import annotations

from typing import Annotated

import typer

from ._options import JsonOption, RootOption
from ._output import emit_json, human_bytes, human_duration, print_table, say

__all__ = ["demo"]


def demo(
    root: RootOption = None,
    segments: Annotated[
        int, typer.Option(min=1, help="10 s segments per stream of the session.")
    ] = 3,
    as_json: JsonOption = False,
) -> None:
    """Land, ingest, process, query, read and download one realistic session."""
    from .._config import LocalProfile, load_profile
    from .._demo import WINDOW_S, run_demo
    from ._errors import CliError

    profile = load_profile("local", local_root=root)
    if not isinstance(profile, LocalProfile):
        raise CliError("the demo runs on a local profile; [profiles.local] must be kind local")
    summary = run_demo(profile, segments=segments)
    if as_json:
        emit_json(
            {
                "rec_id": summary.rec_id,
                "recording_hash": summary.recording_hash,
                "files": summary.files,
                "bytes": summary.bytes,
                "ingest_s": round(summary.ingest_s, 3),
                "process_s": round(summary.process_s, 3),
                "modalities": summary.modalities,
                "window_s": list(WINDOW_S),
                "window": summary.window,
                "download_files": summary.download_files,
                "download_bytes": summary.download_bytes,
                "download_dir": str(summary.download_dir),
                "raw_uri": summary.raw_uri,
                "verified": summary.verified,
            }
        )
        return
    t0, t1 = WINDOW_S
    rows = {
        "ingested": f"{summary.files} files, {human_bytes(summary.bytes)} in "
        f"{human_duration(summary.ingest_s)} ({summary.raw_uri})",
        "processed": ", ".join(f"{n} → {f}" for n, f in summary.modalities.items())
        + f" in {human_duration(summary.process_s)}",
        **{f"read [{t0:g}, {t1:g}) s: {n}": held for n, held in summary.window.items()},
        "downloaded": f"{summary.download_files} files, {human_bytes(summary.download_bytes)} "
        f"to {summary.download_dir}",
        "verified": "every file matches what publication recorded",
    }
    print_table(
        ({"what": k, "value": v} for k, v in rows.items()),
        ("what", "value"),
        title=f"ursa demo — {summary.rec_id} ({summary.recording_hash[:12]})",
        header=False,
    )
    say(
        f"next: ursa query · ursa show {summary.recording_hash[:12]} · "
        f"ursa plot {summary.recording_hash[:12]} --from 2 --to 7 -o window.png"
    )
