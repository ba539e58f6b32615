"""Sources: turn inputs (files, folders, exports) into a stable stream of raw records, in shards.

A reader never decides labels; it yields RawRecord (an article to parse) or Reject (an input that
cannot become an article, with its reason). Formats (``SourceOptions.format``):

- ``text``: one article per file (``*.txt``); ``story``: CNN/DailyMail ``.story`` files;
- ``jsonl``, ``csv`` (and ``.tsv``), ``parquet``, ``hf`` (``datasets`` ``save_to_disk`` folders and
  Arrow files): many records per file, mapped with the ``*_field`` options;
- ``cnndm``: records of the Hugging Face ``cnn_dailymail`` dataset in any of those containers;
- ``auto`` (default): each file by its extension, else by its first bytes; folders are searched
  recursively (``glob`` narrows them). gzip/bz2/xz/zstd files are decompressed on the fly.

Planning is cheap and streaming: one-article files are listed, record files are counted (JSONL/CSV by
lines or rows, noting the byte offset of each shard's first record; Parquet and Arrow from metadata),
and shards take ``articles_per_shard`` records each, cutting files into record ranges.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from ..model import RawRecord, Reject
from . import csvfile, hf, jsonl, parquet, story, textfile
from .base import DEFAULT_SOURCE_OPTIONS, FORMATS, InputSlice, ShardSpec, SourceOptions
from .common import Scan, special_file_kind
from .compression import strip_compression_suffix
from .files import (
    RECORD_FORMATS,
    find_files,
    format_of_name,
    hf_data_files,
    is_hf_dataset,
    sniff_format,
    walk,
)

__all__ = [
    "DEFAULT_SOURCE_OPTIONS",
    "FORMATS",
    "InputSlice",
    "ShardSpec",
    "SourceOptions",
    "find_files",
    "plan_shards",
    "read_slice",
    "relative_name",
]

_READERS = {
    "text": textfile.read,
    "story": story.read,
    "jsonl": jsonl.read,
    "csv": csvfile.read,
    "parquet": parquet.read,
    "hf": hf.read,
}
_SCANNERS: dict[str, Callable[[str, SourceOptions, int, int], Scan]] = {
    "jsonl": jsonl.scan,
    "csv": csvfile.scan,
    "parquet": parquet.scan,
    "hf": hf.scan,
}


def relative_name(path: str | Path, root: str | Path) -> str:
    """The name an article id is derived from: the path relative to the input it was found under (the
    file name for a file given directly), without a compression suffix (compressing keeps ids)."""
    path, root = Path(path), Path(root)
    try:
        name = path.relative_to(root).as_posix() if root.is_dir() else path.name
    except ValueError:
        name = path.name
    return strip_compression_suffix(name or path.name)


def _file_format(path: Path, options: SourceOptions) -> str:
    """The reader for one file, from the asked format, else its name, else its first bytes."""
    if options.format not in ("auto", "cnndm"):
        return options.format
    # A pipe or device is never opened to sniff it: read_slice rejects it.
    found = format_of_name(path.name) or ("text" if special_file_kind(path) else sniff_format(path))
    if options.format == "cnndm" and found not in RECORD_FORMATS:
        return "jsonl"
    return found


def _walk_formats(options: SourceOptions) -> frozenset[str] | None:
    if options.format == "auto":
        return None
    if options.format == "cnndm":
        return RECORD_FORMATS
    return frozenset({options.format})


class _Packer:
    """Fills shards with articles_per_shard record slots each, cutting record files into ranges."""

    def __init__(self, articles_per_shard: int) -> None:
        self.size = articles_per_shard
        self.shards: list[ShardSpec] = []
        self.current: list[InputSlice] = []
        self.fill = 0

    def add(self, piece: InputSlice, count: int = 1, offsets: dict[int, int] | None = None) -> None:
        if count == 1 and piece.format not in RECORD_FORMATS:
            self._push(piece, 1)
            return
        start = 0
        while start < count:
            take = min(self.size - self.fill, count - start)
            offset = (offsets or {}).get(start, 0)
            self._push(replace(piece, start=start, stop=start + take, offset=offset), take)
            start += take

    def _push(self, piece: InputSlice, count: int) -> None:
        self.current.append(piece)
        self.fill += count
        if self.fill >= self.size:
            self.finish()

    def finish(self) -> None:
        if self.current:
            self.shards.append(ShardSpec(index=len(self.shards), slices=tuple(self.current)))
        self.current, self.fill = [], 0


def _add_file(packer: _Packer, path: Path, root: Path, fmt: str, options: SourceOptions) -> None:
    piece = InputSlice(path=str(path), format=fmt, root=str(root))
    scanner = _SCANNERS.get(fmt)
    if scanner is None or special_file_kind(path):
        packer.add(piece)
        return
    scan = scanner(str(path), options, packer.size - packer.fill, packer.size)
    packer.add(replace(piece, kind=scan.kind), scan.count, scan.offsets)


def plan_shards(
    inputs: Iterable[str | os.PathLike[str]],
    options: SourceOptions = DEFAULT_SOURCE_OPTIONS,
    articles_per_shard: int = 1000,
) -> list[ShardSpec]:
    """Split the inputs into shards of articles_per_shard record slots (the last may hold fewer), in a
    stable order: inputs as given, files under a folder sorted by relative path, records in file order.

    Never raises for a bad input: it gets a slot in which read_slice yields its Reject.
    """
    if articles_per_shard < 1:
        raise ValueError("articles_per_shard must be at least 1")
    packer = _Packer(articles_per_shard)
    pattern = options.glob
    formats = _walk_formats(options)
    for given in inputs:
        root = Path(given)
        if root.is_dir() and (
            options.format == "hf" or (options.format in ("auto", "cnndm") and is_hf_dataset(root))
        ):
            _add_hf(packer, root, root, options)
        elif root.is_dir():
            for found in walk(root, pattern, formats):
                if found.kind == "hf":
                    _add_hf(packer, found.path, root, options)
                elif found.kind == "dir":
                    fmt = (
                        options.format
                        if options.format != "auto"
                        else (format_of_name(found.path.name) or "text")
                    )
                    packer.add(
                        InputSlice(
                            path=str(found.path), format="text" if fmt == "cnndm" else fmt, root=str(root)
                        )
                    )
                else:
                    _add_file(packer, found.path, root, _file_format(found.path, options), options)
        else:
            _add_file(packer, root, root, _file_format(root, options), options)
    packer.finish()
    return packer.shards


def _add_hf(packer: _Packer, folder: Path, root: Path, options: SourceOptions) -> None:
    try:
        files = hf_data_files(folder)
    except (OSError, ValueError, KeyError, TypeError):
        files = [folder / "state.json"]  # hf.read rejects it: not an Arrow file
    for path in files:
        _add_file(packer, path, root, "hf", options)


def read_slice(
    piece: InputSlice, options: SourceOptions = DEFAULT_SOURCE_OPTIONS
) -> Iterator[RawRecord | Reject]:
    """Yield the raw records of one slice, streaming; an input that cannot be read becomes a Reject."""
    reader = _READERS.get(piece.format)
    if reader is None:
        yield Reject(piece.path, "unsupported", f"no reader for format {piece.format!r}")
        return
    special = special_file_kind(piece.path)
    if special:
        yield Reject(piece.path, "not_a_file", f"is {special}")
        return
    name = relative_name(piece.path, piece.root)
    try:
        yield from reader(piece, options, name)
    except Exception as error:  # a reader bug must not crash a build: the input becomes a Reject
        yield Reject(piece.path, "reader_error", f"{type(error).__name__}: {error}")
