"""The published tables, one explicit pyarrow schema each: every Parquet file is written through these.

Ids are strings, offsets and indices int32, scores float32 and times ``timestamp[ms, UTC]`` (Parquet has no
seconds unit, so ``ms`` keeps the card and the files in agreement). The ``split`` column is filled in by the
final step: parts written by workers carry it as null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from .model import Article, Caption

TIMESTAMP = pa.timestamp("ms", tz="UTC")

RELATED = pa.struct(
    [
        pa.field("block_index", pa.int32()),
        pa.field("score", pa.float32()),
        pa.field("text", pa.string()),
    ]
)

CAPTIONS = pa.schema(
    [
        pa.field("caption_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("split", pa.string()),
        pa.field("media_type", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("caption_label", pa.string()),
        pa.field("credit", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("cues", pa.list_(pa.string())),
        pa.field("gallery_id", pa.int32()),
        pa.field("block_index", pa.int32()),
        pa.field("char_start", pa.int32()),
        pa.field("char_end", pa.int32()),
        pa.field("position", pa.float32()),
        pa.field("section_index", pa.int32()),
        pa.field("section", pa.string()),
        pa.field("context_before", pa.list_(pa.int32())),
        pa.field("context_after", pa.list_(pa.int32())),
        pa.field("context_window", pa.string()),
        pa.field("related", pa.list_(RELATED)),
        pa.field("article_title", pa.string()),
        pa.field("published", TIMESTAMP),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
    ]
)

ARTICLES = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("group_id", pa.string()),
        pa.field("split", pa.string()),
        pa.field("title", pa.string()),
        pa.field("byline", pa.string()),
        pa.field("published", TIMESTAMP),
        pa.field("highlights", pa.list_(pa.string())),
        pa.field("body", pa.list_(pa.string())),
        pa.field("num_blocks", pa.int32()),
        pa.field("num_paragraphs", pa.int32()),
        pa.field("num_captions", pa.int32()),
        pa.field("num_photo", pa.int32()),
        pa.field("num_video", pa.int32()),
        pa.field("num_chars", pa.int32()),
        pa.field("encoding", pa.string()),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
    ]
)

BLOCKS = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("split", pa.string()),
        pa.field("index", pa.int32()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("label", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("media_type", pa.string()),
        pa.field("caption_label", pa.string()),
        pa.field("credit", pa.string()),
        pa.field("text", pa.string()),
    ]
)

#: The light per-article table workers write next to their parts: what splitting and statistics need,
#: so the final step never has to read article text to assign splits. Not published.
KEYS = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("published", TIMESTAMP),
        pa.field("body_hash", pa.string()),
        pa.field("minhash", pa.binary()),
        pa.field("num_captions", pa.int32()),
        pa.field("num_blocks", pa.int32()),
        pa.field("source", pa.string()),
        pa.field("caption_keys", pa.list_(pa.uint64())),
    ]
)

#: The published configs, in the order the card lists them (captions first: it is the default).
TABLES: dict[str, pa.Schema] = {"captions": CAPTIONS, "articles": ARTICLES, "blocks": BLOCKS}

#: Columns with few distinct values: only these get dictionary encoding (free text would only grow).
DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "captions": ("split", "media_type"),
    "articles": ("split", "encoding"),
    "blocks": ("split", "label", "media_type"),
    "keys": (),
}

#: One line per column for the card's Data Fields table.
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "captions": {
        "caption_id": "stable id: hash of article id, offsets and caption text",
        "article_id": "id of the article (joins `articles` and `blocks`)",
        "split": "train, validation or test (the article's split)",
        "media_type": "`photo` or `video`",
        "caption": "full caption text, as it appears in the article",
        "caption_label": "the `Label:` prefix of the caption, if any",
        "credit": "photo credit found in or next to the caption",
        "score": "classifier confidence that the block is a caption (0..1)",
        "cues": "position cues in the caption (`pictured`, `left`, ...)",
        "gallery_id": "consecutive captions with no body between them share a gallery id",
        "block_index": "index of the caption block in the article (see `blocks`)",
        "char_start": "character offset of the caption in the decoded article text",
        "char_end": "end offset (exclusive)",
        "position": "relative position of the caption in the article (0 = start, 1 = end)",
        "section_index": "block index of the nearest preceding subheading, if any",
        "section": "text of that subheading's section",
        "context_before": "block indices of the nearest body paragraphs before the caption",
        "context_after": "block indices of the nearest body paragraphs after the caption",
        "context_window": "title + lead + paragraphs around the caption, within a token budget",
        "related": "paragraphs the caption most likely describes: {block_index, score, text}",
        "article_title": "title of the article",
        "published": "publication time (UTC; naive times in bylines are taken as UTC)",
        "source": "input the article came from (path as given)",
        "url": "article URL when the input had one",
    },
    "articles": {
        "article_id": "stable id: from the input's id field, else a hash of the source path",
        "group_id": "near-duplicate group (smallest article id of the group); splits are per group",
        "split": "train, validation or test",
        "title": "headline",
        "byline": "byline line, if found",
        "published": "publication time (UTC)",
        "highlights": "bullet highlights",
        "body": "body paragraphs, in order",
        "num_blocks": "number of blocks the parser found",
        "num_paragraphs": "number of body paragraphs",
        "num_captions": "number of photo and video captions",
        "num_photo": "number of photo captions",
        "num_video": "number of video captions",
        "num_chars": "length of the decoded text in characters",
        "encoding": "encoding the input was decoded with",
        "source": "input the article came from (path as given)",
        "url": "article URL when the input had one",
    },
    "blocks": {
        "article_id": "id of the article",
        "split": "train, validation or test (the article's split)",
        "index": "block index in the article",
        "start": "character offset of the block in the decoded text",
        "end": "end offset (exclusive)",
        "label": "title, highlight, body, subheading, photo_caption, video_caption, byline, boilerplate, other",
        "score": "classifier confidence for the label (0..1)",
        "media_type": "`photo`/`video` for caption blocks",
        "caption_label": "the `Label:` prefix of a caption block",
        "credit": "photo credit of a caption block",
        "text": "block text",
    },
}


def hf_features(schema: pa.Schema) -> list[dict]:
    """The schema as the `dataset_info.features` list of a dataset card (what `datasets` checks files against)."""
    from datasets import Features

    return Features.from_arrow_schema(schema)._to_yaml_list()


def to_utc(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive times are taken as UTC); None if unparsable."""
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def caption_row(article: Article, caption: Caption, published: datetime | None) -> dict[str, Any]:
    """A row of the captions table."""
    return {
        "caption_id": caption.caption_id,
        "article_id": caption.article_id,
        "split": None,
        "media_type": caption.media_type,
        "caption": caption.caption,
        "caption_label": caption.caption_label,
        "credit": caption.credit,
        "score": caption.score,
        "cues": list(caption.cues),
        "gallery_id": caption.gallery_id,
        "block_index": caption.block_index,
        "char_start": caption.char_start,
        "char_end": caption.char_end,
        "position": caption.position,
        "section_index": caption.section_index,
        "section": caption.section,
        "context_before": list(caption.context_before),
        "context_after": list(caption.context_after),
        "context_window": caption.context_window,
        "related": [
            {"block_index": r.block_index, "score": r.score, "text": r.text} for r in caption.related
        ],
        "article_title": article.title,
        "published": published,
        "source": article.source,
        "url": article.url,
    }


