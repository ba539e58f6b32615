"""Compressed inputs: gzip, bz2, xz and zstd files are read as streams, detected by their magic bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO

import zstandard

# The first bytes of each compressed format; the file name is only a fallback.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
SUFFIXES: dict[str, str] = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".zst": "zstd",
    ".zstd": "zstd",
}

#: What a broken compressed stream raises: a truncated file (EOFError) or bad data.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)

_CHUNK = 1 << 20


def compression_of(path: str | Path, head: bytes | None = None) -> str | None:
    """The compression of a file by its magic bytes (read here unless given), else by its suffix."""
    if head is None:
        try:
            with open(path, "rb") as handle:
                head = handle.read(8)
        except OSError:
            head = b""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return SUFFIXES.get(Path(path).suffix.lower())


_SUFFIX_TUPLE = tuple(SUFFIXES)


def strip_compression_suffix(name: str) -> str:
    """``a/b.jsonl.gz`` -> ``a/b.jsonl``: ids and formats ignore how a file was compressed."""
    lower = name.lower()
    if lower.endswith(_SUFFIX_TUPLE):
        for suffix in _SUFFIX_TUPLE:
            if lower.endswith(suffix):
                return name[: -len(suffix)]
    return name


class _ZstdRaw(io.RawIOBase):
    """A zstd stream that, unlike zstandard's stream_reader, raises EOFError when a frame is cut short."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._factory = zstandard.ZstdDecompressor()
        self._dobj = self._factory.decompressobj()
        self._pending = b""
        self._pos = 0
        self._in_frame = False  # a frame has begun and not ended

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        """Decompress more input into the pending buffer; False at a clean end of the stream."""
        parts = []
        while not parts:
            data = self._raw.read(_CHUNK)
            if not data:
                if self._in_frame:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                return False
            while data:
                self._in_frame = True
                parts.append(self._dobj.decompress(data))
                if self._dobj.eof:
                    data = self._dobj.unused_data
                    self._dobj = self._factory.decompressobj()
                    self._in_frame = False
                else:
                    data = b""
            parts = [p for p in parts if p]
        self._pending, self._pos = b"".join(parts), 0
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._pos >= len(self._pending) and not self._fill():
            return 0
        size = min(len(buffer), len(self._pending) - self._pos)
        buffer[:size] = self._pending[self._pos : self._pos + size]
        self._pos += size
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


#: Bytes that tell every format of MAGIC apart.
_MAGIC_BYTES = max(len(magic) for magic, _ in MAGIC)


def open_binary(path: str | Path) -> tuple[BinaryIO, str | None]:
    """Open a file for streaming reads, decompressing it when it is compressed; returns (stream, codec).

    A regular file is opened once: its first bytes are read through the handle that is returned (one
    open per article file instead of two, in a build that reads a file per article)."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        if not handle.seekable():  # a pipe or device: its first bytes could not be read again
            handle.close()
            return _open_by_name(path)
        head = handle.read(_MAGIC_BYTES)
        handle.seek(0)
        codec = compression_of(path, head)
    except BaseException:
        handle.close()
        raise
    if codec is None:
        return handle, None
    if codec == "zstd":
        return io.BufferedReader(_ZstdRaw(handle), _CHUNK), codec  # type: ignore[return-value]
    handle.close()
    return _open_by_name(path, codec)


def _open_by_name(path: str | Path, codec: str | None = None) -> tuple[BinaryIO, str | None]:
    """open_binary by the file's name: sniffs the codec (unless given) with an open of its own."""
    codec = codec or compression_of(path)
    if codec == "gzip":
        return gzip.open(path, "rb"), codec  # type: ignore[return-value]
    if codec == "bz2":
        return bz2.open(path, "rb"), codec  # type: ignore[return-value]
    if codec == "xz":
        return lzma.open(path, "rb"), codec  # type: ignore[return-value]
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if codec == "zstd":
        return io.BufferedReader(_ZstdRaw(handle), _CHUNK), codec  # type: ignore[return-value]
    return handle, None
