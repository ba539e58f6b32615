"""Reading: turn the bytes of one article into text, robustly, and say which encoding was used.

Offsets everywhere in captionset are character offsets into the text this module returns. Newlines are
normalised to ``\\n`` (as Python's text mode does), so ``Path.read_text()`` of a UTF-8 file gives the same
string and the same offsets.
"""

from __future__ import annotations

import codecs
import re

# A NUL byte (outside UTF-16) or a high share of control bytes means the file is not text.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# The bytes _CONTROL_BYTES matches, for counting them with bytes.translate (a table look-up per byte,
# where the pattern's findall builds a list of every match).
_CONTROL_BYTE_SET = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20)])


class DecodeError(ValueError):
    """The bytes are not text in any encoding we accept; ``reason`` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF, so offsets match ``open(..., 'r')`` on every platform."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode article bytes: BOMs first, then UTF-8, then cp1252, then latin-1. Returns (text, encoding).

    Raises DecodeError for binary data (NUL bytes or many control bytes). The text never holds a lone
    surrogate (every decoder here refuses them; errors="replace" writes U+FFFD): parse relies on it.
    """
    if data.startswith(codecs.BOM_UTF8):
        return normalise_newlines(data[3:].decode("utf-8", errors="replace")), "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):
            return normalise_newlines(data.decode(name, errors="replace")), name
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return normalise_newlines(data.decode("utf-16", errors="replace")), "utf-16"
    sample = data[:65536]
    if b"\x00" in sample:
        raise DecodeError("binary", "NUL bytes: not a text file")
    if sample and len(sample) - len(sample.translate(None, _CONTROL_BYTE_SET)) > max(8, len(sample) // 100):
        raise DecodeError("binary", "too many control bytes: not a text file")
    try:
        return normalise_newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte.
        return normalise_newlines(data.decode("latin-1")), "latin-1"
    return normalise_newlines(text), "cp1252"


#: The encoding to_text reports for a text given as a str (which, unlike decoded bytes, may hold lone
#: surrogates).
STR_ENCODING = "str"


def to_text(data: bytes | str) -> tuple[str, str]:
    """Accept bytes or an already decoded string; return (text, encoding)."""
    if isinstance(data, str):
        return normalise_newlines(data), STR_ENCODING
    return decode_bytes(data)
