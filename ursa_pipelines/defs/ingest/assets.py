"""Per-recording assets: the raw upload, then its catalog registration.

Both are partitioned by ``rec_id`` (dynamic partitions ``recordings``). The
registration asset depends on the upload and re-checks every object before it
writes a row, so a row never exists before its bytes.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import dagster as dg

from ursa_lib import (
    MANIFEST_NAME,
    IngestResult,
    SessionPrefix,
    ingest,
    ingest_from_store,
    rig_active,
    verify_session,
)

from ..._boundary import retry_later, ursa_errors
from ..._policy import OWNERS, TRANSIENT_RETRY
from ...resources import UrsaResource
from .checks import (
    CATALOG_ROWS_COMPLETE,
    OBJECTS_MATCH_MANIFEST,
    catalog_rows_complete,
    objects_match_manifest,
)

__all__ = ["UploadConfig", "catalog_registration", "raw_session", "recordings"]

recordings = dg.DynamicPartitionsDefinition(name="recordings")


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
    check_specs=[OBJECTS_MATCH_MANIFEST],
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

    def wait_for_rig() -> NoReturn:
        retry_later(
            context.log,
            f"rig is recording ({rec_id})",
            wait_s=config.pause_wait_s,
            max_tries=config.pause_max_tries,
        )

    with ursa_errors():
        if rig_active(session):
            wait_for_rig()
        result = ingest(
            session / MANIFEST_NAME,
            session,
            config.participant_id or None,
            raw=lib.store("raw_rw"),
            catalog=lib.catalog(),  # not written: register=False
            overwrite=config.overwrite,
            max_concurrent_files=ursa.max_concurrent_files,
            is_active=lambda: rig_active(session),
            register=False,
        )
        if result.paused:
            wait_for_rig()
        assert result.manifest is not None
        raw = lib.store("raw_ro")
        report = verify_session(raw, SessionPrefix.parse(result.prefix), result.manifest)
    participant = config.participant_id or result.manifest.participant_id or ""
    value = {
        "rec_id": rec_id,
        "prefix": result.prefix,
        "recording_hash": result.recording_hash,
        "participant_id": participant,
    }
    yield dg.Output(value, metadata=_upload_metadata(result, raw.base_uri))
    yield objects_match_manifest(report)


def _upload_metadata(result: IngestResult, base_uri: str) -> dict[str, Any]:
    assert result.manifest is not None
    seconds = max(result.seconds, 1e-9)
    return {
        "recording_hash": result.recording_hash,
        "raw_uri": dg.MetadataValue.url(f"{base_uri}{result.prefix}/"),
        "bytes_uploaded": result.bytes_uploaded,
        "bytes_skipped": result.bytes_skipped,
        "bytes_total": result.manifest.total_bytes,
        "files_uploaded": result.files_uploaded,
        "files_skipped": result.files_skipped,
        "files_total": len(result.manifest.files or ()),
        "duration_s": round(result.seconds, 3),
        "throughput_mib_s": round(result.bytes_uploaded / seconds / 2**20, 1),
    }


@dg.asset(
    partitions_def=recordings,
    group_name="ingest",
    owners=OWNERS,
    kinds={"lancedb"},
    tags={"ursa/stage": "catalog"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[CATALOG_ROWS_COMPLETE],
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
    with ursa_errors():
        result = ingest_from_store(
            raw_session["rec_id"],
            raw_session["participant_id"] or None,
            raw=lib.store("raw_ro"),
            catalog=lib.catalog(writable=True),
            prefix=raw_session["prefix"],
        )
        assert result.manifest is not None
        session = SessionPrefix.parse(result.prefix)
        report = verify_session(
            lib.store("raw_ro"), session, result.manifest, catalog=lib.catalog()
        )
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
        check_results=[catalog_rows_complete(report)],
    )
