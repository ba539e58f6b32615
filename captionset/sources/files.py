"""Finding input files: folders are searched recursively, in a stable (sorted) order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def find_files(paths: Iterable[str | os.PathLike[str]], pattern: str = "*.txt") -> Iterator[Path]:
    """Yield files named on the command line as given, and files matching pattern under folders, sorted."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [p for p in path.rglob(pattern) if not p.is_dir()]
            yield from sorted(found, key=lambda p: p.relative_to(path).as_posix())
        else:
            yield path
