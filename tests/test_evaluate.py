"""Scoring against gold labels: matching rules, figures, and agreement with the corpus's own scorer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scriptfiles import load_file, load_script

from captionset import evaluate, parse_article
from captionset.evaluate import (
    PRF,
    EvalReport,
    corpus_digest,
    format_report,
    gold_spans,
    is_dont_care,
    match_blocks,
    per_label_gold,
    score_article,
    site_of,
)
from captionset.model import Block

# A few dev articles of different kinds: the seed, the other Daily Mail page, and sites with
# sub-headings, credit-only lines and captions the parser misses or over-detects.
AGREEMENT_NAMES = [
    "seed",
    "dailymail.co.uk__7550486b",
    "express.co.uk__15faa3c2",
    "people.com__1587634c",
    "telegraph.co.uk__9d0d360a",
    "metro.co.uk__da80656b",
]


def gold(text: str, label: str, kind: str | None = None) -> dict:
    row = {"text": text, "label": label}
    if kind:
        row["kind"] = kind
    return row


def blocks_for(text: str, labels: list[str]) -> list[Block]:
    """Predicted blocks: the text split on blank lines, labelled in order."""
    pieces, pos = [], 0
    for piece in text.split("\n\n"):
        start = text.index(piece, pos)
        pieces.append((start, start + len(piece)))
        pos = start + len(piece)
    assert len(pieces) == len(labels)
    return [
        Block(index=i, start=s, end=e, text=text[s:e], label=label)
        for i, ((s, e), label) in enumerate(zip(pieces, labels, strict=True))
    ]


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "row",
    [
        gold("(Image: Getty)", "photo_caption"),
        gold("Chuck Burton/AP", "other"),
        gold("Photo credit: Reuters", "photo_caption"),
        gold("[Shutterstock]", "other"),
        gold("A harbour at dusk", "other", kind="image_credit"),
    ],
)
def test_credit_only_blocks_are_not_scored(row):
    assert is_dont_care(row)


@pytest.mark.parametrize(
    "row",
    [
        gold("(Image: Getty)", "body"),  # only captions and loose text can be credit-only
        gold("Rescuers search the rubble of the market after the quake. Photo: Reuters", "photo_caption"),
        gold(
            "Crowds gather at the gates of the stadium on Saturday afternoon, as stewards look on (Getty)",
            "photo_caption",
        ),
        gold("A lifeboat returns to the harbour", "photo_caption"),
    ],
)
def test_captions_and_body_are_scored(row):
    assert not is_dont_care(row)


def test_subheadings_filed_under_other_count_as_subheading_per_label():
    assert per_label_gold(gold("What happens next", "other", kind="subheading")) == "subheading"
    assert per_label_gold(gold("@someone: a tweet", "other", kind="embed")) == "other"
    assert per_label_gold(gold("Rain again", "body", kind="subheading")) == "body"


def test_site_is_the_name_before_the_double_underscore():
    assert site_of("metro.co.uk__da80656b") == "metro.co.uk"
    assert site_of("seed") == "seed"


def test_gold_spans_follow_the_text_in_order_and_skip_leading_space():
    text = "Title\n\nSame line\n\n  Same line\n\nEnd"
    spans = gold_spans(text, [gold("Title", "title"), gold("Same line", "body"), gold("  Same line", "body")])
    assert spans[0] == (0, 5)
    # The second copy is found after the first, not at the first occurrence again.
    assert text[spans[1][0] : spans[1][1]] == "Same line"
    assert spans[2][0] > spans[1][0]
    assert text[spans[2][0] : spans[2][1]] == "Same line"


def test_gold_block_missing_from_text_is_unmapped_and_counts_as_other():
    text = "Title\n\nA caption here (pictured)"
    rows = [gold("Title", "title"), gold("Nowhere in the text", "photo_caption")]
    matches = match_blocks(text, rows, blocks_for(text, ["title", "photo_caption"]))
    assert matches[1].pred_index is None
    assert matches[1].pred_label == "other"


def test_a_prediction_must_cover_half_of_a_gold_block():
    text = "Title\n\nFirst half of a paragraph and second half of it"
    rows = [gold("Title", "title"), gold("First half of a paragraph and second half of it", "body")]
    short = [
        Block(0, 0, 5, "Title", label="title"),
        Block(1, 7, 12, text[7:12], label="body"),  # covers well under half
        Block(2, 12, len(text), text[12:], label="photo_caption"),  # covers most of it
    ]
    assert match_blocks(text, rows, short)[1].pred_label == "photo_caption"
    # Three thirds: the best one covers under half, so the gold block is unmapped.
    a, b = 7 + (len(text) - 7) // 3, 7 + 2 * (len(text) - 7) // 3
    thirds = [
        Block(0, 0, 5, "Title", label="title"),
        Block(1, 7, a, text[7:a], label="body"),
        Block(2, a, b, text[a:b], label="body"),
        Block(3, b, len(text), text[b:], label="body"),
    ]
    unmatched = match_blocks(text, rows, thirds)[1]
    assert unmatched.pred_index is None and unmatched.pred_label == "other"


def test_prf_figures():
    prf = PRF()
    for g, p in [(True, True), (True, True), (True, False), (False, True), (False, False)]:
        prf.add(g, p)
    assert (prf.tp, prf.fp, prf.fn) == (2, 1, 1)
    assert prf.precision == pytest.approx(2 / 3)
    assert prf.recall == pytest.approx(2 / 3)
    assert prf.f1 == pytest.approx(2 / 3)
    assert PRF().f1 == 0.0


def test_score_article_counts_captions_media_body_and_labels():
    text = "\n\n".join(
        ["Head", "Body one.", "Cap one (pictured)", "Clip of it", "Sub", "Body two.", "By A 01/02/2020"]
    )
    rows = [
        gold("Head", "title"),
        gold("Body one.", "body"),
        gold("Cap one (pictured)", "photo_caption"),
        gold("Clip of it", "video_caption"),
        gold("Sub", "other", kind="subheading"),
        gold("Body two.", "body"),
        gold("By A 01/02/2020", "byline"),
    ]
    predicted = ["title", "body", "photo_caption", "photo_caption", "subheading", "photo_caption", "byline"]
    report = EvalReport()
    score_article(report, "site.example__1", match_blocks(text, rows, blocks_for(text, predicted)), skipped=2)
    assert (report.caption.tp, report.caption.fp, report.caption.fn) == (2, 1, 0)
    assert (report.media.correct, report.media.n) == (1, 2)
    assert (report.body.tp, report.body.fp, report.body.fn) == (1, 0, 1)
    assert (report.video.tp, report.video.fn) == (0, 1)
    assert report.per_label["subheading"].tp == 1
    assert report.per_label["photo_caption"].fp == 2
    assert report.confusion[("video_caption", "photo_caption")] == 1
    assert report.skipped_blocks == 2 and report.scored_blocks == 7
    assert report.per_site["site.example"].articles == 1
    assert report.site_macro_f1 == pytest.approx(report.caption.f1)
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["caption"]["tp"] == 2 and as_dict["per_site"]["site.example"]["media_accuracy"] == 0.5


def test_caption_sections_compare_the_nearest_sub_heading_before_each_found_caption():
    pieces = [
        "Head",
        "Body one.",
        "Cap one",
        "Sub A",
        "Body two.",
        "Cap two",
        "Sub B",
        "Cap three",
        "Cap four",
    ]
    text = "\n\n".join(pieces)
    labels = ["title", "body", "photo_caption", "other", "body", "photo_caption", "other", "photo_caption"]
    rows = [gold(p, label) for p, label in zip(pieces, [*labels, "photo_caption"], strict=True)]
    rows[3]["kind"] = rows[6]["kind"] = "subheading"
    # Cap one: no sub-heading either way (right); Cap two: gold "Sub A", predicted "Body two." (wrong);
    # Cap three: "Sub B" both ways (right); Cap four is not found, so not counted.
    predicted = ["title", "body", "photo_caption", "other", "subheading", "photo_caption", "subheading"]
    predicted += ["photo_caption", "body"]
    report = EvalReport()
    score_article(report, "site.example__1", match_blocks(text, rows, blocks_for(text, predicted)))
    assert (report.sections.correct, report.sections.n) == (2, 3)
    assert report.to_dict()["caption_sections"] == pytest.approx(2 / 3)
    assert "caption sections   0.667" in format_report(report)


# ---------------------------------------------------------------- end to end on constructed gold


ARTICLE = """Lifeboat Crew Rescue Three Walkers Cut Off By Rising Tide On Sandbank

  • Walkers were stranded about a mile from shore as the tide came in
  • Volunteer crew reached them within twelve minutes of the call

