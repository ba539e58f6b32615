"""parse_article: one pure function from an article's bytes or text to labelled blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .classify import classify_blocks
from .ids import article_id_for
from .model import Article, RawRecord
from .segment import MAX_BLOCKS, segment
from .text import to_text

# The date stamp closing a byline: "16/02/2016 11:12:00" (day first, as the corpus writes it).
BYLINE_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# Bullet marks at the start of a highlight line.
BULLET_MARK = re.compile(r"^\s*[•\-\*·▪●]\s*")


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Knobs of the parser; the defaults are what `captionset parse` uses."""

    max_chars: int = 2_000_000
    max_blocks: int = MAX_BLOCKS


DEFAULT_PARSE_OPTIONS = ParseOptions()


def published_from_byline(byline: str | None) -> str | None:
    """ISO 8601 timestamp from a "dd/mm/YYYY HH:MM:SS" byline, or None."""
    if not byline:
        return None
    match = BYLINE_DATE.search(byline)
    if not match:
        return None
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


def parse_article(
    raw: bytes | str | RawRecord,
    *,
    source: str = "",
    article_id: str | None = None,
    options: ParseOptions = DEFAULT_PARSE_OPTIONS,
) -> Article:
    """Decode, segment and classify one article. Pure: no I/O, no globals, no randomness.

    Raises text.DecodeError when the bytes are not text.
    """
    meta_title = meta_published = url = None
    meta_highlights: list[str] | None = None
    if isinstance(raw, RawRecord):
        source = source or raw.source
        article_id = article_id or raw.article_id
        meta_title, meta_published, url, meta_highlights = raw.title, raw.published, raw.url, raw.highlights
        raw = raw.data
    text, encoding = to_text(raw)
    blocks = segment(text, max_blocks=options.max_blocks)
    classify_blocks(blocks)
    title = next((b.text for b in blocks if b.label == "title"), None)
    byline = next((b.text for b in reversed(blocks) if b.label == "byline"), None)
    highlights = [
        BULLET_MARK.sub("", line).strip()
        for b in blocks
        if b.label == "highlight"
        for line in b.text.splitlines()
        if line.strip()
    ]
    return Article(
        article_id=article_id or article_id_for(source),
        source=source,
        text=text,
        blocks=blocks,
        title=meta_title or title,
        byline=byline,
        published=meta_published or published_from_byline(byline),
        highlights=meta_highlights if meta_highlights is not None else highlights,
        url=url,
        encoding=encoding,
    )
