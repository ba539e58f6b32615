"""Fit the learned caption -> paragraph ranker (captionset/align_model.json) on the FITTED hand-labelled set.

For every caption of tests/data/align_gold.jsonl (articles built from the gold labels), each candidate
paragraph gets the features of ``captionset.align.FEATURE_NAMES``; a conditional logit (a softmax over
one caption's candidates, L2-regularised, fitted by Newton steps) learns which candidates are the ones
the caption illustrates. A Platt scaling of the linear score then turns it into a score in [0, 1].
The held-out set (tests/data/align_heldout.jsonl) is never read here.

    python scripts/train_align.py              # leave-one-article-out report, then write the model
    python scripts/train_align.py --dry-run    # report only
    python scripts/train_align.py --l2 1.0 --drop gallery,lead    # ablations

The report gives top-1 / top-3 of the model fitted on all articles (fitted figure) and leave-one-article-
out (each article ranked by a model fitted on the others), over the captions with a best paragraph
(captions whose best paragraph is no candidate count as misses).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from captionset.align import (
    DEFAULT_ALIGN_OPTIONS,
    FEATURE_NAMES,
    MODEL_PATH,
    _Body,
    _off_story,
    _visible_words,
    caption_features,
)
from captionset.evaluate import gold_article

ROOT = Path(__file__).resolve().parent.parent


def _eval_module() -> Any:
    spec = importlib.util.spec_from_file_location("eval_align", ROOT / "scripts" / "eval_align.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collect(dev: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per labelled caption: its article, candidate block indices, features, which are best."""
    by_article: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_article[(row.get("corpus", "dev"), row["article"])].append(row)
    items = []
    for (corpus, name), labelled in sorted(by_article.items()):
        article = gold_article(dev.parent / corpus, name)
        body_indices = [b.index for b in article.blocks if b.label == "body"]
        body = _Body.of(_visible_words(article))  # matched as align() matches them
        found = {
            index: features
            for index, _, _, features in caption_features(article, DEFAULT_ALIGN_OPTIONS, body)
        }
        # Never related (align leaves them out), so no candidates here either; block indices, as align's.
        off_story = _off_story(body)
        for row in labelled:
            features = found.get(row["caption"], {})
            ordinals = sorted(o for o in features if body.indices[o] not in off_story)
            indices = [body_indices[o] for o in ordinals]
            best = set(row["best"])
            items.append(
                {
                    "article": name,
                    "best": best,
                    "indices": indices,
                    "x": np.array([features[o] for o in ordinals], dtype=float).reshape(
                        -1, len(FEATURE_NAMES)
                    ),
                    "y": np.array([i in best for i in indices], dtype=float),
                }
            )
    return items


def fit(items: list[dict[str, Any]], l2: float, mask: np.ndarray, steps: int = 50) -> np.ndarray:
    """Conditional logit weights: softmax over each caption's candidates, targets spread evenly over its
    best candidates; Newton's method (the loss is convex), features outside ``mask`` fixed at 0."""
    usable = [it for it in items if it["y"].any() and len(it["y"]) > 1]
    size = len(FEATURE_NAMES)
    w = np.zeros(size)
    for _ in range(steps):
        grad = l2 * w
        hess = l2 * np.eye(size)
        for it in usable:
            x = it["x"]
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            target = it["y"] / it["y"].sum()
            mean = p @ x
            grad += mean - target @ x
            centred = x - mean
            hess += (centred * p[:, None]).T @ centred
        grad *= mask
        hess = hess * np.outer(mask, mask) + np.diag(1 - mask)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w * mask


def platt(items: list[dict[str, Any]], w: np.ndarray, steps: int = 100) -> tuple[float, float]:
    """a, b of P(best) = sigmoid(a * score + b) over all candidates (logistic regression on one feature)."""
    scores = np.concatenate([it["x"] @ w for it in items if len(it["y"])])
    labels = np.concatenate([it["y"] for it in items if len(it["y"])])
    design = np.stack([scores, np.ones_like(scores)], axis=1)
    theta = np.zeros(2)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(design @ theta)))
        grad = design.T @ (p - labels) + 1e-3 * theta
        hess = (design * (p * (1 - p))[:, None]).T @ design + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


