#!/usr/bin/env python3
"""Train the block classifier (captionset/classify/model.json.gz) and measure it honestly.

    python scripts/train_classifier.py                  # train on train/ + dev/, write model.json.gz
    python scripts/train_classifier.py --loso           # leave-one-site-out over dev/ (no model written)
    python scripts/train_classifier.py --loso --folds 5 # faster: 5 site-grouped folds over dev/
    python scripts/train_classifier.py --cv-all 5       # 5 site-grouped folds over train/ + dev/
    python scripts/train_classifier.py --model logistic # the earlier model, for comparison

The model is two stages of gradient-boosted trees, each stage the average of ``--bags`` models
(scikit-learn's HistGradientBoostingClassifier with fixed seeds and no early stopping, so the same corpus
gives byte-identical trees; scikit-learn is needed here only, the package scores the exported trees itself). ``--model logistic`` fits one-vs-rest L2 logistic
regression by Newton's method instead. Stage 2 is trained on out-of-fold stage-1 scores (folds grouped by
site) so that it learns how far to trust them on new sites.

Cross-validation never scores an article with a model fitted to its site: for each held-out site, every
train/ and dev/ page of that site is left out of training. ``--loso`` scores the dev pages (gold labels);
``--cv-all`` also scores the train/ pages (silver labels: noisier, but three times the captions), each
with a model that never saw its site. Scores follow ../shared/tools/score_parse.py (credit-only blocks are
not scored).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from captionset.classify import signals
from captionset.classify.classifier import (
    MODEL_CLASSES,
    STAGE2_FEATURES,
    label_texts,
    predict_stage,
    stage2_rows,
)
from captionset.classify.features import FEATURE_NAMES, article_features
from captionset.classify.trees import export_sklearn
from captionset.segment import segment
from captionset.text import to_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL_PATH = ROOT / "captionset" / "classify" / "model.json.gz"
GOLDEN_PATH = ROOT / "tests" / "golden" / "seed_labels.jsonl"
CAPTION = {"photo_caption", "video_caption"}
# Gold label -> model class; title and highlights are settled by rules, so they are not trained on.
TARGET = {
    "body": "body",
    "photo_caption": "caption",
    "video_caption": "caption",
    "other": "other",
    "boilerplate": "boilerplate",
    "byline": "byline",
}
# The project seed is a Daily Mail page: it belongs to that site's group.
SITE_ALIASES = {"seed": "dailymail.co.uk"}


@dataclass
class Page:
    name: str
    site: str
    split: str
    texts: list[str]
    gold: list[dict]
    rows: np.ndarray
    endings: list[str]
    targets: list[int | None]


def _dont_care_fn(scorer: Path):
    """The scorer's rule for blocks it does not score (credit-only lines), or our own equivalent."""
    if scorer.is_file():
        spec = importlib.util.spec_from_file_location("score_parse", scorer)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dont_care
    return lambda d: (
        d.get("kind") == "image_credit"
        or (d["label"] in ("photo_caption", "other") and signals.is_credit_only(d["text"]))
    )


