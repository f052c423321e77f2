"""``ursa demo``: a synthetic session through the local profile, verified."""

from __future__ import annotations

from typing import Annotated

import typer

from ._options import JsonOption, RootOption
from ._output import emit_json, human_bytes, human_duration, print_table

__all__ = ["demo"]


def demo(
    root: RootOption = None,
    segments: Annotated[int, typer.Option(min=1, help="Segments per stream.")] = 12,
    as_json: JsonOption = False,
) -> None:
    """Move a synthetic session through the local profile and verify every byte."""
    from .._config import LocalProfile, load_profile
    from .._demo import run_demo
    from ._errors import CliError

    profile = load_profile("local", local_root=root)
    if not isinstance(profile, LocalProfile):
        raise CliError("the demo runs on a local profile; [profiles.local] must be kind local")
    summary = run_demo(profile, segments=segments)
    if as_json:
        emit_json(
            {
                "rec_id": summary.rec_id,
                "files": summary.files,
                "bytes": summary.bytes,
                "upload_s": round(summary.upload_s, 3),
                "download_s": round(summary.download_s, 3),
                "raw_uri": summary.raw_uri,
                "download_dir": str(summary.download_dir),
                "verified": True,
            }
        )
        return
    rows = {
        "files": str(summary.files),
        "bytes": f"{human_bytes(summary.bytes)} ({summary.bytes:,})",
        "upload": f"{human_duration(summary.upload_s)} "
        f"({human_bytes(int(summary.bytes / max(summary.upload_s, 1e-9)))}/s)",
        "download": f"{human_duration(summary.download_s)} "
        f"({human_bytes(int(summary.bytes / max(summary.download_s, 1e-9)))}/s)",
        "raw objects": summary.raw_uri,
        "downloaded to": str(summary.download_dir),
        "verified": "every file's sha256 matches",
    }
    print_table(
        ({"what": k, "value": v} for k, v in rows.items()),
        ("what", "value"),
        title=f"ursa demo — {summary.rec_id}",
        header=False,
    )
