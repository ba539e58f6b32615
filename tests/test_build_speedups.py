"""The compiled near-duplicate signatures (captionset/_build_speedups.c) equal the numpy path's, byte for
byte: on random text (hypothesis), on real article bodies, and at the edges (short, huge, non-ASCII)."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest
from compiled_checks import CI, assert_wheel_extension, pure_python_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captionset import parse_article, splits
from captionset.corpus import default_corpus_dir
from captionset.splits import (
    MIN_WORDS,
    SHINGLE_WORDS,
    SHINGLES_PER_CHUNK,
    body_signatures,
    body_signatures_compiled,
    body_signatures_python,
)

needs_compiled = pytest.mark.skipif(
    not splits.COMPILED, reason="the C extension is not built (pip install -e . compiles it)"
)

#: Characters that exercise every path of the word splitter: ASCII, Latin-1 (1-byte strings that are not
#: ASCII), BMP and astral letters, digits of other scripts, marks, '_', punctuation and surrogates.
ALPHABET = st.characters(
    codec=None,
    min_codepoint=0,
    max_codepoint=0x10FFFF,
    categories=("L", "M", "N", "P", "S", "Z", "C"),
)
WORDS = st.lists(st.text(ALPHABET, min_size=1, max_size=12), max_size=3 * MIN_WORDS)
SEPARATORS = st.sampled_from([" ", "\n", ", ", " — ", "\t", "'", "-", "\u00a0", "…"])


def assert_paths_agree(paragraphs: list[str]) -> None:
    """The compiled (body_hash, minhash) equals the numpy path's."""
    assert body_signatures_compiled(paragraphs) == body_signatures_python(paragraphs)


def body_of(path: Path) -> list[str]:
    """An article's body paragraphs, as the build hashes them."""
    article = parse_article(path.read_bytes())
    return [b.text for b in article.blocks if b.label == "body"]


def raw_signature(text: str, shingle_words: int = SHINGLE_WORDS, min_words: int = MIN_WORDS):
    """The extension's answer for an already lower-cased text (with the build's permutations)."""
    return splits._speedups.body_signature(
        text,
        splits._PERM_A_BYTES,
        splits._PERM_B_BYTES,
        shingle_words,
        min_words,
        splits.SHINGLE_BASE,
        int(splits._MERSENNE),
    )


def test_ci_runs_the_extension_the_wheel_built():
    """Under CI the tests run against the installed wheel: it must carry this extension, and the
    signatures must use it - a wheel that silently fell back to numpy fails here."""
    if not CI:
        pytest.skip("CI only: a developer's checkout may run without the extension")
    assert splits.COMPILED, "the compiled signatures are not in use"
    assert_wheel_extension(splits._speedups, "_build_speedups")


def test_pure_python_switch_turns_the_extension_off():
    code = "from captionset import splits; print(splits.COMPILED)"
    assert pure_python_output(code) == "False"


def test_signatures_keep_their_pinned_values():
    """The signature is part of the file format (grouping compares them across builds): a fixed body keeps
    the value the first implementation gave, whichever path runs."""
    body = ["The Quick brown fox, jumps over the lazy dog near Zürich's old İstanbul café — 42 times!"] * 3
    body.append("Ünïcödé wörds: 東京 タワー 😀 snake_case x²")
    digest, signature = body_signatures(body)
    assert digest == "385916dc78f50da53179bbd3"
    assert hashlib.sha256(signature).hexdigest() == (
        "b45a422f5edf363aa84aae205f79688f45c91eed583097d7096f3fe6df74a236"
    )
    assert body_signatures_python(body) == (digest, signature)


@needs_compiled
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=WORDS, separator=SEPARATORS, paragraphs=st.integers(1, 4))
def test_compiled_equals_numpy_on_random_bodies(words, separator, paragraphs):
    text = separator.join(words)
    step = max(1, len(text) // paragraphs)
    assert_paths_agree([text[i : i + step] for i in range(0, len(text), step)] or [""])


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, max_size=400))
def test_compiled_words_are_the_regular_expressions_words(text):
    """The C word splitter is \\w+ on a str, on any text (surrogates and all); min_words=1 so that every
    text gets an answer."""
    text = text.lower()
    words = re.findall(r"\w+", text)
    found = raw_signature(text, shingle_words=1, min_words=1)
    if not words:
        assert found is None
    else:
        assert found[0] == " ".join(words).encode()


