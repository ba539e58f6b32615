"""The compiled features (captionset/classify/_speedups.c) equal the pure-Python ones, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from compiled_checks import CI, assert_wheel_extension, pure_python_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captionset.classify import features
from captionset.corpus import default_corpus_dir
from captionset.segment import segment
from captionset.text import to_text

needs_compiled = pytest.mark.skipif(
    not features.COMPILED, reason="the C extension is not built (pip install -e . compiles it)"
)


def assert_paths_agree(texts: list[str], *, reference: bool = True) -> None:
    """The compiled raw values and features equal the numpy path's (and the block-by-block definition's)."""
    compiled, compiled_endings = features.raw_values_compiled(texts)
    python, python_endings = features.raw_values_python(texts)
    assert compiled_endings == python_endings
    np.testing.assert_array_equal(compiled, python)
    if reference:
        slow, slow_endings = features.raw_values_reference(texts)
        assert compiled_endings == slow_endings
        np.testing.assert_array_equal(compiled, slow)
    x_compiled, _ = features.assemble_features_compiled(compiled, compiled_endings)
    x_python, _ = features.assemble_features_python(python, python_endings)
    np.testing.assert_array_equal(x_compiled, x_python)


def article_blocks(path: Path) -> list[str]:
    return [b.text for b in segment(to_text(path.read_bytes())[0])]


def test_ci_runs_the_extension_the_wheel_built():
    """Under CI the tests run against the installed wheel (.ci/run): it must carry the extension, and the
    features must use it - a wheel that silently fell back to pure Python fails here."""
    if not CI:
        pytest.skip("CI only: a developer's checkout may run without the extension")
    assert features.COMPILED, "the compiled features are not in use"
    assert_wheel_extension(features._speedups, "_speedups")


def test_pure_python_switch_turns_the_extension_off():
    code = "from captionset.classify import features; print(features.COMPILED)"
    assert pure_python_output(code) == "False"


@needs_compiled
@pytest.mark.shared
def test_compiled_features_equal_python_on_every_shared_article(shared_dir):
    paths = sorted((shared_dir / "corpus").glob("*/text/*.txt"))
    assert len(paths) >= 100
    for path in paths:
        texts = article_blocks(path)
        if texts:
            assert_paths_agree(texts)


@needs_compiled
def test_compiled_features_equal_python_on_the_shipped_corpus():
    paths = sorted(default_corpus_dir().glob("*.txt"))
    assert paths
    for path in paths:
        assert_paths_agree(article_blocks(path))


@needs_compiled
def test_dispatch_uses_the_compiled_path():
    texts = ["Title", "A man walks past the palace (Picture: PA)", "He said it was over."]
    assert features.raw_values(texts)[1] == features.raw_values_compiled(texts)[1]
    np.testing.assert_array_equal(
        features.article_features(texts)[0], features.article_features_reference(texts)[0]
    )


# Characters that the features look at, and the ones where Python's str semantics are subtle.
_WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROLS = "".join(chr(c) for c in range(0x20))
_PUNCTUATION = ".!?…,:;\"'‘’“”«»()[]/-–—•·*▪●@©&|"
_CASED = (
    "AZaz09"
    "İıſKÅΣσςǅǈǋǲᾈᾼῌῼⅠⅰⓐⒶßﬁŉΐǰ"  # title-case, folded and expanding letters
    "ÉéÑñÆæØøÞþĲĳŒœДдЖжΩω"
    "٣०²³¹½"  # decimal digits of other scripts, and digits that are not decimal
)
_SURROGATES = "\ud800\udbff\udc00\udfff"
_ALPHABET = _WHITESPACE + _CONTROLS + _PUNCTUATION + _CASED + _SURROGATES + "abcdefghijklmnopqrstuvwxyz"
# Words of the word sets, credits, phrases and patterns, so that the generated text hits them.
_WORDS = [
    "said",
    "told",
    "Pictured",
    "pictured",
    "the",
    "The",
    "a",
    "An",
    "video",
    "footage",
    "was",
    "is",
    "are",
    "seen",
    "shown",
    "Monday",
    "May",
    "subscribe",
    "sign up",
    "read more",
    "(left)",
    "from left",
    "above)",
    "in this photo",
    "file photo",
    "FILE",
    "image",
    "http://x.com",
    "www.",
    "@handle",
    "©",
    "(Picture: PA)",
    "(Image: Getty Images)",
    "Credit: Rex",
    "PAUL SANCYA / AP",
    "Getty Images",
    "(Jo Hart)",
    "Reuters",
    "By Jane Doe",
    "03/04/2021 09:15:00",
    "2024-04-27",
    "12-3",
    "Devastation:",
    "Advertisement",
    "walked",
    "walking",
    "ed.",
    "ing,",
    ". The",
    '." "',
    "?’ A",
    "I",
    "we're",
    "\x00",
]
_piece = st.one_of(
    st.sampled_from(_WORDS),
    st.text(alphabet=_ALPHABET, max_size=6),
    st.sampled_from([" ", " ", " ", "\n", ". ", ", ", "\xa0", "  "]),
)
_block = st.lists(_piece, min_size=1, max_size=40).map("".join)
# Some blocks are long: past the head (320 characters), the sentence window (1,000) and the tails.
_long_block = st.tuples(_block, st.integers(2, 80)).map(lambda pair: (pair[0] + " ") * pair[1])
_article = st.lists(st.one_of(_block, _block, _block, _long_block), min_size=1, max_size=14).map(
    lambda blocks: [b for b in blocks if b] or ["x"]
)


@needs_compiled
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_article)
def test_compiled_features_equal_python_on_generated_text(texts):
    assert_paths_agree(texts)


@needs_compiled
@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(_WORDS[:20]), min_size=6, max_size=12), st.integers(1, 4))
def test_compiled_near_copies_equal_python_on_repeated_words(words, copies):
    """Repeated short blocks exercise the near-copy probes (overlapping occurrences, equal rarities)."""
    block = " ".join(words)
    texts = ["Title", block, *([block + " " + words[0]] * copies), " ".join(reversed(words))]
    assert_paths_agree(texts)


@needs_compiled
def test_compiled_case_predicates_equal_python_for_every_cased_character():
    """str.istitle / str.isupper per word (title_case, all_caps), for every cased character alone and next
    to others, and the first character's str.islower / str.isdigit."""
    cased = [
        chr(c)
        for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and (chr(c).isupper() or chr(c).islower() or chr(c).istitle())
    ]
    words = [w for c in cased for w in (c, c + "a", "A" + c, c + c, c + "1" + c)]
    # 60 words a block: the share counts a block's first 60 words.
    texts = [" ".join(words[i : i + 60]) for i in range(0, len(words), 60)]
    texts += [c + " starts" for c in cased[::7]]
    assert_paths_agree(texts, reference=False)


