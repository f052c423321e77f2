"""Checks of a processed asset: it opens, holds what the raw segments held, and covers their time.

Publication records, in the ``pipeline_assets`` row, how many samples, frames,
events or rows the converter read from the raw segments. `check_processed`
opens the published asset and counts what it actually holds, and checks that
the modality row's time domain agrees with the asset's own (for a Zarr: its
gap-free intervals, sample for sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import UrsaError

if TYPE_CHECKING:
    from ..catalog import Catalog, Modality
    from ..delivery import AssetSource

__all__ = ["ProcessedReport", "check_processed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessedReport:
    recording_hash: str
    modality: str
    count_expected: int
    count_found: int
    problem: str | None
    """Why the asset does not open or does not hold the raw count; None when it does."""
    domain_problem: str | None

    @property
    def domain_ok(self) -> bool:
        return self.domain_problem is None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.domain_ok


def _count(source: AssetSource, row: Modality) -> tuple[int, Any]:
    assert row.storage_uri is not None
    key = source.key_of(row.storage_uri).rstrip("/")
    fmt = str(row.format)
    if fmt == "zarr":
        import zarr

        from ..store import zarr_store

        array: Any = zarr.open_array(
            store=zarr_store(source.store, published=True), path=f"{key}/data", mode="r"
        )
        return int(array.shape[0]), dict(array.attrs)
    if fmt == "mp4":
        return int(source.open_lance(key + ".lance", fresh=True).count_rows()), None
    if fmt == "lance":
        return int(source.open_lance(key, fresh=True).count_rows()), None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with source.store.open(key) as handle:
            return int(pq.ParquetFile(handle).metadata.num_rows), None
    raise UrsaError(f"no check for processed format {fmt!r}")


def _domain_problem(row: Modality, attrs: Any, count: int) -> str | None:
    domain = row.domain_spans
    if attrs is None:
        return None if domain or count == 0 else "the row records no time domain"
    rate = float(attrs["sampling_rate"])
    runs = [(float(i["start_s"]), int(i["n_samples"])) for i in attrs["intervals"]]
    if sum(n for _, n in runs) != count:
        return f"the asset's intervals hold {sum(n for _, n in runs)} samples, its array {count}"
    expected = [(s, s + n / rate) for s, n in runs]
    tolerance = 0.5 / rate
    if len(expected) != len(domain) or any(
        abs(a - c) > tolerance or abs(b - d) > tolerance
        for (a, b), (c, d) in zip(expected, domain, strict=True)
    ):
        return f"the row's domain {domain} s differs from the asset's samples {expected} s"
    return None


def check_processed(
    source: AssetSource, catalog: Catalog, recording_hash: str, modality: str
) -> ProcessedReport:
    """Open the processed asset of one modality and compare it with what publication recorded."""
    row = catalog.get_modality(recording_hash, modality)
    if row is None or row.storage_uri is None:
        return ProcessedReport(
            recording_hash=recording_hash,
            modality=modality,
            count_expected=0,
            count_found=0,
            problem="the modality is not processed",
            domain_problem=None,
        )
    assets = catalog.list_pipeline_assets({"storage_uri": row.storage_uri})
    recorded = assets[0].metadata.get("count") if assets else None
    expected = int(recorded) if isinstance(recorded, int) else -1
    try:
        found, attrs = _count(source, row)
    except Exception as exc:  # noqa: BLE001 - a damaged asset's error is the finding
        return ProcessedReport(
            recording_hash=recording_hash,
            modality=modality,
            count_expected=expected,
            count_found=0,
            problem=f"does not open: {type(exc).__name__}: {exc}",
            domain_problem=None,
        )
    problem = None
    if expected < 0:
        problem = "no pipeline_assets row records what the raw segments held"
    elif found != expected:
        problem = f"holds {found}, the raw segments held {expected}"
    return ProcessedReport(
        recording_hash=recording_hash,
        modality=modality,
        count_expected=expected,
        count_found=found,
        problem=problem,
        domain_problem=_domain_problem(row, attrs, found),
    )
