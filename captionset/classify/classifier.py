"""The block classifier: signals combined per block, then made consistent across the article."""

from __future__ import annotations

from ..model import Block
from . import signals


def _label_block(block: Block, position: int, count: int) -> tuple[str, float]:
    text = block.text
    lines = [line for line in text.splitlines() if line.strip()]
    words = text.split()
    if position == 0:
        return "title", 0.95
    if lines and all(signals.BULLET_LINE.match(line) for line in lines):
        return "body", 0.6
    if signals.BYLINE.match(text) and position >= count - 2:
        return "byline", 0.9
    if signals.BOILERPLATE.match(text):
        return "boilerplate", 0.85
    closed = bool(signals.CLOSING_PUNCT.search(text))
    if signals.BRACKET_CREDIT.search(text) or signals.TRAILING_CREDIT.search(text):
        return ("video_caption" if signals.VIDEO_CUE.search(text) else "photo_caption"), 0.8
    if not closed and len(words) >= 6:
        return ("video_caption" if signals.VIDEO_CUE.search(text) else "photo_caption"), 0.6
    if not closed and len(words) < 6:
        return "subheading", 0.5
    return "body", 0.7


def classify_blocks(blocks: list[Block]) -> None:
    """Label blocks in place (label, score, and caption fields for captions)."""
    count = len(blocks)
    seen_body = False
    for position, block in enumerate(blocks):
        label, score = _label_block(block, position, count)
        if label == "body" and not seen_body and signals.BULLET_LINE.match(block.text):
            label = "highlight"
        seen_body = seen_body or label == "body"
        block.label, block.score = label, score
        if block.is_caption:
            block.caption_label, block.credit, block.cues = signals.caption_fields(block.text)
            block.media_type = "video" if label == "video_caption" else "photo"
