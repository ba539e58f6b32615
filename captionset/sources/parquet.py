"""Parquet files: shards read ranges of rows, found through the row-group metadata (planning reads only
the footer). A record is named ``path:N``, N being its 1-based row number."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..model import RawRecord, Reject
from .base import InputSlice, SourceOptions
from .common import READ_ERRORS, Scan, reject_for_error
from .compression import compression_of
from .records import fields_needed, guess_kind, map_record, text_field_for

_BATCH_ROWS = 256
PARQUET_ERRORS: tuple[type[BaseException], ...] = (*READ_ERRORS, pa.ArrowException)


def scan(path: str, options: SourceOptions, first_cut: int, step: int) -> Scan:
    """Rows and record kind from the footer; a file that cannot be read gets one slot for its Reject."""
    if compression_of(path) is not None:
        return Scan(1)
    try:
        meta = pq.read_metadata(path)
    except PARQUET_ERRORS:
        return Scan(1)
    names = meta.schema.to_arrow_schema().names
    kind = guess_kind(names, options)
    if text_field_for(kind, options) not in names:
        return Scan(1, kind)
    if meta.num_rows == 0:
        return Scan(1, "empty")
    return Scan(meta.num_rows, kind)


def iter_rows(
    batches: Iterator[pa.RecordBatch], first_row: int, start: int, stop: int | None
) -> Iterator[tuple[int, dict]]:
    """(row number, row) for rows [start, stop) of batches whose first row is first_row."""
    row = first_row
    for batch in batches:
        end = row + batch.num_rows
        if end > start and (stop is None or row < stop):
            lo = max(start - row, 0)
            hi = batch.num_rows if stop is None else min(stop - row, batch.num_rows)
            for offset, values in enumerate(batch.slice(lo, hi - lo).to_pylist()):
                yield row + lo + offset, values
        row = end
        if stop is not None and row >= stop:
            return


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """The records of rows [start, stop), reading only the row groups (and columns) that hold them."""
    if piece.kind == "empty":
        yield Reject(piece.path, "empty", "no records")
        return
    if compression_of(piece.path) is not None:
        yield Reject(
            piece.path,
            "unsupported",
            "a compressed Parquet file: decompress it (Parquet compresses its pages)",
        )
        return
    try:
        parquet = pq.ParquetFile(piece.path)
        names = parquet.schema_arrow.names
        text_field = text_field_for(piece.kind, options)
        if text_field not in names:
            yield Reject(piece.path, "missing_field", f"no {text_field!r} column; columns are {names}")
            return
        columns = [c for c in fields_needed(piece.kind, options) if c in names]
        groups, first_row, row = [], None, 0
        for i in range(parquet.metadata.num_row_groups):
            rows = parquet.metadata.row_group(i).num_rows
            if row + rows > piece.start and (piece.stop is None or row < piece.stop):
                groups.append(i)
                first_row = row if first_row is None else first_row
            row += rows
        if not groups:
            return
        batches = parquet.iter_batches(batch_size=_BATCH_ROWS, row_groups=groups, columns=columns)
        for number, values in iter_rows(batches, first_row or 0, piece.start, piece.stop):
            source = f"{piece.path}:{number + 1}"
            yield map_record(
                values, source=source, name=name, number=number + 1, kind=piece.kind, options=options
            )
    except PARQUET_ERRORS as error:
        yield reject_for_error(piece.path, piece.path, error)