Three walkers were rescued from a sandbank on Sunday after being cut off by a fast rising tide.

Stranded: The three walkers wave to the approaching lifeboat (pictured) from the sandbank

The crew said all three were cold but unhurt.

By Staff Reporter 02/05/2021 10:15:00
"""


def write_pair(root: Path, name: str, text: str, labels: list[str]) -> tuple[Path, Path]:
    """A gold folder and a text folder holding one article, its gold labels given."""
    gold_dir, text_dir = root / "gold", root / "text"
    gold_dir.mkdir(exist_ok=True)
    text_dir.mkdir(exist_ok=True)
    (text_dir / f"{name}.txt").write_text(text, encoding="utf-8")
    pieces = [p for p in text.split("\n\n") if p.strip()]
    assert len(pieces) == len(labels)
    with open(gold_dir / f"{name}.jsonl", "w", encoding="utf-8") as out:
        for i, (piece, label) in enumerate(zip(pieces, labels, strict=True)):
            out.write(json.dumps({"block": i, "text": piece, "label": label}) + "\n")
    return gold_dir, text_dir


def test_gold_equal_to_the_parse_scores_perfectly(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    gold_dir, text_dir = write_pair(tmp_path, "example.org__1", ARTICLE, labels)
    report = evaluate(gold_dir, text_dir)
    assert report.articles == 1 and report.unmapped == 0
    assert report.scored_blocks == len(labels)
    assert all(gold_label == pred for (gold_label, pred) in report.confusion)
    for label in set(labels):
        assert report.per_label[label].f1 == 1.0


def test_flipped_gold_labels_show_up_as_errors(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    flipped = ["photo_caption" if label == "body" else label for label in labels]
    gold_dir, text_dir = write_pair(tmp_path, "example.org__1", ARTICLE, flipped)
    report = evaluate(gold_dir, text_dir)
    assert report.per_label["body"].fp == labels.count("body")
    assert report.caption.fn >= labels.count("body")
    assert report.body.tp == 0


def test_only_and_names_pick_articles(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    for name in ("a.example__1", "b.example__2"):
        gold_dir, text_dir = write_pair(tmp_path, name, ARTICLE, labels)
    assert evaluate(gold_dir, text_dir).names == ["a.example__1", "b.example__2"]
    assert evaluate(gold_dir, text_dir, only="b.ex").names == ["b.example__2"]
    assert evaluate(gold_dir, text_dir, names=["b.example__2", "a.example__1"]).articles == 2
    assert sorted(evaluate(gold_dir, text_dir).per_site) == ["a.example", "b.example"]


def test_corpus_digest_notices_a_changed_file(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    gold_dir, text_dir = write_pair(tmp_path, "a.example__1", ARTICLE, labels)
    before = evaluate(gold_dir, text_dir).corpus_sha256
    assert before == corpus_digest(gold_dir, text_dir, ["a.example__1"])
    assert len(before) == 64
    (text_dir / "a.example__1.txt").write_text(ARTICLE.replace("Three walkers", "Four walkers"))
    assert evaluate(gold_dir, text_dir).corpus_sha256 != before


def test_missing_text_file_is_an_error(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    gold_dir, text_dir = write_pair(tmp_path, "a.example__1", ARTICLE, labels)
    (text_dir / "a.example__1.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"a\.example__1"):
        evaluate(gold_dir, text_dir)


def test_format_report_is_a_readable_table(tmp_path):
    labels = [b.label for b in parse_article(ARTICLE).blocks]
    gold_dir, text_dir = write_pair(tmp_path, "example.org__1", ARTICLE, labels)
    table = format_report(evaluate(gold_dir, text_dir))
    assert "caption detection" in table and "body" in table
    assert "example.org" in table
    assert sum(line.split()[0] in labels for line in table.splitlines() if line.strip()) >= len(set(labels))


# ---------------------------------------------------------------- agreement with the corpus scorer


def load_scorer(shared_dir: Path):
    return load_file(shared_dir / "tools" / "score_parse.py", "score_parse")


def run_scorer(shared_dir: Path, dev_dir: Path, *extra: str) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            str(shared_dir / "tools" / "score_parse.py"),
            str(dev_dir / "gold"),
            str(dev_dir / "text"),
            "--json",
            "--cli",
            f"{sys.executable} -m captionset",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout)


def assert_agrees(ours: EvalReport, theirs: dict) -> None:
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731 - the scorer's rounding
    assert theirs["articles"] == ours.articles
    assert (theirs["tp"], theirs["fp"], theirs["fn"]) == (ours.caption.tp, ours.caption.fp, ours.caption.fn)
    assert theirs["caption_P"] == r(ours.caption.precision)
    assert theirs["caption_R"] == r(ours.caption.recall)
    assert theirs["caption_F1"] == r(ours.caption.f1)
    assert theirs["media_acc"] == r(ours.media_accuracy)
    assert theirs["body_P"] == r(ours.body.precision)
    assert theirs["body_R"] == r(ours.body.recall)
    assert theirs["video_P"] == r(ours.video.precision)
    assert theirs["video_R"] == r(ours.video.recall)
    assert theirs["site_macro_F1"] == r(ours.site_macro_f1)
    assert theirs["unmapped"] == ours.unmapped


@pytest.mark.shared
def test_agrees_with_score_parse_on_a_few_dev_articles(shared_dir, dev_dir, tmp_path):
    names_file = tmp_path / "names.txt"
    names_file.write_text("\n".join(AGREEMENT_NAMES) + "\n")
    theirs = run_scorer(shared_dir, dev_dir, "--names", str(names_file))
    ours = evaluate(dev_dir / "gold", dev_dir / "text", names=AGREEMENT_NAMES)
    assert_agrees(ours, theirs)


@pytest.mark.shared
def test_agrees_with_score_parse_on_all_dev_articles(shared_dir, dev_dir):
    theirs = run_scorer(shared_dir, dev_dir)
    ours = evaluate(dev_dir / "gold", dev_dir / "text")
    assert ours.articles == 50
    assert_agrees(ours, theirs)


@pytest.mark.shared
def test_same_blocks_are_skipped_as_credit_only(shared_dir, dev_dir):
    scorer = load_scorer(shared_dir)
    rows = [
        json.loads(line)
        for path in sorted((dev_dir / "gold").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    ours = [is_dont_care(row) for row in rows]
    assert ours == [bool(scorer.dont_care(row)) for row in rows]
    assert any(ours)  # the dev set has credit-only blocks, so the rule is exercised


@pytest.mark.shared
def test_same_gold_spans_as_score_parse(shared_dir, dev_dir):
    scorer = load_scorer(shared_dir)
    for name in AGREEMENT_NAMES:
        text = (dev_dir / "text" / f"{name}.txt").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in (dev_dir / "gold" / f"{name}.jsonl").open(encoding="utf-8")]
        assert gold_spans(text, rows) == scorer.gold_spans(text, rows)


# --- alignment against hand-labelled pairs ----------------------------------------------------------------

HARBOUR = """Harbour wall rebuilt after winter storms

