"""Segmenting: split decoded article text into blocks with character offsets.

Blocks are the text split on blank lines (the convention of the labelled corpus), each trimmed of
surrounding white space. A text with no blank lines at all is split on line breaks instead, and a
byline line glued to the end of the last paragraph is split off.
"""

from __future__ import annotations

import re

from .model import Block

# A blank line (possibly holding spaces or tabs) separates blocks, as in the corpus format.
BLANK_LINE = re.compile(r"\n[ \t\xa0]*\n")
# One line break: the separator when a text has no blank lines at all (one paragraph per line).
LINE_BREAK = re.compile(r"\n")
# A last line that is a byline ("By NAME dd/mm/YYYY HH:MM:SS" or just the date stamp).
TRAILING_BYLINE = re.compile(
    r"\n((?:By [^\n]{1,200}?)?\s*\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?)[ \t]*\Z"
)

#: Blocks beyond this count are merged into the last one: a guard against pathological inputs.
MAX_BLOCKS = 5000
#: How far from the end a trailing byline is looked for (a byline line is far shorter): the search stays
#: cheap on a last block of megabytes.
BYLINE_TAIL_CHARS = 1000


#: A span of the text: its start and end offsets and its characters (text[start:end], kept so that no
#: block's text is sliced twice).
Span = tuple[int, int, str]


# The separators as one capturing group: re.split then returns the pieces with the separators between
# them, from which the offsets follow (one call instead of a match object per separator).
_SPLITTERS: dict[re.Pattern[str], re.Pattern[str]] = {
    BLANK_LINE: re.compile(f"({BLANK_LINE.pattern})"),
    LINE_BREAK: re.compile(f"({LINE_BREAK.pattern})"),
}


def _spans(text: str, separator: re.Pattern[str], start: int, end: int) -> list[Span]:
    """Trimmed, non-empty spans of text[start:end] between separator matches."""
    spans: list[Span] = []
    splitter = _SPLITTERS.get(separator) or re.compile(f"({separator.pattern})", separator.flags)
    parts = splitter.split(text if start == 0 and end == len(text) else text[start:end])
    pos = start
    for k in range(0, len(parts), 2):  # pieces at even places, each separator after its piece
        piece = parts[k]
        stripped = piece.strip()
        if stripped:
            # The first character left is the first that is not white space: its first occurrence is
            # where it stands.
            lead = pos + piece.find(stripped[0])
            spans.append((lead, lead + len(stripped), stripped))
        pos += len(piece) + (len(parts[k + 1]) if k + 1 < len(parts) else 0)
    return spans


def segment(text: str, max_blocks: int = MAX_BLOCKS) -> list[Block]:
    """Split text into unlabelled blocks whose offsets are in order and inside the text."""
    spans = _spans(text, BLANK_LINE, 0, len(text))
    if len(spans) <= 2 and text.count("\n") >= 3:
        # No paragraph breaks: a file with one paragraph per line.
        spans = [sub for s, e, _ in spans for sub in _spans(text, LINE_BREAK, s, e)]
    if spans:
        s, e, _ = spans[-1]
        match = TRAILING_BYLINE.search(text, max(s, e - BYLINE_TAIL_CHARS), e)
        if match and match.start() > s:
            head = _trim(text, s, match.start())
            byline = (match.start(1), e, text[match.start(1) : e])
            spans[-1:] = [head, byline] if head else [byline]
    if len(spans) > max_blocks:
        s, e = spans[max_blocks - 1][0], spans[-1][1]
        spans[max_blocks - 1 :] = [(s, e, text[s:e])]
    return [Block(i, s, e, piece) for i, (s, e, piece) in enumerate(spans)]


def _trim(text: str, start: int, end: int) -> Span | None:
    """text[start:end] without its surrounding white space (str.strip's), or None when nothing is left."""
    stripped = text[start:end].strip()
    if not stripped:
        return None
    # The first character left is the first that is not white space: its first occurrence is where it
    # stands (one find instead of an lstrip copy).
    lead = text.find(stripped[0], start, end)
    return lead, lead + len(stripped), stripped
