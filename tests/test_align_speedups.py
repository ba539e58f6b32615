"""The compiled evidence layer (captionset/_align_speedups.c) gives the Caption records of the pure-Python
path, bit for bit: on every shared article (parser and gold labels, several options) and on random text."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captionset import parse_article
from captionset.model import Article, Block

#: The module, not the function the package exports under the same name.
ALIGN = importlib.import_module("captionset.align")
ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

needs_compiled = pytest.mark.skipif(
    ALIGN._speedups is None, reason="the C extension is not built (python hatch_build.py compiles it)"
)

#: The default options and a few that take other branches (rules ranker, small windows, no bonuses).
OPTIONS = [
    ALIGN.AlignOptions(),
    ALIGN.AlignOptions(top_k=5, neighbours=2),
    ALIGN.AlignOptions(ranker="rules"),
    ALIGN.AlignOptions(ranker="rules", top_k=5, window_tokens=128, gallery_blend=0.0),
    ALIGN.AlignOptions(window_tokens=128, min_score=0.001, top_k=20),
    ALIGN.AlignOptions(window_tokens=3, neighbours=0, top_k=0),
    ALIGN.AlignOptions(entity_bonus=0.0, phrase_bonus=0.0, min_match=0.0, min_score=0.001, top_k=50),
]


def records(article: Article, options: ALIGN.AlignOptions) -> list[dict]:
    return [dataclasses.asdict(caption) for caption in ALIGN.align(article, options)]


def pure(fn, *args):
    """fn(*args) on the pure-Python path."""
    compiled = ALIGN._speedups
    ALIGN._speedups = None
    try:
        return fn(*args)
    finally:
        ALIGN._speedups = compiled


def assert_same_records(article: Article, options_list=OPTIONS) -> None:
    for options in options_list:
        assert records(article, options) == pure(records, article, options), options


def make_article(items: list[tuple[str, str]], title: str | None = None) -> Article:
    """An article from (label, text) pairs, blocks separated by a blank line."""
    blocks, pos, parts = [], 0, []
    for i, (label, text) in enumerate(items):
        media = {"photo_caption": "photo", "video_caption": "video"}.get(label)
        blocks.append(Block(i, pos, pos + len(text), text, label, 0.9, media_type=media))
        parts.append(text)
        pos += len(text) + 2
    return Article("a1", "test.txt", "\n\n".join(parts), blocks, title=title)


def test_ci_loads_the_extension():
    """Under CI the extension must be built and in use: a silent fall-back to pure Python fails here."""
    if not CI:
        pytest.skip("CI only: a developer's checkout may run without the extension")
    assert ALIGN._speedups is not None, "captionset._align_speedups is not loaded"
    loaded = Path(ALIGN._speedups.__file__)
    assert loaded.name == "_align_speedups" + sysconfig.get_config_var("EXT_SUFFIX")


def test_pure_python_switch_turns_the_extension_off():
    code = "import importlib; print(importlib.import_module('captionset.align')._speedups)"
    env = dict(os.environ, CAPTIONSET_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def _gold_article():
    spec = importlib.util.spec_from_file_location("eval_align", ROOT / "scripts" / "eval_align.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.gold_article


@needs_compiled
@pytest.mark.shared
def test_compiled_equals_python_on_every_shared_article(shared_dir):
    gold_article = _gold_article()
    paths = sorted((shared_dir / "corpus").glob("*/text/*.txt"))
    assert len(paths) >= 150
    golds = 0
    for path in paths:
        assert_same_records(parse_article(path.read_bytes()))
        folder = path.parent.parent
        if (folder / "gold" / f"{path.stem}.jsonl").is_file():
            assert_same_records(gold_article(folder, path.stem))
            golds += 1
    assert golds >= 100


@needs_compiled
def test_compiled_equals_python_on_a_story():
    items = [
        ("title", "Flood waters rise in Lisbon harbour"),
        ("body", "Heavy rain flooded the harbour of Lisbon on Monday, closing the ferry terminal."),
        (
            "photo_caption",
            "Rescue: Firefighters carry a child from a flooded home in Alfama (Picture: Reuters)",
        ),
        ("body", "Firefighters rescued a child from a flooded home in the Alfama district of Lisbon."),
        ("subheading", "Ferries suspended"),
        ("body", "The ferry company suspended all 150,000 crossings of the Tagus until further notice."),
        ("photo_caption", "Commuters wait at the closed ferry terminal on the Tagus. 150000 people were hit"),
        ("photo_caption", "The mayor Carla Moedas visits evacuated families in Lisbon"),
    ]
    assert_same_records(make_article(items, None))


# --- random text ----------------------------------------------------------------------------------------

#: Pieces that take the rare branches: case changes that change lengths (İ), final sigma, numbers with
#: thousands, irregular plurals, stop words between names, emoji, odd spaces, sentence ends.
PIECES = st.sampled_from(
    [
        "İstanbul",
        "İİ",
        "ΣΟΦΙΑ",
        "ΟΔΟΣ",
        "Straße",
        "ǅemal",
        "150,000",
        "150000",
        "1,234,5678",
        "12,3456",
        "1,000,000,000",
        "٣٤٥٦",
        "²³⁴⁵",
        "men",
        "women",
        "children",
        "people",
        "feet",
        "French",
        "Dutch",
        "bodies",
        "body",
        "families",
        "Harbour Hospital",
        "Hospital in Dover",
        "Bank of England",
        "of",
        "the",
        "and",
        "in",
        "Bomb",
        "bombing",
        "bombs",
        "Turkish",
        "Turkey",
        "😀",
        "𝐀𝐁",
        "𝟏𝟐",
        "_",
        "x_y",
        "’",
        "“",
        "”",
        ". ",
        "! ",
        "? ",
        '." ',
        ".’ ",
        ") ",
        " ",
        "  ",
        "\t",
        "\xa0",
        "\u2028",
        "\u3000",
        ":",
        "(Picture: PA)",
        "(AP Photo/Jane Roe)",
        "© Agency",
        "Credit: Getty",
        "A",
        "Z",
        "a",
        "é",
        "É",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=30).map(" ".join)
LABELS = st.sampled_from(
    ["body", "body", "body", "photo_caption", "video_caption", "subheading", "title", "other"]
)
BLOCKS = st.lists(st.tuples(LABELS, TEXT), max_size=14)


@needs_compiled
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(BLOCKS, st.one_of(st.none(), TEXT))
def test_compiled_equals_python_on_random_articles(items, title):
    assert_same_records(make_article(items, title), OPTIONS[:4])


@needs_compiled
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(TEXT, min_size=1, max_size=3), TEXT, st.integers(1, 400))
def test_compiled_equals_python_with_huge_paragraphs(paragraphs, caption, repeat):
    """Paragraphs of thousands of words (the word index and the window cut), and empty ones."""
    items = [("body", (text + " ") * repeat) for text in paragraphs]
    items[len(items) // 2 : len(items) // 2] = [("photo_caption", caption), ("body", "")]
    assert_same_records(make_article(items, "A title"), OPTIONS[:2] + OPTIONS[4:6])


@needs_compiled
def test_compiled_equals_python_on_empty_and_caption_only_articles():
    for items in (
        [],
        [("photo_caption", "Alone")],
        [("photo_caption", "Alone"), ("body", "")],
        [("body", ""), ("photo_caption", ""), ("body", "")],
        [("photo_caption", "İİ İstanbul"), ("body", "İstanbul İİ istanbul")],
    ):
        assert_same_records(make_article(items, None))


# --- the compiled functions one by one ----------------------------------------------------------------


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_compiled_lower_and_token_counts_equal_str_methods(text):
    assert ALIGN._speedups.lower(text) == text.lower()
    assert ALIGN._speedups.token_counts([text, text * 2]) == [len(text.split()), len((text * 2).split())]


@needs_compiled
def test_compiled_lower_and_isspace_on_every_code_point():
    """Every character, alone and after an ASCII capital (the fast path lower-cases only ASCII)."""
    lower, counts = ALIGN._speedups.lower, ALIGN._speedups.token_counts
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert lower("A" + char) == ("A" + char).lower(), hex(code)
    chars = [chr(code) for code in range(sys.maxunicode + 1)]
    assert counts(chars) == [len(c.split()) for c in chars]


@needs_compiled
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEXT, TEXT)
def test_compiled_query_and_look_up_equal_python(caption, body_text):
    found = ALIGN.query(caption, "Label words")
    expected = pure(ALIGN.query, caption, "Label words")
    assert (found.terms, found.entities, found.phrases) == (
        expected.terms,
        expected.entities,
        expected.phrases,
    )
    assert list(found.terms.items()) == list(expected.terms.items())  # the same order too
    article = make_article([("body", body_text), ("photo_caption", caption), ("body", caption + body_text)])
    compiled_body = ALIGN._Body.of(article.blocks)
    python_body = pure(ALIGN._Body.of, article.blocks)
    assert dataclasses.astuple(compiled_body) == dataclasses.astuple(python_body)
    compiled_body.look_up(found.terms)
    pure(python_body.look_up, found.terms)
    assert compiled_body.terms == python_body.terms
    options = ALIGN.DEFAULT_ALIGN_OPTIONS
    assert ALIGN.query_evidence(compiled_body, found, options) == pure(
        ALIGN.query_evidence, python_body, found, options
    )


def test_word_index_equals_find_next_to_a_nul():
    """The pure word index (_index_look_up) finds what _find finds, and the compiled look-up too, where a
    word is followed by U+0000 (its three-character code once equalled a two-character key's)."""
    blocks = [Block(0, 0, 20, "zq\x00 and zqx words", "body"), Block(1, 21, 22, "x", "photo_caption")]
    indexed = pure(ALIGN._Body.of, blocks)
    pure(indexed._index_look_up, ["zq", "zqx"])
    found = pure(ALIGN._Body.of, blocks)
    for term in ("zq", "zqx"):
        pure(found.term, term)
    assert indexed.terms == found.terms
    assert indexed.terms["zq"][2] == [(1, 3)]
    if ALIGN._speedups is not None:
        compiled = ALIGN._Body.of(blocks)
        compiled.look_up(["zq", "zqx"])
        assert compiled.terms == found.terms
