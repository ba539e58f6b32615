"""Writing Parquet: one explicit schema per table, zstd, row groups of a fixed row count, no timestamps.

Row groups are cut at fixed row counts (not at the boundaries of the batches handed in), so a file's bytes
depend only on its rows, never on how the work was sharded: that is what makes rebuilds byte-identical
whatever the worker count or engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .schema import DICTIONARY_COLUMNS

#: Rows per row group, per table: about 10-25 MB uncompressed for typical rows (a caption row carries its
#: context window and related paragraphs, ~5 KB; an article its whole body; a block ~250 B). ecosystem.md
#: §4 allows up to ~100k rows or 100 MB; smaller groups keep the final step's memory down (it holds a
#: buffer per split and table while it routes rows), buffered so that each write closes one full row group.
ROW_GROUP_ROWS: dict[str, int] = {"captions": 2_000, "articles": 2_000, "blocks": 100_000, "keys": 100_000}
#: Rows per published file, so that each stays well under the Hub's 500 MB shard size.
SHARD_ROWS: dict[str, int] = {"captions": 100_000, "articles": 50_000, "blocks": 1_000_000}
ZSTD_LEVEL = 3
#: Parquet options of the published files: statistics and page indexes for readers that filter, and
#: content-defined chunking so that a rebuild uploads only the pages that changed.
PUBLISHED_OPTIONS: dict[str, bool] = {
    "write_statistics": True,
    "write_page_index": True,
    "use_content_defined_chunking": True,
}
#: The parts workers write are read back whole, once, by the final step: none of that pays for itself
#: there (~15 % of a part's write time); the rows and so the published files are the same.
PART_OPTIONS: dict[str, bool] = {
    "write_statistics": False,
    "write_page_index": False,
    "use_content_defined_chunking": False,
}


def file_metadata(config: str, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Key-value metadata for a file: captionset version, table, and (JSON) whatever the caller adds."""
    metadata = {"captionset.version": __version__, "captionset.config": config}
    for key, value in (extra or {}).items():
        metadata[f"captionset.{key}"] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return metadata


class TableWriter:
    """A Parquet file written through a fixed schema, buffering rows into full row groups."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: pa.Schema,
        config: str,
        metadata: Mapping[str, str] | None = None,
        row_group_rows: int | None = None,
        options: Mapping[str, bool] = PUBLISHED_OPTIONS,
    ) -> None:
        self.path = Path(path)
        self.schema = schema.with_metadata(dict(metadata or {}))
        self.row_group_rows = row_group_rows or ROW_GROUP_ROWS.get(config, 50_000)
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        dictionary = [c for c in DICTIONARY_COLUMNS.get(config, ()) if c in schema.names]
        self._writer = pq.ParquetWriter(
            self.path,
            self.schema,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            use_dictionary=dictionary or False,
            **options,
        )

    def write(self, table: pa.Table) -> None:
        """Append rows (a table or record batch in this writer's schema); full row groups go to disk."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.cast(self.schema)
        self._buffer.append(table)
        self._buffered += table.num_rows
        while self._buffered >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append rows given as dicts (keys = column names)."""
        if rows:
            self.write(pa.Table.from_pylist(rows, schema=self.schema))

    def _flush(self, count: int) -> None:
        table = pa.concat_tables(self._buffer)
        head, rest = table.slice(0, count), table.slice(count)
        self._writer.write_table(head.combine_chunks(), row_group_size=count)
        self.rows += head.num_rows
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    def close(self) -> None:
        """Write what is buffered (the last, short row group) and the footer."""
        if self._buffered:
            self._flush(self._buffered)
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(
    path: str | os.PathLike[str],
    table: pa.Table,
    config: str,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a whole table to one file (used for the parts a worker writes: PART_OPTIONS)."""
    with TableWriter(path, table.schema, config, metadata, options=PART_OPTIONS) as writer:
        writer.write(table)


def shard_count(rows: int, config: str) -> int:
    """How many files a split of a config gets (none for an empty split)."""
    return math.ceil(rows / SHARD_ROWS.get(config, 100_000))


def shard_name(split: str, index: int, count: int) -> str:
    """The Hugging Face shard name: ``train-00000-of-00002.parquet``."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


@dataclass(slots=True)
class SplitFiles:
    """What was written for one split of one config: the card and the manifest report these."""

    split: str
    num_examples: int = 0
    num_bytes: int = 0
    files: list[str] = field(default_factory=list)
    file_bytes: int = 0
    sha256: str = ""


class ShardedWriter:
    """Writes one split of one config as ``{split}-{i:05d}-of-{n:05d}.parquet`` files.

    The total row count must be known up front (the name says ``-of-n``). An empty split gets no file:
    `datasets` cannot load a split without rows ("corresponds to no data"), so the card leaves it out.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        schema: pa.Schema,
        config: str,
        split: str,
        total_rows: int,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema, self.config, self.split, self.total_rows = schema, config, split, total_rows
        self.metadata = dict(metadata or {})
        self.per_file = SHARD_ROWS.get(config, 100_000)
        self.count = shard_count(total_rows, config)
        self.written = 0
        self._index = 0
        self._writer: TableWriter | None = None
        self._paths: list[Path] = []

    def _open(self) -> TableWriter:
        path = self.folder / shard_name(self.split, self._index, self.count)
        self._paths.append(path)
        return TableWriter(path, self.schema, self.config, self.metadata)

    def write(self, table: pa.Table) -> None:
        """Append rows in order, starting a new file every SHARD_ROWS rows."""
        while table.num_rows:
            if self._writer is None:
                self._writer = self._open()
            room = self.per_file - self._writer.rows - self._writer._buffered
            head, table = table.slice(0, room), table.slice(room)
            self._writer.write(head)
            self.written += head.num_rows
            if self._writer.rows + self._writer._buffered >= self.per_file:
                self._writer.close()
                self._writer = None
                self._index += 1

    def close(self) -> SplitFiles:
        """Finish the files; returns their sizes and digest. Raises if fewer rows came than announced."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.written != self.total_rows or len(self._paths) != self.count:
            raise RuntimeError(
                f"{self.config}/{self.split}: wrote {self.written} rows in {len(self._paths)} files, "
                f"expected {self.total_rows} in {self.count}"
            )
        result = SplitFiles(self.split, num_examples=self.written)
        digest = hashlib.sha256()
        for path in self._paths:
            meta = pq.read_metadata(path)
            result.num_bytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            result.file_bytes += path.stat().st_size
            result.files.append(f"{self.folder.name}/{path.name}")
            digest.update(file_sha256(path).encode())
        result.sha256 = digest.hexdigest()
        return result


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file so that a crash leaves either the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows as JSON lines (atomically); returns the number of rows."""
    lines = [json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows]
    atomic_write_text(path, "".join(lines))
    return len(lines)
