"""Tables: CSV segments → one Parquet file (pyarrow), streamed in record batches."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._conversion import ConversionOutput, ConversionRequest, CountUnit
from ._describe import StreamKind
from ._errors import SegmentMismatchError, SegmentReadError
from ._staging import staged, total_size

__all__ = ["TableConverter"]


class TableConverter:
    """CSV segments (one header each, same columns) → ``<modality>.parquet``.

    Column types are inferred from the first segment; later segments are read
    with those types, so a segment whose values do not fit is refused by name.
    """

    name = "ursa.table.parquet"
    version = "1"
    kind = StreamKind.TABLE
    formats = frozenset({"csv"})
    storage_format = "parquet"
    suffix = ".parquet"

    def convert(self, request: ConversionRequest) -> ConversionOutput:
        """See :class:`~ursa_lib.processing.Converter`."""
        asset = f"{request.modality}{self.suffix}"
        rows = 0
        with staged(request.out, (asset,)) as stage:
            writer: pq.ParquetWriter | None = None
            schema: pa.Schema | None = None
            try:
                for segment in request.segments:
                    convert_options = pacsv.ConvertOptions(
                        column_types=dict(zip(schema.names, schema.types, strict=True))
                        if schema is not None
                        else None
                    )
                    try:
                        reader = pacsv.open_csv(segment.path, convert_options=convert_options)
                        if schema is None:
                            schema = reader.schema
                            writer = pq.ParquetWriter(stage / asset, schema)
                        elif reader.schema.names != schema.names:
                            raise SegmentMismatchError(
                                f"{segment.rel_path} has columns {reader.schema.names} but "
                                f"{request.segments[0].rel_path} has {schema.names}; every CSV "
                                "segment of a table must have the same header"
                            )
                        assert writer is not None
                        for batch in reader:
                            writer.write_batch(batch)
                            rows += batch.num_rows
                    except pa.ArrowInvalid as exc:
                        raise SegmentReadError(
                            f"{segment.rel_path} cannot be read as CSV ({exc}); fix the file"
                        ) from None
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise SegmentReadError(f"stream {request.modality!r} has no segments")
        return ConversionOutput(
            converter=self.name,
            converter_version=self.version,
            storage_format=self.storage_format,
            asset=asset,
            entries=(asset,),
            sampling_rate=None,
            domain_intervals=(),
            channel_spec=None,
            count=rows,
            unit=CountUnit.ROWS,
            input_bytes=sum(s.size for s in request.segments),
            output_bytes=total_size(request.out, (asset,)),
        )
