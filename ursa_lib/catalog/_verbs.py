"""Typed verbs per table (``add_recording``, ``get_modality``, ``list_events``, ...).

Written out rather than generated so that a notebook tab-completes them with
their signatures; each is one call of the generic verb of `RowVerbs`.
"""

from __future__ import annotations

from ._models import (
    BenchmarkResult,
    BenchmarkSuite,
    Checkpoint,
    Embedding,
    Event,
    Modality,
    Participant,
    PipelineAsset,
    Recording,
)
from ._rows import RowVerbs
from ._sql import Where, sql_array_has

__all__ = ["TypedVerbs"]


class TypedVerbs(RowVerbs):
    """One typed ``add_*``/``get_*``/``list_*``/``register_*`` per table."""

    def add_participant(self, row: Participant) -> Participant:
        return self.add(row)

    def add_recording(self, row: Recording) -> Recording:
        return self.add(row)

    def add_modality(self, row: Modality) -> Modality:
        return self.add(row)

    def add_event(self, row: Event) -> Event:
        return self.add(row)

    def add_embedding(self, row: Embedding) -> Embedding:
        return self.add(row)

    def add_pipeline_asset(self, row: PipelineAsset) -> PipelineAsset:
        return self.add(row)

    def add_checkpoint(self, row: Checkpoint) -> Checkpoint:
        return self.add(row)

    def add_benchmark_suite(self, row: BenchmarkSuite) -> BenchmarkSuite:
        return self.add(row)

    def add_benchmark_result(self, row: BenchmarkResult) -> BenchmarkResult:
        return self.add(row)

    def get_participant(self, participant_id: str) -> Participant | None:
        return self.get(Participant, (participant_id,))

    def get_recording(self, recording_hash: str) -> Recording | None:
        return self.get(Recording, (recording_hash,))

    def get_modality(self, recording_hash: str, modality: str) -> Modality | None:
        return self.get(Modality, (recording_hash, modality))

    def get_event(self, event_id: str) -> Event | None:
        return self.get(Event, (event_id,))

    def get_embedding(self, embedding_id: str) -> Embedding | None:
        return self.get(Embedding, (embedding_id,))

    def get_pipeline_asset(self, asset_id: str) -> PipelineAsset | None:
        return self.get(PipelineAsset, (asset_id,))

    def get_checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return self.get(Checkpoint, (checkpoint_id,))

    def get_benchmark_suite(self, suite_name: str, suite_version: str) -> BenchmarkSuite | None:
        return self.get(BenchmarkSuite, (suite_name, suite_version))

    def get_benchmark_result(self, result_id: str) -> BenchmarkResult | None:
        return self.get(BenchmarkResult, (result_id,))

    def list_participants(self, where: Where = None, limit: int | None = None) -> list[Participant]:
        return self.rows(Participant, where, limit)

    def list_recordings(self, where: Where = None, limit: int | None = None) -> list[Recording]:
        return self.rows(Recording, where, limit)

    def list_modalities(self, where: Where = None, limit: int | None = None) -> list[Modality]:
        return self.rows(Modality, where, limit)

    def list_events(self, where: Where = None, limit: int | None = None) -> list[Event]:
        return self.rows(Event, where, limit)

    def list_embeddings(self, where: Where = None, limit: int | None = None) -> list[Embedding]:
        return self.rows(Embedding, where, limit)

    def list_pipeline_assets(
        self, where: Where = None, limit: int | None = None
    ) -> list[PipelineAsset]:
        return self.rows(PipelineAsset, where, limit)

    def list_checkpoints(self, where: Where = None, limit: int | None = None) -> list[Checkpoint]:
        return self.rows(Checkpoint, where, limit)

    def list_benchmark_suites(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkSuite]:
        return self.rows(BenchmarkSuite, where, limit)

    def list_benchmark_results(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkResult]:
        return self.rows(BenchmarkResult, where, limit)

    def recordings_of_participant(
        self, participant_id: str, limit: int | None = None
    ) -> list[Recording]:
        """Recordings that include ``participant_id`` (label-list index)."""
        return self.rows(Recording, sql_array_has("participant_ids", participant_id), limit)

    def register_participant(self, row: Participant) -> Participant:
        return self.register(row)

    def register_recording(self, row: Recording) -> Recording:
        return self.register(row)

    def register_modality(self, row: Modality) -> Modality:
        return self.register(row)

    def register_event(self, row: Event) -> Event:
        return self.register(row)
