"""The default corpus shipped with the package: where it is found and what it holds."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest

from captionset import parse_article
from captionset.corpus import INSTALLED_CORPUS, SOURCE_CORPUS, default_corpus_dir

# Highlights lines of the corpus format start with two spaces and a bullet.
BULLET_LINE = re.compile(r"^  • \S", re.MULTILINE)
# The byline closing every article: "By NAME dd/mm/YYYY HH:MM:SS".
BYLINE = re.compile(r"\nBy [^\n]+ \d{2}/\d{2}/(\d{4}) \d{2}:\d{2}:\d{2}\n?\Z")


def shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(default_corpus_dir().glob("*.txt"))}


def test_default_corpus_dir_is_the_installed_copy_or_the_checkout():
    found = default_corpus_dir()
    assert found in (INSTALLED_CORPUS, SOURCE_CORPUS)
    assert found.is_dir()


def test_thirty_to_forty_five_articles_in_the_corpus_format(texts):
    # Enough articles that the default 0.8/0.1/0.1 hash split leaves no split empty.
    assert 30 <= len(texts) <= 45
    for name, text in texts.items():
        assert "\r" not in text, name
        assert len(BULLET_LINE.findall(text)) >= 3, name
        assert BYLINE.search(text), name


def test_dates_span_several_years(texts):
    years = {int(BYLINE.search(text).group(1)) for text in texts.values()}
    assert len(years) >= 4


def test_a_few_disjoint_pairs_of_near_duplicates_and_nothing_else_similar(texts):
    grams = {name: shingles(text) for name, text in texts.items()}
    scores = {(a, b): jaccard(grams[a], grams[b]) for a, b in combinations(grams, 2)}
    similar = [pair for pair, score in scores.items() if score > 0.6]
    assert 2 <= len(similar) <= 4
    in_pairs = [name for pair in similar for name in pair]
    assert len(in_pairs) == len(set(in_pairs))  # pairs, not larger clusters
    for a, b in similar:
        assert texts[a] != texts[b]
    # Every other pair is clearly distinct (no accidental third copy of a story).
    assert max(score for pair, score in scores.items() if pair not in similar) < 0.2


def test_every_article_parses_with_title_byline_date_and_captions(texts):
    for name, text in texts.items():
        article = parse_article(text, source=name)
        assert article.title == text.splitlines()[0], name
        assert article.byline and article.published, name
        assert len(article.highlights) >= 3, name
        assert article.captions, name
        assert article.body, name


@pytest.mark.shared
def test_no_text_is_copied_from_the_shared_corpus(texts, shared_dir):
    ours = set().union(*(shingles(t, 8) for t in texts.values()))
    for path in sorted((shared_dir / "corpus").rglob("*.txt")):
        theirs = shingles(path.read_text(encoding="utf-8", errors="replace"), 8)
        assert not ours & theirs, path.name


#: Page furniture that rules and tests may name: a video player's own notice, the same on every page it is on
#: (like "Advertisement"), not an article's text.
FURNITURE_RUNS = {("media", "playback", "is", "unsupported", "on", "your", "device")}


@pytest.mark.shared
def test_no_corpus_text_in_the_code_tests_or_readme(shared_dir):
    """Examples in comments, tests and the README are invented: no run of seven words of a corpus article
    (the gold measures the parser; its text in a rule or a test would fit the parser to it)."""
    root = Path(__file__).resolve().parent.parent
    theirs = set().union(
        *(
            shingles(p.read_text(encoding="utf-8", errors="replace"), 7)
            for p in (shared_dir / "corpus").rglob("*.txt")
        )
    )
    ours = [
        root / "README.md",
        *sorted(p for part in ("captionset", "tests", "scripts") for p in (root / part).rglob("*.py")),
    ]
    for path in ours:
        copied = shingles(path.read_text(encoding="utf-8"), 7) & theirs - FURNITURE_RUNS
        assert not copied, (path.relative_to(root), sorted(" ".join(run) for run in copied)[:3])
