"""What every source shares: options, the slice of an input a shard reads, and shard planning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How inputs are found and mapped to articles (field names apply to JSONL/CSV/Parquet/HF inputs)."""

    format: str = "auto"
    glob: str | None = None
    text_field: str = "text"
    id_field: str | None = None
    title_field: str | None = None
    url_field: str | None = None
    date_field: str | None = None


@dataclass(frozen=True, slots=True)
class InputSlice:
    """A part of one input that one shard reads: a whole file, or records [start, stop) of a file."""

    path: str
    format: str
    root: str
    start: int = 0
    stop: int | None = None


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """The unit of work: the slices one worker reads, parses, aligns and writes as one part."""

    index: int
    slices: tuple[InputSlice, ...]


DEFAULT_SOURCE_OPTIONS = SourceOptions()
