"""CSV and TSV files with a header row (optionally compressed); shards read ranges of records.

A record is named ``path:N``, N being its 1-based row number after the header (quoted fields may span
lines, so rows are counted by the csv module, not by lines).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from ..model import RawRecord, Reject
from .base import InputSlice, SourceOptions
from .common import READ_ERRORS, Scan, TooLarge, cut_points, iter_lines, reject_for_error
from .compression import open_binary, strip_compression_suffix
from .records import guess_kind, map_record, text_field_for


class _Lines:
    """Decoded lines for csv.reader, counting the bytes consumed so a row's start offset is known."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._lines = iter_lines(stream, limit)
        self.pos = 0
        self._first = True

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line, size = next(self._lines)
        self.pos += size
        if line is None:
            raise TooLarge(f"a line is longer than {size - 1} bytes")
        text = line.decode("utf-8", errors="replace")
        if self._first:
            self._first = False
            text = text.removeprefix("\ufeff")
        return text


def _dialect(path: str) -> str:
    return "excel-tab" if PurePosixPath(strip_compression_suffix(path.lower())).suffix == ".tsv" else "excel"


def _open(
    path: str, options: SourceOptions
) -> tuple[BinaryIO, str | None, _Lines, Iterator[list[str]], list[str]]:
    """The stream, its compression, its line feed, a csv reader positioned after the header, the header."""
    csv.field_size_limit(max(csv.field_size_limit(), options.max_record_bytes))
    stream, codec = open_binary(path)
    feed = _Lines(stream, options.max_record_bytes)
    reader = csv.reader(feed, dialect=_dialect(path))
    try:
        header = next(reader, None) or []
    except BaseException:
        stream.close()
        raise
    return stream, codec, feed, reader, header


def scan(path: str, options: SourceOptions, first_cut: int, step: int) -> Scan:
    """Count the rows, note the offsets of rows where shards cut, and check the header."""
    count = 0
    offsets: dict[int, int] = {}
    cuts = cut_points(first_cut, step)
    cut = next(cuts)
    try:
        stream, codec, feed, reader, header = _open(path, options)
    except (*READ_ERRORS, csv.Error):
        return Scan(1)
    kind = guess_kind(header, options)
    if text_field_for(kind, options) not in header:
        stream.close()
        return Scan(1, kind)  # the reader rejects the file for its missing column
    compressed = codec is not None
    with stream:
        try:
            while True:
                start = feed.pos
                if next(reader, None) is None:
                    break
                if count == cut:
                    offsets[count] = start
                    cut = next(cuts)
                count += 1
        except (*READ_ERRORS, csv.Error):
            return Scan(count + 1, kind, {} if compressed else offsets)
    if count == 0:
        return Scan(1, "empty")
    return Scan(count, kind, {} if compressed else offsets)


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """The records of rows [start, stop) of the file."""
    if piece.kind == "empty":
        yield Reject(piece.path, "empty", "no records")
        return
    index, stop = piece.start, piece.stop
    try:
        stream, _codec, _feed, reader, header = _open(piece.path, options)
    except (*READ_ERRORS, csv.Error) as error:
        yield reject_for_error(piece.path, piece.path, error)
        return
    with stream:
        text_field = text_field_for(piece.kind, options)
        if text_field not in header:
            yield Reject(piece.path, "missing_field", f"no {text_field!r} column; the header is {header!r}")
            return
        try:
            if piece.offset:
                stream.seek(piece.offset)
                reader = csv.reader(_Lines(stream, options.max_record_bytes), dialect=_dialect(piece.path))
            else:
                for _ in range(piece.start):
                    if next(reader, None) is None:
                        return
            while stop is None or index < stop:
                row = next(reader, None)
                if row is None:
                    return
                index += 1
                source = f"{piece.path}:{index}"
                if not row:
                    continue  # a blank line is not a record
                if len(row) != len(header):
                    yield Reject(source, "bad_record", f"{len(row)} fields, the header has {len(header)}")
                    continue
                yield map_record(
                    dict(zip(header, row, strict=True)),
                    source=source,
                    name=name,
                    number=index,
                    kind=piece.kind,
                    options=options,
                )
        except (*READ_ERRORS, csv.Error) as error:
            yield reject_for_error(f"{piece.path}:{index + 1}", piece.path, error)
