"""scripts/train_align.py: the ranker is fitted on the candidates align() itself would rank."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scriptfiles import load_script


@pytest.fixture(scope="module")
def train_align() -> Any:
    return load_script("train_align")


def _write_article(folder: Path, name: str, blocks: list[tuple[str, str]]) -> None:
    """An article in the corpus format: text blocks split by blank lines, one gold row per block."""
    (folder / "text").mkdir(parents=True, exist_ok=True)
    (folder / "gold").mkdir(parents=True, exist_ok=True)
    (folder / "text" / f"{name}.txt").write_text("\n\n".join(text for text, _ in blocks) + "\n")
    rows = [{"block": i, "text": text, "label": label} for i, (text, label) in enumerate(blocks)]
    (folder / "gold" / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


ARTICLE = [
    ("Porthaven harbour wall gives way in storm", "title"),
    ("The harbour wall in Porthaven collapses under the waves", "photo_caption"),
    ("Storm waves broke the old harbour wall of Porthaven on Sunday night.", "body"),
    ("READ MORE: Porthaven harbour wall repairs to start next spring", "body"),
    ("Fishermen moved their boats to the inner basin before the storm.", "body"),
    ("Sign up for our newsletter about the Porthaven harbour wall", "body"),
    ("The council will inspect the wall on Monday, said Jane Roe.", "body"),
]


def test_collect_leaves_out_the_paragraphs_that_point_away_from_the_story(
    train_align: Any, tmp_path: Path
) -> None:
    # Links and calls to action share the caption's words, but align() never relates them: the model is
    # fitted on the candidates align() ranks (block indices, not paragraph ordinals, name them).
    _write_article(tmp_path / "dev", "porthaven", ARTICLE)
    rows = [{"article": "porthaven", "caption": 1, "best": [2]}]
    (item,) = train_align.collect(tmp_path / "dev", rows)
    assert 2 in item["indices"]
    assert 3 not in item["indices"] and 5 not in item["indices"]
    assert item["y"].tolist() == [i == 2 for i in item["indices"]]
    assert item["x"].shape == (len(item["indices"]), len(train_align.FEATURE_NAMES))


def test_collect_matches_words_through_soft_hyphens(train_align: Any, tmp_path: Path) -> None:
    # align() matches hyphenated pages without their soft hyphens; the fitted features must see the same.
    plain = [(text, label) for text, label in ARTICLE if not text.startswith(("READ", "Sign"))]
    hyphenated = [(text.replace("harbour", "har\u00adbour"), label) for text, label in plain]
    _write_article(tmp_path / "dev", "plain", plain)
    _write_article(tmp_path / "dev", "hyphenated", hyphenated)
    (one,) = train_align.collect(tmp_path / "dev", [{"article": "plain", "caption": 1, "best": [2]}])
    (two,) = train_align.collect(tmp_path / "dev", [{"article": "hyphenated", "caption": 1, "best": [2]}])
    assert one["indices"] == two["indices"]
    assert one["x"].ravel().tolist() == pytest.approx(two["x"].ravel().tolist())
