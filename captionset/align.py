"""Aligning: give every caption its context (position, neighbours, window, related paragraphs)."""

from __future__ import annotations

from dataclasses import dataclass

from .ids import stable_hash
from .model import Article, Caption, Related


@dataclass(frozen=True, slots=True)
class AlignOptions:
    """How much context each caption gets."""

    neighbours: int = 1
    window_tokens: int = 512
    top_k: int = 3


DEFAULT_ALIGN_OPTIONS = AlignOptions()


def align(article: Article, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> list[Caption]:
    """Caption records for every caption block of the article, in block order. Pure."""
    blocks = article.blocks
    body = [b.index for b in blocks if b.label == "body"]
    n = max(len(blocks) - 1, 1)
    captions: list[Caption] = []
    gallery = -1
    previous_caption = None
    for block in blocks:
        if not block.is_caption:
            if block.label == "body":
                previous_caption = None
            continue
        if previous_caption is None:
            gallery += 1
        previous_caption = block.index
        before = [i for i in body if i < block.index][-options.neighbours :]
        after = [i for i in body if i > block.index][: options.neighbours]
        related = [Related(i, 1.0 / (1 + abs(i - block.index)), blocks[i].text) for i in before + after]
        captions.append(
            Caption(
                caption_id=stable_hash(article.article_id, str(block.start), str(block.end), block.text),
                article_id=article.article_id,
                media_type=block.media_type or "photo",
                caption=block.text,
                caption_label=block.caption_label,
                credit=block.credit,
                gallery_id=gallery,
                block_index=block.index,
                char_start=block.start,
                char_end=block.end,
                position=block.index / n,
                section_index=None,
                section=None,
                context_before=before,
                context_after=after,
                context_window=" ".join(blocks[i].text for i in before + after),
                related=related[: options.top_k],
                score=block.score,
                cues=block.cues,
            )
        )
    return captions
