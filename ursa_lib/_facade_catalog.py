"""`DataInterface`'s catalog verbs, written out: ``get_*`` and ``list_*`` read through
the read-only handle, ``register_*`` write through the read-write one once
writes are enabled.

Explicit methods (not attribute forwarding) so that ``dir()``, tab completion,
``hasattr`` and type checkers see them; the write guard runs when a
``register_*`` is called, not when it is looked up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import (
        BenchmarkResult,
        BenchmarkSuite,
        Catalog,
        Checkpoint,
        Embedding,
        Event,
        Modality,
        Participant,
        PipelineAsset,
        Recording,
        Where,
    )

__all__ = ["CatalogVerbs"]


class CatalogVerbs:
    """Mixed into `DataInterface`."""

    if TYPE_CHECKING:  # provided by DataInterface

        def catalog(self, *, writable: bool = False) -> Catalog: ...

        def _require_writes(self, verb: str) -> None: ...

    def get_benchmark_result(self, result_id: str) -> BenchmarkResult | None:
        """The benchmark result row with this key, or None (read-only handle)."""
        return self.catalog().get_benchmark_result(result_id)

    def get_benchmark_suite(self, suite_name: str, suite_version: str) -> BenchmarkSuite | None:
        """The benchmark suite row with this key, or None (read-only handle)."""
        return self.catalog().get_benchmark_suite(suite_name, suite_version)

    def get_checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        """The checkpoint row with this key, or None (read-only handle)."""
        return self.catalog().get_checkpoint(checkpoint_id)

    def get_embedding(self, embedding_id: str) -> Embedding | None:
        """The embedding row with this key, or None (read-only handle)."""
        return self.catalog().get_embedding(embedding_id)

    def get_event(self, event_id: str) -> Event | None:
        """The event row with this key, or None (read-only handle)."""
        return self.catalog().get_event(event_id)

    def get_modality(self, recording_hash: str, modality: str) -> Modality | None:
        """The modality row with this key, or None (read-only handle)."""
        return self.catalog().get_modality(recording_hash, modality)

    def get_participant(self, participant_id: str) -> Participant | None:
        """The participant row with this key, or None (read-only handle)."""
        return self.catalog().get_participant(participant_id)

    def get_pipeline_asset(self, asset_id: str) -> PipelineAsset | None:
        """The pipeline asset row with this key, or None (read-only handle)."""
        return self.catalog().get_pipeline_asset(asset_id)

    def get_recording(self, recording_hash: str) -> Recording | None:
        """The recording row with this key, or None (read-only handle)."""
        return self.catalog().get_recording(recording_hash)

    def list_benchmark_results(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkResult]:
        """The benchmark results rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_benchmark_results(where, limit)

    def list_benchmark_suites(
        self, where: Where = None, limit: int | None = None
    ) -> list[BenchmarkSuite]:
        """The benchmark suites rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_benchmark_suites(where, limit)

    def list_checkpoints(self, where: Where = None, limit: int | None = None) -> list[Checkpoint]:
        """The checkpoints rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_checkpoints(where, limit)

    def list_embeddings(self, where: Where = None, limit: int | None = None) -> list[Embedding]:
        """The embeddings rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_embeddings(where, limit)

    def list_events(self, where: Where = None, limit: int | None = None) -> list[Event]:
        """The events rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_events(where, limit)

    def list_modalities(self, where: Where = None, limit: int | None = None) -> list[Modality]:
        """The modalities rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_modalities(where, limit)

    def list_participants(self, where: Where = None, limit: int | None = None) -> list[Participant]:
        """The participants rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_participants(where, limit)

    def list_pipeline_assets(
        self, where: Where = None, limit: int | None = None
    ) -> list[PipelineAsset]:
        """The pipeline assets rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_pipeline_assets(where, limit)

    def list_recordings(self, where: Where = None, limit: int | None = None) -> list[Recording]:
        """The recordings rows matching ``where`` (in LanceDB), at most ``limit``."""
        return self.catalog().list_recordings(where, limit)

    def register_event(self, row: Event) -> Event:
        """Idempotent insert (see `Catalog.register`)."""
        self._require_writes("register_event")
        return self.catalog(writable=True).register_event(row)

    def register_modality(self, row: Modality) -> Modality:
        """Idempotent insert (see `Catalog.register`)."""
        self._require_writes("register_modality")
        return self.catalog(writable=True).register_modality(row)

    def register_participant(self, row: Participant) -> Participant:
        """Idempotent insert (see `Catalog.register`)."""
        self._require_writes("register_participant")
        return self.catalog(writable=True).register_participant(row)

    def register_recording(self, row: Recording) -> Recording:
        """Idempotent insert (see `Catalog.register`)."""
        self._require_writes("register_recording")
        return self.catalog(writable=True).register_recording(row)
