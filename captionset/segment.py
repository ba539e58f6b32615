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


def _spans(text: str, separator: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """Trimmed, non-empty spans of text[start:end] between separator matches."""
    spans: list[tuple[int, int]] = []
    pos = start
    for match in separator.finditer(text, start, end):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, end))
    return [span for s, e in spans if (span := _trim(text, s, e))]


def segment(text: str, max_blocks: int = MAX_BLOCKS) -> list[Block]:
    """Split text into unlabelled blocks whose offsets are in order and inside the text."""
    spans = _spans(text, BLANK_LINE, 0, len(text))
    if len(spans) <= 2 and text.count("\n") >= 3:
        # No paragraph breaks: a file with one paragraph per line.
        spans = [sub for s, e in spans for sub in _spans(text, LINE_BREAK, s, e)]
    if spans:
        s, e = spans[-1]
        match = TRAILING_BYLINE.search(text, max(s, e - BYLINE_TAIL_CHARS), e)
        if match and match.start() > s:
            spans[-1:] = [span for span in (_trim(text, s, match.start()), (match.start(1), e)) if span]
    if len(spans) > max_blocks:
        spans[max_blocks - 1 :] = [(spans[max_blocks - 1][0], spans[-1][1])]
    return [Block(index=i, start=s, end=e, text=text[s:e]) for i, (s, e) in enumerate(spans)]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)