@needs_compiled
def test_compiled_word_characters_are_the_regular_expressions_on_every_code_point():
    """Every code point, each one alone between spaces: the C splitter keeps exactly those that \\w
    matches (this Python's Unicode database, as the re module has it)."""
    text = " ".join(map(chr, range(sys.maxunicode + 1)))
    found = raw_signature(text, shingle_words=1, min_words=1)
    assert found[0] == " ".join(re.findall(r"\w+", text)).encode()


@needs_compiled
@pytest.mark.shared
def test_compiled_equals_numpy_on_every_shared_article(shared_dir):
    paths = sorted((shared_dir / "corpus").glob("*/text/*.txt"))
    assert len(paths) >= 100
    for path in paths:
        assert_paths_agree(body_of(path))


@needs_compiled
def test_compiled_equals_numpy_on_the_shipped_corpus():
    paths = sorted(default_corpus_dir().rglob("*.txt"))
    assert paths
    signed = 0
    for path in paths:
        body = body_of(path)
        assert_paths_agree(body)
        signed += body_signatures_compiled(body)[1] is not None
    assert signed >= len(paths) // 2


@needs_compiled
@pytest.mark.parametrize(
    "count", [0, 1, SHINGLE_WORDS - 1, SHINGLE_WORDS, MIN_WORDS - 1, MIN_WORDS, MIN_WORDS + 1]
)
def test_short_bodies_agree_and_the_shortest_have_no_signature(count):
    body = [" ".join(f"word{i}" for i in range(count))]
    assert_paths_agree(body)
    assert (body_signatures_compiled(body) == (None, None)) == (count < MIN_WORDS)


@needs_compiled
def test_huge_bodies_agree():
    """More shingles than the numpy path's chunk and than the C word array's first allocation."""
    words = [f"w{(i * 7919) % 5003}" for i in range(3 * SHINGLES_PER_CHUNK + 17)]
    body = [" ".join(words[i : i + 100]) for i in range(0, len(words), 100)]
    assert_paths_agree(body)
    assert_paths_agree(["x " * 200_000])  # one word repeated: every shingle the same


@needs_compiled
@pytest.mark.parametrize(
    "text",
    [
        "café naïve façade déjà vu " * 6,  # Latin-1, 1-byte storage
        "Ελληνικά κείμενα και Кириллица тоже " * 5,  # 2-byte storage
        "東京 タワー 😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 words " * 6,  # 4-byte storage, astral letters and symbols
        "İSTANBUL ΣΊΣΥΦΟΣ straße ǅemal " * 6,  # lower() changes the length or adds marks
        "snake_case __dunder__ x² ½ ٣ ४ १२ " * 6,  # '_' and digits/numerics of other scripts
        "e\u0301 n\u0303 a\u200db zero\u200bwidth " * 8,  # combining marks, joiners, spaces
        "lone \ud800 surrogate \udfff between words " * 5,  # surrogates are separators
    ],
)
def test_non_ascii_bodies_agree(text):
    assert_paths_agree([text, text.upper()])


@needs_compiled
def test_the_extension_refuses_bad_arguments():
    with pytest.raises(ValueError):
        splits._speedups.body_signature("a b c", b"\0" * 8, b"\0" * 16, 1, 1, 3, 7)
    with pytest.raises(ValueError):
        splits._speedups.body_signature("a b c", b"\0" * 7, b"\0" * 7, 1, 1, 3, 7)
    with pytest.raises(ValueError):
        raw_signature("a b c", shingle_words=3, min_words=2)
    with pytest.raises(ValueError):
        raw_signature("a b c", shingle_words=0, min_words=1)
    with pytest.raises(TypeError):
        raw_signature(b"a b c")  # type: ignore[arg-type]
