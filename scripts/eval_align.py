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
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from captionset import parse_article
from captionset.align import DEFAULT_ALIGN_OPTIONS, AlignOptions, align
from captionset.model import Article, Block
from captionset.text import to_text

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "data" / "align_gold.jsonl"
HELDOUT = ROOT / "tests" / "data" / "align_heldout.jsonl"
SETS = {"fitted": GOLD, "heldout": HELDOUT}
DEV = ROOT.parent / "shared" / "corpus" / "dev"
# The gold block split of the corpus README: blank lines (spaces or tabs allowed) separate blocks.
GOLD_SPLIT = re.compile(r"\n[ \t]*\n")


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of every gold block: the README's split, empty pieces dropped, pieces not trimmed."""
    spans, pos = [], 0
    for match in GOLD_SPLIT.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def gold_article(dev: Path, name: str) -> Article:
    """The article with the gold labels (subheadings, kind `subheading`, get the label `subheading`)."""
    text, _ = to_text((dev / "text" / f"{name}.txt").read_bytes())
    rows = [
        json.loads(line) for line in (dev / "gold" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    spans = gold_blocks(text)
    if len(spans) != len(rows):
        raise ValueError(f"{name}: {len(spans)} blocks in text, {len(rows)} gold rows")
    blocks = []
    for i, ((start, end), row) in enumerate(zip(spans, rows, strict=True)):
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        label = "subheading" if row.get("kind") == "subheading" else row["label"]
        media = {"photo_caption": "photo", "video_caption": "video"}.get(label)
        blocks.append(Block(i, start + lead, start + lead + len(piece), piece, label, 1.0, media_type=media))
    title = next((b.text for b in blocks if b.label == "title"), None)
    return Article(name, name, text, blocks, title=title)


def proximity(article: Article, caption_index: int, k: int = 3) -> list[int]:
    """The baseline: body paragraphs nearest to the caption (by block distance, the one before first)."""
    body = [b.index for b in article.blocks if b.label == "body"]
    return sorted(body, key=lambda i: (abs(i - caption_index), i > caption_index))[:k]


def _to_gold(parsed: Article, spans: list[tuple[int, int]]) -> dict[int, int]:
    """Parser block index -> gold block index, by the gold block holding the parser block's start."""
    starts = [s for s, _ in spans]
    out = {}
    for block in parsed.blocks:
        j = max(0, next((n for n, s in enumerate(starts) if s > block.start), len(starts)) - 1)
        out[block.index] = j
    return out


def evaluate(
    dev: Path = DEV,
    gold: list[dict[str, Any]] | None = None,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
    with_parser: bool = True,
) -> dict[str, Any]:
    """Top-1/top-3 of `related` and of the proximity baseline, with gold labels and parser labels."""
    gold = gold if gold is not None else load_gold()
    by_article: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in gold:
        by_article[(row.get("corpus", "dev"), row["article"])].append(row)
    tally: dict[str, dict[str, float]] = {m: defaultdict(float) for m in ("gold", "parser")}
    details: list[dict[str, Any]] = []
    align_seconds = 0.0
    parser_error: str | None = None
    for (corpus, name), rows in sorted(by_article.items()):
        folder = dev.parent / corpus
        article = gold_article(folder, name)
        started = time.perf_counter()
        captions = {c.block_index: c for c in align(article, options)}
        align_seconds += time.perf_counter() - started
        raw = (folder / "text" / f"{name}.txt").read_bytes()
        parsed_captions: dict[int, Any] = {}
        parsed_body: list[int] = []
        to_gold: dict[int, int] = {}
        if with_parser:
            try:
                parsed = parse_article(raw, source=name, article_id=name)
            except Exception as error:  # the parser is another stage: report it, keep scoring alignment
                parser_error = f"{type(error).__name__}: {error}"
            else:
                to_gold = _to_gold(parsed, gold_blocks(article.text))
                parsed_captions = {to_gold[c.block_index]: c for c in align(parsed, options)}
                parsed_body = [b.index for b in parsed.blocks if b.label == "body"]
        for row in rows:
            best = set(row["best"])
            found = captions.get(row["caption"])
            ours = [r.block_index for r in found.related] if found else []
            base = proximity(article, row["caption"])
            p_found = parsed_captions.get(row["caption"])
            p_ours = [to_gold[r.block_index] for r in p_found.related] if p_found else []
            p_base = []
            if p_found:
                nearest = sorted(
                    parsed_body, key=lambda i: (abs(i - p_found.block_index), i > p_found.block_index)
                )
                p_base = [to_gold[i] for i in nearest[:3]]
            for mode, ranked, baseline, present in (
                ("gold", ours, base, found is not None),
                ("parser", p_ours, p_base, p_found is not None),
            ):
                t = tally[mode]
                if not best:
                    t["none"] += 1
                    t["none_empty"] += not ranked
                    continue
                t["n"] += 1
                t["found"] += present
                t["top1"] += bool(ranked[:1]) and ranked[0] in best
                t["top3"] += bool(best & set(ranked[:3]))
                t["base_top1"] += bool(baseline[:1]) and baseline[0] in best
                t["base_top3"] += bool(best & set(baseline[:3]))
                t["empty"] += not ranked
                if not row.get("weak"):
                    t["strong"] += 1
                    t["strong_top1"] += bool(ranked[:1]) and ranked[0] in best
            details.append(
                {
                    "article": name,
                    "caption": row["caption"],
                    "best": sorted(best),
                    "related": ours,
                    "scores": [round(r.score, 3) for r in found.related] if found else [],
                    "proximity": base,
                    "weak": bool(row.get("weak")),
                }
            )
    report: dict[str, Any] = {"articles": len(by_article), "captions": len(gold)}
    for mode, t in tally.items():
        n = t["n"] or 1
        report[mode] = {
            "captions": int(t["n"]),
            "found_as_caption": int(t["found"]),
            "top1": round(t["top1"] / n, 4),
            "top3": round(t["top3"] / n, 4),
            "proximity_top1": round(t["base_top1"] / n, 4),
            "proximity_top3": round(t["base_top3"] / n, 4),
            "empty_related": int(t["empty"]),
            "strong_top1": round(t["strong_top1"] / (t["strong"] or 1), 4),
            "no_paragraph_captions": int(t["none"]),
            "no_paragraph_left_empty": int(t["none_empty"]),
        }
    report["parser_error"] = parser_error
    report["align_ms_per_article"] = round(align_seconds / len(by_article) * 1e3, 4)
    report["details"] = details
    return report


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


def print_detail(name: str, d: dict[str, Any]) -> None:
    """One caption's line: ok (top-1 right), o3 (right in the top 3), XX (wrong)."""
    if not d["best"]:
        ok = "ok " if not d["related"] else "XX "
    elif d["related"][:1] and d["related"][0] in d["best"]:
        ok = "ok "
    else:
        ok = "o3 " if set(d["best"]) & set(d["related"]) else "XX "
    print(
        ok,
        name[:1],
        d["article"][:28],
        d["caption"],
        "best",
        d["best"],
        "got",
        d["related"],
        d["scores"],
        "prox",
        d["proximity"],
        "weak" if d["weak"] else "",
    )


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
        name: evaluate(args.dev, load_gold(SETS[name]), with_parser=not args.no_parser) for name in names
    }
    details = {name: report.pop("details") for name, report in reports.items()}
    timed = timing(args.dev) if args.timing else None
    if args.json:
        out: dict[str, Any] = dict(reports)
        if args.details:
            for name in names:
                out[name]["details"] = details[name]
        if timed:
            out["timing"] = timed
        print(json.dumps(out, indent=2))
        return 0
    for name, report in reports.items():
        print(f"{name}: {report['captions']} hand-labelled captions over {report['articles']} articles")
        if report["parser_error"]:
            print(f"  parser failed, parser-label figures are empty: {report['parser_error']}")
        for mode in ("gold", "parser"):
            r = report[mode]
            print(
                f"  [{mode} labels] top-1 {r['top1']:.3f} (proximity {r['proximity_top1']:.3f})  "
                f"top-3 {r['top3']:.3f} (proximity {r['proximity_top3']:.3f})  "
                f"strong top-1 {r['strong_top1']:.3f}  n={r['captions']} found={r['found_as_caption']} "
                f"empty={r['empty_related']}  no-paragraph captions left empty "
                f"{r['no_paragraph_left_empty']}/{r['no_paragraph_captions']}"
            )
    if timed:
        print(
            f"timing over {timed['articles']} dev articles ({timed['captions']} captions), best of 5: "
            f"align {timed['align_ms_per_article']:.3f} ms/article, parse {timed['parse_ms_per_article']:.3f} "
            f"ms/article, align = {timed['align_share_of_parse']:.0%} of parse "
            f"({'compiled' if timed['align_compiled'] else 'pure-Python'} evidence layer)"
        )
    if args.details:
        for name in names:
            for d in details[name]:
                print_detail(name, d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
