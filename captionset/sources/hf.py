"""Hugging Face datasets saved on disk (``save_to_disk`` folders) and Arrow files of the datasets cache.

Each Arrow file of a dataset (every split of a DatasetDict) is read on its own, memory-mapped, with no
network and no ``datasets`` cache. A record is named ``path:N``, N being its 1-based row in that file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from ..model import RawRecord, Reject
from .base import InputSlice, SourceOptions
from .common import Scan, reject_for_error
from .parquet import PARQUET_ERRORS, iter_rows
from .records import fields_needed, guess_kind, map_record, text_field_for


def open_arrow(path: str) -> pa.RecordBatchReader | pa.ipc.RecordBatchFileReader:
    """An Arrow IPC stream (what ``datasets`` writes) or, failing that, an Arrow IPC file."""
    source = pa.memory_map(path)
    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        return pa.ipc.open_file(source)


def _batches(reader) -> Iterator[pa.RecordBatch]:
    if isinstance(reader, pa.ipc.RecordBatchFileReader):
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    else:
        yield from reader


def scan(path: str, options: SourceOptions, first_cut: int, step: int) -> Scan:
    """Rows (batch headers only: the file is memory-mapped) and record kind from the schema."""
    try:
        reader = open_arrow(path)
        names = reader.schema.names
        kind = guess_kind(names, options)
        if text_field_for(kind, options) not in names:
            return Scan(1, kind)
        rows = sum(batch.num_rows for batch in _batches(reader))
    except PARQUET_ERRORS:
        return Scan(1)
    return Scan(rows, kind) if rows else Scan(1, "empty")


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """The records of rows [start, stop) of one Arrow file."""
    if piece.kind == "empty":
        yield Reject(piece.path, "empty", "no records")
        return
    try:
        reader = open_arrow(piece.path)
        names = reader.schema.names
        text_field = text_field_for(piece.kind, options)
        if text_field not in names:
            yield Reject(piece.path, "missing_field", f"no {text_field!r} column; columns are {names}")
            return
        columns = [c for c in fields_needed(piece.kind, options) if c in names]
        batches = (batch.select(columns) for batch in _batches(reader))
        for number, values in iter_rows(batches, 0, piece.start, piece.stop):
            source = f"{piece.path}:{number + 1}"
            yield map_record(
                values, source=source, name=name, number=number + 1, kind=piece.kind, options=options
            )
    except PARQUET_ERRORS as error:
        yield reject_for_error(piece.path, piece.path, error)
