"""Processing: a stream's raw segments → one analysis-ready asset.

Pure library: converters read local segment files and write under a local
output directory; publication (object store, catalog) is a later stage.

Built-in converters, each on the field's own reader:

==========  ==============  =====================================  ============
kind        formats         reader                                 storage
==========  ==============  =====================================  ============
timeseries  edf, bdf        pyedflib                               zarr
timeseries  npy             numpy                                  zarr
audio       wav, flac       soundfile                              zarr
video       mp4             PyAV (remux) + frame index             mp4 (+lance)
events      jsonl, csv      json / csv                             lance
table       csv             pyarrow                                parquet
==========  ==============  =====================================  ============
"""

from ._conversion import ConversionOutput, ConversionRequest, CountUnit, EventRow, Segment
from ._convert import convert_stream
from ._describe import StreamDescription, StreamKind, infer_description, parse_description
from ._errors import (
    AmbiguousConverterError,
    ConverterNotFoundError,
    EventParseError,
    ProcessingError,
    SegmentMismatchError,
    SegmentOverlapError,
    SegmentReadError,
    StreamDescriptionError,
)
from ._lease import lease_for, lease_is_dead
from ._publish import ModalityOutcome, ProcessingResult, process_recording
from ._registry import (
    ENTRY_POINT_GROUP,
    Converter,
    ConverterRegistry,
    FunctionConverter,
    default_registry,
    register_converter,
)
from ._timeseries import edf_scaling
from ._zarr_sink import chunk_length

__all__ = [
    "ENTRY_POINT_GROUP",
    "AmbiguousConverterError",
    "ConversionOutput",
    "ConversionRequest",
    "Converter",
    "ConverterNotFoundError",
    "ConverterRegistry",
    "CountUnit",
    "EventParseError",
    "EventRow",
    "FunctionConverter",
    "ModalityOutcome",
    "ProcessingError",
    "ProcessingResult",
    "Segment",
    "SegmentMismatchError",
    "SegmentOverlapError",
    "SegmentReadError",
    "StreamDescription",
    "StreamDescriptionError",
    "StreamKind",
    "chunk_length",
    "convert_stream",
    "default_registry",
    "edf_scaling",
    "infer_description",
    "lease_for",
    "lease_is_dead",
    "parse_description",
    "process_recording",
    "register_converter",
]
