"""``rig_clean``: delete sessions from the rig once the archive provably holds them.

The op calls `DataInterface.clean_rig` for each session folder (it checks the
raw bucket holds every file with its size and sha256 and that the recording row
exists, and refuses naming what is missing). ``rig_clean_after_ingest`` is the
optional step after ingest: it requests a ``rig_clean`` run for the session of
each successful ``ingest`` run. It is **off by default** — a deployment turns
it on in the UI once it trusts its rigs' landing folders to be deletable.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import dagster as dg

from ..._boundary import ursa_errors
from ..._policy import kind
from ...resources import UrsaResource
from ..ingest.jobs import ingest_job

__all__ = ["RigCleanConfig", "rig_clean", "rig_clean_after_ingest", "rig_clean_op"]


class RigCleanConfig(dg.Config):
    sessions: list[str]
    """Session folders (or rec_ids found in the landing directories) to delete from the rig."""
    dry_run: bool = False
    """Check everything, delete nothing."""


@dg.op(
    description="Delete rig sessions that the raw bucket and catalog provably hold.",
    tags=kind("rig_clean"),
)
def rig_clean_op(context: dg.OpExecutionContext, config: RigCleanConfig, ursa: UrsaResource) -> int:
    lib = ursa.interface()
    cleaned: list[dict[str, object]] = []
    with ursa_errors():
        for name in config.sessions:
            folder = ursa.find_session(name) if "/" not in name else name
            result = lib.clean_rig(folder, dry_run=config.dry_run)
            cleaned.append(
                {"session": str(result.session_dir), "files": result.files, "bytes": result.bytes}
            )
            context.log.info(
                f"{result.session_dir}: {result.files} files "
                f"{'would be' if config.dry_run else ''} deleted from the rig"
            )
    context.add_output_metadata(
        {
            "sessions": len(cleaned),
            "dry_run": config.dry_run,
            "bytes": sum(int(str(c["bytes"])) for c in cleaned),
            "cleaned": dg.MetadataValue.json(cleaned),
        }
    )
    return len(cleaned)


@dg.job(
    description="Delete verified sessions from the rig's landing folder.", tags=kind("rig_clean")
)
def rig_clean() -> None:
    rig_clean_op()


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=rig_clean,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a successful ingest, clean its session from the rig (off by default).",
)
def rig_clean_after_ingest(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
    rec_id = context.dagster_run.tags.get("dagster/partition")
    if not rec_id:
        return None
    return dg.RunRequest(
        run_key=f"rig_clean:{context.dagster_run.run_id}",
        run_config={"ops": {"rig_clean_op": {"config": {"sessions": [rec_id]}}}},
        tags=kind("rig_clean"),
    )
