"""The ad hoc ``download`` job: what a catalog query matches, to a directory.

Launch it from the Dagster UI launchpad; docs/operations.md has an example
config.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import enum
import time
from dataclasses import dataclass

import dagster as dg

from ursa_lib import DownloadProgress, InvalidValueError, NothingMatchedError, QuerySpec

from ..._boundary import ursa_errors
from ..._policy import TRANSIENT_RETRY, kind
from ...resources import UrsaResource

__all__ = ["DownloadConfig", "download", "download_op"]


class Status(enum.Enum):
    """Which modality rows a query returns."""

    ingested = "ingested"
    raw = "raw"
    all = "all"


class Layout(enum.Enum):
    """How recordings and modalities are laid out under the destination."""

    by_recording = "by_recording"
    by_modality = "by_modality"
    flat = "flat"


class Source(enum.Enum):
    """Which bytes are delivered: processed assets of processed rows (auto), raw, processed."""

    auto = "auto"
    raw = "raw"
    processed = "processed"


class Existing(enum.Enum):
    """What to do with a destination file that is already there."""

    error = "error"
    skip = "skip"
    overwrite = "overwrite"


class Names(enum.Enum):
    """What each recording's folder is called: its hash (unique, stable) or its rec_id."""

    hash = "hash"
    rec_id = "rec_id"


class DownloadConfig(dg.Config):
    dest: str
    """Destination directory."""
    participants: list[str] | None = None
    modalities: list[str] | None = None
    recording_hash: list[str] | None = None
    metadata: dict[str, str] | None = None
    status: Status = Status.ingested
    """ingested (processed rows), raw, or all — checked when the run is launched."""
    limit: int | None = None
    layout: Layout = Layout.by_recording
    names: Names = Names.hash
    """Recording folders named by hash, or by rec_id (<rec_id>~<hash12> for a second
    session under one rec_id)."""
    source: Source = Source.auto
    existing: Existing = Existing.skip
    """error, skip (keep it if identical) or overwrite."""
    window_start_s: float | None = None
    """With window_end_s: clipped processed assets of [start, end) session seconds."""
    window_end_s: float | None = None


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
        filters = config.model_dump(
            exclude={
                "dest",
                "layout",
                "names",
                "source",
                "existing",
                "window_start_s",
                "window_end_s",
            },
            exclude_none=True,
        )
        spec = QuerySpec.model_validate({**filters, "status": config.status.value})
        results = lib.query(spec)
        if not results:
            raise NothingMatchedError(
                f"the query matched no recording ({spec.model_dump(exclude_none=True)}); "
                "widen the filters (e.g. status: all)"
            )
        window = None
        if (config.window_start_s is None) != (config.window_end_s is None):
            raise InvalidValueError("give both window_start_s and window_end_s, or neither")
        if config.window_start_s is not None and config.window_end_s is not None:
            window = (config.window_start_s, config.window_end_s)
        started = time.perf_counter()
        paths = lib.download(
            results,
            config.dest,
            layout=config.layout.value,
            names=config.names.value,
            source=config.source.value,
            existing=config.existing.value,
            progress=tally,
            time_range=window,
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
