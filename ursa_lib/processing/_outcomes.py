"""What processing did: one outcome per modality, and the figures an orchestrator records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ModalityOutcome", "Outcome", "ProcessingResult"]

Outcome = Literal["processed", "unchanged", "failed", "undescribed", "busy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModalityOutcome:
    """What processing did to one modality, with the figures Dagster records."""

    modality: str
    outcome: Outcome
    reason: str | None = None
    kind: str | None = None
    converter: str | None = None
    converter_version: str | None = None
    storage_uri: str | None = None
    input_bytes: int = 0
    output_bytes: int = 0
    output_objects: int = 0
    count: int = 0
    unit: str | None = None
    channels: int = 0
    seconds_covered: float = 0.0
    seconds: float = 0.0

    @property
    def compression_ratio(self) -> float | None:
        return self.input_bytes / self.output_bytes if self.output_bytes else None

    @property
    def throughput_mb_s(self) -> float | None:
        return self.input_bytes / 1e6 / self.seconds if self.seconds > 0 else None


@dataclass(frozen=True, slots=True)
class ProcessingResult:
    """Every modality of one recording that was looked at, in name order."""

    recording_hash: str
    outcomes: tuple[ModalityOutcome, ...] = field(default_factory=tuple)

    def by_outcome(self, *outcomes: Outcome) -> tuple[ModalityOutcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome in outcomes)
