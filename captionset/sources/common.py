"""Helpers the readers share: bounded line streams, whole-file reads and errors turned into Rejects."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..model import Reject
from .compression import DECOMPRESSION_ERRORS, open_binary

#: Errors a reader turns into a Reject (never an exception out of read_slice).
READ_ERRORS: tuple[type[BaseException], ...] = (*DECOMPRESSION_ERRORS, OSError, ValueError)


class TooLarge(ValueError):
    """An article or record larger than SourceOptions.max_record_bytes (memory stays bounded)."""


@dataclass(slots=True)
class Scan:
    """What planning learns about a multi-record file: record slots, byte offsets of cut points, kind.

    Every slot yields at most one record or reject when read (blank JSONL lines yield nothing). A file
    that cannot be read or has no records gets one slot, in which its reader yields the Reject.
    """

    count: int
    kind: str = "fields"
    offsets: dict[int, int] = field(default_factory=dict)


#: File types that are neither files nor folders: opening a FIFO waits for a writer for ever, and a device
#: such as /dev/zero never ends, so they are rejected before anything opens them.
_SPECIAL_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_file_kind(path: str | Path) -> str | None:
    """What a path is when it is a pipe, socket or device (after symlinks), else None (files, folders,
    missing or unreadable paths are left to the readers, whose errors say what went wrong)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), None)


def reject_for_error(source: str, path: str | Path, error: BaseException) -> Reject:
    """A Reject whose reason says what went wrong with reading an input."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, TooLarge):
        return Reject(source, "too_large", str(error))
    if isinstance(error, EOFError):
        return Reject(source, "truncated", detail)
    if isinstance(error, DECOMPRESSION_ERRORS):
        return Reject(source, "corrupt", detail)
    if isinstance(error, IsADirectoryError):
        return Reject(source, "not_a_file", "is a directory")
    if isinstance(error, FileNotFoundError) and os.path.islink(path):
        return Reject(source, "broken_symlink", f"points to missing {os.readlink(path)}")
    if isinstance(error, FileNotFoundError):
        return Reject(source, "missing", detail)
    if isinstance(error, OSError):
        return Reject(source, "unreadable", f"{type(error).__name__}: {error.strerror or error}")
    return Reject(source, "unreadable", detail)


def read_whole(path: str | Path, limit: int) -> bytes:
    """The (decompressed) bytes of a one-article file; TooLarge when it is larger than limit.

    An uncompressed file is read by its size (``read(limit + 1)`` would allocate the whole limit, 32 MB,
    for every article: a third of the cost of reading a small file), then on to the limit if it grew."""
    stream, codec = open_binary(path)
    with stream:
        expected = limit
        if codec is None:
            with contextlib.suppress(OSError, ValueError):
                expected = min(limit, os.fstat(stream.fileno()).st_size)
        data = stream.read(expected + 1)
        if expected < len(data) <= limit:  # larger than its size said: read what a whole read would
            data += stream.read(limit + 1 - len(data))
    if len(data) > limit:
        raise TooLarge(f"larger than {limit} bytes")
    return data


def iter_lines(stream: BinaryIO, limit: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, size) for each line of a binary stream; line is None when longer than limit (then skipped)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            while True:
                more = stream.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield None, size
        else:
            yield line, len(line)


def cut_points(first: int, step: int) -> Iterator[int]:
    """The record indices at which shards will cut a file (first, first + step, ...)."""
    cut = first
    while True:
        yield cut
        cut += step
