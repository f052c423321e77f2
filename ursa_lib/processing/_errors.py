"""Errors of the processing stage.

The tree (every class is also a ``ValueError``: the input, not the machine, is
at fault, and running again without a fix fails the same way)::

    UrsaError
    └── ProcessingError (ValueError)          a stream cannot be converted
        ├── StreamDescriptionError            a stream description is invalid
        ├── ConverterNotFoundError            no converter for (kind, format)
        ├── AmbiguousConverterError           several converters for (kind, format)
        ├── SegmentReadError                  a segment is truncated, corrupt or unreadable
        ├── SegmentMismatchError              segments of one stream disagree
        │                                     (channels, rate, dtype, codec parameters)
        ├── SegmentOverlapError               two segments cover the same time
        └── EventParseError                   an events line or row cannot be parsed

Every message names the file (or the converter, or the field) and says what
to fix.
"""

from __future__ import annotations

from .._errors import UrsaError

__all__ = [
    "AmbiguousConverterError",
    "ConverterNotFoundError",
    "EventParseError",
    "ProcessingError",
    "SegmentMismatchError",
    "SegmentOverlapError",
    "SegmentReadError",
    "StreamDescriptionError",
]


class ProcessingError(UrsaError, ValueError):
    """A stream cannot be converted; a permanent error until its input is fixed."""


class StreamDescriptionError(ProcessingError):
    """A stream description is invalid; the message names the field."""


class ConverterNotFoundError(ProcessingError):
    """No registered converter handles the stream's (kind, format)."""


class AmbiguousConverterError(ProcessingError):
    """More than one registered converter handles a (kind, format); they are named."""


class SegmentReadError(ProcessingError):
    """A segment file is truncated, corrupt or not of its declared format."""


class SegmentMismatchError(ProcessingError):
    """Segments of one stream differ where they must agree (channels, rate, codec)."""


class SegmentOverlapError(ProcessingError):
    """Two segments of one stream cover the same time; both are named."""


class EventParseError(ProcessingError):
    """An events line or row cannot be parsed; the file and line are named."""
