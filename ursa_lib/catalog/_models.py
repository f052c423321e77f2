"""Catalog rows: one frozen pydantic model per table, the single source of truth.

Each model names its table and primary key; its Arrow schema is derived from the
fields (see `_schema.py`), so there is nothing to keep in sync by hand.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._errors import InvalidRowError
from .._types import EpochNs, Identifier, Metadata, RecordingHash, StorageUri
from ._formats import StorageFormat

__all__ = [
    "ROW_TYPES",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Checkpoint",
    "Deletion",
    "DeletionStatus",
    "Embedding",
    "EpochNs",
    "Event",
    "Identifier",
    "IngestionStatus",
    "Interval",
    "Metadata",
    "Modality",
    "Participant",
    "PipelineAsset",
    "Recording",
    "RecordingHash",
    "Row",
    "StorageFormat",
    "StorageUri",
]


class IngestionStatus(StrEnum):
    """Where a modality is on its way from the rig to analysis-ready data."""

    RAW = "raw"
    INGESTING = "ingesting"
    PROCESSED = "processed"
    FAILED = "failed"


class Interval(BaseModel):
    """A time span in seconds from the recording's start."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    start: float
    """Start, seconds from the recording's start."""
    end: float
    """End, seconds from the recording's start (not before ``start``)."""

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise InvalidRowError("interval needs finite start <= end")
        return self


class Row(BaseModel):
    """Base of every catalog row: frozen, no unknown fields."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, validate_default=True
    )

    __table__: ClassVar[str]
    __key__: ClassVar[tuple[str, ...]]
    __row_json__: ClassVar[bool] = True
    """Whether the table keeps the whole row as JSON beside the columns (see
    `_schema.py`)."""

    def key(self) -> tuple[Any, ...]:
        """This row's primary key values."""
        return tuple(getattr(self, name) for name in self.__key__)


class Participant(Row):
    """A person who was recorded."""

    __table__ = "participants"
    __key__ = ("participant_id",)

    participant_id: Identifier
    """Stable participant identifier."""
    enrolled_at: EpochNs
    """When the participant was enrolled."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""


class Recording(Row):
    """One recorded session, identified by the hash of its bytes."""

    __table__ = "recordings"
    __key__ = ("recording_hash",)

    recording_hash: RecordingHash
    """Content hash of the session (see manifests)."""
    rec_id: Identifier
    """The rig's name for the session, e.g. ``rec_20261121T101500_rig3``."""
    participant_ids: list[Identifier] = Field(min_length=1)
    """Participants recorded in this session."""
    start_time: EpochNs
    """When recording started."""
    duration: float = Field(ge=0, allow_inf_nan=False)
    """Length in seconds."""
    device_info: Metadata = Field(default_factory=dict)
    """Rig and device description (JSON)."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""


class Modality(Row):
    """One stream of a recording (EEG, camera, ...) and where its bytes are."""

    __table__ = "modalities"
    __key__ = ("recording_hash", "modality")

    recording_hash: RecordingHash
    """Recording this stream belongs to."""
    modality: Identifier
    """Stream name, e.g. ``eeg`` or ``camera``."""
    worker_id: str = Field(max_length=128)
    """Worker that wrote the stream (``0`` for ``eeg_0``)."""
    ingestion_status: IngestionStatus
    """raw → ingesting → processed | failed."""
    raw_storage_uri: StorageUri
    """Prefix of the raw segments in the raw bucket; never changes."""
    storage_uri: StorageUri | None = None
    """The processed asset in the assets bucket (set when processed)."""
    format: StorageFormat | None = None
    """Format of the processed asset."""
    sampling_rate: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Samples (or frames) per second, when the stream is regular."""
    domain_intervals: list[Interval] = Field(default_factory=list)
    """Spans of time the processed data covers."""
    channel_spec: Metadata = Field(default_factory=dict)
    """Channel names, units and the like (JSON)."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""

    @property
    def domain_spans(self) -> list[tuple[float, float]]:
        """``domain_intervals`` as ``(start, end)`` pairs of session seconds."""
        return [(i.start, i.end) for i in self.domain_intervals]

    @model_validator(mode="after")
    def _processed_has_asset(self) -> Modality:
        processed = self.ingestion_status is IngestionStatus.PROCESSED
        if processed and (self.storage_uri is None or self.format is None):
            raise InvalidRowError("a processed modality needs storage_uri and format")
        if not processed and self.storage_uri is not None:
            raise InvalidRowError(
                f"storage_uri is set only once a modality is processed "
                f"(status is {self.ingestion_status.value})"
            )
        return self


class Event(Row):
    """Something that happened during a recording (a prompt, a response, ...)."""

    __table__ = "events"
    __key__ = ("event_id",)

    event_id: Identifier
    """Stable event identifier."""
    recording_hash: RecordingHash
    """Recording the event belongs to."""
    event_time: float = Field(ge=0, allow_inf_nan=False)
    """Seconds from the recording's start."""
    event_type: Identifier
    """Kind of event."""
    prompt: str | None = None
    """What the participant was asked, if anything."""
    response: str | None = None
    """What the participant answered, if anything."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""


class Embedding(Row):
    """A model's vector for a span of one modality."""

    __table__ = "embeddings"
    __key__ = ("embedding_id",)
    __row_json__ = False  # a vector as JSON text would more than double the row

    embedding_id: Identifier
    """Stable embedding identifier."""
    recording_hash: RecordingHash
    """Recording embedded."""
    modality: Identifier
    """Modality embedded."""
    model: Identifier
    """Model (and version) that produced the vector."""
    vector: list[float] = Field(min_length=1)
    """The embedding (stored as float32)."""
    start: float = Field(ge=0, allow_inf_nan=False)
    """Span start, seconds from the recording's start."""
    end: float = Field(ge=0, allow_inf_nan=False)
    """Span end, seconds from the recording's start."""


