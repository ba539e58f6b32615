"""The compiled evidence layer (captionset/_align_speedups.c) gives the Caption records of the pure-Python
path, bit for bit: on every shared article (parser and gold labels, several options) and on random text."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace

import pytest
from compiled_checks import CI, pure_python_output
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from captionset import parse_article
from captionset.evaluate import gold_article
from captionset.model import Article, Block

#: The module, not the function the package exports under the same name.
ALIGN = importlib.import_module("captionset.align")
ROOT = Path(__file__).resolve().parent.parent

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
    ALIGN.AlignOptions(min_score=0.0, top_k=1, neighbours=0),
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
    assert pure_python_output(code) == "None"


@needs_compiled
@pytest.mark.shared
def test_compiled_equals_python_on_every_shared_article(shared_dir):
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
# An ASCII token cut from a paragraph that opens with a no-break space (CPython's PyUnicode_CopyCharacters
# refused that copy: hypothesis found it).
@example(paragraphs=["\xa0 150,000 Straße"], caption="", repeat=1)
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
    # At every offset of the 16-character blocks that are read at once, between ASCII letters and spaces.
    for code in range(sys.maxunicode + 1):
        padded = "Ab c"[: 1 + code % 4] * (code % 11) + chr(code) + "Zz y"
        assert lower(padded) == padded.lower(), hex(code)
    padded = [" a\t"[code % 3] * (code % 37) + chr(code) + "x " for code in range(sys.maxunicode + 1)]
    assert counts(padded) == [len(text.split()) for text in padded]


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


# --- the learned ranker (learned_related) ----------------------------------------------------------------

#: Values that tie often (the ranking's tie-breaks), and others.
VALUES = st.one_of(st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.5]), st.floats(1e-3, 60.0))


@st.composite
def galleries(draw):
    """A body of paragraphs (with sections), a gallery's members (block, gap, section) with their Parts."""
    paragraphs = draw(st.integers(1, 12))
    sections = sorted(draw(st.lists(st.integers(0, 3), min_size=paragraphs, max_size=paragraphs)))
    body = SimpleNamespace(
        sections=sections,
        indices=[2 * o + 1 for o in range(paragraphs)],
        texts=[f"p{o}" for o in range(paragraphs)],
    )
    gap = draw(st.integers(0, paragraphs))
    ordinals = st.integers(0, paragraphs - 1)
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        lexical = draw(st.dictionaries(ordinals, VALUES, max_size=paragraphs))
        extras = [draw(st.dictionaries(ordinals, VALUES, max_size=paragraphs)) for _ in range(3)]
        parts.append((draw(VALUES), lexical, *extras))
    section = sections[gap] if gap < paragraphs else draw(st.integers(-1, 4))
    members = [(None, gap, section) for _ in parts]
    return body, members, parts, gap


def related_bits(found: list[list]) -> list[list[tuple[int, str, str]]]:
    """The Related records with their scores' exact bits."""
    return [[(r.block_index, r.score.hex(), r.text) for r in member] for member in found]


@needs_compiled
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    galleries(),
    st.sampled_from([0.0, 0.001, 0.05, 0.5, 0.9, 1.0]),
    st.sampled_from([0, 1, 3, 50]),
    st.sampled_from([4.0, 0.5]),
)
def test_compiled_learned_ranker_equals_python(gallery, min_score, top_k, score_half):
    """learned_related's compiled call gives gallery_evidence + learned_scores + rank_learned bit for bit:
    ties, thresholds of 0 and 1 (every candidate, none), top_k 0, lone members."""
    body, members, parts, gap = gallery
    options = ALIGN.AlignOptions(min_score=min_score, top_k=top_k, score_half=score_half)
    weights, scale, offset = ALIGN.load_model()
    least = ALIGN._least_learned_score(min_score)
    compiled = ALIGN._speedups.learned_related(
        parts, members, body.sections, body.indices, body.texts, gap, weights, scale, offset, least, top_k,
        score_half, ALIGN.Related,
    )  # fmt: skip
    assert compiled is not None
    assert related_bits(compiled) == related_bits(
        pure(ALIGN.learned_related, body, members, parts, gap, options)
    )


