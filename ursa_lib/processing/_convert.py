"""One call from a stream's segments to its processed asset."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ._conversion import ConversionOutput, ConversionRequest, Segment
from ._describe import StreamDescription
from ._registry import ConverterRegistry, default_registry

__all__ = ["convert_stream"]


def convert_stream(
    segments: Sequence[Segment],
    description: StreamDescription,
    *,
    modality: str,
    out: Path,
    session_start: datetime | None = None,
    registry: ConverterRegistry | None = None,
) -> ConversionOutput:
    """Resolve the converter for ``description`` and write ``modality``'s asset under ``out``.

    Promises what every converter promises: on success only the entries named
    in the result were added to ``out``; on error nothing was, and the
    :class:`~ursa_lib.processing.ProcessingError` names the file and the fix.
    """
    converter = (registry or default_registry()).resolve(description.kind, description.format)
    request = ConversionRequest(
        segments=tuple(segments),
        description=description,
        modality=modality,
        out=out,
        session_start=session_start,
    )
    return converter.convert(request)
