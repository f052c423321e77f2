"""Storage-URI invariants a row must keep to be written (built on `AssetKey`)."""

from __future__ import annotations

from .._config import LocalProfile, S3Profile
from .._errors import InvalidKeyError, InvalidRowError
from .._layout import AssetKey
from ..store._uri import parse_storage_uri
from ._models import IngestionStatus, Modality, PipelineAsset, Row, StorageFormat

__all__ = ["check_row"]


def check_row(row: Row, profile: LocalProfile | S3Profile | None) -> None:
    """Raise `InvalidRowError` if ``row`` breaks a storage-URI invariant.

    A modality's raw URI points into the raw bucket; a processed asset (a
    processed modality's or a pipeline asset's) lives in the assets bucket at its
    `AssetKey` with its format's suffix. Without a profile the buckets are not
    known, and only the asset keys are checked.
    """
    if isinstance(row, Modality):
        _check_uri(row, "raw_storage_uri", row.raw_storage_uri, "raw", None, profile)
        if row.ingestion_status is IngestionStatus.PROCESSED:
            assert row.storage_uri is not None
            assert row.format is not None
            _check_uri(row, "storage_uri", row.storage_uri, "assets", row.format, profile)
    elif isinstance(row, PipelineAsset):
        _check_uri(row, "storage_uri", row.storage_uri, "assets", row.format, profile)


def _check_uri(
    row: Modality | PipelineAsset,
    field: str,
    uri: str,
    bucket: str,
    fmt: StorageFormat | None,
    profile: LocalProfile | S3Profile | None,
) -> None:
    if profile is not None:
        try:
            location = parse_storage_uri(uri, profile)
        except ValueError as exc:
            raise InvalidRowError(f"{type(row).__name__}.{field}: {exc}") from None
        if location.bucket != bucket:
            raise InvalidRowError(
                f"{type(row).__name__}.{field} must point into the {bucket} bucket "
                f"({profile.bucket_uri(bucket)}), got {uri!r}"  # type: ignore[arg-type]
            )
        key = location.key
    else:
        key = uri.split("://", 1)[1].split("/", 1)[1] if "/" in uri.split("://", 1)[1] else ""
    if fmt is not None:
        tier = AssetKey.tier(row.recording_hash, row.modality)
        try:
            asset: AssetKey | None = AssetKey.parse(key)
        except InvalidKeyError:
            asset = None
        if (
            asset is None
            or (asset.recording_hash, asset.modality) != (row.recording_hash, row.modality)
            or not asset.name.endswith(fmt.suffix)
        ):
            raise InvalidRowError(
                f"{type(row).__name__}.{field}: a {fmt.value} asset must live at "
                f"{tier}[<version>/]<name>{fmt.suffix} in the assets bucket, got {uri!r}"
            )
