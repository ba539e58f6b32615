"""Fuzzing: hypothesis strategies for article-like text, bytes and input folders, and the invariants that
parse_article, align and build must keep on any of them. Used by tests/test_fuzz.py (a few examples in CI)
and scripts/fuzz.py (the large scripted run)."""

from __future__ import annotations

import codecs
import json
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

from captionset import align, parse_article, schema
from captionset.build import build
from captionset.model import LABELS, Article, Caption
from captionset.parse import ArticleTooLarge, ParseOptions
from captionset.text import DecodeError

#: Article-like pieces: labels, credits, bylines, bullets, video cues, brackets, quotes, odd spaces.
PIECES = st.sampled_from(
    [
        "Pictured:",
        "Devastation:",
        "(Image: Getty)",
        "(Photo: AP)",
        "Credit: Reuters",
        "Photo by Jo Hartley/PA",
        "By Jane Doe 03/04/2021 09:15:00",
        "16/02/2016",
        "Watch the video",
        "Footage shows the moment",
        "the moment the",
        "\nVideo\n",
        "\n1:30\n",
        "\n2 hours ago\n",
        "Media playback is unsupported on your device",
        "FILE - ",
        "Jane Roe helps her son on Nov. 19, 2019, in Leeds.",
        "(17/18–19/20)",
        "left",
        "right",
        "(pictured)",
        "Advertisement",
        "Share this article",
        "•",
        "-",
        "*",
        "[",
        "]",
        "(",
        ")",
        "“",
        "”",
        "'",
        '"',
        ":",
        ".",
        "?",
        "!",
        "…",
        "\t",
        "\xa0",
        "\u200b",
        "\u202e",
        "e\u0301",
        "😀",
        "שלום",
        "新闻",
        "He said it was over.",
        "A man walks past the ruins",
        "Popular Articles",
        "1,024",
        "2023",
    ]
)
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
SEPARATORS = st.sampled_from(["\n\n", "\n", "\n \n", "\r\n\r\n", "\r", " ", "\n\n\n", "\n\t\xa0\n", ""])


def _bullets(items: list[str]) -> str:
    return "\n".join(f"  • {item}" for item in items)


BLOCK_TEXTS = st.one_of(
    st.lists(st.one_of(PIECES, WORDS), min_size=1, max_size=14).map(" ".join),
    st.lists(st.one_of(PIECES, WORDS), min_size=1, max_size=4).map(" ".join).map(lambda s: s + "."),
    st.lists(st.lists(st.one_of(PIECES, WORDS), min_size=1, max_size=6).map(" ".join), max_size=4).map(
        _bullets
    ),
    st.text(max_size=60),
    st.characters(categories=["Cs"]),  # lone surrogates, as JSON escapes can carry them
    st.tuples(st.one_of(PIECES, WORDS), st.integers(200, 6000)).map(lambda p: (p[0] + " ") * p[1]),
)
#: Text shaped like an article: blocks of pieces and words between blank lines, line breaks or nothing.
ARTICLE_TEXT = st.lists(st.tuples(BLOCK_TEXTS, SEPARATORS), max_size=30).map(
    lambda parts: "".join(block + sep for block, sep in parts)
)
TABLES = {"articles": schema.ARTICLES, "blocks": schema.BLOCKS, "captions": schema.CAPTIONS}
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1", "utf-32")


