"""Processed assets: one per stream kind, per recording, downstream of its registration.

``processed_timeseries``, ``processed_audio``, ``processed_video``,
``processed_events`` and ``processed_table`` each run the library's
publication (`ursa_lib.processing.process_recording`) for the modalities of
their kind, and record what it did. Their ``code_version`` is the version of
the converters of that kind, so the UI marks partitions stale after an
upgrade. They carry an eager automation condition: a newly registered
recording is processed as soon as its registration materializes (the
``processing_automation`` sensor evaluates it; no cursor of our own to keep).
The ``ursa_processing`` pool bounds how many processing steps run at once.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

from typing import Any

import dagster as dg

from ursa_lib.lifecycle import ProcessedReport
from ursa_lib.processing import ModalityOutcome, StreamKind, default_registry

from ..._boundary import retry_later, ursa_errors
from ..._policy import OWNERS, PROCESSING_POOL, TRANSIENT_RETRY, kind
from ...resources import UrsaResource
from ..ingest.assets import catalog_registration, recordings

__all__ = ["PROCESSED_ASSETS", "processing_job"]

_ASSET_KINDS = {
    StreamKind.TIMESERIES: {"zarr"},
    StreamKind.AUDIO: {"zarr"},
    StreamKind.VIDEO: {"mp4", "lance"},
    StreamKind.EVENTS: {"lance"},
    StreamKind.TABLE: {"parquet"},
}


def code_version(kind: StreamKind) -> str:
    """The versions of the converters of ``kind``: a new version makes partitions stale."""
    converters = [c for c in default_registry().converters() if c.kind == kind]
    return ";".join(sorted(f"{c.name}-{c.version}" for c in converters)) or "none"


def _metadata(outcomes: list[ModalityOutcome], rec_id: str) -> dict[str, Any]:
    done = [o for o in outcomes if o.outcome == "processed"]
    input_bytes = sum(o.input_bytes for o in done)
    output_bytes = sum(o.output_bytes for o in done)
    seconds = sum(o.seconds for o in done)
    return {
        "rec_id": rec_id,
        "modalities": dg.MetadataValue.json(
            {o.modality: o.outcome + (f": {o.reason}" if o.reason else "") for o in outcomes}
        ),
        "input_bytes": input_bytes,
        "output_bytes": output_bytes,
        "compression_ratio": round(input_bytes / output_bytes, 3) if output_bytes else 0.0,
        "count": sum(o.count for o in done),
        "unit": ",".join(sorted({o.unit for o in done if o.unit})) or "",
        "channels": sum(o.channels for o in done),
        "seconds_covered": round(sum(o.seconds_covered for o in done), 3),
        "throughput_mb_s": round(input_bytes / 1e6 / seconds, 1) if seconds else 0.0,
        "converter": ",".join(
            sorted({f"{o.converter}-{o.converter_version}" for o in outcomes if o.converter})
        ),
        "storage_uri": dg.MetadataValue.json(
            {o.modality: o.storage_uri for o in outcomes if o.storage_uri}
        ),
    }


def _checks(kind: StreamKind, reports: list[ProcessedReport]) -> list[dg.AssetCheckResult]:
    name = f"processed_{kind.value}"
    opens = [r for r in reports if r.problem is not None]
    domain = [r for r in reports if not r.domain_ok]
    return [
        dg.AssetCheckResult(
            asset_key=name,
            check_name="asset_opens_with_raw_count",
            passed=not opens,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "checked": len(reports),
                "count_expected": sum(r.count_expected for r in reports),
                "count_found": sum(r.count_found for r in reports),
            },
            description="; ".join(f"{r.modality}: {r.problem}" for r in opens) or None,
        ),
        dg.AssetCheckResult(
            asset_key=name,
            check_name="domain_covers_segments",
            passed=not domain,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"checked": len(reports)},
            description="; ".join(f"{r.modality}: {r.domain_problem}" for r in domain) or None,
        ),
    ]


def processed_asset(kind: StreamKind) -> dg.AssetsDefinition:
    name = f"processed_{kind.value}"

    @dg.asset(
        name=name,
        partitions_def=recordings,
        deps=[catalog_registration],
        group_name="processing",
        owners=OWNERS,
        kinds={"python", *_ASSET_KINDS[kind]},
        tags={"ursa/stage": "processed"},
        retry_policy=TRANSIENT_RETRY,
        code_version=code_version(kind),
        pool=PROCESSING_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=[
            dg.AssetCheckSpec(
                "asset_opens_with_raw_count",
                asset=name,
                description="Each processed asset opens, and holds as many samples / frames / "
                "events as the raw segments did.",
            ),
            dg.AssetCheckSpec(
                "domain_covers_segments",
                asset=name,
                description="The processed time domain covers the raw segments' times.",
            ),
        ],
        description=f"The {kind.value} streams of a recording, processed into the assets bucket.",
    )
    def _asset(context: dg.AssetExecutionContext, ursa: UrsaResource) -> dg.MaterializeResult:  # type: ignore[type-arg]
        rec_id = context.partition_key
        lib = ursa.interface().enable_writes()
        with ursa_errors():
            results = lib.process(rec_id=rec_id, kinds=[kind.value])
            outcomes = [o for r in results for o in r.outcomes]
            if any(o.outcome == "busy" for o in outcomes):
                reason = f"{rec_id}: another live process holds a processing lease"
                retry_later(context.log, reason, wait_s=60, max_tries=30)
            reports = [
                lib.check_processed(r.recording_hash, o.modality)
                for r in results
                for o in r.outcomes
                if o.outcome in ("processed", "unchanged")
            ]
        failed = [o for o in outcomes if o.outcome == "failed"]
        if failed:
            # The library recorded each failure in its row; the step fails, unretried.
            raise dg.Failure(
                description="; ".join(f"{o.modality}: {o.reason}" for o in failed),
                metadata=_metadata(outcomes, rec_id),
                allow_retries=False,
            )
        return dg.MaterializeResult(
            metadata=_metadata(outcomes, rec_id), check_results=_checks(kind, reports)
        )

    return _asset


PROCESSED_ASSETS = [processed_asset(k) for k in StreamKind]

processing_job = dg.define_asset_job(
    "process",
    selection=dg.AssetSelection.assets(*PROCESSED_ASSETS),
    tags=kind("process"),
    description="Process one recording's raw segments into every kind of processed asset.",
)
