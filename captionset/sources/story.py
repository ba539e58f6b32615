"""CNN/DailyMail ``.story`` files: story paragraphs separated by blank lines, then ``@highlight`` blocks.

The file name is the SHA-1 of the article URL, so it is the article id. Titles are not in the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from ..model import RawRecord, Reject
from ..text import DecodeError, decode_bytes
from .base import InputSlice, SourceOptions
from .common import READ_ERRORS, read_whole, reject_for_error

# The line that opens each highlight.
HIGHLIGHT_MARK = re.compile(r"^[ \t]*@highlight[ \t]*$", re.M)


def split_story(text: str) -> tuple[str, list[str]]:
    """(story text, highlights): the story is the text before the first ``@highlight``, unchanged, so
    offsets into it are offsets into the file; each highlight is the text up to the next mark."""
    marks = list(HIGHLIGHT_MARK.finditer(text))
    if not marks:
        return text.rstrip(), []
    story = text[: marks[0].start()].rstrip()
    highlights = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        highlight = " ".join(text[mark.end() : end].split())
        if highlight:
            highlights.append(highlight)
    return story, highlights


def read(piece: InputSlice, options: SourceOptions, name: str) -> Iterator[RawRecord | Reject]:
    """One story as a RawRecord with its highlights; id = the file stem (the URL's SHA-1)."""
    try:
        text, _ = decode_bytes(read_whole(piece.path, options.max_record_bytes))
    except DecodeError as error:
        yield Reject(piece.path, error.reason, error.detail)
        return
    except READ_ERRORS as error:
        yield reject_for_error(piece.path, piece.path, error)
        return
    story, highlights = split_story(text)
    if not story.strip():
        yield Reject(piece.path, "empty", "no story text")
        return
    stem = PurePosixPath(name).name.split(".")[0]
    # CNN/DailyMail stories carry no headline line: the first block is story text.
    yield RawRecord(
        source=piece.path, article_id=stem, data=story, highlights=highlights, meta={"has_title": False}
    )