def ranked(item: dict[str, Any], w: np.ndarray) -> list[int]:
    """Candidate block indices, best first (ties: nearer... as align does, by block index here)."""
    if not item["indices"]:
        return []
    s = item["x"] @ w
    order = sorted(range(len(s)), key=lambda i: (-s[i], item["indices"][i]))
    return [item["indices"][i] for i in order]


def accuracy(items: list[dict[str, Any]], rankings: list[list[int]]) -> tuple[float, float, int]:
    top1 = top3 = n = 0
    for it, r in zip(items, rankings, strict=True):
        if not it["best"]:
            continue
        n += 1
        top1 += bool(r[:1]) and r[0] in it["best"]
        top3 += bool(it["best"] & set(r[:3]))
    return top1 / (n or 1), top3 / (n or 1), n


def loao(items: list[dict[str, Any]], l2: float, mask: np.ndarray) -> tuple[float, float, int]:
    """Leave-one-article-out: each article's captions ranked by a model fitted on the other articles."""
    rankings: dict[int, list[int]] = {}
    for name in sorted({it["article"] for it in items}):
        train = [it for it in items if it["article"] != name]
        w = fit(train, l2, mask)
        for n, it in enumerate(items):
            if it["article"] == name:
                rankings[n] = ranked(it, w)
    return accuracy(items, [rankings[n] for n in range(len(items))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=_eval_module().DEV)
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the weights")
    parser.add_argument("--drop", default="", help="comma-separated features to leave out (ablation)")
    parser.add_argument("--dry-run", action="store_true", help="report only, do not write the model")
    parser.add_argument(
        "--with-heldout",
        action="store_true",
        help="also train on align_heldout.jsonl (then only leave-one-article-out figures are honest)",
    )
    args = parser.parse_args(argv)
    evaluation = _eval_module()
    rows = evaluation.load_gold(evaluation.GOLD)
    if args.with_heldout:
        rows += evaluation.load_gold(evaluation.HELDOUT)
    items = collect(args.dev, rows)
    dropped = {name for name in args.drop.split(",") if name}
    unknown = dropped - set(FEATURE_NAMES)
    if unknown:
        parser.error(f"unknown features: {sorted(unknown)}")
    mask = np.array([0.0 if name in dropped else 1.0 for name in FEATURE_NAMES])
    w = fit(items, args.l2, mask)
    fitted = accuracy(items, [ranked(it, w) for it in items])
    left_out = loao(items, args.l2, mask)
    print(
        f"{fitted[2]} captions with a best paragraph, {len({it['article'] for it in items})} articles, l2 {args.l2}"
    )
    print(f"fitted (all articles)      top-1 {fitted[0]:.3f}  top-3 {fitted[1]:.3f}")
    print(f"leave-one-article-out      top-1 {left_out[0]:.3f}  top-3 {left_out[1]:.3f}")
    a, b = platt(items, w)
    for name, weight in zip(FEATURE_NAMES, w, strict=True):
        print(f"  {name:14s} {weight:+.3f}")
    print(f"  platt scale {a:+.3f} offset {b:+.3f}")
    if args.dry_run:
        return 0
    model = {
        "features": list(FEATURE_NAMES),
        "weights": [round(float(x), 6) for x in w],
        "scale": round(a, 6),
        "offset": round(b, 6),
        "l2": args.l2,
        "trained_on": "tests/data/align_gold.jsonl"
        + (" + tests/data/align_heldout.jsonl" if args.with_heldout else "")
        + " (gold labels)",
        "fitted_top1": round(fitted[0], 4),
        "fitted_top3": round(fitted[1], 4),
        "loao_top1": round(left_out[0], 4),
        "loao_top3": round(left_out[1], 4),
    }
    MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
