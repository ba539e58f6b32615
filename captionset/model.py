"""The one data model that flows through every stage: raw records, blocks, articles, captions, rejects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Every label the classifier can give a block, in a fixed order (used for tables and reports).
LABELS: tuple[str, ...] = (
    "title",
    "highlight",
    "body",
    "subheading",
    "photo_caption",
    "video_caption",
    "byline",
    "boilerplate",
    "other",
)
CAPTION_LABELS: frozenset[str] = frozenset({"photo_caption", "video_caption"})


@dataclass(slots=True)
class RawRecord:
    """One input item as a source yields it, before any parsing: a reader never decides labels."""

    source: str
    article_id: str
    data: bytes | str
    title: str | None = None
    url: str | None = None
    published: str | None = None
    highlights: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Block:
    """A span of the decoded article text with its label; ``start``/``end`` are character offsets."""

    index: int
    start: int
    end: int
    text: str
    label: str = "other"
    score: float = 0.0
    caption_label: str | None = None
    credit: str | None = None
    media_type: str | None = None
    cues: tuple[str, ...] = ()

    @property
    def is_caption(self) -> bool:
        return self.label in CAPTION_LABELS


@dataclass(slots=True)
class Article:
    """A parsed article: its decoded text and labelled blocks that cover it in order."""

    article_id: str
    source: str
    text: str
    blocks: list[Block]
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    highlights: list[str] = field(default_factory=list)
    url: str | None = None
    encoding: str = "utf-8"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def captions(self) -> list[Block]:
        return [b for b in self.blocks if b.is_caption]

    @property
    def body(self) -> list[Block]:
        return [b for b in self.blocks if b.label == "body"]


@dataclass(slots=True)
class Related:
    """A body paragraph that a caption describes, with a relevance score in [0, 1]."""

    block_index: int
    score: float
    text: str


@dataclass(slots=True)
class Caption:
    """One caption with all of its context: the row of the ``captions`` table."""

    caption_id: str
    article_id: str
    media_type: str
    caption: str
    caption_label: str | None
    credit: str | None
    gallery_id: int
    block_index: int
    char_start: int
    char_end: int
    position: float
    section_index: int | None
    section: str | None
    context_before: list[int]
    context_after: list[int]
    context_window: str
    related: list[Related]
    score: float = 0.0
    cues: tuple[str, ...] = ()


@dataclass(slots=True)
class Reject:
    """An input that produced no article, and why: every input is an article or a reject."""

    source: str
    reason: str
    detail: str = ""
    article_id: str | None = None