def article_row(article: Article, captions: list[Caption], published: datetime | None) -> dict[str, Any]:
    """A row of the articles table (group_id and split are filled in when the build is split)."""
    body = [b.text for b in article.blocks if b.label == "body"]
    photo = sum(1 for c in captions if c.media_type == "photo")
    return {
        "article_id": article.article_id,
        "group_id": None,
        "split": None,
        "title": article.title,
        "byline": article.byline,
        "published": published,
        "highlights": list(article.highlights),
        "body": body,
        "num_blocks": len(article.blocks),
        "num_paragraphs": len(body),
        "num_captions": len(captions),
        "num_photo": photo,
        "num_video": len(captions) - photo,
        "num_chars": len(article.text),
        "encoding": article.encoding,
        "source": article.source,
        "url": article.url,
    }


def block_table_rows(article: Article) -> list[dict[str, Any]]:
    """Rows of the blocks table for one article."""
    return [
        {
            "article_id": article.article_id,
            "split": None,
            "index": b.index,
            "start": b.start,
            "end": b.end,
            "label": b.label,
            "score": b.score,
            "media_type": b.media_type if b.is_caption else None,
            "caption_label": b.caption_label if b.is_caption else None,
            "credit": b.credit if b.is_caption else None,
            "text": b.text,
        }
        for b in article.blocks
    ]
