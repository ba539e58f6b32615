"""cnn_dailymail article strings: the loader's transformation, and blocks rebuilt from its " ." markers."""

from __future__ import annotations

import json

import pytest

from captionset import parse_article
from captionset.model import RawRecord
from captionset.sources import SourceOptions, plan_shards, read_slice
from captionset.sources.cnndm import (
    rebuild_article,
    recover_lines,
    split_sentences,
    to_cnndm_article,
)

STORY = """A Headline Without A Full Stop

  • First highlight line
  • Second highlight line

The story opens here. It goes on for a second sentence.

Mr. Smith said the U.S. team would win.

Devastation: The scene of the storm in Leeds on Tuesday

Scroll down for video

'We are devastated,' said Mrs. Jones.

A sign for the spaceport along a desert road. Photo by JANE DOE/AFP via Getty Images

The pamphlet in English (Picture: MSB)

Residents returned home on Wednesday.

By Jane Doe 03/04/2021 09:15:00
"""


def blocks_of(text: str) -> list[str]:
    return text.split("\n\n")


def test_transformation_follows_the_loader():
    article = to_cnndm_article(
        "Title\n\n  A line ending in a quote'\r\nA sentence.\n\n\nLabel: a caption\n(Image: AP)"
    )
    assert article == "Title . A line ending in a quote' A sentence. Label: a caption . (Image: AP)"


def test_marked_lines_become_clean_blocks():
    rebuilt = blocks_of(rebuild_article(to_cnndm_article(STORY)))
    assert rebuilt[0] == "A Headline Without A Full Stop"
    assert "Devastation: The scene of the storm in Leeds on Tuesday" in rebuilt
    assert "Scroll down for video" in rebuilt
    assert rebuilt[-1] == "By Jane Doe 03/04/2021 09:15:00"
    assert not any(block.endswith(" .") for block in rebuilt)


def test_bullets_are_grouped_into_one_block():
    rebuilt = blocks_of(rebuild_article(to_cnndm_article(STORY)))
    assert rebuilt[1] == "• First highlight line\n• Second highlight line"


def test_story_text_is_cut_at_sentences_but_not_abbreviations():
    rebuilt = blocks_of(rebuild_article(to_cnndm_article(STORY)))
    assert "The story opens here." in rebuilt and "It goes on for a second sentence." in rebuilt
    assert "Mr. Smith said the U.S. team would win." in rebuilt
    assert "'We are devastated,' said Mrs. Jones." in rebuilt
    assert split_sentences("1. Smoking to be banned. 2. Renters protected") == [
        "1. Smoking to be banned.",
        "2. Renters protected",
    ]


def test_credits_stay_with_their_caption():
    rebuilt = blocks_of(rebuild_article(to_cnndm_article(STORY)))
    assert "A sign for the spaceport along a desert road. Photo by JANE DOE/AFP via Getty Images" in rebuilt
    assert "The pamphlet in English (Picture: MSB)" in rebuilt
    assert "Residents returned home on Wednesday." in rebuilt


def test_run_mode_keeps_story_text_between_markers_together():
    rebuilt = blocks_of(rebuild_article(to_cnndm_article(STORY), blocks="run"))
    assert (
        "The story opens here. It goes on for a second sentence. Mr. Smith said the U.S. team would win."
        in rebuilt
    )
    assert "Devastation: The scene of the storm in Leeds on Tuesday" in rebuilt


def test_recover_lines_marks_lines_without_punctuation():
    lines = recover_lines("Caption one . Body sentence. Another one. Caption two . Tail sentence.")
    assert lines == [
        ("Caption one", True),
        ("Body sentence.", False),
        ("Another one.", False),
        ("Caption two", True),
        ("Tail sentence.", False),
    ]


def test_daily_mail_header_becomes_byline_blocks():
    article = (
        "By . Daily Mail Reporter . PUBLISHED: . 10:14 EST, 24 January 2014 . | . UPDATED: . "
        "10:30 EST, 24 January 2014 . The story starts."
    )
    assert blocks_of(rebuild_article(article)) == [
        "By Daily Mail Reporter",
        "PUBLISHED: 10:14 EST, 24 January 2014 | UPDATED: 10:30 EST, 24 January 2014",
        "The story starts.",
    ]


@pytest.mark.parametrize("article", ["", " . ", "No markers at all and no full stop", "x . . y ."])
def test_rebuild_never_fails_and_keeps_words(article):
    rebuilt = rebuild_article(article)
    assert [w for w in rebuilt.split() if w != "."] == [w for w in article.split() if w != "."]


def test_cnndm_rows_read_from_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"article": to_cnndm_article(STORY), "highlights": "First point.\nSecond point.", "id": "a" * 40},
        {"article": "", "highlights": "", "id": "b" * 40},
    ]
    (tmp_path / "cnndm.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "cnndm.parquet")
    for name in ("cnndm.jsonl", "cnndm.parquet"):
        for options in (SourceOptions(), SourceOptions(format="cnndm")):  # auto-detected by the columns
            shards = plan_shards([tmp_path / name], options)
            record, reject = [r for s in shards for p in s.slices for r in read_slice(p, options)]
            assert isinstance(record, RawRecord) and record.article_id == "a" * 40
            assert record.highlights == ["First point.", "Second point."]
            assert record.data == rebuild_article(rows[0]["article"])
            assert reject.reason in ("missing_field", "empty")


def test_rebuilt_articles_parse_into_blocks():
    article = parse_article(rebuild_article(to_cnndm_article(STORY)))
    texts = [b.text for b in article.blocks]
    assert "Devastation: The scene of the storm in Leeds on Tuesday" in texts
    assert len(texts) == len(blocks_of(rebuild_article(to_cnndm_article(STORY))))


@pytest.mark.shared
def test_marked_lines_of_dev_articles_are_recovered_as_blocks(dev_dir):
    """Lines that lacked closing punctuation (captions among them) come back as exact blocks."""
    closing = ".!?'`\"’”)"
    total = recovered = captions = captions_recovered = 0
    for gold_path in sorted((dev_dir / "gold").glob("*.jsonl")):
        text = (dev_dir / "text" / f"{gold_path.stem}.txt").read_text(encoding="utf-8")
        blocks = set(blocks_of(rebuild_article(to_cnndm_article(text))))
        for gold in map(json.loads, gold_path.open(encoding="utf-8")):
            line = " ".join(gold["text"].split())
            if not line or "\n" in gold["text"].strip() or line[-1] in closing:
                continue
            total += 1
            recovered += line in blocks
            if gold["label"] in ("photo_caption", "video_caption"):
                captions += 1
                captions_recovered += line in blocks
    assert total > 500 and captions > 100
    assert recovered / total >= 0.80
    assert captions_recovered / captions >= 0.88
