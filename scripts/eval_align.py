"""Score caption -> paragraph alignment against the hand-labelled sets in tests/data/.

Each row names an article, a caption block and the body paragraph(s) the picture illustrates, in the gold
block numbering of ../shared/corpus/README.md ("best": [] means no paragraph does); "corpus" says which
folder of ../shared/corpus holds the article (default "dev"). Two sets:

- align_gold.jsonl ("fitted"): 150 captions over 36 dev articles, used while the method was designed;
- align_heldout.jsonl ("held-out"): 108 captions over 32 articles (31 of them from train/), labelled
  before the current ranker was written and never used to fit or tune it.

Reports top-1 / top-3 accuracy of `related` next to a proximity-only baseline (nearest body paragraphs),
twice: on articles built from the GOLD labels (alignment alone) and on the parser's own labels.

    python scripts/eval_align.py [--set fitted|heldout|both] [--json] [--details] [--timing]

--timing also measures alignment speed: align() on every dev article (gold labels), best of 5 rounds
of CPU time (a busy machine disturbs it less than wall time), in ms per article, next to parse_article()
on the same articles (alignment should stay well under a third of parse time); it says whether the
compiled evidence layer (captionset/_align_speedups.c) ran: CAPTIONSET_PURE_PYTHON=1 times the
pure-Python one.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from captionset import parse_article
from captionset.align import DEFAULT_ALIGN_OPTIONS, AlignOptions, align
from captionset.evaluate import evaluate_alignment, format_alignment_report, gold_article, read_pairs

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "data" / "align_gold.jsonl"
HELDOUT = ROOT / "tests" / "data" / "align_heldout.jsonl"
SETS = {"fitted": GOLD, "heldout": HELDOUT}
DEV = ROOT.parent / "shared" / "corpus" / "dev"

__all__ = ["DEV", "GOLD", "HELDOUT", "SETS", "evaluate", "gold_article", "load_gold", "timing"]


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The rows of one hand-labelled set (captionset.evaluate.read_pairs)."""
    return read_pairs(path)


def evaluate(
    dev: Path = DEV,
    gold: list[dict[str, Any]] | None = None,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
    with_parser: bool = True,
) -> dict[str, Any]:
    """captionset.evaluate.evaluate_alignment as a dict, with the details (the parser figures are empty
    without the parser, so that the report's shape stays the same)."""
    report = evaluate_alignment(
        gold if gold is not None else load_gold(), dev, options, with_parser=with_parser
    )
    out = report.to_dict(details=True)
    if out["parser"] is None:
        out["parser"] = type(report.gold)().to_dict()
    return out


def timing(dev: Path = DEV, rounds: int = 5, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> dict[str, Any]:
    """Best-of-``rounds`` CPU ms per article of align() (gold labels) and of parse_article, on all of dev,
    after a first round of each (model loading, regex compilation, the stemmer's cache)."""
    names = sorted(p.stem for p in (dev / "text").glob("*.txt"))
    articles = [gold_article(dev, name) for name in names]
    raws = [(dev / "text" / f"{name}.txt").read_bytes() for name in names]

    def best(run: Any) -> float:
        run()
        fastest = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            run()
            fastest = min(fastest, time.process_time() - started)
        return fastest / len(names) * 1e3

    align_ms = best(lambda: [align(a, options) for a in articles])
    parse_ms = best(
        lambda: [parse_article(raw, source=n, article_id=n) for raw, n in zip(raws, names, strict=True)]
    )
    return {
        "articles": len(names),
        "captions": sum(len(a.captions) for a in articles),
        "align_ms_per_article": round(align_ms, 4),
        "parse_ms_per_article": round(parse_ms, 4),
        "align_share_of_parse": round(align_ms / parse_ms, 4) if parse_ms else 0.0,
        "align_compiled": getattr(importlib.import_module("captionset.align"), "_speedups", None) is not None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--details", action="store_true", help="list every caption's ranking")
    parser.add_argument("--no-parser", action="store_true", help="score on gold labels only")
    parser.add_argument("--timing", action="store_true", help="measure align (and parse) ms per article")
    parser.add_argument(
        "--set",
        choices=("fitted", "heldout", "both"),
        default="both",
        help="which hand-labelled set to score",
    )
    args = parser.parse_args(argv)
    names = list(SETS) if args.set == "both" else [args.set]
    reports = {
        name: evaluate_alignment(load_gold(SETS[name]), args.dev, with_parser=not args.no_parser)
        for name in names
    }
    timed = timing(args.dev) if args.timing else None
    if args.json:
        out: dict[str, Any] = {name: report.to_dict(details=args.details) for name, report in reports.items()}
        if timed:
            out["timing"] = timed
        print(json.dumps(out, indent=2))
        return 0
    for name, report in reports.items():
        print(f"{name}: {format_alignment_report(report, details=args.details)}")
    if timed:
        print(
            f"timing over {timed['articles']} dev articles ({timed['captions']} captions), best of 5: "
            f"align {timed['align_ms_per_article']:.3f} ms/article, parse {timed['parse_ms_per_article']:.3f} "
            f"ms/article, align = {timed['align_share_of_parse']:.0%} of parse "
            f"({'compiled' if timed['align_compiled'] else 'pure-Python'} evidence layer)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