@needs_compiled
def test_compiled_learned_ranker_leaves_errors_to_python():
    """Where the definition raises (a best evidence of 0 divides by zero), the compiled call answers None
    and the Python code raises as it would alone."""
    body = SimpleNamespace(sections=[0, 0], indices=[1, 2], texts=["a", "b"])
    members = [(None, 1, 0)]
    weights, scale, offset = ALIGN.load_model()
    parts, options = [(1.0, {0: 0.0}, {}, {}, {})], ALIGN.AlignOptions()
    least = ALIGN._least_learned_score(options.min_score)
    args = (parts, members, body.sections, body.indices, body.texts, 1, weights, scale, offset, least)
    assert ALIGN._speedups.learned_related(*args, options.top_k, options.score_half, ALIGN.Related) is None
    with pytest.raises(ZeroDivisionError):
        ALIGN.learned_related(body, members, parts, 1, options)
    with pytest.raises(ZeroDivisionError):
        pure(ALIGN.learned_related, body, members, parts, 1, options)


@needs_compiled
def test_a_score_whose_exp_overflows_is_zero_in_both():
    """A candidate scored so low that e^logit overflows (a huge bonus weighs against it) and kept by a
    min_score of 0 has probability 0 in C and in Python (it once raised OverflowError)."""
    body = SimpleNamespace(sections=[0, 0], indices=[1, 2], texts=["a", "b"])
    members = [(None, 1, 0)]
    weights, scale, offset = ALIGN.load_model()
    parts, options = [(1.0, {0: 1.0}, {0: 1e300}, {}, {})], ALIGN.AlignOptions(min_score=0.0)
    least = ALIGN._least_learned_score(options.min_score)
    args = (parts, members, body.sections, body.indices, body.texts, 1, weights, scale, offset, least)
    compiled = ALIGN._speedups.learned_related(*args, options.top_k, options.score_half, ALIGN.Related)
    python = pure(ALIGN.learned_related, body, members, parts, 1, options)
    assert related_bits(compiled) == related_bits(python)
    assert [r.score for r in python[0]] == [0.0]


@needs_compiled
def test_compiled_window_cut_is_the_joined_tokens():
    """The cut paragraph of a window is " ".join of its first tokens: the same string, of the narrowest
    kind when the tokens left out hold the widest characters (str equality compares kinds first)."""
    texts = ["Lead words here", "a  b\tc 😀 é", "ü x 𝐀 y", "\u3000 z \u2028 w"]
    blocks = [Block(i, 0, len(t), t, "body") for i, t in enumerate(texts)]
    blocks.insert(2, Block(9, 0, 3, "Cap", "photo_caption"))
    for budget in range(12):
        compiled = ALIGN._Body.of(blocks)
        python = pure(ALIGN._Body.of, blocks)
        for gap in range(len(texts) + 1):
            window = ALIGN.context_window("T", compiled, gap, budget)
            assert window == pure(ALIGN.context_window, "T", python, gap, budget), (budget, gap)
    cut = ALIGN._speedups.window_pieces(["a b 😀 c", "x"], [4, 1], "a b 😀 c\n\nx", [0, 9, 12], 1, 2)
    assert cut == ["a b"] and cut[0].isascii()


# --- the compiled word analysis (stem, search keys, caption words) ----------------------------------------


def python_stem(word: str) -> str:
    """``align.stem`` without its cache (the definition)."""
    return ALIGN.stem.__wrapped__(word)


def python_caption_token(token: str) -> tuple[str, bool, bool, bool] | None:
    return ALIGN._caption_token.__wrapped__(token)


def python_search_keys(term: str) -> tuple[str, ...]:
    return ALIGN._search_keys.__wrapped__(term)


def assert_same_word_analysis(word: str) -> None:
    compiled = ALIGN._speedups
    assert compiled.stem(word) == python_stem(word), word
    assert type(compiled.stem(word)) is str
    assert compiled.caption_token(ALIGN.STOPWORDS, ALIGN.COMMON_WORDS, word) == python_caption_token(word), (
        word
    )
    assert compiled.search_keys(ALIGN.IRREGULAR_FORMS, word) == python_search_keys(word), word


def corpus_words(root: Path) -> set[str]:
    """Every whitespace token, word and lower-cased word of the shared articles."""
    words: set[str] = set()
    for path in sorted(root.glob("*/text/*.txt")):
        text = path.read_text("utf-8", "surrogatepass")
        for found in (text.split(), ALIGN.WORD.findall(text), ALIGN.WORD.findall(text.lower())):
            words.update(found)
        words.update(ALIGN.CAPTION_WORD.findall(text))
    return words


@needs_compiled
@pytest.mark.shared
def test_compiled_word_analysis_on_every_shared_word(shared_dir):
    words = corpus_words(shared_dir / "corpus")
    assert len(words) > 10_000
    for word in words:
        assert_same_word_analysis(word)
        if not word.isdecimal() or len(word) < 50:  # int() of thousands of digits is slow
            assert_same_word_analysis(word + "s")


