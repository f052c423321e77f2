"""Converters are pluggable: a small protocol, a registry, and an entry-point group.

A lab adds its rig's format without forking Ursa, either by a call::

    from ursa_lib.processing import register_converter
    register_converter(MyConverter())

or by declaring an entry point in its own package (the object, or a zero-arg
factory returning it, is loaded by :func:`default_registry`)::

    [project.entry-points."ursa.converters"]
    myrig = "myrig_ursa:MyConverter"
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from ._conversion import ConversionOutput, ConversionRequest
from ._describe import StreamKind
from ._errors import AmbiguousConverterError, ConverterNotFoundError, ProcessingError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Converter",
    "ConverterRegistry",
    "FunctionConverter",
    "default_registry",
    "register_converter",
]

ENTRY_POINT_GROUP = "ursa.converters"

log = logging.getLogger("ursa.processing")


@runtime_checkable
class Converter(Protocol):
    """Turns the raw segments of one stream into one processed asset.

    ``convert`` writes only ``request.out / f"{request.modality}{suffix}"``
    (a converter may add siblings that start with that name, like a video's
    ``.lance`` index), leaves nothing in ``out`` when it raises, and raises a
    :class:`ProcessingError` whose message names the file and the fix.
    """

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> StreamKind: ...
    @property
    def formats(self) -> frozenset[str]: ...
    @property
    def storage_format(self) -> str: ...
    @property
    def suffix(self) -> str: ...

    def convert(self, request: ConversionRequest) -> ConversionOutput: ...


class ConverterRegistry:
    """Converters keyed by (kind, format); resolution refuses gaps and ambiguity."""

    def __init__(self, converters: Iterable[Converter] = ()) -> None:
        self._converters: list[Converter] = []
        for converter in converters:
            self.register(converter)

    def register(self, converter: Converter) -> Converter:
        """Add ``converter``; returns it (so it can decorate a class instance).

        Raises :class:`ProcessingError` if it lacks part of the protocol, or if
        a converter of the same name is already registered.
        """
        if not isinstance(converter, Converter):
            raise ProcessingError(
                f"{converter!r} is not a converter: it needs name, version, kind, formats, "
                "storage_format, suffix and convert(request)"
            )
        if not converter.suffix.startswith("."):
            raise ProcessingError(
                f"converter {converter.name!r} declares suffix {converter.suffix!r}; "
                "a suffix starts with a dot, e.g. '.zarr'"
            )
        if any(c.name == converter.name for c in self._converters):
            raise ProcessingError(
                f"a converter named {converter.name!r} is already registered; "
                "give yours another name"
            )
        self._converters.append(converter)
        return converter

    def converters(self) -> tuple[Converter, ...]:
        """Every registered converter, in registration order."""
        return tuple(self._converters)

    def resolve(self, kind: StreamKind | str, format: str) -> Converter:
        """The one converter for ``(kind, format)``.

        Raises :class:`ConverterNotFoundError` (listing the formats known for
        that kind) or :class:`AmbiguousConverterError` (naming the candidates).
        """
        kind = StreamKind(kind)
        fmt = format.lower()
        found = [c for c in self._converters if c.kind == kind and fmt in c.formats]
        if len(found) == 1:
            return found[0]
        if not found:
            known = sorted({f for c in self._converters if c.kind == kind for f in c.formats})
            raise ConverterNotFoundError(
                f"no converter for {kind.value} streams in format {fmt!r} "
                f"(known {kind.value} formats: {', '.join(known) or 'none'}); "
                "describe the stream with a supported format or register a converter "
                f"(entry-point group {ENTRY_POINT_GROUP!r} or register_converter())"
            )
        names = ", ".join(f"{c.name} {c.version}" for c in found)
        raise AmbiguousConverterError(
            f"several converters handle {kind.value} streams in format {fmt!r}: {names}; "
            "register only one of them"
        )

    def storage_formats(self) -> Mapping[str, frozenset[str]]:
        """Each storage format the registered converters declare, with its suffixes."""
        formats: dict[str, set[str]] = {}
        for c in self._converters:
            formats.setdefault(c.storage_format, set()).add(c.suffix)
        return {k: frozenset(v) for k, v in sorted(formats.items())}

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every converter that installed packages declare under ``group``.

        An entry point names a converter object or a zero-argument factory of one.
        A broken entry point raises :class:`ProcessingError` naming it: a lab's
        converter that silently vanished would leave its streams raw unnoticed.
        """
        for ep in entry_points(group=group):
            try:
                loaded = ep.load()
            except Exception as exc:  # a plug-in may fail to import in any way; re-raised
                raise ProcessingError(
                    f"entry point {ep.name!r} ({ep.value}) in {group!r} failed to load: "
                    f"{exc}; fix or uninstall the package that declares it"
                ) from exc
            converter = loaded if isinstance(loaded, Converter) else loaded()
            self.register(converter)
            log.info("registered converter %s %s from entry point", converter.name, ep.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionConverter:
    """A plain function registered as a converter: ``fn(request) -> ConversionOutput``.

    For a lab whose converter needs no state::

        register_converter(FunctionConverter(
            name="lab.rig", version="1", kind=StreamKind.TIMESERIES,
            formats=frozenset({"rig"}), storage_format="zarr", suffix=".zarr",
            fn=convert_rig,
        ))
    """

    name: str
    version: str
    kind: StreamKind
    formats: frozenset[str]
    storage_format: str
    suffix: str
    fn: Callable[[ConversionRequest], ConversionOutput]

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """Call ``fn``; it carries the converter promises."""
        return self.fn(request)


_DEFAULT: ConverterRegistry | None = None
_DEFAULT_LOCK = threading.Lock()


def _builtin_converters() -> list[Converter]:
    from ._audio import AudioConverter
    from ._events import EventsConverter
    from ._tables import TableConverter
    from ._timeseries import EdfConverter, NpyConverter
    from ._video import VideoConverter

    return [
        EdfConverter(),
        NpyConverter(),
        AudioConverter(),
        VideoConverter(),
        EventsConverter(),
        TableConverter(),
    ]


def default_registry() -> ConverterRegistry:
    """The process-wide registry: built-ins, then the ``ursa.converters`` entry points.

    Built once, on first use; :func:`register_converter` adds to it.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            registry = ConverterRegistry(_builtin_converters())
            registry.load_entry_points()
            _DEFAULT = registry
        return _DEFAULT


def register_converter(converter: Converter) -> Converter:
    """Add ``converter`` to :func:`default_registry`; returns it."""
    return default_registry().register(converter)
