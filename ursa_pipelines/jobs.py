"""Op jobs: backfill (register sessions already in the raw bucket) and download.

Both can be launched from the Dagster UI launchpad; docs/operations.md has an
example config for each.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import time

import dagster as dg

from ursa_lib import ObjectStoreTransientError, UrsaError, ingest_from_store

from .assets import TRANSIENT_RETRY, catalog_registration, permanent, raw_session, recordings
from .resources import UrsaResource


class BackfillConfig(dg.Config):
    rec_ids: list[str] = []  # noqa: RUF012 - pydantic copies defaults
    """Sessions to register, by rec_id (``recordings/<rec_id>/`` in the raw bucket)."""
    prefixes: list[str] = []  # noqa: RUF012
    """Or explicit prefixes, e.g. ``recordings/rec_x~0123456789ab`` (alternate prefixes)."""
    participant_id: str = ""
    """Participant for every session; default each manifest's own."""


@dg.op(
    retry_policy=TRANSIENT_RETRY,
    tags={"ursa/kind": "backfill"},
    description="Register sessions already in the raw bucket; no bytes move.",
)
def backfill_op(context: dg.OpExecutionContext, config: BackfillConfig, ursa: UrsaResource) -> int:
    lib = ursa.interface().enable_writes()
    targets = [(r, f"recordings/{r}") for r in config.rec_ids] + [
        (p.rstrip("/").rsplit("/", 1)[-1].split("~", 1)[0], p.rstrip("/")) for p in config.prefixes
    ]
    if not targets:
        raise dg.Failure(
            description="nothing to backfill: give rec_ids or prefixes", allow_retries=False
        )
    done = 0
    for rec_id, prefix in targets:
        started = time.perf_counter()
        try:
            result = ingest_from_store(
                rec_id,
                config.participant_id or None,
                raw=lib.store("raw_ro"),
                catalog=lib.catalog(writable=True),
                prefix=prefix,
            )
        except ObjectStoreTransientError:
            raise
        except (UrsaError, ValueError) as exc:
            raise permanent(exc) from exc
        if not context.instance.has_dynamic_partition(recordings.name or "", rec_id):
            context.instance.add_dynamic_partitions(recordings.name or "", [rec_id])
        # The registration asset now exists for this recording: record it.
        context.log_event(
            dg.AssetMaterialization(
                asset_key=catalog_registration.key,
                partition=rec_id,
                description="registered by backfill",
                metadata={
                    "recording_hash": result.recording_hash,
                    "modalities": len(result.modalities),
                    "files_total": result.files_skipped,
                    "bytes_total": result.bytes_skipped,
                    "duration_s": round(time.perf_counter() - started, 3),
                    "source": "backfill",
                },
            )
        )
        done += 1
    return done


@dg.job(
    description="Register sessions already in the raw bucket (no bytes move).",
    tags={"ursa/kind": "backfill"},
)
def backfill() -> None:
    backfill_op()


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


@dg.op(
    retry_policy=TRANSIENT_RETRY,
    tags={"ursa/kind": "download"},
    description="Download what a catalog query matches, verified and atomic.",
)
def download_op(
    context: dg.OpExecutionContext, config: DownloadConfig, ursa: UrsaResource
) -> dg.Output[int]:
    from ursa_lib import DownloadProgress, QuerySpec

    lib = ursa.interface()
    try:
        spec = QuerySpec.model_validate(
            config.model_dump(exclude={"dest", "layout", "source", "existing"}, exclude_none=True)
        )
        results = lib.query(spec)
        tally = {"skipped": 0, "skipped_bytes": 0, "bytes": 0}

        def track(event: DownloadProgress) -> None:
            if event.phase == "file_done" and event.skipped:
                tally["skipped"] += 1
                tally["skipped_bytes"] += event.bytes_done - tally["bytes"]
            tally["bytes"] = event.bytes_done
            if event.phase in ("modality_done", "finish"):
                context.log.info(
                    f"{event.phase} {event.modality or ''}: {event.files_done}/"
                    f"{event.files_total} files, {event.bytes_done:,} bytes"
                )

        started = time.perf_counter()
        paths = lib.download(
            results,
            config.dest,
            layout=config.layout,  # type: ignore[arg-type]
            source=config.source,  # type: ignore[arg-type]
            existing=config.existing,  # type: ignore[arg-type]
            progress=track,
        )
    except ObjectStoreTransientError:
        raise
    except (UrsaError, ValueError, OSError) as exc:
        raise permanent(exc) from exc
    seconds = time.perf_counter() - started
    total = tally["bytes"]
    return dg.Output(
        len(paths),
        metadata={
            "recordings": len(results),
            "files_written": len(paths) - tally["skipped"],
            "files_skipped": tally["skipped"],
            "files_total": len(paths),
            "bytes_written": total - tally["skipped_bytes"],
            "bytes_skipped": tally["skipped_bytes"],
            "bytes_total": total,
            "duration_s": round(seconds, 3),
            "throughput_mib_s": round(total / max(seconds, 1e-9) / 2**20, 1),
            "dest": dg.MetadataValue.path(config.dest),
        },
    )


@dg.job(
    description="Download query results to a directory (launchpad: see docs/operations.md).",
    tags={"ursa/kind": "download"},
)
def download() -> None:
    download_op()


ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets(raw_session, catalog_registration),
    description="Upload one recording from its landing directory, then register it.",
    tags={"ursa/kind": "ingest"},
)
