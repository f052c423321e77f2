"""The converter contract: what every processing converter promises, whatever its format.

A converter turns one stream's raw segments into one processed asset. It is
used here by its shape only (Ursa's converter protocol lives with processing):

* ``name``, ``version`` — non-empty strings; a new version is a new asset;
* ``kind`` — one of `KINDS`; ``formats`` — the input formats it reads;
* ``storage_format`` — what it writes, with a ``suffix`` such as ``".zarr"``;
* ``convert(segments, description, out, modality=...)`` — writes the asset to
  ``out/<modality><suffix>`` (an existing, empty local folder) and returns a
  result whose ``path``, ``modality`` and ``storage_format`` say so.

A converter's test module subclasses `ConverterContract` (the class name starts
with ``Test``) and supplies the hooks::

    class TestEdfConverter(ConverterContract):
        modality = "eeg"

        def converter(self) -> Any:
            return EdfConverter()

        def good_segments(self, tmp_path: Path) -> list[Path]:
            return write_edf_segments(tmp_path, minutes=2)

        def bad_segments(self, tmp_path: Path) -> list[Path]:
            return [write_truncated_edf(tmp_path)]
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._errors import UrsaError

KINDS = frozenset({"timeseries", "audio", "video", "events", "table"})
"""The stream kinds a converter may declare."""


class ConverterContract:
    """The promises of one converter; subclass it once per converter."""

    modality: ClassVar[str] = "stream"
    """The modality name passed to ``convert``; it names the output."""

    sidecars: ClassVar[tuple[str, ...]] = ()
    """Suffixes of objects written beside the asset (``(".lance",)`` for the
    MP4 frame index ``camera.mp4.lance``); nothing else may appear in ``out``."""

    errors: ClassVar[tuple[type[BaseException], ...]] = (UrsaError,)
    """What ``convert`` raises for segments it cannot convert: a permanent error
    the pipelines report, not a crash."""

    @abstractmethod
    def converter(self) -> Any:
        """The converter under test."""

    @abstractmethod
    def good_segments(self, tmp_path: Path) -> Sequence[Path]:
        """Segments, written into the empty folder ``tmp_path``, that it converts."""

    @abstractmethod
    def bad_segments(self, tmp_path: Path) -> Sequence[Path]:
        """Segments, written into the empty folder ``tmp_path``, that it must refuse
        (ideally part-way through, after it has begun writing)."""

    def description(self) -> Any:
        """The stream description passed to ``convert`` (None: inferred from the files)."""
        return None

    def _convert(self, converter: Any, tmp_path: Path, *, good: bool) -> Any:
        source = tmp_path / "segments"
        source.mkdir()
        segments = self.good_segments(source) if good else self.bad_segments(source)
        (tmp_path / "out").mkdir()
        return converter.convert(
            segments, self.description(), tmp_path / "out", modality=self.modality
        )

    def test_declares_name_version_kind_and_formats(self) -> None:
        converter = self.converter()
        for field in ("name", "version"):
            value = getattr(converter, field)
            assert isinstance(value, str), field
            assert value, field
        assert converter.kind in KINDS
        assert converter.formats
        assert all(isinstance(f, str) and f for f in converter.formats)
        assert str(converter.storage_format.suffix).startswith(".")

    def test_output_lands_only_under_its_own_name(self, tmp_path: Path) -> None:
        converter = self.converter()
        out = tmp_path / "out"
        result = self._convert(converter, tmp_path, good=True)
        expected = out / f"{self.modality}{converter.storage_format.suffix}"
        assert expected.exists()
        allowed = {expected.name} | {expected.name + suffix for suffix in self.sidecars}
        assert {p.name for p in out.iterdir()} <= allowed
        assert Path(result.path) == expected
        assert result.modality == self.modality
        assert result.storage_format == converter.storage_format

    def test_failure_leaves_nothing_in_out(self, tmp_path: Path) -> None:
        out = tmp_path / "out"
        with pytest.raises(self.errors):
            self._convert(self.converter(), tmp_path, good=False)
        assert list(out.iterdir()) == []