#: Endings the stemmer looks at: its suffixes, the endings that keep a plural, doubled consonants.
ENDINGS = sorted(
    {suffix for suffix, _, _ in ALIGN.SUFFIX_RULES}
    | set(ALIGN.NOT_PLURAL)
    | set(ALIGN.DOUBLED)
    | {"ches", "shes", "xes", "zes", "sses", "ies", "ied", "y", "ys", "yes", "ly", "ingly", "edly"}
)
#: Letters that take rare branches: vowels and not (y is a vowel), capitals that str.lower changes in
#: length or not at all, titlecase, final sigma, a letter beyond 16 bits, digits of other scripts.
LETTERS = st.sampled_from(
    [
        *"aeiouybcdfghklmnprstvwxzAEIOUYSBT",
        *("İ", "ß", "Σ", "ς", "ǅ", "é", "É", "ı", "ſ", "K", "ﬀ", "𝐀", "ǈ", "ⅷ", "Ⅷ", "ª", "ʰ"),
        *"0123456789٣٤²³¹½'’-,_ \t\x00",
    ]
)
WORDISH = st.builds(
    lambda head, ending, tail: head + ending + tail,
    st.text(LETTERS, max_size=12),
    st.sampled_from(ENDINGS),
    st.sampled_from(["", "", "", "s", "es", "S", "'s", "’", "1"]),
)
WORDS = st.one_of(
    WORDISH,
    st.text(LETTERS, max_size=20),
    st.text(max_size=20),  # arbitrary unicode
    st.text(st.one_of(LETTERS, st.integers(0xD800, 0xDFFF).map(chr)), max_size=8),  # lone surrogates
    st.sampled_from(sorted(ALIGN.IRREGULAR) + sorted(ALIGN.IRREGULAR.values())),
    st.builds(
        lambda word, change: change(word),
        st.sampled_from(sorted(ALIGN.IRREGULAR)),
        st.sampled_from([str.upper, str.title, lambda w: w + "s", lambda w: w[:-1], lambda w: "x" + w]),
    ),
    st.text(st.sampled_from("0123456789٣٤²"), min_size=1, max_size=30),
    st.builds(
        lambda head, n, ending: head * n + ending,
        st.text(LETTERS, min_size=1, max_size=3),
        st.integers(20, 120),
        st.sampled_from(ENDINGS),
    ),  # a word longer than the stack buffer
)


@needs_compiled
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(WORDS)
def test_compiled_word_analysis_equals_python(word):
    assert_same_word_analysis(word)
    assert_same_word_analysis(word.lower())
    assert_same_word_analysis(word.upper())


@needs_compiled
def test_compiled_word_analysis_on_every_character_and_rule():
    """Every code point alone and in a word before every ending; every rule at every least length."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert_same_word_analysis(char)
        assert_same_word_analysis("ab" + char + "ers")
        assert_same_word_analysis(char + "tories")
    for suffix, replacement, least in ALIGN.SUFFIX_RULES:
        for size in range(least + 3):
            for head in ("b" * size, "a" * size, "b" * (size - 1) + "a", "a" + "t" * (size - 1), "xs" * size):
                for word in (head + suffix, head + suffix + suffix, head + replacement + suffix):
                    assert_same_word_analysis(word)
    for word in ALIGN.IRREGULAR:
        assert ALIGN._speedups.stem(word) == ALIGN.IRREGULAR[word]


@needs_compiled
def test_compiled_word_analysis_rejects_other_types():
    compiled = ALIGN._speedups
    with pytest.raises(TypeError):
        compiled.stem(b"bombs")
    with pytest.raises(TypeError):
        compiled.caption_token(ALIGN.STOPWORDS, ALIGN.COMMON_WORDS, 5)
    with pytest.raises(TypeError):
        compiled.search_keys(ALIGN.IRREGULAR_FORMS)
    with pytest.raises(ValueError):  # int() refuses as many digits, as _search_keys does
        compiled.search_keys(ALIGN.IRREGULAR_FORMS, "1" * 5000)
    with pytest.raises(ValueError):
        python_search_keys("1" * 5000)


def test_clear_caches_empties_the_compiled_caches_too():
    ALIGN.query("Bombs hit Turkish harbours", "Devastation")
    ALIGN.clear_caches()
    for cached in (ALIGN.stem, ALIGN._caption_token, ALIGN._compiled_stem, ALIGN._compiled_caption_token):
        if cached is not None:
            assert cached.cache_info().currsize == 0
