"""Per-recording assets: the raw upload, then its catalog registration.

Both are partitioned by ``rec_id`` (dynamic partitions ``recordings``). The
registration asset depends on the upload and re-checks every object before it
writes a row, so a row never exists before its bytes.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from ursa_lib import (
    ManifestError,
    ObjectStoreTransientError,
    UrsaError,
    ingest,
    ingest_from_store,
    rig_active,
)

from .resources import UrsaResource

recordings = dg.DynamicPartitionsDefinition(name="recordings")

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient store errors (after the library's own retries): 5 s, 10 s, 20 s ± jitter."""

OWNERS = ["team:data-platform"]


def permanent(exc: Exception) -> dg.Failure:
    """A failure Dagster must not retry, carrying the library's message."""
    return dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False)


class UploadConfig(dg.Config):
    session_dir: str = ""
    """Session folder; default ``<landing dir>/<partition key>``."""
    participant_id: str = ""
    """Participant; default the manifest's ``participant_id``."""
    overwrite: bool = False
    """Re-send objects already stored."""
    pause_wait_s: float = 600.0
    """While the rig records, try again after this long."""
    pause_max_tries: int = 144
    """How many times to wait for the rig (144 x 10 min = a day) before giving up."""


@dg.asset(
    partitions_def=recordings,
    group_name="ingest",
    owners=OWNERS,
    kinds={"s3", "python"},
    tags={"ursa/stage": "raw"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "objects_match_manifest",
            asset="raw_session",
            description="Every file of the manifest is stored with its size, and nothing else.",
        )
    ],
    description=(
        "A recording session's segment files in the raw bucket, uploaded from the rig's "
        "landing directory with each file's sha256 verified and kept as object metadata. "
        "Resumable: objects already stored are skipped."
    ),
)
def raw_session(
    context: dg.AssetExecutionContext, config: UploadConfig, ursa: UrsaResource
) -> Iterator[dg.Output[dict[str, Any]] | dg.AssetCheckResult]:
    rec_id = context.partition_key
    session = Path(config.session_dir) if config.session_dir else ursa.find_session(rec_id)
    lib = ursa.interface().enable_writes()
    if rig_active(session):
        _wait_for_rig(context, config)
    try:
        result = ingest(
            session / "manifest.json",
            session,
            config.participant_id or None,
            raw=lib.store("raw_rw"),
            catalog=lib.catalog(),  # not written: register=False
            overwrite=config.overwrite,
            max_concurrent_files=ursa.max_concurrent_files,
            is_active=lambda: rig_active(session),
            register=False,
        )
    except ObjectStoreTransientError:
        raise  # Dagster's retry policy takes it from here
    except (UrsaError, ValueError, OSError) as exc:
        raise permanent(exc) from exc
    if result.paused:
        _wait_for_rig(context, config)
    manifest = result.manifest
    assert manifest is not None
    raw = lib.store("raw_ro")
    stored = {i.key: i.size for i in raw.list(result.prefix)}
    missing = [
        f.rel_path
        for f in manifest.files or ()
        if stored.get(f"{result.prefix}/{f.rel_path}") != f.size
    ]
    extra = len(stored) - 1 - (len(manifest.files or ()) - len(missing))
    total_files = len(manifest.files or ())
    seconds = max(result.seconds, 1e-9)
    participant = config.participant_id or manifest.participant_id or ""
    value = {
        "rec_id": rec_id,
        "prefix": result.prefix,
        "recording_hash": result.recording_hash,
        "participant_id": participant,
    }
    yield dg.Output(
        value,
        metadata={
            "recording_hash": result.recording_hash,
            "raw_uri": dg.MetadataValue.url(f"{raw.base_uri}{result.prefix}/"),
            "bytes_uploaded": result.bytes_uploaded,
            "bytes_skipped": result.bytes_skipped,
            "bytes_total": manifest.total_bytes,
            "files_uploaded": result.files_uploaded,
            "files_skipped": result.files_skipped,
            "files_total": total_files,
            "duration_s": round(result.seconds, 3),
            "throughput_mib_s": round(result.bytes_uploaded / seconds / 2**20, 1),
        },
    )
    yield _check(
        "objects_match_manifest",
        passed=not missing and extra == 0,
        metadata={"files_expected": total_files, "missing": len(missing), "unexpected": extra},
        description=(", ".join(missing[:20]) if missing else None),
    )


def _check(
    name: str, *, passed: bool, metadata: dict[str, Any], description: str | None = None
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=passed,
        metadata=metadata,
        description=description,
        severity=dg.AssetCheckSeverity.ERROR,
    )


def _wait_for_rig(context: dg.AssetExecutionContext, config: UploadConfig) -> None:
    """The rig is recording: come back later. Shown as a retry, never a failure."""
    context.log.info(
        f"rig is recording ({context.partition_key}); trying again in {config.pause_wait_s:.0f} s"
    )
    raise dg.RetryRequested(max_retries=config.pause_max_tries, seconds_to_wait=config.pause_wait_s)


@dg.asset(
    partitions_def=recordings,
    group_name="ingest",
    owners=OWNERS,
    kinds={"lancedb"},
    tags={"ursa/stage": "catalog"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "catalog_rows_complete",
            asset="catalog_registration",
            description="The recording row and one modality row per worker directory exist.",
        )
    ],
    description=(
        "The recording's rows in the catalog (participant, modalities, then the recording), "
        "written only after every object of the upload is checked to exist with its size."
    ),
)
def catalog_registration(
    context: dg.AssetExecutionContext, raw_session: dict[str, Any], ursa: UrsaResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    lib = ursa.interface().enable_writes()
    started = time.perf_counter()
    try:
        result = ingest_from_store(
            raw_session["rec_id"],
            raw_session["participant_id"] or None,
            raw=lib.store("raw_ro"),
            catalog=lib.catalog(writable=True),
            prefix=raw_session["prefix"],
        )
    except ObjectStoreTransientError:
        raise
    except (UrsaError, ManifestError, ValueError) as exc:
        raise permanent(exc) from exc
    catalog = lib.catalog()
    rows = catalog.list_modalities({"recording_hash": result.recording_hash})
    recording = catalog.get_recording(result.recording_hash)
    complete = recording is not None and len(rows) == len(result.modalities)
    return dg.MaterializeResult(
        metadata={
            "recording_hash": result.recording_hash,
            "rec_id": raw_session["rec_id"],
            "modalities": len(result.modalities),
            "files_total": result.files_skipped,
            "bytes_total": result.bytes_skipped,
            "duration_s": round(time.perf_counter() - started, 3),
            "raw_uris": dg.MetadataValue.json([m.raw_storage_uri for m in result.modalities]),
        },
        check_results=[
            _check(
                "catalog_rows_complete",
                passed=complete,
                metadata={"modality_rows": len(rows), "expected": len(result.modalities)},
            )
        ],
    )
