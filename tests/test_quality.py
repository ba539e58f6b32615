"""The quality gate: dev-set figures may not fall below the floors pinned in eval_baseline.json.

Like trafilatura's evaluation gate, this fails on a regression of the parser. When the parser gets
better, raise the floors (measured figure minus a margin) with the figures `captionset eval --json`
prints; when the dev corpus changes, its digest no longer matches and the floors must be re-measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from captionset import parse_article
from captionset.evaluate import evaluate, gold_names, match_blocks, read_gold

BASELINE = json.loads((Path(__file__).parent / "eval_baseline.json").read_text(encoding="utf-8"))
FLOORS: dict[str, float] = BASELINE["floors"]
EPSILON: float = BASELINE["epsilon"]

pytestmark = pytest.mark.shared


def is_daily_mail(name: str) -> bool:
    """The Daily Mail articles of the dev set: the seed and the other Daily Mail page."""
    return "seed" in name or "dailymail" in name


@pytest.fixture(scope="module")
def dev_reports(request):
    from conftest import require_shared

    dev = require_shared() / "corpus" / "dev"
    gold_dir, text_dir = dev / "gold", dev / "text"
    names = gold_names(gold_dir)
    return {
        "all": evaluate(gold_dir, text_dir, names=names),
        "dailymail": evaluate(gold_dir, text_dir, names=[n for n in names if is_daily_mail(n)]),
    }


def measured(reports) -> dict[str, float | None]:
    """The gated figures, under the names the baseline file uses."""
    return {
        "caption_f1_all": reports["all"].caption.f1,
        "caption_f1_dailymail": reports["dailymail"].caption.f1,
        "body_recall": reports["all"].body.recall,
        "media_accuracy": reports["all"].media_accuracy,
        "caption_sections": reports["all"].sections.value,
    }


def test_dev_corpus_is_the_one_the_floors_were_measured_on(dev_reports):
    report = dev_reports["all"]
    assert report.articles == BASELINE["corpus"]["articles"]
    assert report.corpus_sha256 == BASELINE["corpus"]["sha256"], (
        "the dev corpus changed since the floors in tests/eval_baseline.json were measured: "
        "re-measure them with `captionset eval --json` and update the file"
    )


def test_daily_mail_subset_is_the_seed_and_the_other_page(dev_reports):
    names = dev_reports["dailymail"].names
    assert "seed" in names and len(names) == 2


@pytest.mark.parametrize("figure", sorted(FLOORS))
def test_figure_is_not_below_its_floor(dev_reports, figure):
    value = measured(dev_reports)[figure]
    assert value is not None, f"{figure} could not be measured"
    assert value >= FLOORS[figure] - EPSILON, (
        f"{figure} fell to {value:.4f}, below its floor {FLOORS[figure]:.4f} (epsilon {EPSILON})"
    )


def test_floors_cover_the_issue_quality_bars():
    assert set(FLOORS) == {
        "caption_f1_all",
        "caption_f1_dailymail",
        "body_recall",
        "media_accuracy",
        "caption_sections",
    }
    assert all(0.0 <= v <= 1.0 for v in FLOORS.values())
    assert 0.0 < EPSILON <= 0.01


def test_seed_title_highlights_byline_and_widget_heading_are_right(dev_dir):
    """The seed's page furniture, checked by block index against the gold labels (no text copied)."""
    text = (dev_dir / "text" / "seed.txt").read_text(encoding="utf-8")
    gold = read_gold(dev_dir / "gold" / "seed.jsonl")
    # Block indices of the seed's structure: headline first, the "Popular Articles" widget heading,
    # the bullet highlights, and the byline last.
    expected = {0: "title", 2: "boilerplate", 3: "highlight", len(gold) - 1: "byline"}
    assert {i: gold[i]["label"] for i in expected} == expected
    article = parse_article(text)
    by_gold_index = {m.gold_index: m for m in match_blocks(article.text, gold, article.blocks)}
    for index, label in expected.items():
        assert by_gold_index[index].pred_label == label, f"seed block {index} should be {label}"
    # Only these blocks carry these labels: nothing else in the story is called a title or a byline.
    for m in by_gold_index.values():
        if m.pred_label in ("title", "highlight", "byline", "boilerplate"):
            assert m.gold_label == m.pred_label, f"seed block {m.gold_index} is not {m.pred_label}"
    bullets = [line for line in gold[3]["text"].splitlines() if line.strip()]
    assert len(article.highlights) == len(bullets)
    assert article.title == article.text.splitlines()[0].strip()
    assert article.byline == article.blocks[-1].text
    assert article.published is not None
