"""The modality status machine: raw → ingesting → processed | failed.

Two moves besides the table below, each with a verb of its own: a process may
*take over* a row left ``ingesting`` (its lease dead), or *hold* a processed
row while it makes its asset again (a new converter version, a damaged
asset), without leaving ``processed`` — guarded on the row's metadata, so of
two processes taking over the same lease exactly one wins; and a processed
row may be *re-pointed* at a newer asset without leaving ``processed``,
guarded on the asset it pointed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import CatalogError, InvalidTransitionError
from ._models import IngestionStatus, Interval, Modality, StorageFormat
from ._rows import RowVerbs
from ._schema import canonical_json, to_table
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
        return self._write_status(current, target, None, **changes)

    def _write_status(
        self, current: Modality, target: IngestionStatus, guard: str | None, **changes: Any
    ) -> Modality:
        """The compare-and-set commit: the stored row must still have ``current``'s
        status (and match the SQL ``guard`` on ``target.`` columns, when given)."""
        data = current.model_dump()
        data.update(changes, ingestion_status=target)
        data["raw_storage_uri"] = current.raw_storage_uri  # never changed by a transition
        updated = Modality.model_validate(data)
        self.check(updated)
        table = self._writable_table(Modality)
        data = to_table(Modality, [updated], row_json=self._row_json[Modality.__table__])
        condition = f"target.ingestion_status = {sql_literal(current.ingestion_status)}"
        if guard is not None:
            condition = f"{condition} AND {guard}"

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

    def start_ingesting(
        self, recording_hash: str, modality: str, *, metadata: Mapping[str, Any] | None = None
    ) -> Modality:
        """raw (or failed) → ingesting; ``metadata`` replaces the row's (e.g. to hold a lease)."""
        current = self._modality(recording_hash, modality)
        changes = {} if metadata is None else {"metadata": dict(metadata)}
        return self._transition(current, IngestionStatus.INGESTING, **changes)

    def take_over(self, current: Modality, *, metadata: Mapping[str, Any]) -> Modality:
        """ingesting → ingesting (or processed → processed: a hold while its asset is
        made again) under new ``metadata`` (a new lease, or none), only if the stored
        row still carries ``current``'s metadata: of two processes taking over the
        same row, one wins and the other gets `InvalidTransitionError`."""
        self._require_write("taking over a modality")
        status = current.ingestion_status
        if status not in (IngestionStatus.INGESTING, IngestionStatus.PROCESSED):
            raise InvalidTransitionError(
                f"modality {current.modality} of {current.recording_hash} is "
                f"{status.value}; only an ingesting or processed row is taken over"
            )
        guard = f"target.metadata = {sql_literal(canonical_json(current.metadata))}"
        return self._write_status(current, status, guard, metadata=dict(metadata))

    def mark_processed(
        self,
        recording_hash: str,
        modality: str,
        *,
        storage_uri: str,
        format: StorageFormat | str,
        sampling_rate: float | None = None,
        domain_intervals: Sequence[Interval] = (),
        channel_spec: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Modality:
        """ingesting → processed, recording where the processed asset is.

        A processed row is re-pointed at a new asset the same way (a new converter
        version): it stays processed throughout, and the move is guarded on the
        asset it pointed at, so readers see the old asset or the new, never neither.
        """
        current = self._modality(recording_hash, modality)
        changes: dict[str, Any] = {
            "storage_uri": storage_uri,
            "format": StorageFormat(str(format)),
            "sampling_rate": sampling_rate,
            "domain_intervals": list(domain_intervals),
            "channel_spec": dict(channel_spec or {}),
        }
        if metadata is not None:
            changes["metadata"] = dict(metadata)
        if current.ingestion_status is IngestionStatus.PROCESSED:
            self._require_write("re-pointing a processed modality")
            guard = f"target.storage_uri = {sql_literal(current.storage_uri)}"
            return self._write_status(current, IngestionStatus.PROCESSED, guard, **changes)
        return self._transition(current, IngestionStatus.PROCESSED, **changes)

    def mark_failed(self, recording_hash: str, modality: str, *, reason: str) -> Modality:
        """ingesting → failed; ``reason`` is kept in the row's metadata."""
        current = self._modality(recording_hash, modality)
        metadata = {**current.metadata, "failure": reason}
        return self._transition(current, IngestionStatus.FAILED, metadata=metadata)
