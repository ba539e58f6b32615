"""Plain-text articles: one article per file (optionally compressed); the parser decodes the bytes."""

from __future__ import annotations

from collections.abc import Iterator

from ..ids import article_id_for
from ..model import RawRecord, Reject
from .base import InputSlice, SourceOptions
from .common import READ_ERRORS, read_whole, reject_for_error


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """The file's bytes as one RawRecord; its id is a hash of its name relative to the input root."""
    try:
        data = read_whole(piece.path, options.max_record_bytes)
    except READ_ERRORS as error:
        yield reject_for_error(piece.path, piece.path, error)
        return
    if not data.strip():
        yield Reject(piece.path, "empty", "no text")
        return
    yield RawRecord(source=piece.path, article_id=article_id_for(name), data=data)
