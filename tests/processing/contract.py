"""One contract every converter passes, the way zarr's ``StoreTests`` serves every store.

A converter's test class subclasses :class:`ConverterContract`, sets
``converter`` and implements ``good_input`` and ``bad_input``.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

import pytest

from ursa_lib.processing import (
    ConversionOutput,
    ConversionRequest,
    Converter,
    CountUnit,
    ProcessingError,
    default_registry,
)
from ursa_lib.processing._staging import total_size


class ConverterContract:
    converter: Converter

    def good_input(self, tmp_path: Path) -> ConversionRequest:
        """A request on valid input, writing into an empty ``out``."""
        raise NotImplementedError

    def bad_input(self, tmp_path: Path) -> ConversionRequest:
        """A request that the converter must refuse with a ProcessingError."""
        raise NotImplementedError

    @staticmethod
    def out_dir(tmp_path: Path) -> Path:
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        return out

    def test_declares_the_protocol(self) -> None:
        c = self.converter
        assert isinstance(c, Converter)
        assert c.name
        assert c.version
        assert c.suffix.startswith(".")
        assert c.formats
        assert all(f == f.lower() for f in c.formats)

    def test_default_registry_resolves_to_it(self) -> None:
        for fmt in self.converter.formats:
            found = default_registry().resolve(self.converter.kind, fmt)
            assert type(found) is type(self.converter)

    def test_writes_only_its_asset(self, tmp_path: Path) -> None:
        request = self.good_input(tmp_path)
        result = self.converter.convert(request)
        asset = f"{request.modality}{self.converter.suffix}"
        assert result.asset == asset
        assert result.asset in result.entries
        assert all(e.startswith(asset) for e in result.entries)
        assert sorted(os.listdir(request.out)) == sorted(result.entries)

    def test_result_is_consistent(self, tmp_path: Path) -> None:
        request = self.good_input(tmp_path)
        result = self.converter.convert(request)
        assert isinstance(result, ConversionOutput)
        assert (result.converter, result.converter_version) == (
            self.converter.name,
            self.converter.version,
        )
        assert result.storage_format == self.converter.storage_format
        assert result.input_bytes == sum(s.size for s in request.segments)
        assert result.output_bytes == total_size(request.out, result.entries) > 0
        assert result.count > 0
        intervals = list(result.domain_intervals)
        assert all(a <= b for a, b in intervals)
        assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(intervals))
        json.dumps(result.channel_spec)
        if result.unit is CountUnit.EVENTS:
            assert len(result.events) == result.count
        else:
            assert result.events == ()

    def test_leaves_nothing_on_error(self, tmp_path: Path) -> None:
        request = self.bad_input(tmp_path)
        with pytest.raises(ProcessingError) as info:
            self.converter.convert(request)
        assert isinstance(info.value, ValueError)
        assert os.listdir(request.out) == []

    def test_never_overwrites_an_existing_asset(self, tmp_path: Path) -> None:
        request = self.good_input(tmp_path)
        existing = request.out / f"{request.modality}{self.converter.suffix}"
        existing.write_text("keep me")
        with pytest.raises(ProcessingError, match="already exists"):
            self.converter.convert(request)
        assert existing.read_text() == "keep me"
        assert os.listdir(request.out) == [existing.name]
