"""Resolving converters by (kind, format), refusing gaps and ambiguity, loading entry points."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ursa_lib.processing import (
    AmbiguousConverterError,
    ConversionOutput,
    ConversionRequest,
    ConverterNotFoundError,
    ConverterRegistry,
    CountUnit,
    FunctionConverter,
    ProcessingError,
    StreamDescription,
    StreamKind,
    convert_stream,
    default_registry,
)

from .helpers import segments


@dataclass(frozen=True)
class RigConverter:
    """A lab's converter for its own rig format: copies the bytes through."""

    name: str = "lab.rig"
    version: str = "3"
    kind: StreamKind = StreamKind.TIMESERIES
    formats: frozenset[str] = field(default_factory=lambda: frozenset({"rig"}))
    storage_format: str = "rigdir"
    suffix: str = ".rig"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        asset = f"{request.modality}{self.suffix}"
        (request.out / asset).write_bytes(b"".join(s.path.read_bytes() for s in request.segments))
        return ConversionOutput(
            converter=self.name,
            converter_version=self.version,
            storage_format=self.storage_format,
            asset=asset,
            entries=(asset,),
            sampling_rate=None,
            domain_intervals=(),
            channel_spec=None,
            count=len(request.segments),
            unit=CountUnit.ROWS,
            input_bytes=sum(s.size for s in request.segments),
            output_bytes=(request.out / asset).stat().st_size,
        )


def test_built_ins_cover_every_kind_and_declare_storage_formats() -> None:
    registry = default_registry()
    for kind, fmt in [
        ("timeseries", "edf"),
        ("timeseries", "bdf"),
        ("timeseries", "npy"),
        ("audio", "wav"),
        ("audio", "flac"),
        ("video", "mp4"),
        ("events", "jsonl"),
        ("events", "csv"),
        ("table", "csv"),
    ]:
        assert fmt in registry.resolve(kind, fmt).formats
    assert registry.storage_formats() == {
        "lance": frozenset({".lance"}),
        "mp4": frozenset({".mp4"}),
        "parquet": frozenset({".parquet"}),
        "zarr": frozenset({".zarr"}),
    }


def test_an_unknown_format_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ConverterNotFoundError, match=r"format 'xdf' \(known timeseries formats: bdf, edf, npy\)"
    ) as info:
        default_registry().resolve(StreamKind.TIMESERIES, "xdf")
    assert isinstance(info.value, ValueError)


def test_an_unknown_format_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "eeg_0").mkdir()
    seg = tmp_path / "eeg_0" / "seg.xdf"
    seg.write_bytes(b"\0")
    out = tmp_path / "out"
    out.mkdir()
    desc = StreamDescription(kind=StreamKind.TIMESERIES, format="xdf")
    with pytest.raises(ConverterNotFoundError, match="register a converter"):
        convert_stream(segments(tmp_path, [seg]), desc, modality="eeg", out=out)
    assert list(out.iterdir()) == []


def test_ambiguity_names_both_converters() -> None:
    registry = ConverterRegistry([RigConverter(), RigConverter(name="other.rig", version="1")])
    with pytest.raises(AmbiguousConverterError, match=r"lab\.rig 3, other\.rig 1"):
        registry.resolve("timeseries", "rig")


def test_a_registered_converter_is_used_and_its_storage_format_is_open(tmp_path: Path) -> None:
    registry = ConverterRegistry()
    registry.register(RigConverter())
    assert registry.storage_formats() == {"rigdir": frozenset({".rig"})}
    (tmp_path / "eeg_0").mkdir()
    seg = tmp_path / "eeg_0" / "seg.rig"
    seg.write_bytes(b"abc")
    out = tmp_path / "out"
    out.mkdir()
    desc = StreamDescription(kind=StreamKind.TIMESERIES, format="rig")
    result = convert_stream(
        segments(tmp_path, [seg]), desc, modality="eeg", out=out, registry=registry
    )
    assert result.asset == "eeg.rig"
    assert (out / "eeg.rig").read_bytes() == b"abc"


def test_registration_refuses_non_converters_and_duplicates() -> None:
    registry = ConverterRegistry([RigConverter()])
    with pytest.raises(ProcessingError, match="already registered"):
        registry.register(RigConverter())
    with pytest.raises(ProcessingError, match="is not a converter"):
        registry.register(object())  # type: ignore[arg-type]
    with pytest.raises(ProcessingError, match="starts with a dot"):
        registry.register(RigConverter(name="x", suffix="rig"))


def install_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: str) -> None:
    """Install a real distribution (a dist-info on sys.path) declaring ``ursa.converters``."""
    (tmp_path / "labplugin.py").write_text(
        textwrap.dedent(
            """
            from tests.processing.test_registry import RigConverter
            INSTANCE = RigConverter(name="lab.instance")
            def make():
                return RigConverter(name="lab.factory", formats=frozenset({"rig2"}))
            """
        )
    )
    info = tmp_path / "labplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ursa.converters]\n" + lines)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_entry_points_yield_objects_or_factories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_entry_points(
        tmp_path, monkeypatch, "inst = labplugin:INSTANCE\nfact = labplugin:make\n"
    )
    registry = ConverterRegistry()
    registry.load_entry_points()
    assert registry.resolve("timeseries", "rig").name == "lab.instance"
    assert registry.resolve("timeseries", "rig2").name == "lab.factory"


def test_a_broken_entry_point_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_entry_points(tmp_path, monkeypatch, "broken = labplugin:missing\n")
    with pytest.raises(ProcessingError, match=r"entry point 'broken' \(labplugin:missing\)"):
        ConverterRegistry().load_entry_points()


def test_a_plain_function_registers_as_a_converter(tmp_path: Path) -> None:
    rig = RigConverter(name="lab.function")
    registry = ConverterRegistry()
    registry.register(
        FunctionConverter(
            name="lab.function",
            version="2",
            kind=StreamKind.EVENTS,
            formats=frozenset({"rigevents"}),
            storage_format="rigdir",
            suffix=".rig",
            fn=rig.convert,
        )
    )
    (tmp_path / "events_0").mkdir()
    seg = tmp_path / "events_0" / "seg.rigevents"
    seg.write_bytes(b"xyz")
    out = tmp_path / "out"
    out.mkdir()
    desc = StreamDescription(kind=StreamKind.EVENTS, format="rigevents")
    result = convert_stream(
        segments(tmp_path, [seg]), desc, modality="events", out=out, registry=registry
    )
    assert (out / result.asset).read_bytes() == b"xyz"
