#!/usr/bin/env python3
"""Caption F1 of the parser on cnn_dailymail-style article strings, next to the plain-text figure.

The labelled dev articles are put through the Hugging Face ``cnn_dailymail`` loader's transformation
(strip lines, append " ." to lines without closing punctuation, drop empty lines, join with spaces),
written as a JSONL of ``{"id", "article", "highlights"}`` rows, read back with the ``cnndm`` reader
(which rebuilds blocks) and parsed. Gold blocks are mapped to predicted blocks by text overlap (both texts
with white space collapsed); a gold block takes the label that covers most of its characters. Caption
P/R/F1 is photo+video against everything else; credit-only blocks are not scored (the corpus scorer's
rule, imported from ../shared/tools/score_parse.py when present).

Usage: python scripts/eval_cnndm.py [--dev ../shared/corpus/dev] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
from pathlib import Path

from captionset import parse_article
from captionset.evaluate import is_dont_care
from captionset.model import CAPTION_LABELS
from captionset.sources import SourceOptions, plan_shards, read_slice
from captionset.sources.cnndm import to_cnndm_article

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEV = ROOT.parent / "shared" / "corpus" / "dev"
# Daily Mail pages: the source of most cnn_dailymail stories, reported on their own.
DAILY_MAIL = re.compile(r"^(seed|dailymail\.co\.uk__)")
# White space runs (no-break spaces included), collapsed so texts compare whatever their line breaks.
SPACES = re.compile(r"\s+")


def norm(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def spans_in(haystack: str, pieces: list[str]) -> list[tuple[int, int] | None]:
    """Where each piece (in order) sits in haystack, searching forward from the previous one."""
    spans, pos = [], 0
    for piece in pieces:
        key = piece[:60]
        at = haystack.find(key, pos) if key else -1
        if at < 0 and key:
            at = haystack.find(key)
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(piece)))
        pos = at + 1
    return spans


def gold_labels(article, gold: list[dict]) -> list[str]:
    """The predicted label of each gold block: the label covering most of its characters."""
    text = norm(article.text)
    pred_spans = spans_in(text, [norm(b.text) for b in article.blocks])
    labels = []
    for span in spans_in(text, [norm(g["text"]) for g in gold]):
        cover: collections.Counter[str] = collections.Counter()
        if span is not None:
            for block, pspan in zip(article.blocks, pred_spans, strict=True):
                if pspan is not None:
                    overlap = min(span[1], pspan[1]) - max(span[0], pspan[0])
                    if overlap > 0:
                        cover[block.label] += overlap
        labels.append(cover.most_common(1)[0][0] if cover else "unmapped")
    return labels


class Tally:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.body_tp = self.body_fn = self.media_ok = 0

    def add(self, gold_label: str, predicted: str) -> None:
        g, p = gold_label in CAPTION_LABELS, predicted in CAPTION_LABELS
        self.tp += g and p
        self.fp += p and not g
        self.fn += g and not p
        self.media_ok += g and p and gold_label == predicted
        if gold_label == "body":
            self.body_tp += predicted == "body"
            self.body_fn += predicted != "body"

    def figures(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        body_r = self.body_tp / (self.body_tp + self.body_fn) if self.body_tp + self.body_fn else 0.0
        media = self.media_ok / self.tp if self.tp else 0.0
        return {
            "P": round(p, 3),
            "R": round(r, 3),
            "F1": round(f1, 3),
            "body_R": round(body_r, 3),
            "media_acc": round(media, 3),
        }


def cnndm_articles(names: list[str], dev: Path, blocks: str, work: Path) -> dict[str, object]:
    """Parse the transformed articles through the cnndm reader: name -> Article."""
    path = work / f"cnndm-{blocks}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for name in names:
            text = (dev / "text" / f"{name}.txt").read_text(encoding="utf-8")
            # CNN/DailyMail articles carry no headline: drop line 1 (its gold block is not scored).
            story = text.split("\n", 1)[1] if "\n" in text else ""
            row = {"id": name, "article": to_cnndm_article(story), "highlights": ""}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    options = SourceOptions(format="cnndm", cnndm_blocks=blocks)
    articles = {}
    for shard in plan_shards([path], options, articles_per_shard=1000):
        for piece in shard.slices:
            for record in read_slice(piece, options):
                if hasattr(record, "reason"):
                    sys.exit(f"unexpected reject: {record}")
                articles[record.article_id] = parse_article(record)
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.dev / "gold").is_dir():
        sys.exit(f"no labelled corpus at {args.dev} (pass --dev)")
    dont_care = is_dont_care  # the corpus scorer's rule for credit-only blocks
    names = sorted(p.stem for p in (args.dev / "gold").glob("*.jsonl"))
    golds = {n: [json.loads(line) for line in (args.dev / "gold" / f"{n}.jsonl").open()] for n in names}
    variants = {
        "plain text": {
            n: parse_article((args.dev / "text" / f"{n}.txt").read_bytes(), source=n) for n in names
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        for blocks in ("sentence", "run"):
            variants[f"cnndm ({blocks})"] = cnndm_articles(names, args.dev, blocks, Path(tmp))
    results = {}
    for variant, articles in variants.items():
        tallies = {"all": Tally(), "Daily Mail": Tally()}
        for name in names:
            gold = golds[name]
            for g, predicted in zip(gold, gold_labels(articles[name], gold), strict=True):
                if dont_care(g) or (g["block"] == 0 and variant != "plain text"):
                    continue
                tallies["all"].add(g["label"], predicted)
                if DAILY_MAIL.match(name):
                    tallies["Daily Mail"].add(g["label"], predicted)
        results[variant] = {subset: t.figures() for subset, t in tallies.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{len(names)} dev articles; caption = photo+video vs the rest; credit-only blocks not scored\n")
    print("| input | subset | caption P | caption R | caption F1 | body R | photo/video acc |")
    print("|---|---|---|---|---|---|---|")
    for variant, subsets in results.items():
        for subset, f in subsets.items():
            print(
                f"| {variant} | {subset} | {f['P']:.3f} | {f['R']:.3f} | {f['F1']:.3f} | {f['body_R']:.3f} | {f['media_acc']:.3f} |"
            )


if __name__ == "__main__":
    main()
