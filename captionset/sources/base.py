"""What every source shares: options, the slice of an input a shard reads, and shard planning."""

from __future__ import annotations

from dataclasses import dataclass

#: Input formats a user can ask for; "auto" detects each file's format from its name and content.
FORMATS: tuple[str, ...] = ("auto", "text", "jsonl", "csv", "parquet", "story", "cnndm", "hf")


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How inputs are found and mapped to articles (field names apply to JSONL/CSV/Parquet/HF inputs).

    ``format="cnndm"`` reads records holding the Hugging Face ``cnn_dailymail`` fields (``article``,
    ``highlights``, ``id``) from any record container (JSONL, CSV, Parquet, a dataset saved on disk);
    ``auto`` picks it when a container has ``article`` and ``highlights`` but no text field.
    Field names left at None mean the conventional ones when a record has them: ``id``, ``title``,
    ``url``, ``date``. ``cnndm_blocks`` says how the story text between recovered line ends is cut into blocks:
    ``sentence`` (one block per sentence, as Daily Mail paragraphs mostly are) or ``run``.
    """

    format: str = "auto"
    glob: str | None = None
    text_field: str = "text"
    id_field: str | None = None
    title_field: str | None = None
    url_field: str | None = None
    date_field: str | None = None
    max_record_bytes: int = 32 * 1024 * 1024
    cnndm_blocks: str = "sentence"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown input format {self.format!r}; choose from {', '.join(FORMATS)}")
        if self.cnndm_blocks not in ("sentence", "run"):
            raise ValueError(f"cnndm_blocks must be 'sentence' or 'run', not {self.cnndm_blocks!r}")


@dataclass(frozen=True, slots=True)
class InputSlice:
    """A part of one input that one shard reads: a whole file, or records [start, stop) of a file.

    ``format`` is the reader (text, story, jsonl, csv, parquet, hf); ``kind`` says how a record's fields
    map to an article ("fields" via the options' field names, or "cnndm"). ``offset`` is the byte offset
    of record ``start`` in an uncompressed JSONL/CSV file (0 = count records from the beginning), so
    that a shard deep inside a large file seeks instead of re-reading what came before it.
    """

    path: str
    format: str
    root: str
    start: int = 0
    stop: int | None = None
    offset: int = 0
    kind: str = "fields"


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """The unit of work: the slices one worker reads, parses, aligns and writes as one part."""

    index: int
    slices: tuple[InputSlice, ...]


DEFAULT_SOURCE_OPTIONS = SourceOptions()