@needs_compiled
def test_compiled_gates_keep_every_pattern_match():
    """The extension names the blocks that the patterns may match by necessary conditions; at their
    limits (seven words in a tail phrase, a digit before a date's slash, a label's capital) nothing is
    lost."""
    texts = []
    for count in range(1, 10):
        for joint in (" ", "\xa0", " of the ", " \n "):
            for trail in ("", " ", "\n", " \u3000"):
                words = joint.join(["Name"] * count)
                texts += [
                    f"It rained all day. {words}{trail}",
                    f'He left."  {words}{trail}',
                    f"Why?) {words}",
                ]
    texts += [
        "Taken 16/02/2016 at noon",
        "Taken ٣/٣/٢٠٢٠ at noon",
        "Taken 2024-04-27 at noon",
        "Taken 2024 -04-27",
        "Devastation: the river rose",
        "9 lives: the cat",
        "devastation: lower case",
        "Élan: accented",
        "By Jane Doe 03/04/2021 09:15:00",
        " 16/02/2016",
    ]
    assert_paths_agree(texts)
    raw, _ = features.raw_values_compiled(texts)
    for field in ("tail_phrase", "date_stamp", "label_prefix", "byline"):
        assert raw[:, features._R[field]].any(), field


@needs_compiled
def test_extension_lowers_every_character_as_str_lower():
    """The extension lowers text itself, character by character; only Σ (lowered by its context) is left
    to str.lower. Every other code point (surrogates too) must lower as str.lower lowers it."""
    chars = "".join(chr(c) for c in range(0x110000) if c != 0x3A3)
    assert features._speedups.lower(chars) == chars.lower()
    assert features._speedups.lower("ΑΣ") is None


@needs_compiled
def test_compiled_lowering_matches_str_lower_around_dotted_i_and_sigma():
    # İ lowers to two characters and Σ to σ or ς by context: the head and tail are lowered apart.
    long = "ΣΑΣ İstanbul " * 40
    texts = [
        "İS SEEN here",
        long + "photo Σ",
        "x" * 300 + "İİİİİİİİİİİİİİİİİİİİİİİİİ in this photo",
        "Credit " + "İ" * 70,
        "Σ" * 319 + "Σ credit",
        "ΑΣ. The end",
    ]
    assert_paths_agree(texts)


@needs_compiled
def test_compiled_path_hands_empty_and_odd_blocks_to_python():
    for texts in (["Title", ""], [""]):
        with pytest.raises(IndexError):
            features.raw_values_python(texts)
        with pytest.raises(IndexError):
            features.raw_values_compiled(texts)

    class Text(str):
        """A str subclass: the extension leaves it to the Python path."""

    texts = [Text("Title"), Text("A man walks past (Picture: PA)")]
    np.testing.assert_array_equal(
        features.raw_values_compiled(texts)[0], features.raw_values_python(texts)[0]
    )
    empty = features.raw_values_compiled([])[0]
    assert empty.shape == (0, len(features.RAW_FIELDS))


@needs_compiled
def test_extension_refuses_a_layout_it_does_not_know():
    speedups = features._speedups
    texts = ["Title", "The crowd gathers outside (Picture: PA)"]
    before = features.article_features(texts)[0]
    config = features._speedup_config()
    bad_raw = dict(config, raw_fields=(*config["raw_fields"], "new_field"))
    with pytest.raises(ValueError, match="new_field"):
        speedups.setup(bad_raw)
    bad_derived = dict(config, derived=(*config["derived"], "words_gt100"))
    with pytest.raises(ValueError, match="words_gt100"):
        speedups.setup(bad_derived)
    missing = dict(config)
    del missing["word_sets"]
    with pytest.raises(KeyError):
        speedups.setup(missing)
    # A refused setup leaves the working one in place.
    np.testing.assert_array_equal(features.article_features(texts)[0], before)


@needs_compiled
def test_extension_checks_its_buffers():
    speedups = features._speedups
    texts = ["Title", "Body text here."]
    with pytest.raises(ValueError):
        speedups.block_values(texts, np.zeros((3, len(features.RAW_FIELDS))))
    with pytest.raises(ValueError):
        speedups.block_values(texts, np.zeros((2, len(features.RAW_FIELDS)), dtype=np.float32))
    with pytest.raises(BufferError):
        speedups.block_values(texts, b"not writable")
    raw, endings = features.raw_values_compiled(texts)
    with pytest.raises(ValueError):
        speedups.assemble(raw, endings, np.zeros((2, 3)))
    with pytest.raises(ValueError):
        speedups.assemble(raw[:0], [], np.zeros((0, len(features.FEATURE_NAMES))))