Storm damage: Waves crash over the old harbour wall at Porthaven during the February gales

Work on the new sea defences began in the spring and is due to finish before the autumn tides.

The council says the project has cost more than £4 million, most of it from a national flood fund.

Fishermen had warned for years that the old harbour wall at Porthaven would not survive another gale.

A view of the town from the hills above

Residents will be invited to a public opening of the promenade in October.

By Staff Reporter 02/05/2021 10:15:00
"""
HARBOUR_LABELS = ["title", "photo_caption", "body", "body", "body", "photo_caption", "body", "byline"]


def write_corpus(root: Path, name: str = "example.org__harbour") -> Path:
    """CORPUS/text/NAME.txt and CORPUS/gold/NAME.jsonl for the harbour article; returns CORPUS."""
    root.mkdir(exist_ok=True)
    write_pair(root, name, HARBOUR, HARBOUR_LABELS)
    return root


def write_pairs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_alignment_is_scored_against_labelled_pairs_and_the_proximity_baseline(tmp_path):
    from captionset.evaluate import evaluate_alignment

    corpus = write_corpus(tmp_path / "dev")
    rows = [
        # The lead caption names the harbour wall at Porthaven, which paragraph 4 is about, not paragraph 2
        # next to it: the ranking finds it, the nearest-paragraph baseline does not.
        {"article": "example.org__harbour", "caption": 1, "best": [4]},
        {"article": "example.org__harbour", "caption": 5, "best": [], "weak": True},
    ]
    report = evaluate_alignment(rows, corpus)
    gold = report.gold.to_dict()
    assert (report.articles, report.pairs) == (1, 2)
    assert gold["captions"] == 1 and gold["found_as_caption"] == 1
    assert gold["top1"] == 1.0 and gold["top3"] == 1.0
    assert gold["proximity_top1"] == 0.0
    assert gold["no_paragraph_captions"] == 1
    assert report.parser is not None and report.parser.captions == 1
    first = report.details[0]
    assert first["related"][0] == 4 and first["proximity"][0] == 2
    assert evaluate_alignment(rows, corpus, with_parser=False).parser is None


def test_a_pair_naming_a_block_that_is_no_caption_is_a_miss(tmp_path):
    from captionset.evaluate import evaluate_alignment

    corpus = write_corpus(tmp_path / "dev")
    report = evaluate_alignment([{"article": "example.org__harbour", "caption": 3, "best": [4]}], corpus)
    assert report.gold.to_dict()["found_as_caption"] == 0
    assert report.gold.to_dict()["top1"] == 0.0


def test_a_pair_may_name_an_article_of_a_sibling_corpus(tmp_path):
    from captionset.evaluate import evaluate_alignment

    dev = write_corpus(tmp_path / "dev")
    write_corpus(tmp_path / "train", "example.org__other")
    rows = [
        {"article": "example.org__harbour", "caption": 1, "best": [4]},
        {"article": "example.org__other", "caption": 1, "best": [4], "corpus": "train"},
    ]
    assert evaluate_alignment(rows, dev).gold.top1 == 2
    with pytest.raises(FileNotFoundError):
        evaluate_alignment([{**rows[1], "corpus": "nowhere"}], dev)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ('{"article": "a", "caption": "1", "best": []}', "'caption' (int)"),
        ('["a", 1, []]', "a pair needs"),
    ],
)
def test_a_broken_pairs_file_names_its_line(tmp_path, line, reason):
    from captionset.evaluate import read_pairs

    path = tmp_path / "pairs.jsonl"
    path.write_text('{"article": "a", "caption": 1, "best": [2]}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"pairs.jsonl:3: .*{re.escape(reason)}"):
        read_pairs(path)


def test_eval_align_command(tmp_path):
    from click.testing import CliRunner

    from captionset.cli import cli

    corpus = write_corpus(tmp_path / "dev")
    pairs = write_pairs(
        tmp_path / "pairs.jsonl", [{"article": "example.org__harbour", "caption": 1, "best": [4]}]
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["eval-align", str(pairs), str(corpus)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "1 hand-labelled captions over 1 articles" in result.output
    assert "[gold labels] top-1 1.000 (proximity 0.000)" in result.output
    assert "[parser labels]" in result.output
    result = runner.invoke(
        cli,
        ["eval-align", "--json", "--details", "--gold-labels-only", "--top-k", "1", str(pairs), str(corpus)],
        catch_exceptions=False,
    )
    figures = json.loads(result.output)
    assert figures["parser"] is None and figures["gold"]["top1"] == 1.0
    assert len(figures["details"][0]["related"]) == 1  # --top-k reaches the alignment
    broken = write_pairs(tmp_path / "broken.jsonl", [])
    broken.write_text("{oops\n", encoding="utf-8")
    result = runner.invoke(cli, ["eval-align", str(broken), str(corpus)])
    assert result.exit_code == 1 and "broken.jsonl:1: not JSON" in result.output
    empty = write_pairs(tmp_path / "empty.jsonl", [])
    result = runner.invoke(cli, ["eval-align", str(empty), str(corpus)])
    assert result.exit_code == 1 and "no labelled captions" in result.output


def test_eval_align_as_a_subprocess(tmp_path):
    corpus = write_corpus(tmp_path / "dev")
    pairs = write_pairs(
        tmp_path / "pairs.jsonl", [{"article": "example.org__harbour", "caption": 1, "best": [4]}]
    )
    process = subprocess.run(
        [sys.executable, "-m", "captionset", "eval-align", "--json", str(pairs), str(corpus)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(process.stdout)["gold"]["top1"] == 1.0


@pytest.mark.shared
def test_eval_align_script_and_api_agree_on_the_labelled_sets(dev_dir):
    """scripts/eval_align.py is a thin layer over evaluate_alignment: same figures, same shape."""
    from captionset.evaluate import evaluate_alignment

    module = load_script("eval_align")
    rows = module.load_gold(module.HELDOUT)
    assert module.evaluate(dev_dir, rows, with_parser=False)["gold"] == (
        evaluate_alignment(rows, dev_dir, with_parser=False).gold.to_dict()
    )
