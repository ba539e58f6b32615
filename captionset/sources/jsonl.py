"""JSON Lines: one JSON object per line (optionally compressed); shards read ranges of lines.

A record is named ``path:LINE`` (1-based). Blank lines are not records. Planning counts lines and notes
the byte offset of each line where a shard starts, so a shard seeks straight to its first line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..model import RawRecord, Reject
from .base import InputSlice, SourceOptions
from .common import READ_ERRORS, Scan, cut_points, iter_lines, reject_for_error
from .compression import open_binary
from .records import guess_kind, map_record


def _first_keys(line: bytes) -> list[str]:
    try:
        row = json.loads(line)
    except ValueError:
        return []
    return list(row) if isinstance(row, dict) else []


def scan(path: str, options: SourceOptions, first_cut: int, step: int) -> Scan:
    """Count the lines of a file, note the offsets of lines where shards cut, guess the record kind."""
    count = pos = nonblank = 0
    offsets: dict[int, int] = {}
    cuts = cut_points(first_cut, step)
    cut = next(cuts)
    keys: list[str] | None = None
    try:
        stream, codec = open_binary(path)
        with stream:
            for line, size in iter_lines(stream, options.max_record_bytes):
                if count == cut:
                    offsets[count] = pos
                    cut = next(cuts)
                if line is None or line.strip():
                    nonblank += 1
                    if keys is None and line is not None:
                        keys = _first_keys(line)
                count += 1
                pos += size
    except READ_ERRORS:
        return Scan(count + 1, guess_kind(keys or [], options), {} if count == 0 else offsets)
    if nonblank == 0:
        return Scan(1, "empty")
    return Scan(count, guess_kind(keys or [], options), offsets if codec is None else {})


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """The records of lines [start, stop) of the file."""
    if piece.kind == "empty":
        yield Reject(piece.path, "empty", "no records")
        return
    stop = piece.stop
    index = piece.start
    try:
        stream, _ = open_binary(piece.path)
        with stream:
            if piece.offset:
                stream.seek(piece.offset)
                lines = iter_lines(stream, options.max_record_bytes)
            else:
                lines = iter_lines(stream, options.max_record_bytes)
                for _ in range(piece.start):
                    if next(lines, None) is None:
                        return
            for line, _size in lines:
                if stop is not None and index >= stop:
                    return
                source = f"{piece.path}:{index + 1}"
                index += 1
                if line is None:
                    yield Reject(source, "too_large", f"line longer than {options.max_record_bytes} bytes")
                    continue
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as error:
                    yield Reject(source, "bad_json", str(error))
                    continue
                yield map_record(
                    row, source=source, name=name, number=index, kind=piece.kind, options=options
                )
    except READ_ERRORS as error:
        if stop is None or index < stop:
            yield reject_for_error(f"{piece.path}:{index + 1}" if index else piece.path, piece.path, error)