def load_pages(folder: Path, split: str, dont_care, augment: bool = False) -> list[Page]:
    pages = []
    for gold_path in sorted((folder / "gold").glob("*.jsonl")):
        name = gold_path.stem
        text, _ = to_text((folder / "text" / f"{name}.txt").read_bytes())
        gold = [
            json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        blocks = segment(text)
        if len(blocks) != len(gold):
            print(f"skip {split}/{name}: {len(blocks)} blocks vs {len(gold)} gold", file=sys.stderr)
            continue
        texts = [b.text for b in blocks]
        rows, endings = article_features(texts)
        targets: list[int | None] = []
        for i, d in enumerate(gold):
            cls = TARGET.get(d["label"])
            if i == 0 or cls is None or dont_care(d):
                targets.append(None)
            else:
                targets.append(MODEL_CLASSES.index(cls))
        site = SITE_ALIASES.get(name, name.split("__")[0])
        pages.append(Page(name, site, split, texts, gold, rows, endings, targets))
        if augment:
            opened = open_captions(texts, gold)
            if opened is not None:
                rows, endings = article_features(opened)
                pages.append(Page(name + "+open", site, split, opened, gold, rows, endings, targets))
    return pages


#: Captions (of a training page) that must end in a full stop for the page to be augmented.
AUGMENT_MIN_CAPTIONS = 2


def open_captions(texts: list[str], gold: list[dict]) -> list[str] | None:
    """The page with the closing full stop of its photo captions removed, or None when it has too few.

    Training-set augmentation: many sites (the Daily Mail among them) print captions without a full stop
    in stories whose paragraphs all have one, a style the silver training pages rarely show. The page's
    other blocks and all labels stay as they are.
    """
    opened = list(texts)
    changed = 0
    for i, d in enumerate(gold):
        if d["label"] != "photo_caption" or signals.is_credit_only(texts[i]):
            continue
        text = texts[i]
        credit = signals.credit_match(text)
        if credit is not None and credit[2] > 0:
            # "A man walks. (Photo: AP)" -> "A man walks": the credit and the full stop before it go.
            text = text[: credit[2]].rstrip(" \t\n([|,;—–-")
        text = text.rstrip()
        if text.endswith(".") and not text.endswith(".."):
            opened[i] = text[:-1]
            changed += 1
    return opened if changed >= AUGMENT_MIN_CAPTIONS else None


def fit_binary(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, iterations: int = 25) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; x has a leading column of ones (bias)."""
    d = x.shape[1]
    beta = np.zeros(d)
    reg = np.full(d, l2)
    reg[0] = 1e-6
    for _ in range(iterations):
        z = np.clip(x @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = x.T @ (w * (p - y)) + reg * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return beta


def fit_logistic_stage(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> dict:
    """One-vs-rest weights for every model class, on standardised features, folded back to raw ones."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = np.hstack([np.ones((x.shape[0], 1)), (x - mean) / scale])
    weights, bias = {}, {}
    for k, cls in enumerate(MODEL_CLASSES):
        beta = fit_binary(xs, (y == k).astype(float), w, l2)
        raw = beta[1:] / scale
        weights[cls] = [round(float(v), 6) for v in raw]
        bias[cls] = round(float(beta[0] - np.sum(raw * mean)), 6)
    return {"weights": weights, "bias": bias}


def training_arrays(pages: list[Page], dev_weight: float, rows_of=None):
    xs, ys, ws = [], [], []
    for page in pages:
        rows = rows_of(page) if rows_of else page.rows
        n = sum(1 for t in page.targets if t is not None) or 1
        # Each page counts about equally (long live blogs must not drown short pages); gold counts more.
        weight = (dev_weight if page.split == "dev" else 1.0) * 30.0 / (n + 30.0)
        keep = [i for i, t in enumerate(page.targets) if t is not None]
        xs.append(rows[keep])
        ys.extend(page.targets[i] for i in keep)
        ws.extend([weight] * len(keep))
    return np.vstack(xs), np.array(ys), np.array(ws)


@dataclass(frozen=True)
class FitOptions:
    """How the two stages are fitted: gradient-boosted trees (the default) or logistic regression."""

    model: str = "trees"
    dev_weight: float = 2.0
    folds: int = 4
    #: logistic regression: L2 penalty
    l2: float = 3.0
    #: trees: boosting rounds (one tree per class and round), depth, least (weighted) rows per leaf,
    #: shrinkage and L2 penalty of the leaf values
    rounds: int = 60
    depth: int = 4
    min_leaf: int = 40
    learning_rate: float = 0.08
    tree_l2: float = 1.0
    #: trees: models averaged, and the share of features each split may choose from (when bags > 1)
    bags: int = 2
    max_features: float = 0.5


def fit_tree_stage(x: np.ndarray, y: np.ndarray, w: np.ndarray, options: FitOptions) -> dict:
    """Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier, fixed seeds, no early
    stopping: deterministic), exported as the node table captionset.classify.trees reads at run time.
    With ``bags`` > 1, that many models, each splitting on a random share ``max_features`` of the features
    (seeds 0, 1, ...), averaged: a single boosted model leans on a few page-level statistics and its
    quality on unseen sites swings with the training pages; the average swings far less."""
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as error:  # a training-time dependency only: the package never imports sklearn
        raise SystemExit("training the trees needs scikit-learn: pip install scikit-learn") from error
    parts = []
    for seed in range(options.bags):
        estimator = HistGradientBoostingClassifier(
            max_iter=options.rounds,
            max_depth=options.depth,
            min_samples_leaf=options.min_leaf,
            learning_rate=options.learning_rate,
            l2_regularization=options.tree_l2,
            max_features=options.max_features if options.bags > 1 else 1.0,
            early_stopping=False,
            random_state=seed,
        )
        estimator.fit(x, y, sample_weight=w)
        parts.append(compact_trees(export_sklearn(estimator, len(MODEL_CLASSES))))
    return parts[0] if len(parts) == 1 else {"kind": "blend", "parts": parts}


#: Significant digits kept in the model file: thresholds sit between feature values far more than 1e-8 apart,
#: and a leaf value to 1e-6 moves a probability by far less than any decision needs. (Stage 2 is fitted on
#: the rounded stage 1, so the shipped model is exactly the one measured.)
THRESHOLD_DIGITS, VALUE_DIGITS = 8, 6


def compact_trees(stage: dict) -> dict:
    """The exported trees with thresholds and values rounded (a third of the size)."""
    nodes = stage["nodes"]
    nodes["threshold"] = [float(f"{t:.{THRESHOLD_DIGITS}g}") for t in nodes["threshold"]]
    nodes["value"] = [float(f"{v:.{VALUE_DIGITS}g}") for v in nodes["value"]]
    stage["baseline"] = [float(f"{v:.{VALUE_DIGITS + 4}g}") for v in stage["baseline"]]
    return stage


def fit_one_stage(x: np.ndarray, y: np.ndarray, w: np.ndarray, options: FitOptions) -> dict:
    if options.model == "trees":
        return fit_tree_stage(x, y, w, options)
    if options.model == "logistic":
        return fit_logistic_stage(x, y, w, options.l2)
    raise ValueError(f"unknown model {options.model!r}")


def fit_model(pages: list[Page], options: FitOptions) -> dict:
    """Stage 1 on block features; stage 2 on out-of-fold stage-1 scores of the same pages."""
    x, y, w = training_arrays(pages, options.dev_weight)
    stage1 = fit_one_stage(x, y, w, options)
    sites = sorted({p.site for p in pages})
    folds = options.folds
    fold_of = {site: int(hashlib.sha1(site.encode()).hexdigest(), 16) % folds for site in sites}
    oof: dict[str, list[list[float]]] = {}
    for f in range(folds):
        inside = [p for p in pages if fold_of[p.site] != f]
        outside = [p for p in pages if fold_of[p.site] == f]
        xf, yf, wf = training_arrays(inside, options.dev_weight)
        stage = fit_one_stage(xf, yf, wf, options)
        for page in outside:
            probs = predict_stage(page.rows, stage)
            oof[page.name + page.split] = stage2_rows(page.rows, probs, page.endings)
    x2, y2, w2 = training_arrays(pages, options.dev_weight, rows_of=lambda p: oof[p.name + p.split])
    stage2 = fit_one_stage(x2, y2, w2, options)
    return {
        "version": 2,
        "features": list(FEATURE_NAMES),
        "stage2_features": list(STAGE2_FEATURES),
        "classes": list(MODEL_CLASSES),
        "training": {"pages": len(pages), "sites": len(sites), "blocks": len(y), **asdict(options)},
        "stage1": stage1,
        "stage2": stage2,
    }


class Tally:
    """Caption, media-type and body counts as ../shared/tools/score_parse.py keeps them."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.btp = self.bfp = self.bfn = self.media_ok = self.media_n = 0

    def add(self, page: Page, labels: list[str], dont_care) -> tuple[int, int, int]:
        tp = fp = fn = 0
        for d, label in zip(page.gold, labels, strict=True):
            if dont_care(d):
                continue
            gc, pc = d["label"] in CAPTION, label in CAPTION
            tp += gc and pc
            fp += pc and not gc
            fn += gc and not pc
            gb, pb = d["label"] == "body", label == "body"
            self.btp += gb and pb
            self.bfp += pb and not gb
            self.bfn += gb and not pb
            if gc and pc:
                self.media_n += 1
                self.media_ok += d["label"] == label
        self.tp += tp
        self.fp += fp
        self.fn += fn
        return tp, fp, fn

    def line(self) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        bp = self.btp / (self.btp + self.bfp) if self.btp + self.bfp else 0.0
        br = self.btp / (self.btp + self.bfn) if self.btp + self.bfn else 0.0
        media = self.media_ok / self.media_n if self.media_n else 0.0
        return (
            f"caption_P={p:.3f} caption_R={r:.3f} caption_F1={f1:.3f} tp={self.tp} fp={self.fp} fn={self.fn} "
            f"media_acc={media:.3f} body_P={bp:.3f} body_R={br:.3f}"
        )


def cross_validate(
    train: list[Page], dev: list[Page], *, folds: int, dont_care, verbose: bool, options: FitOptions
) -> None:
    """Leave-one-site-out (or site-grouped k-fold) over dev: no page of a held-out site is trained on."""
    dev_sites = sorted({p.site for p in dev})
    if folds:
        groups = [[s for i, s in enumerate(dev_sites) if i % folds == f] for f in range(folds)]
    else:
        groups = [[s] for s in dev_sites]
    overall, dailymail = Tally(), Tally()
    per_site = []
    started = time.perf_counter()
    for held in groups:
        held_set = set(held)
        pages = [p for p in train + dev if p.site not in held_set]
        model = fit_model(pages, options)
        for page in dev:
            if page.site not in held_set:
                continue
            labels = [label for label, _ in label_texts(page.texts, model)]
            tp, fp, fn = overall.add(page, labels, dont_care)
            if page.site == "dailymail.co.uk":
                dailymail.add(page, labels, dont_care)
            per_site.append((page.name, tp, fp, fn))
    kind = f"{folds}-fold site-grouped" if folds else "leave-one-site-out"
    print(
        f"{kind} CV over dev ({len(dev)} pages, {len(dev_sites)} sites, {time.perf_counter() - started:.0f}s)"
    )
    print(f"  all        {overall.line()}")
    print(f"  dailymail  {dailymail.line()}")
    if verbose:
        for name, tp, fp, fn in per_site:
            if fp or fn:
                print(f"    {name:40s} tp={tp} fp={fp} fn={fn}")


def cross_validate_all(
    pages: list[Page], *, folds: int, dont_care, options: FitOptions, dump: Path | None = None
) -> None:
    """Site-grouped k-fold over every page (train/ and dev/): each page is scored by a model that was not
    fitted to its site; dev (gold) and train (silver) pages are tallied apart. ``dump`` gets one JSON
    line per scored block (split, page, block, gold, predicted, text), for reading the errors."""
    sites = sorted({p.site for p in pages})
    fold_of = {site: int(hashlib.sha1(site.encode()).hexdigest(), 16) % folds for site in sites}
    tallies = {"dev": Tally(), "train": Tally()}
    per_site: dict[str, dict[str, list[int]]] = {"dev": {}, "train": {}}
    started = time.perf_counter()
    dumped: list[tuple[str, int, str]] = []
    for f in range(folds):
        model = fit_model([p for p in pages if fold_of[p.site] != f], options)
        for page in pages:
            if fold_of[page.site] == f:
                labels = [label for label, _ in label_texts(page.texts, model)]
                if dump is not None:
                    dumped += [
                        (page.name, i, json.dumps({"split": page.split, "page": page.name, "block": i,
                                                   "gold": d["label"], "predicted": label, "text": text},
                                                  ensure_ascii=False))
                        for i, (d, label, text) in enumerate(zip(page.gold, labels, page.texts, strict=True))
                        if not dont_care(d)
                    ]  # fmt: skip
                counts = tallies[page.split].add(page, labels, dont_care)
                site = per_site[page.split].setdefault(page.site, [0, 0, 0])
                site[:] = [a + b for a, b in zip(site, counts, strict=True)]
    elapsed = time.perf_counter() - started
    print(
        f"{folds}-fold site-grouped CV over train/ + dev/ ({len(pages)} pages, {len(sites)} sites, {elapsed:.0f}s)"
    )
    for split, name in (("dev", "dev (gold)    "), ("train", "train (silver)")):
        print(f"  {name} {tallies[split].line()} site_macro_F1={site_macro_f1(per_site[split]):.3f}")
    if dump is not None:
        dump.write_text("".join(line + "\n" for _, _, line in sorted(dumped)), encoding="utf-8")
        print(f"  wrote {len(dumped)} scored blocks to {dump}")


def site_macro_f1(per_site: dict[str, list[int]]) -> float:
    """Mean caption F1 over the sites that have captions (as ../shared/tools/score_parse.py averages)."""
    scores = [2 * tp / (2 * tp + fp + fn) for tp, fp, fn in per_site.values() if tp + fn]
    return sum(scores) / len(scores) if scores else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--scorer", type=Path, default=SHARED / "tools" / "score_parse.py")
    ap.add_argument(
        "--loso", action="store_true", help="cross-validate over dev/ instead of writing the model"
    )
    ap.add_argument("--folds", type=int, default=0, help="with --loso: site-grouped folds (0 = one per site)")
    ap.add_argument(
        "--cv-all", type=int, default=0, metavar="K", help="site-grouped K-fold CV over train/ and dev/"
    )
    defaults = FitOptions()
    ap.add_argument("--model", choices=("trees", "logistic"), default=defaults.model)
    ap.add_argument("--dev-weight", type=float, default=defaults.dev_weight)
    ap.add_argument("--l2", type=float, default=defaults.l2, help="logistic: L2 penalty")
    ap.add_argument("--rounds", type=int, default=defaults.rounds, help="trees: boosting rounds")
    ap.add_argument("--depth", type=int, default=defaults.depth, help="trees: depth")
    ap.add_argument("--min-leaf", type=int, default=defaults.min_leaf, help="trees: least rows per leaf")
    ap.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="trees: shrinkage")
    ap.add_argument(
        "--tree-l2", type=float, default=defaults.tree_l2, help="trees: L2 penalty of leaf values"
    )
    ap.add_argument("--bags", type=int, default=defaults.bags, help="trees: models averaged")
    ap.add_argument(
        "--max-features", type=float, default=defaults.max_features, help="trees: share of features per split"
    )
    ap.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="add train/ pages with their captions' full stops removed (train/ only, never dev/); off: "
        "it lifts the Daily Mail pages but costs more on other sites under LOSO",
    )
    ap.add_argument("--no-dev", action="store_true", help="train on train/ only")
    ap.add_argument("-o", "--output", type=Path, default=MODEL_PATH)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--dump", type=Path, help="with --cv-all: write every block's CV prediction here (JSONL)")
    ap.add_argument(
        "--drop",
        default="",
        help="ablation: comma-separated feature names to zero (with their prev_/next_ copies)",
    )
    a = ap.parse_args()
    dont_care = _dont_care_fn(a.scorer)
    train = load_pages(a.corpus / "train", "train", dont_care, augment=a.augment)
    dev = load_pages(a.corpus / "dev", "dev", dont_care)
    if a.drop:
        drop_features(train + dev, a.drop.split(","))
    options = FitOptions(
        model=a.model,
        dev_weight=a.dev_weight,
        l2=a.l2,
        rounds=a.rounds,
        depth=a.depth,
        min_leaf=a.min_leaf,
        learning_rate=a.learning_rate,
        tree_l2=a.tree_l2,
        bags=a.bags,
        max_features=a.max_features,
    )
    if a.loso:
        cross_validate(train, dev, folds=a.folds, dont_care=dont_care, verbose=a.verbose, options=options)
        return
    if a.cv_all:
        cross_validate_all(train + dev, folds=a.cv_all, dont_care=dont_care, options=options, dump=a.dump)
        return
    model = fit_model(train if a.no_dev else train + dev, options)
    data = json.dumps(model, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    packed = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: the same model gives the same bytes
    a.output.write_bytes(packed)
    digest = hashlib.sha256(data).hexdigest()[:16]
    print(
        f"wrote {a.output} ({len(packed)} bytes, {len(data)} as JSON, sha256 {digest}, {model['training']})"
    )
    fitted = Tally()
    for page in dev:
        fitted.add(page, [label for label, _ in label_texts(page.texts, model)], dont_care)
    print(f"  on dev (fitted, optimistic): {fitted.line()}")
    if a.output == MODEL_PATH:
        write_golden(a.corpus / "dev" / "text" / "seed.txt", model)


def drop_features(pages: list[Page], names: list[str]) -> None:
    """Zero the named feature columns (constant columns: no tree splits on them, an L2 fit gives them no
    weight): an ablation."""
    wanted = {name.strip() for name in names if name.strip()}
    columns = [
        i
        for i, name in enumerate(FEATURE_NAMES)
        if name in wanted or name.removeprefix("prev_") in wanted or name.removeprefix("next_") in wanted
    ]
    unknown = wanted - {FEATURE_NAMES[i].removeprefix("prev_").removeprefix("next_") for i in columns}
    if unknown:
        raise SystemExit(f"unknown features: {sorted(unknown)}")
    for page in pages:
        page.rows[:, columns] = 0.0
    print(f"dropped {len(columns)} columns: {[FEATURE_NAMES[i] for i in columns]}")


def write_golden(seed: Path, model: dict) -> None:
    """The seed's labels under this model (index, label, text hash; never the text): tests/golden/."""
    text, _ = to_text(seed.read_bytes())
    texts = [b.text for b in segment(text)]
    lines = [
        json.dumps({"index": i, "label": label, "sha1": hashlib.sha1(t.encode()).hexdigest()[:12]})
        for i, (t, (label, _)) in enumerate(zip(texts, label_texts(texts, model), strict=True))
    ]
    GOLDEN_PATH.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN_PATH} ({len(lines)} blocks)")


if __name__ == "__main__":
    main()
