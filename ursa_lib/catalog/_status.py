"""The modality status machine: raw → ingesting → processed | failed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import CatalogError, InvalidTransitionError
from ._models import IngestionStatus, Interval, Modality, StorageFormat
from ._rows import RowVerbs
from ._schema import to_table
from ._sql import sql_literal

__all__ = ["ALLOWED_TRANSITIONS", "StatusMachine"]

ALLOWED_TRANSITIONS: dict[IngestionStatus, frozenset[IngestionStatus]] = {
    IngestionStatus.RAW: frozenset({IngestionStatus.INGESTING}),
    IngestionStatus.INGESTING: frozenset({IngestionStatus.PROCESSED, IngestionStatus.FAILED}),
    IngestionStatus.FAILED: frozenset({IngestionStatus.INGESTING}),
    IngestionStatus.PROCESSED: frozenset(),
}
"""The statuses each status may move to."""


class StatusMachine(RowVerbs):
    """Moves a modality between statuses, one compare-and-set commit per move."""

    def _transition(self, current: Modality, target: IngestionStatus, **changes: Any) -> Modality:
        """Write ``current`` with ``changes`` at status ``target`` only if the stored
        row still has ``current``'s status (`InvalidTransitionError` otherwise)."""
        self._require_write("changing a modality's status")
        if target not in ALLOWED_TRANSITIONS[current.ingestion_status]:
            raise InvalidTransitionError(
                f"modality {current.modality} of {current.recording_hash}: cannot go from "
                f"{current.ingestion_status.value} to {target.value}"
            )
        data = current.model_dump()
        data.update(changes, ingestion_status=target)
        data["raw_storage_uri"] = current.raw_storage_uri  # never changed by a transition
        updated = Modality.model_validate(data)
        self.check(updated)
        table = self._writable_table(Modality)
        data = to_table(Modality, [updated], row_json=self._row_json[Modality.__table__])
        condition = f"target.ingestion_status = {sql_literal(current.ingestion_status)}"

        def write() -> int:
            table.checkout_latest()
            result = (
                table.merge_insert(list(Modality.__key__))
                .when_matched_update_all(where=condition)
                .execute(data)
            )
            return int(result.num_updated_rows)

        if self._with_conflict_retries(write, "changing a modality's status") != 1:
            raise InvalidTransitionError(
                f"modality {current.modality} of {current.recording_hash} changed status "
                "while this transition was being made; read it again"
            )
        return updated

    def _modality(self, recording_hash: str, modality: str) -> Modality:
        self._require_write("changing a modality's status")
        row = self.get(Modality, (recording_hash, modality))
        if row is None:
            raise CatalogError(f"no modality {modality!r} for recording {recording_hash}")
        return row

    def start_ingesting(self, recording_hash: str, modality: str) -> Modality:
        """raw (or failed) → ingesting."""
        return self._transition(self._modality(recording_hash, modality), IngestionStatus.INGESTING)

    def mark_processed(
        self,
        recording_hash: str,
        modality: str,
        *,
        storage_uri: str,
        format: StorageFormat,
        sampling_rate: float | None = None,
        domain_intervals: Sequence[Interval] = (),
        channel_spec: Mapping[str, Any] | None = None,
    ) -> Modality:
        """ingesting → processed, recording where the processed asset is."""
        return self._transition(
            self._modality(recording_hash, modality),
            IngestionStatus.PROCESSED,
            storage_uri=storage_uri,
            format=format,
            sampling_rate=sampling_rate,
            domain_intervals=list(domain_intervals),
            channel_spec=dict(channel_spec or {}),
        )

    def mark_failed(self, recording_hash: str, modality: str, *, reason: str) -> Modality:
        """ingesting → failed; ``reason`` is kept in the row's metadata."""
        current = self._modality(recording_hash, modality)
        metadata = {**current.metadata, "failure": reason}
        return self._transition(current, IngestionStatus.FAILED, metadata=metadata)
