"""The ad hoc ``download`` job: what a catalog query matches, to a directory.

Launch it from the Dagster UI launchpad; docs/operations.md has an example
config.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import time
from dataclasses import dataclass
from typing import cast

import dagster as dg

from ursa_lib import DownloadProgress, QuerySpec
from ursa_lib.delivery import Existing, Layout, SourceKind

from ..._boundary import ursa_errors
from ..._policy import TRANSIENT_RETRY, kind
from ...resources import UrsaResource

__all__ = ["DownloadConfig", "download", "download_op"]


class DownloadConfig(dg.Config):
    dest: str
    """Destination directory."""
    participants: list[str] | None = None
    modalities: list[str] | None = None
    recording_hash: list[str] | None = None
    metadata: dict[str, str] | None = None
    status: str = "ingested"
    """ingested (processed rows), raw, or all."""
    limit: int | None = None
    layout: str = "by_recording"
    """by_recording, by_modality or flat."""
    source: str = "auto"
    """auto, raw or processed."""
    existing: str = "skip"
    """What to do with files already there: error, skip (if identical) or overwrite."""


@dataclass
class _Tally:
    """Download progress events summed for the run's metadata, and logged."""

    log: dg.DagsterLogManager
    skipped: int = 0
    skipped_bytes: int = 0
    bytes: int = 0

    def __call__(self, event: DownloadProgress) -> None:
        if event.phase == "file_done" and event.skipped:
            self.skipped += 1
            self.skipped_bytes += event.bytes_done - self.bytes
        self.bytes = event.bytes_done
        if event.phase in ("modality_done", "finish"):
            self.log.info(
                f"{event.phase} {event.modality or ''}: {event.files_done}/"
                f"{event.files_total} files, {event.bytes_done:,} bytes"
            )


@dg.op(
    retry_policy=TRANSIENT_RETRY,
    tags=kind("download"),
    description="Download what a catalog query matches, verified and atomic.",
)
def download_op(
    context: dg.OpExecutionContext, config: DownloadConfig, ursa: UrsaResource
) -> dg.Output[int]:
    lib = ursa.interface()
    tally = _Tally(context.log)
    with ursa_errors():
        spec = QuerySpec.model_validate(
            config.model_dump(exclude={"dest", "layout", "source", "existing"}, exclude_none=True)
        )
        results = lib.query(spec)
        started = time.perf_counter()
        paths = lib.download(
            results,
            config.dest,
            # The config's strings are checked by the library (one of its Literals).
            layout=cast("Layout", config.layout),
            source=cast("SourceKind", config.source),
            existing=cast("Existing", config.existing),
            progress=tally,
        )
    seconds = time.perf_counter() - started
    return dg.Output(
        len(paths),
        metadata={
            "recordings": len(results),
            "files_written": len(paths) - tally.skipped,
            "files_skipped": tally.skipped,
            "files_total": len(paths),
            "bytes_written": tally.bytes - tally.skipped_bytes,
            "bytes_skipped": tally.skipped_bytes,
            "bytes_total": tally.bytes,
            "duration_s": round(seconds, 3),
            "throughput_mib_s": round(tally.bytes / max(seconds, 1e-9) / 2**20, 1),
            "dest": dg.MetadataValue.path(config.dest),
        },
    )


@dg.job(
    description="Download query results to a directory (launchpad: see docs/operations.md).",
    tags=kind("download"),
)
def download() -> None:
    download_op()
