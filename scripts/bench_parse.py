#!/usr/bin/env python3
"""Parse speed on one core: ms per article and articles/s over the dev texts (best of N passes).

    python scripts/bench_parse.py                # the 50 texts of ../shared/corpus/dev (or data/corpus)
    python scripts/bench_parse.py --runs 5 --parts

Targets, per core on dev-sized articles: parse_article >= 1,000 articles/s (issue 2: at most 1 ms an
article) and parse+align >= 1,000 articles/s (issue 5: both together in at most 1 ms). ``--parts`` also
times the stages (segment, features, model, rules). CPU time of this process is measured
(time.process_time), which a busy machine disturbs less than wall time; the machine may still be shared,
so compare before and after in alternating runs (or by instruction counts under valgrind, which takes the
extension's portable tree walk: it has no AVX-512). CAPTIONSET_PURE_PYTHON=1 times the features without
the C extension. Memoised results (credit patterns, stems, caption words) are emptied before every pass,
the pessimistic end; ``--warm`` keeps them (a long build's vocabulary repeats, but not this much).
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from pathlib import Path

from captionset import align, parse_article
from captionset.classify import signals
from captionset.classify.classifier import label_texts, load_model, model_probabilities
from captionset.classify.features import COMPILED, article_features
from captionset.segment import segment
from captionset.text import to_text

# The module, not the function `captionset.align` that the package exports under the same name.
align_module = importlib.import_module("captionset.align")

ROOT = Path(__file__).resolve().parent.parent
DEV_TEXT = ROOT.parent / "shared" / "corpus" / "dev" / "text"
DEFAULT_CORPUS = ROOT / "data" / "corpus"


def best_ms(fn: Callable[[], object], count: int, runs: int, warm: bool = False) -> float:
    """Best CPU time of ``runs`` calls of fn, in ms per article (memoised results emptied first, so that
    no pass profits from an earlier one over the same articles, unless ``warm``)."""
    best = float("inf")
    for _ in range(runs):
        if not warm:
            signals.clear_caches()
            align_module.clear_caches()
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / count * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path, default=DEV_TEXT if DEV_TEXT.is_dir() else DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parts", action="store_true", help="also time the stages")
    ap.add_argument(
        "--warm",
        action="store_true",
        help="keep memoised word analysis between passes (as in a long build, whose vocabulary repeats; "
        "optimistic here: every pass reads the same articles)",
    )
    a = ap.parse_args()
    data = [path.read_bytes() for path in sorted(a.folder.rglob("*.txt"))]
    count = len(data)
    for raw in data:  # warm up: model load, regex compilation
        parse_article(raw)
    parse_ms = best_ms(lambda: [parse_article(raw) for raw in data], count, a.runs, a.warm)
    articles = [parse_article(raw) for raw in data]
    align_ms = best_ms(lambda: [align(article) for article in articles], count, a.runs, a.warm)
    blocks = sum(len(article.blocks) for article in articles)
    caches = "warm caches" if a.warm else "caches emptied before every pass"
    print(f"{count} articles from {a.folder}, {blocks / count:.1f} blocks each, best of {a.runs}, {caches}")
    print("features: " + ("compiled (C extension)" if COMPILED else "pure Python"))
    print(f"parse_article  {parse_ms:.3f} ms/article  {1000 / parse_ms:,.0f} articles/s (target >= 1,000)")
    print(f"align          {align_ms:.3f} ms/article")
    total = parse_ms + align_ms
    print(f"parse+align    {total:.3f} ms/article  {1000 / total:,.0f} articles/s (target >= 1,000)")
    if a.parts:
        model = load_model()
        texts = [[b.text for b in segment(to_text(raw)[0])] for raw in data]
        parts = {
            "decode+segment": lambda: [segment(to_text(raw)[0]) for raw in data],
            "features": lambda: [article_features(t) for t in texts],
            "features+model": lambda: [model_probabilities(t, model) for t in texts],
            "features+model+rules": lambda: [label_texts(t, model) for t in texts],
        }
        for name, fn in parts.items():
            print(f"  {name:22s} {best_ms(fn, count, a.runs):.3f} ms/article")


if __name__ == "__main__":
    main()
