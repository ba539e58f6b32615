"""Views of the data model as flat rows: the one place where records become dicts for JSON and tables."""

from __future__ import annotations

from typing import Any

from .model import Article, Block, Caption


def block_row(article: Article, block: Block, caption: Caption | None = None) -> dict[str, Any]:
    """The JSON object `captionset parse --format jsonl` prints for one block."""
    row: dict[str, Any] = {
        "article_id": article.article_id,
        "source": article.source,
        "index": block.index,
        "start": block.start,
        "end": block.end,
        "label": block.label,
        "score": round(block.score, 4),
        "text": block.text,
    }
    if block.is_caption:
        row["media_type"] = block.media_type
        row["caption_label"] = block.caption_label
        row["credit"] = block.credit
        row["cues"] = list(block.cues)
    if caption is not None:
        row["caption_id"] = caption.caption_id
        row["gallery_id"] = caption.gallery_id
        row["context_before"] = list(caption.context_before)
        row["context_after"] = list(caption.context_after)
        row["related"] = [{"index": r.block_index, "score": round(r.score, 4)} for r in caption.related]
    return row


def block_rows(article: Article, captions: list[Caption] | None = None) -> list[dict[str, Any]]:
    """Rows for every block of an article, caption rows carrying their alignment when given."""
    by_block = {c.block_index: c for c in captions or ()}
    return [block_row(article, b, by_block.get(b.index)) for b in article.blocks]
