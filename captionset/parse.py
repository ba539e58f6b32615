"""parse_article: one pure function from an article's bytes or text to labelled blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from .classify import classify_blocks
from .ids import article_id_for
from .model import Article, Block, RawRecord
from .segment import MAX_BLOCKS, segment
from .text import STR_ENCODING, DecodeError, to_text

# The date stamp closing a byline: "03/04/2021 09:15:00" (day first, as the corpus writes it).
BYLINE_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# Bullet marks at the start of a highlight line.
BULLET_MARK = re.compile(r"^\s*[•\-\*·▪●]\s*")
# Lone surrogates (from JSON escapes or undecodable file names) cannot be written as UTF-8: each becomes U+FFFD.
SURROGATE = re.compile("[\ud800-\udfff]")

#: Characters of one block the classifier sees: a longer block is shown as its head and tail (where its
#: style shows: label prefix, closing punctuation, credit), so a 5 MB line costs what a long paragraph does.
CLASSIFY_BLOCK_CHARS = 20_000
#: Blocks and characters of one classifier pass. Some features cost blocks x characters, so longer
#: articles (far beyond any real page: the dev set's longest has 731 blocks, 44k characters) are
#: classified in windows that overlap by CLASSIFY_MARGIN blocks on each side.
CLASSIFY_WINDOW_BLOCKS = 1000
CLASSIFY_WINDOW_CHARS = 100_000
CLASSIFY_MARGIN = 8
# The fields the classifier sets on a block (everything but its place and text), copied back from proxies.
_LABEL_FIELDS = tuple(f.name for f in fields(Block) if f.name not in ("index", "start", "end", "text"))


class ArticleTooLarge(DecodeError):
    """An article longer than ``ParseOptions.max_chars``: refused like undecodable input (reason
    ``too_large``), so one pathological input cannot hold a worker or its memory."""

    def __init__(self, size: int, limit: int, unit: str = "characters") -> None:
        super().__init__("too_large", f"{size} {unit}, more than the limit of {limit} characters")


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Knobs of the parser; the defaults are what `captionset parse` uses."""

    #: Longer articles are rejected (``ArticleTooLarge``), not truncated: a cut article would be a wrong one.
    max_chars: int = 8_000_000
    #: Blocks beyond this count are merged into the last one (see segment.MAX_BLOCKS).
    max_blocks: int = MAX_BLOCKS

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_blocks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ParseOptions.{name} must be an integer >= 1, got {value!r}")


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

    Raises text.DecodeError when the bytes are not text, and its subclass ArticleTooLarge (reason
    ``too_large``) for an article longer than ``options.max_chars``.
    """
    meta_title = meta_published = url = None
    meta_highlights: list[str] | None = None
    has_title: bool | None = None
    if isinstance(raw, RawRecord):
        source = source or raw.source
        article_id = article_id or raw.article_id
        meta_title, meta_published, url, meta_highlights = raw.title, raw.published, raw.url, raw.highlights
        has_title = raw.meta.get("has_title")
        raw = raw.data
    if isinstance(raw, bytes) and len(raw) > 4 * options.max_chars:
        # No encoding takes more than 4 bytes a character: too long before decoding anything.
        raise ArticleTooLarge(len(raw), options.max_chars, "bytes")
    text, encoding = to_text(raw)
    if len(text) > options.max_chars:
        raise ArticleTooLarge(len(text), options.max_chars)
    if encoding == STR_ENCODING:
        # Only text given as a str can hold lone surrogates: no decoder of text.decode_bytes makes one
        # (each refuses them, and errors="replace" writes U+FFFD), so decoded bytes skip the check.
        text = writable_text(text)
    blocks = segment(text, max_blocks=options.max_blocks)
    if has_title is None:
        # A title given by a field is usually not repeated in the text (JSONL/CSV exports).
        has_title = not meta_title or (bool(blocks) and _same_line(blocks[0].text, meta_title))
    classify_guarded(blocks, has_title=has_title)
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
        article_id=writable_text(article_id or article_id_for(source)),
        source=writable_text(source),
        text=text,
        blocks=blocks,
        title=writable_text(meta_title) or title,
        byline=byline,
        published=writable_text(meta_published) or published_from_byline(byline),
        highlights=[writable_text(h) for h in meta_highlights] if meta_highlights is not None else highlights,
        url=writable_text(url),
        encoding=encoding,
    )


def writable_text(text: str | None) -> str | None:
    """The text with lone surrogates replaced one for one (offsets keep), so it can be written as UTF-8."""
    if text is None or text.isascii():  # (isascii reads a flag of the string)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE.sub("\ufffd", text)
    return text


def _classifier_text(text: str) -> str:
    if len(text) <= CLASSIFY_BLOCK_CHARS:
        return text
    half = CLASSIFY_BLOCK_CHARS // 2
    return f"{text[:half]} … {text[-half:]}"


def classifier_windows(lengths: list[int]) -> list[tuple[int, int]]:
    """Consecutive [start, stop) block ranges of at most CLASSIFY_WINDOW_BLOCKS blocks and about
    CLASSIFY_WINDOW_CHARS characters (a window always takes at least one block)."""
    windows: list[tuple[int, int]] = []
    start = chars = 0
    for i, length in enumerate(lengths):
        if i > start and (i - start >= CLASSIFY_WINDOW_BLOCKS or chars + length > CLASSIFY_WINDOW_CHARS):
            windows.append((start, i))
            start, chars = i, 0
        chars += length
    if start < len(lengths):
        windows.append((start, len(lengths)))
    return windows


#: The headline put in front of a text that has none, so that position-based rules see a title first.
STAND_IN_TITLE = "Headline"


def _same_line(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def classify_guarded(blocks: list[Block], *, has_title: bool = True) -> None:
    """classify_blocks with a bound on its cost: blocks longer than CLASSIFY_BLOCK_CHARS are classified
    from their head and tail, and articles beyond one window are classified window by window (each with
    CLASSIFY_MARGIN blocks of context either side; the margins' labels are discarded). Articles of
    ordinary size go through classify_blocks unchanged. A text without a headline line (has_title=False,
    as in CNN/DailyMail stories) is classified behind a stand-in headline, so its first block is read as
    story text rather than taken for the title."""
    if not has_title and blocks:
        proxies = [Block(index=0, start=0, end=0, text=STAND_IN_TITLE)]
        proxies += [Block(index=i + 1, start=b.start, end=b.end, text=b.text) for i, b in enumerate(blocks)]
        classify_guarded(proxies)
        for block, proxy in zip(blocks, proxies[1:], strict=True):
            for name in _LABEL_FIELDS:
                setattr(block, name, getattr(proxy, name))
        return
    lengths = [len(b.text) for b in blocks]
    if (
        len(blocks) <= CLASSIFY_WINDOW_BLOCKS
        and sum(lengths) <= CLASSIFY_WINDOW_CHARS
        and max(lengths, default=0) <= CLASSIFY_BLOCK_CHARS
    ):
        # Every block shown whole, in one window (the usual article): what the general case below finds
        # after building the shown texts and the windows.
        classify_blocks(blocks)
        return
    shown = [_classifier_text(b.text) for b in blocks]
    windows = classifier_windows([len(t) for t in shown])
    if len(windows) <= 1 and all(s is b.text for s, b in zip(shown, blocks, strict=True)):
        classify_blocks(blocks)
        return
    for start, stop in windows:
        low, high = max(0, start - CLASSIFY_MARGIN), min(len(blocks), stop + CLASSIFY_MARGIN)
        proxies = [
            Block(index=i - low, start=b.start, end=b.end, text=shown[i])
            for i, b in enumerate(blocks[low:high], low)
        ]
        classify_blocks(proxies)
        for proxy in proxies[start - low : stop - low]:
            block = blocks[proxy.index + low]
            for name in _LABEL_FIELDS:
                setattr(block, name, getattr(proxy, name))
