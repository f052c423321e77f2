"""``scrub``: walk both buckets against the catalog; the run fails on any finding.

The op calls `DataInterface.scrub` and turns its typed report into run
metadata (counts by kind, requests, seconds, the findings themselves). A run
with findings left unrepaired fails with the same metadata, so a red run in the
UI is the alert. ``daily_scrub`` runs it after the daily reconcile's backfills.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from ursa_lib import SessionPrefix

from ..._boundary import ursa_errors
from ..._policy import kind
from ...resources import UrsaResource
from ..ingest.assets import catalog_registration, recordings

__all__ = ["ScrubConfig", "daily_scrub", "scrub", "scrub_op"]

MAX_LISTED = 200
"""Findings listed in the metadata (all are counted)."""


class ScrubConfig(dg.Config):
    sample: float = Field(default=0.0, ge=0.0, le=1.0)
    """Fraction of stored objects, raw and processed, re-read and re-hashed (0 to 1)."""
    repair: bool = False
    """Do the safe repairs: backfill complete sessions, hand stuck rows to processing."""


@dg.op(
    description="Walk both buckets against the catalog; fails on findings. Never deletes.",
    tags=kind("scrub"),
    out=dg.Out(int),
)
def scrub_op(
    context: dg.OpExecutionContext, config: ScrubConfig, ursa: UrsaResource
) -> Iterator[dg.AssetMaterialization | dg.Output[int]]:
    lib = ursa.interface()
    if config.repair:
        lib.enable_writes()
    with ursa_errors():
        report = lib.scrub(sample=config.sample, repair=config.repair)
    # A session repair backfilled is registered: recorded as the backfill job records
    # it, so that its processing starts.
    raw_base = lib.store("raw_ro").base_uri
    partitions = recordings.name or ""
    for found in report.findings:
        if found.kind != "uncatalogued_session" or not found.repaired:
            continue
        rec_id = SessionPrefix.parse(found.uri.removeprefix(raw_base)).rec_id
        if not context.instance.has_dynamic_partition(partitions, rec_id):
            context.instance.add_dynamic_partitions(partitions, [rec_id])
        yield dg.AssetMaterialization(
            asset_key=catalog_registration.key,
            partition=rec_id,
            description="registered by scrub --repair",
            metadata={"recording_hash": found.recording_hash or "", "source": "scrub"},
        )
    open_findings = [f for f in report.findings if not f.repaired]
    metadata: dict[str, dg.RawMetadataValue] = {
        "clean": report.clean,
        "findings": len(report.findings),
        "unrepaired": len(open_findings),
        "by_kind": dg.MetadataValue.json(report.by_kind()),
        "sessions": report.sessions,
        "raw_objects": report.raw_objects,
        "asset_objects": report.asset_objects,
        "sampled_objects": report.sampled_objects,
        "superseded_objects": report.superseded_objects,
        "superseded_bytes": report.superseded_bytes,
        "requests": report.requests,
        "seconds": round(report.seconds, 3),
        "listed": dg.MetadataValue.json(
            [
                {"kind": f.kind, "uri": f.uri, "detail": f.detail, "repaired": f.repaired}
                for f in report.findings[:MAX_LISTED]
            ]
        ),
    }
    if open_findings:
        raise dg.Failure(
            description=f"scrub found {len(open_findings)} problems: {report.by_kind()}",
            metadata=metadata,
            allow_retries=False,
        )
    yield dg.Output(len(report.findings), metadata=metadata)


@dg.job(
    description="Scrub the archive: buckets against the catalog; never deletes.", tags=kind("scrub")
)
def scrub() -> None:
    scrub_op()


@dg.schedule(
    job=scrub,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily, after the reconcile's backfills (03:00): scrub, sampling 1 % for bit rot.",
)
def daily_scrub(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"scrub:{context.scheduled_execution_time}",
        run_config={"ops": {"scrub_op": {"config": {"sample": 0.01}}}},
        tags=kind("scrub"),
    )