def _encode(args: tuple[str, str, bytes, int]) -> bytes:
    text, encoding, noise, where = args
    data = text.encode(encoding, errors="replace")
    if encoding == "utf-8-sig" or encoding == "utf-16-le":
        data = (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + data
    where = where % (len(data) + 1)
    return data[:where] + noise + data[where:]


#: Bytes of an article in some encoding, with a few random bytes spliced in somewhere.
ARTICLE_BYTES = st.tuples(
    ARTICLE_TEXT, st.sampled_from(ENCODINGS), st.binary(max_size=6), st.integers(0, 1 << 30)
).map(_encode)


def check_article(article: Article) -> None:
    """Blocks in order, inside the text and matching it; labels known; scores in [0, 1]."""
    text = article.text
    last = 0
    for i, block in enumerate(article.blocks):
        assert block.index == i
        assert last <= block.start < block.end <= len(text), (block.start, block.end, len(text))
        assert text[block.start : block.end] == block.text
        assert block.label in LABELS, block.label
        assert 0.0 <= block.score <= 1.0, block.score
        assert block.is_caption == (block.media_type in ("photo", "video")), (block.label, block.media_type)
        last = block.end
    text.encode("utf-8")  # writable: no lone surrogates left


def check_captions(article: Article, captions: list[Caption]) -> None:
    """One record per caption block, unique ids, context and related paragraphs that are body blocks."""
    blocks = article.blocks
    body = {b.index for b in blocks if b.label == "body"}
    assert [c.block_index for c in captions] == [b.index for b in blocks if b.is_caption]
    assert len({c.caption_id for c in captions}) == len(captions)
    for caption in captions:
        block = blocks[caption.block_index]
        assert (caption.char_start, caption.char_end, caption.caption) == (block.start, block.end, block.text)
        assert 0.0 <= caption.position <= 1.0
        assert caption.media_type in ("photo", "video")
        assert set(caption.context_before) <= body and set(caption.context_after) <= body
        assert all(i < caption.block_index for i in caption.context_before)
        assert all(i > caption.block_index for i in caption.context_after)
        if caption.section_index is not None:
            assert blocks[caption.section_index].label == "subheading"
            assert caption.section_index < caption.block_index
        indices = [r.block_index for r in caption.related]
        assert len(set(indices)) == len(indices) and set(indices) <= body
        for related in caption.related:
            assert 0.0 <= related.score <= 1.0
            assert related.text == blocks[related.block_index].text


def parse_property(raw: str | bytes) -> None:
    """parse_article + align on anything: only DecodeError may escape, and every invariant holds."""
    try:
        article = parse_article(raw, source="fuzz.txt")
    except DecodeError as error:
        assert isinstance(raw, bytes) or isinstance(error, ArticleTooLarge), error
        assert error.reason
        return
    check_article(article)
    check_captions(article, align(article))


#: One input file: (kind, content): a text file (bytes), or a JSONL file of rows (objects or junk lines).
JSON_ROWS = st.lists(
    st.one_of(
        st.builds(lambda t, i: json.dumps({"id": f"r{i}", "text": t}), ARTICLE_TEXT, st.integers(0, 5)),
        st.builds(lambda t: json.dumps({"text": t}), st.one_of(st.integers(), st.none(), st.lists(WORDS))),
        st.text(st.characters(exclude_characters="\n\r"), max_size=30),
    ),
    max_size=6,
)
FILES = st.lists(
    st.one_of(
        st.tuples(st.just("txt"), ARTICLE_BYTES),
        st.tuples(st.just("jsonl"), JSON_ROWS.map(lambda rows: "\n".join(rows).encode("utf-8", "replace"))),
    ),
    min_size=1,
    max_size=4,
)


def expected_inputs(kind: str, data: bytes) -> int:
    """The records a build must account for in one file: one per text file, one per non-blank JSONL line
    (an empty JSONL file is one reject)."""
    if kind == "txt":
        return 1
    return max(sum(1 for line in data.split(b"\n") if line.strip()), 1)


def _table(out: Path, config: str) -> pd.DataFrame:
    """A table of a built dataset (a table with no rows has no files: an empty frame then)."""
    if not list((out / config).glob("*.parquet")):
        return TABLES[config].empty_table().to_pandas()
    return pd.read_parquet(out / config)


def build_property(files: list[tuple[str, bytes]], workers: int = 1) -> None:
    """A build over generated files never raises, accounts for every input, and writes sane tables."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i, (kind, data) in enumerate(files):
            (folder / f"f{i}.{kind}").write_bytes(data)
        options = ParseOptions(max_chars=200_000)
        result = build(
            [folder], Path(tmp) / "ds", workers=workers, articles_per_shard=3, parse_options=options
        )
        out = result.output_dir
        assert result.inputs == sum(expected_inputs(kind, data) for kind, data in files)
        assert result.inputs == result.articles + result.num_rejects
        counts = json.loads((out / "manifest.json").read_text("utf-8"))["counts"]
        assert counts["inputs"] == counts["articles"] + counts["rejects"]
        rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text("utf-8").splitlines()]
        assert len(rejects) == result.num_rejects and all(r["reason"] for r in rejects)
        assert Counter(r["reason"] for r in rejects) == Counter(result.rejects)
        articles, blocks, captions = (_table(out, config) for config in ("articles", "blocks", "captions"))
        assert len(articles) == result.articles and articles["article_id"].is_unique
        assert captions["caption_id"].is_unique
        assert set(blocks["label"]) <= set(LABELS)
        assert blocks["score"].between(0, 1).all()
        body = set(
            zip(
                blocks.loc[blocks["label"] == "body", "article_id"],
                blocks.loc[blocks["label"] == "body", "index"],
                strict=True,
            )
        )
        for article_id, related in zip(captions["article_id"], captions["related"], strict=True):
            for item in related:
                assert (article_id, item["block_index"]) in body
                assert 0.0 <= item["score"] <= 1.0
