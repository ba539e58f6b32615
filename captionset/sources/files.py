"""Finding input files and telling their formats: folders are searched recursively, in a stable order."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .compression import MAGIC, open_binary, strip_compression_suffix

#: File name extensions (after any compression suffix) and the reader each one gets.
EXTENSIONS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".story": "story",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "hf",
}
#: Readers whose files hold many records (the others hold one article per file).
RECORD_FORMATS: frozenset[str] = frozenset({"jsonl", "csv", "parquet", "hf"})
_PARQUET_MAGIC = b"PAR1"
# An Arrow IPC stream (what save_to_disk writes) opens with a continuation marker; a file with "ARROW1".
_ARROW_MAGIC = (b"\xff\xff\xff\xff", b"ARROW1")


def find_files(paths: Iterable[str | os.PathLike[str]], pattern: str = "*.txt") -> Iterator[Path]:
    """Yield files named on the command line as given, and files matching pattern under folders, sorted."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [p for p in path.rglob(pattern) if not p.is_dir()]
            yield from sorted(found, key=lambda p: p.relative_to(path).as_posix())
        else:
            yield path


def format_of_name(name: str) -> str | None:
    """The reader a file name asks for (``a.jsonl.gz`` -> jsonl), or None when the name says nothing."""
    base = strip_compression_suffix(name.lower())
    return EXTENSIONS.get(base[base.rfind(".") :]) if "." in base.rsplit("/", 1)[-1] else None


def sniff_format(path: Path) -> str:
    """The reader for a file whose name says nothing, from its first bytes (text when in doubt)."""
    try:
        stream, _ = open_binary(path)
        with stream:
            head = stream.read(4096)
    except (OSError, EOFError, ValueError):
        return "text"  # the text reader turns the error into a Reject
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ARROW_MAGIC):
        return "hf"
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    if head.startswith(b"@highlight") or b"\n@highlight\n" in head:
        return "story"
    return "text"


def is_hf_dataset(path: Path) -> bool:
    """A folder written by ``datasets`` ``save_to_disk`` (a Dataset or a DatasetDict)."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def hf_data_files(path: Path) -> list[Path]:
    """The Arrow files of a saved Dataset, or of every split of a saved DatasetDict, in order."""
    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        return [file for split in splits for file in hf_data_files(path / split)]
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    return [path / entry["filename"] for entry in state["_data_files"]]


@dataclass(frozen=True, slots=True)
class Found:
    """One input found under a root: a file, an HF dataset folder, or a folder named like a file."""

    path: Path
    kind: str  # "file" | "hf" | "dir"


def _matches(rel: str, pattern: str | None, formats: frozenset[str] | None) -> bool:
    if pattern is not None:
        return PurePosixPath(rel).match(pattern)
    found = format_of_name(rel)
    return found is not None and (formats is None or found in formats)


def walk(root: Path, pattern: str | None, formats: frozenset[str] | None) -> list[Found]:
    """Everything under root that is an input, sorted by relative path.

    With a glob pattern, every file it matches; without one, files whose extension is a known format
    (restricted to ``formats`` when given). Folders saved by ``datasets`` are one input each. A folder
    whose name matches (``x.txt/``) is reported as "dir" so the reader can reject it, and is searched too.
    Symbolic links are listed but not followed into folders (no cycles). Strings, not Path objects, in
    the loop: planning 100k files must stay cheap.
    """
    found: list[tuple[str, Found]] = []
    top = os.fspath(root)
    for folder, dirnames, filenames in os.walk(top):
        prefix = folder[len(top) :].lstrip(os.sep).replace(os.sep, "/")
        prefix = f"{prefix}/" if prefix else ""
        kept = []
        for name in sorted(dirnames):
            sub = Path(folder, name)
            rel = prefix + name
            if (formats is None or "hf" in formats) and is_hf_dataset(sub):
                found.append((rel, Found(sub, "hf")))
                continue
            if _matches(rel, pattern, formats):
                found.append((rel, Found(sub, "dir")))
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            rel = prefix + name
            if _matches(rel, pattern, formats):
                found.append((rel, Found(Path(folder, name), "file")))
    found.sort(key=lambda item: item[0])
    return [item for _, item in found]


__all__ = [
    "EXTENSIONS",
    "MAGIC",
    "RECORD_FORMATS",
    "Found",
    "find_files",
    "format_of_name",
    "hf_data_files",
    "is_hf_dataset",
    "sniff_format",
    "walk",
]
