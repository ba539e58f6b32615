"""captionset.schema: the explicit table schemas, the row views and the card's feature list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from articles_factory import make_article

from captionset import align, parse_article
from captionset.schema import (
    ARTICLES,
    BLOCKS,
    CAPTIONS,
    DESCRIPTIONS,
    DICTIONARY_COLUMNS,
    TABLES,
    article_row,
    block_table_rows,
    caption_row,
    hf_features,
    to_utc,
)


@pytest.fixture
def article():
    return parse_article(make_article(3, video=True), source="a.txt", article_id="a1")


def test_rows_fit_their_schemas(article):
    captions = align(article)
    when = to_utc(article.published)
    tables = {
        "captions": pa.Table.from_pylist([caption_row(article, c, when) for c in captions], schema=CAPTIONS),
        "articles": pa.Table.from_pylist([article_row(article, captions, when)], schema=ARTICLES),
        "blocks": pa.Table.from_pylist(block_table_rows(article), schema=BLOCKS),
    }
    assert tables["captions"].num_rows == len(captions) > 0
    assert tables["blocks"].num_rows == len(article.blocks)
    row = tables["articles"].to_pylist()[0]
    assert row["num_captions"] == len(captions) == row["num_photo"] + row["num_video"]
    assert row["body"] == [b.text for b in article.body]
    assert row["published"] == when
    first = tables["captions"].to_pylist()[0]
    assert first["caption"] == article.text[first["char_start"] : first["char_end"]]
    assert first["split"] is None  # filled in by the final step


def test_every_column_has_a_description_and_the_split_column():
    for config, schema in TABLES.items():
        assert set(schema.names) == set(DESCRIPTIONS[config]), config
        assert "split" in schema.names and "article_id" in schema.names
        assert set(DICTIONARY_COLUMNS[config]) <= set(schema.names)


def test_captions_have_the_columns_the_issue_asks_for():
    required = [
        "caption_id",
        "article_id",
        "split",
        "media_type",
        "caption",
        "caption_label",
        "credit",
        "block_index",
        "char_start",
        "char_end",
        "position",
        "context_before",
        "context_after",
        "context_window",
        "related",
        "article_title",
        "published",
        "source",
    ]
    assert set(required) <= set(CAPTIONS.names)
    assert CAPTIONS.field("related").type.value_type.names == ["block_index", "score", "text"]


def test_hf_features_round_trip_to_the_arrow_schema():
    from datasets import Features

    for schema in TABLES.values():
        features = Features._from_yaml_list(hf_features(schema))
        assert features.arrow_schema.names == schema.names
        assert features == Features.from_arrow_schema(schema)
    published = next(f for f in hf_features(CAPTIONS) if f["name"] == "published")
    assert published["dtype"] == "timestamp[ms, tz=UTC]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-03-14T09:41:00", datetime(2023, 3, 14, 9, 41, tzinfo=UTC)),
        ("2023-03-14T09:41:00+02:00", datetime(2023, 3, 14, 7, 41, tzinfo=UTC)),
        ("2023-03-14T09:41:00Z", datetime(2023, 3, 14, 9, 41, tzinfo=UTC)),
        ("2023-03-14", datetime(2023, 3, 14, tzinfo=UTC)),
        (
            datetime(2023, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2023, 1, 1, 17, tzinfo=UTC),
        ),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_to_utc(value, expected):
    assert to_utc(value) == expected
