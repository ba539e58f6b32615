"""Sources: turn inputs (files, folders, exports) into a stable stream of raw records, in shards.

A reader never decides labels; it yields RawRecord (an article to parse) or Reject (an input that
cannot become an article, with its reason).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..ids import article_id_for
from ..model import RawRecord, Reject
from .base import DEFAULT_SOURCE_OPTIONS, InputSlice, ShardSpec, SourceOptions
from .files import find_files

__all__ = ["InputSlice", "ShardSpec", "SourceOptions", "find_files", "plan_shards", "read_slice"]


def _relative_name(path: Path, root: Path) -> str:
    """The name an article id is derived from: the path relative to the input it was found under."""
    if root.is_dir():
        return path.relative_to(root).as_posix()
    return path.name


def plan_shards(
    inputs: Iterable[str | os.PathLike[str]],
    options: SourceOptions = DEFAULT_SOURCE_OPTIONS,
    articles_per_shard: int = 1000,
) -> list[ShardSpec]:
    """Split the inputs into shards of about articles_per_shard articles, in a stable order."""
    slices: list[InputSlice] = []
    for given in inputs:
        root = Path(given)
        for path in find_files([root], options.glob or "*.txt"):
            slices.append(InputSlice(path=str(path), format="text", root=str(root)))
    return [
        ShardSpec(index=i, slices=tuple(slices[start : start + articles_per_shard]))
        for i, start in enumerate(range(0, len(slices), articles_per_shard))
    ]


def read_slice(
    piece: InputSlice, options: SourceOptions = DEFAULT_SOURCE_OPTIONS
) -> Iterator[RawRecord | Reject]:
    """Yield the raw records of one slice; an input that cannot be read becomes a Reject."""
    path = Path(piece.path)
    name = _relative_name(path, Path(piece.root))
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        yield Reject(source=piece.path, reason="not_a_file", detail="is a directory")
        return
    except OSError as error:
        yield Reject(
            source=piece.path, reason="unreadable", detail=f"{type(error).__name__}: {error.strerror}"
        )
        return
    yield RawRecord(source=piece.path, article_id=article_id_for(name), data=data)