class PipelineAsset(Row):
    """A processed artifact and the pipeline version that produced it."""

    __table__ = "pipeline_assets"
    __key__ = ("asset_id",)

    asset_id: Identifier
    """Stable asset identifier."""
    recording_hash: RecordingHash
    """Recording the asset was made from."""
    modality: Identifier
    """Modality the asset was made from."""
    storage_uri: StorageUri
    """Where the asset is stored."""
    format: StorageFormat
    """Format of the asset."""
    pipeline_version: Identifier
    """Version of the pipeline that produced it."""
    created_at: EpochNs
    """When it was produced."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""


class Checkpoint(Row):
    """A model checkpoint trained on catalogued data."""

    __table__ = "checkpoints"
    __key__ = ("checkpoint_id",)

    checkpoint_id: Identifier
    """Stable checkpoint identifier."""
    model: Identifier
    """Model family and version."""
    storage_uri: StorageUri
    """Where the checkpoint is stored."""
    trained_on: list[RecordingHash] = Field(default_factory=list)
    """Recordings used for training."""
    created_at: EpochNs
    """When it was saved."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes (hyper-parameters, ...)."""


class BenchmarkSuite(Row):
    """An evaluation suite: a fixed set of recordings and a task."""

    __table__ = "benchmark_suites"
    __key__ = ("suite_name", "suite_version")

    suite_name: Identifier
    """Suite name."""
    suite_version: Identifier
    """Suite version."""
    description: str = ""
    """What the suite measures."""
    recording_hashes: list[RecordingHash] = Field(default_factory=list)
    """Recordings the suite evaluates on."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""


class BenchmarkResult(Row):
    """A checkpoint's score on a suite."""

    __table__ = "benchmark_results"
    __key__ = ("result_id",)

    result_id: Identifier
    """Stable result identifier."""
    checkpoint_id: Identifier
    """Checkpoint evaluated."""
    suite_name: Identifier
    """Suite evaluated on."""
    suite_version: Identifier
    """Suite version evaluated on."""
    score: float = Field(allow_inf_nan=False)
    """Headline score."""
    created_at: EpochNs
    """When it was evaluated."""
    metrics: Metadata = Field(default_factory=dict)
    """Further metrics (JSON)."""


class DeletionStatus(StrEnum):
    """Where an audited delete is: its plan is journaled before anything goes."""

    STARTED = "started"
    COMPLETED = "completed"


class Deletion(Row):
    """The audit of one recording's deletion; it outlives the recording it names."""

    __table__ = "deletions"
    __key__ = ("deletion_id",)

    deletion_id: Identifier
    """``<recording_hash>-<requested_at>``."""
    recording_hash: RecordingHash
    """The recording deleted."""
    rec_id: Identifier
    """The rig's name for it."""
    participant_ids: list[Identifier] = Field(default_factory=list)
    """Its participants, as its recording row listed them."""
    reason: str = Field(min_length=1, max_length=1000)
    """Why it was deleted (e.g. consent withdrawn); required."""
    profile: str = Field(min_length=1, max_length=128)
    """The profile (deployment) the delete ran against."""
    requested_at: EpochNs
    """When the delete started."""
    completed_at: EpochNs | None = None
    """When the last object and row went; unset while started."""
    status: DeletionStatus
    """started → completed; a started delete completes when run again."""
    prefixes: list[StorageUri] = Field(default_factory=list)
    """The plan: every prefix whose objects are deleted."""
    objects: int = Field(ge=0)
    """Objects under the prefixes when the delete was planned (all removed once completed)."""
    bytes: int = Field(ge=0)
    """Their bytes."""


ROW_TYPES: tuple[type[Row], ...] = (
    Participant,
    Recording,
    Modality,
    Event,
    Embedding,
    PipelineAsset,
    Checkpoint,
    BenchmarkSuite,
    BenchmarkResult,
    Deletion,
)
