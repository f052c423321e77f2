"""The ``materialize_window`` example job: one aligned window of a recording in memory.

A small job for the launchpad (and a template for analysis jobs): it reads
one window of every processed modality of a recording with
``DataInterface.materialize`` and records what came back — shapes, sample and
frame counts, the window's domain — as run metadata.
"""

# No `from __future__ import annotations`: Dagster reads these annotations.

from typing import Any

import dagster as dg

from ..._boundary import ursa_errors
from ..._policy import TRANSIENT_RETRY, kind
from ...resources import UrsaResource

__all__ = ["WindowConfig", "materialize_window", "materialize_window_op"]


class WindowConfig(dg.Config):
    recording: str
    """A recording hash, or a rec_id that names one recording."""
    start_s: float
    """Window start, seconds from the session start."""
    end_s: float
    """Window end (exclusive), seconds from the session start."""
    modalities: list[str] | None = None
    """Only these modalities (default: every processed one)."""


def _shape(value: Any) -> dict[str, Any]:
    signal = getattr(value, "signal", None)
    if signal is not None:
        return {"samples": int(signal.data.shape[0]), "channels": int(signal.data.shape[1])}
    if hasattr(value, "frame_numbers"):
        return {"frames": len(value)}
    if hasattr(value, "timestamps"):
        return {"events": len(value.timestamps)}
    return {}


@dg.op(
    retry_policy=TRANSIENT_RETRY,
    tags=kind("materialize"),
    description="Read one aligned window of a recording's processed data into memory.",
)
def materialize_window_op(
    context: dg.OpExecutionContext, config: WindowConfig, ursa: UrsaResource
) -> dg.Output[int]:
    lib = ursa.interface()
    with ursa_errors():
        result = lib.show(config.recording)
        target = lib.query(recording_hash=result.recording_hash)
        data = lib.materialize(target, (config.start_s, config.end_s), config.modalities)
    names = config.modalities or [m.modality for m in result.modalities]
    shapes = {name: _shape(getattr(data, name)) for name in names if hasattr(data, name)}
    context.log.info(f"{result.rec_id} [{config.start_s}, {config.end_s}) s: {shapes}")
    return dg.Output(
        len(shapes),
        metadata={
            "recording_hash": result.recording_hash,
            "rec_id": result.rec_id,
            "window_s": dg.MetadataValue.json([config.start_s, config.end_s]),
            "shapes": dg.MetadataValue.json(shapes),
            "domain": dg.MetadataValue.json(
                [
                    [float(a), float(b)]
                    for a, b in zip(data.domain.start, data.domain.end, strict=True)
                ]
            ),
        },
    )


@dg.job(
    description="Materialize one window of a recording and record its shape.",
    tags=kind("materialize"),
)
def materialize_window() -> None:
    materialize_window_op()
