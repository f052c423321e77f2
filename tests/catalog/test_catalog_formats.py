"""Storage formats are an open registry: a converter declares a format and its
suffix, and the catalog accepts assets in it, on real LanceDB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from ursa_lib import InvalidRowError, S3Profile
from ursa_lib.catalog import (
    Catalog,
    Modality,
    PipelineAsset,
    StorageFormat,
    register_storage_format,
    storage_formats,
)
from ursa_lib.testing import modality, rhash

PROFILE = S3Profile(name="lab", raw_bucket="lab-raw", assets_bucket="lab-assets")
ROOT = Path(__file__).parents[2]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog("memory://", writable=True, profile=PROFILE)


def test_the_four_built_in_formats_are_registered() -> None:
    formats = storage_formats()
    assert {name: formats[name] for name in ("zarr", "lance", "mp4", "parquet")} == {
        "zarr": ".zarr",
        "lance": ".lance",
        "mp4": ".mp4",
        "parquet": ".parquet",
    }
    assert StorageFormat.MP4 == "mp4"
    assert StorageFormat.MP4.suffix == ".mp4"
    assert StorageFormat("zarr") is not StorageFormat.ZARR
    assert StorageFormat("zarr") == StorageFormat.ZARR


def test_an_unregistered_format_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown storage format 'hdf5'.*zarr"):
        modality(1, ingestion_status="processed", format="hdf5", storage_uri="s3://x/y")
    with pytest.raises(ValidationError, match="register_storage_format"):
        PipelineAsset(
            asset_id="a1",
            recording_hash=rhash(1),
            modality="eeg",
            storage_uri="s3://lab-assets/x",
            format="hdf5",  # type: ignore[arg-type]
            pipeline_version="v1",
            created_at=0,
        )


def test_a_registered_format_is_accepted_at_its_suffix(catalog: Catalog) -> None:
    fmt = register_storage_format("edf-test", ".edf")
    assert fmt.suffix == ".edf"
    h = rhash(1)
    with pytest.raises(InvalidRowError, match=r"a edf-test asset must live at .*\.edf"):
        catalog.add_modality(
            modality(
                1,
                ingestion_status="processed",
                format="edf-test",
                storage_uri=f"s3://lab-assets/processed/{h}/eeg/eeg.zarr",
            )
        )
    row = modality(
        1,
        ingestion_status="processed",
        format="edf-test",
        storage_uri=f"s3://lab-assets/processed/{h}/eeg/eeg.edf",
    )
    catalog.add_modality(row)
    stored = catalog.get_modality(h, "eeg")
    assert stored == row
    assert stored is not None
    assert isinstance(stored.format, StorageFormat)
    assert stored.format.suffix == ".edf"


def test_registration_is_idempotent_and_one_suffix_means_one_format() -> None:
    register_storage_format("npy-test")
    assert register_storage_format("npy-test", ".npy-test") == "npy-test"
    with pytest.raises(ValueError, match=r"registered with suffix '\.npy-test', not '\.npy'"):
        register_storage_format("npy-test", ".npy")
    with pytest.raises(ValueError, match="already belongs to storage format 'zarr'"):
        register_storage_format("zarr2-test", ".zarr")
    with pytest.raises(ValueError, match="is not allowed"):
        register_storage_format("Bad Name")
    with pytest.raises(ValueError, match="is not allowed"):
        register_storage_format("ok-test", "no-dot")


_WRITER = """
import sys
from ursa_lib.catalog import Catalog, register_storage_format
from ursa_lib.testing import modality, rhash
register_storage_format("wav-test", ".wav")
h = rhash(1)
Catalog(sys.argv[1], writable=True).add_modality(modality(
    1, ingestion_status="processed", format="wav-test",
    storage_uri=f"s3://lab-assets/processed/{h}/eeg/eeg.wav",
))
"""


def test_rows_of_a_format_this_process_has_not_registered_are_still_read(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "catalog")
    subprocess.run([sys.executable, "-c", _WRITER, uri], cwd=ROOT, check=True)
    assert "wav-test" not in storage_formats()
    (row,) = Catalog(uri, writable=False).list_modalities()
    assert isinstance(row, Modality)
    assert row.format == "wav-test"
    with pytest.raises(ValueError, match="not registered in this process"):
        _ = row.format.suffix  # type: ignore[union-attr]
