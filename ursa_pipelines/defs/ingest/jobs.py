"""The ingest jobs: ``ingest`` (both assets for one recording) and ``backfill``
(register sessions already in the raw bucket; no bytes move).

``backfill`` can be launched from the Dagster UI launchpad; docs/operations.md
has an example config.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import time
from collections.abc import Iterator

import dagster as dg

from ursa_lib import SessionPrefix, ingest_from_store

from ..._boundary import ursa_errors
from ..._policy import TRANSIENT_RETRY, kind
from ...resources import UrsaResource
from .assets import catalog_registration, raw_session, recordings

__all__ = ["BackfillConfig", "backfill", "backfill_op", "ingest_job"]


class BackfillConfig(dg.Config):
    rec_ids: list[str] = []  # noqa: RUF012 - pydantic copies defaults
    """Sessions to register, by rec_id (``recordings/<rec_id>/`` in the raw bucket)."""
    prefixes: list[str] = []  # noqa: RUF012
    """Or explicit prefixes, e.g. ``recordings/rec_x~0123456789ab`` (alternate prefixes)."""
    participant_id: str = ""
    """Participant for every session; default each manifest's own."""


@dg.op(
    retry_policy=TRANSIENT_RETRY,
    tags=kind("backfill"),
    description="Register sessions already in the raw bucket; no bytes move.",
    out=dg.Out(int),
)
def backfill_op(
    context: dg.OpExecutionContext, config: BackfillConfig, ursa: UrsaResource
) -> Iterator[dg.AssetMaterialization | dg.Output[int]]:
    if not config.rec_ids and not config.prefixes:
        raise dg.Failure(
            description="nothing to backfill: give rec_ids or prefixes", allow_retries=False
        )
    lib = ursa.interface().enable_writes()
    with ursa_errors():
        targets = [SessionPrefix(r) for r in config.rec_ids]
        targets += [SessionPrefix.parse(p) for p in config.prefixes]
    partitions = recordings.name or ""
    refused: list[str] = []
    for session in targets:
        started = time.perf_counter()
        # One session refused (still being uploaded, say) does not stop the rest:
        # each is registered or named, and the run fails at the end if any was refused.
        try:
            with ursa_errors():
                result = ingest_from_store(
                    session.rec_id,
                    config.participant_id or None,
                    raw=lib.store("raw_ro"),
                    catalog=lib.catalog(writable=True),
                    prefix=session.key,
                )
        except dg.Failure as failure:
            context.log.error(f"{session.key}: not backfilled: {failure.description}")
            refused.append(f"{session.key}: {failure.description}")
            continue
        if not context.instance.has_dynamic_partition(partitions, session.rec_id):
            context.instance.add_dynamic_partitions(partitions, [session.rec_id])
        # The registration asset now exists for this recording: record it, as it
        # happens (yielded, not logged: a run that fails later keeps it).
        yield (
            dg.AssetMaterialization(
                asset_key=catalog_registration.key,
                partition=session.rec_id,
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
    if refused:
        raise dg.Failure(
            description=f"{len(refused)} of {len(targets)} sessions not backfilled (the others "
            "are registered): " + "; ".join(refused[:10]) + ("; …" if len(refused) > 10 else ""),
            metadata={"refused": dg.MetadataValue.json(refused)},
            allow_retries=False,
        )
    yield dg.Output(len(targets))


@dg.job(
    description="Register sessions already in the raw bucket (no bytes move).",
    tags=kind("backfill"),
)
def backfill() -> None:
    backfill_op()


ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets(raw_session, catalog_registration),
    description="Upload one recording from its landing directory, then register it.",
    tags=kind("ingest"),
)
