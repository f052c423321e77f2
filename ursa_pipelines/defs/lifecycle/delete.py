"""``delete``: the audited delete as a job — off unless the deployment enables it.

Dagster's open-source webserver has no login: anyone who reaches it can launch
a job. So this job refuses unless the deployment sets
``URSA_ENABLE_DELETE_JOB=1`` in the environment of the code location, and its
config must repeat the id being deleted in ``confirm``. Put the webserver
behind an authenticating proxy (docs/operations.md); people who only look get
``dagster-webserver --read-only``.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

import os

import dagster as dg
from pydantic import Field, model_validator

from ..._boundary import ursa_errors
from ..._policy import kind
from ...resources import UrsaResource

__all__ = ["ENABLE_VAR", "DeleteConfig", "delete", "delete_op"]

ENABLE_VAR = "URSA_ENABLE_DELETE_JOB"
"""Set to ``1`` in the code location's environment to allow the delete job."""


class DeleteConfig(dg.Config):
    recording: str | None = None
    """recording_hash or rec_id to delete."""
    participant: str | None = None
    """Delete every recording of this participant instead."""
    reason: str = Field(min_length=1)
    """Why (kept in the audit row), e.g. 'consent withdrawn'."""
    confirm: str
    """The same id again (the recording or the participant), as a confirmation."""
    dry_run: bool = False
    """Plan and count only."""

    @model_validator(mode="after")
    def _confirmed(self) -> "DeleteConfig":
        target = self.recording if self.recording is not None else self.participant
        if (self.recording is None) == (self.participant is None):
            raise ValueError("give exactly one of recording or participant")
        if self.confirm != target:
            raise ValueError(f"confirm must repeat the id being deleted ({target!r})")
        return self


@dg.op(
    description="Audited delete of a recording or a participant's recordings.", tags=kind("delete")
)
def delete_op(context: dg.OpExecutionContext, config: DeleteConfig, ursa: UrsaResource) -> int:
    if os.environ.get(ENABLE_VAR) != "1":
        raise dg.Failure(
            description=(
                f"the delete job is off in this deployment; set {ENABLE_VAR}=1 in the code "
                "location's environment to enable it (and keep the webserver behind a login)"
            ),
            allow_retries=False,
        )
    lib = ursa.interface().enable_writes()
    with ursa_errors():
        result = lib.delete(
            recording=config.recording,
            participant=config.participant,
            reason=config.reason,
            dry_run=config.dry_run,
        )
    context.add_output_metadata(
        {
            "dry_run": result.dry_run,
            "recordings": len(result.deletions),
            "objects": result.objects,
            "bytes": result.bytes,
            "audit": dg.MetadataValue.json([d.deletion_id for d in result.deletions]),
        }
    )
    return len(result.deletions)


@dg.job(description="Audited delete (off unless the deployment enables it).", tags=kind("delete"))
def delete() -> None:
    delete_op()
