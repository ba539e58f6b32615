"""Evaluation as a feature: score the parser against block-labelled gold files.

Gold format (one ``NAME.jsonl`` per ``NAME.txt``): one JSON object per block of the text split on blank
lines, in order, with at least ``text`` and ``label`` (and often ``kind``). The rules are those of the
independent scorer ``tools/score_parse.py`` of the shared corpus, so that both give the same figures:

- every gold block is placed in the text by searching for the first 40 characters of its first line,
  from just after the previous gold block's start (falling back to the whole text); its span has the
  length of its stripped text;
- it is matched to the predicted block that overlaps it most (the first one on ties), and counts only
  when that overlap covers at least half of it; an unmatched gold block is scored as predicted ``other``;
- gold blocks that are only a photo credit ("(Image: Getty)", "Chuck Burton/AP", kind ``image_credit``)
  are not scored at all (``is_dont_care``): page markup labels them inconsistently;
- every figure is counted over gold blocks: a false positive is a gold non-caption block whose matched
  prediction is a caption.

For the per-label table, gold ``other`` blocks of kind ``subheading`` count as ``subheading`` (the
parser has that label; the gold format files sub-headings under ``other``). Caption, media and body
figures do not depend on that mapping.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import CAPTION_LABELS, LABELS, Block
from .parse import parse_article

# How many leading characters of a gold block's first line locate it in the text (scorer rule).
SEARCH_KEY_CHARS = 40
# A gold block counts as matched when the best predicted block covers at least this share of it.
MIN_COVER = 0.5
# Credit-only captions are at most this long; longer text that ends in an agency name is a caption.
MAX_CREDIT_ONLY_CHARS = 80

# Optional "Image credit by:" style lead-in of a credit line.
_MEDIA_LEAD_IN = r"(?:image|photo|picture|photograph|video)s?\s*(?:credit)?\s*(?:by)?\s*[:|]?\s*"
# Picture agencies and credit words that close a credit line.
_AGENCY = (
    r"(?:getty(?: images)?|reuters|ap(?: photo)?|afp|shutterstock|alamy|epa|pa(?: wire| media)?"
    r"|usa ?today(?: sports)?|usatsi|bloomberg|zuma|rex|splash(?: news)?|handout|supplied)"
)
# A block that is nothing but a photo credit, e.g. "(Image: Getty)" or "Chuck Burton/AP": not scored.
CREDIT_ONLY = re.compile(
    rf"^[\(\[]?\s*(?:{_MEDIA_LEAD_IN})?[^.!?]{{0,60}}?{_AGENCY}(?:\s*[/|,][^.!?]{{0,40}})?\s*[\)\]]?\.?$",
    re.IGNORECASE,
)


@dataclass(slots=True)
class PRF:
    """Counts and precision/recall/F1 of one binary decision (a label against the rest)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        self.tp += gold and pred
        self.fp += pred and not gold
        self.fn += gold and not pred

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(slots=True)
class Accuracy:
    """Share of correct decisions among ``n``."""

    correct: int = 0
    n: int = 0

    @property
    def value(self) -> float | None:
        return self.correct / self.n if self.n else None


@dataclass(slots=True)
class BlockMatch:
    """One scored gold block and the prediction it was matched to (``pred_index`` None when unmatched)."""

    gold_index: int
    gold_label: str
    gold_kind: str | None
    pred_index: int | None
    pred_label: str


@dataclass(slots=True)
class SiteReport:
    """Figures of one site (the file-name part before ``__``)."""

    articles: int = 0
    caption: PRF = field(default_factory=PRF)
    body: PRF = field(default_factory=PRF)
    media: Accuracy = field(default_factory=Accuracy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "caption": self.caption.to_dict(),
            "body": self.body.to_dict(),
            "media_accuracy": self.media.value,
        }


@dataclass(slots=True)
class EvalReport:
    """All figures of one evaluation run; ``to_dict()`` is what ``captionset eval --json`` prints."""

    names: list[str] = field(default_factory=list)
    corpus_sha256: str = ""
    scored_blocks: int = 0
    skipped_blocks: int = 0
    unmapped: int = 0
    caption: PRF = field(default_factory=PRF)
    video: PRF = field(default_factory=PRF)
    body: PRF = field(default_factory=PRF)
    media: Accuracy = field(default_factory=Accuracy)
    per_label: dict[str, PRF] = field(default_factory=lambda: {label: PRF() for label in LABELS})
    per_site: dict[str, SiteReport] = field(default_factory=dict)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def articles(self) -> int:
        return len(self.names)

    @property
    def media_accuracy(self) -> float | None:
        return self.media.value

    @property
    def site_macro_f1(self) -> float:
        """Mean caption F1 over sites that have at least one gold caption."""
        scores = [s.caption.f1 for s in self.per_site.values() if s.caption.tp + s.caption.fn]
        return sum(scores) / len(scores) if scores else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "corpus_sha256": self.corpus_sha256,
            "scored_blocks": self.scored_blocks,
            "skipped_blocks": self.skipped_blocks,
            "unmapped": self.unmapped,
            "caption": self.caption.to_dict(),
            "media_accuracy": self.media_accuracy,
            "media_n": self.media.n,
            "video": self.video.to_dict(),
            "body": self.body.to_dict(),
            "site_macro_f1": self.site_macro_f1,
            "per_label": {label: prf.to_dict() for label, prf in self.per_label.items()},
            "per_site": {site: report.to_dict() for site, report in sorted(self.per_site.items())},
            "confusion": [
                {"gold": gold, "pred": pred, "count": count}
                for (gold, pred), count in sorted(self.confusion.items())
            ],
        }


def site_of(name: str) -> str:
    """The site an article belongs to: the part of its file name before ``__`` (the whole name if none)."""
    return name.split("__")[0]


def is_dont_care(gold: dict[str, Any]) -> bool:
    """True for a gold block that is only a photo credit, which is scored neither way."""
    text = gold["text"].strip()
    if gold.get("kind") == "image_credit":
        return True
    return (
        gold["label"] in ("photo_caption", "other")
        and len(text) <= MAX_CREDIT_ONLY_CHARS
        and CREDIT_ONLY.search(text) is not None
    )


def per_label_gold(gold: dict[str, Any]) -> str:
    """The gold label used in per-label figures: sub-headings filed under ``other`` become ``subheading``."""
    if gold["label"] == "other" and gold.get("kind") == "subheading":
        return "subheading"
    return gold["label"]


def gold_spans(text: str, gold: list[dict[str, Any]]) -> list[tuple[int, int] | None]:
    """Locate each gold block in the text (None when its opening cannot be found)."""
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for item in gold:
        stripped = item["text"].strip()
        key = stripped.split("\n")[0].strip()[:SEARCH_KEY_CHARS] or item["text"][:10]
        found = text.find(key, pos)
        if found < 0:
            found = text.find(key)
        if found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(stripped)))
        pos = found + 1
    return spans


def match_blocks(text: str, gold: list[dict[str, Any]], blocks: list[Block]) -> list[BlockMatch]:
    """Match every scored gold block to the predicted block covering most of it (see module doc)."""
    matches: list[BlockMatch] = []
    for index, (item, span) in enumerate(zip(gold, gold_spans(text, gold), strict=True)):
        if is_dont_care(item):
            continue
        best: Block | None = None
        cover = 0
        if span is not None:
            for block in blocks:
                overlap = min(span[1], block.end) - max(span[0], block.start)
                if overlap > cover:
                    best, cover = block, overlap
        if best is not None and span is not None and cover >= MIN_COVER * (span[1] - span[0]):
            pred_index, pred_label = best.index, best.label
        else:
            pred_index, pred_label = None, "other"
        matches.append(BlockMatch(index, item["label"], item.get("kind"), pred_index, pred_label))
    return matches


def read_gold(path: Path) -> list[dict[str, Any]]:
    """The gold blocks of one article, in order."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise ValueError(f"{path}:{number}: a gold row needs 'text' and 'label'")
        rows.append(row)
    return rows


def gold_names(gold_dir: str | Path, only: str | None = None) -> list[str]:
    """Sorted names (file stems) of the gold files in a folder, optionally those containing ``only``."""
    names = sorted(p.stem for p in Path(gold_dir).glob("*.jsonl"))
    return [n for n in names if not only or only in n]


def corpus_digest(gold_dir: str | Path, text_dir: str | Path, names: list[str]) -> str:
    """SHA-256 over the names, texts and gold files scored, so a changed corpus is noticed."""
    digest = hashlib.sha256()
    for name in names:
        for path in (Path(text_dir) / f"{name}.txt", Path(gold_dir) / f"{name}.jsonl"):
            data = path.read_bytes()
            digest.update(f"{path.name}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def score_article(report: EvalReport, name: str, matches: list[BlockMatch], skipped: int = 0) -> None:
    """Add one article's matched blocks (and its count of unscored credit-only blocks) to the report."""
    site = report.per_site.setdefault(site_of(name), SiteReport())
    site.articles += 1
    report.names.append(name)
    report.skipped_blocks += skipped
    for m in matches:
        report.scored_blocks += 1
        report.unmapped += m.pred_index is None
        gold_cap, pred_cap = m.gold_label in CAPTION_LABELS, m.pred_label in CAPTION_LABELS
        gold_body, pred_body = m.gold_label == "body", m.pred_label == "body"
        for prf, gold, pred in (
            (report.caption, gold_cap, pred_cap),
            (site.caption, gold_cap, pred_cap),
            (report.body, gold_body, pred_body),
            (site.body, gold_body, pred_body),
            (report.video, m.gold_label == "video_caption", m.pred_label == "video_caption"),
        ):
            prf.add(gold, pred)
        if gold_cap and pred_cap:
            for acc in (report.media, site.media):
                acc.n += 1
                acc.correct += m.gold_label == m.pred_label
        gold_for_label = per_label_gold({"label": m.gold_label, "kind": m.gold_kind})
        report.confusion[(gold_for_label, m.pred_label)] += 1
        for label in {gold_for_label, m.pred_label}:
            report.per_label.setdefault(label, PRF()).add(gold_for_label == label, m.pred_label == label)


def evaluate(
    gold_dir: str | Path,
    text_dir: str | Path,
    *,
    only: str | None = None,
    names: list[str] | None = None,
) -> EvalReport:
    """Parse every article that has a gold file and score it; ``names`` or ``only`` pick a subset."""
    gold_dir, text_dir = Path(gold_dir), Path(text_dir)
    if not gold_dir.is_dir():
        raise FileNotFoundError(f"gold folder not found: {gold_dir}")
    chosen = gold_names(gold_dir) if names is None else list(names)
    chosen = [n for n in chosen if not only or only in n]
    report = EvalReport()
    for name in chosen:
        text_path = text_dir / f"{name}.txt"
        if not text_path.is_file():
            raise FileNotFoundError(f"no text file for gold {name!r}: {text_path}")
        article = parse_article(text_path.read_bytes(), source=str(text_path))
        gold = read_gold(gold_dir / f"{name}.jsonl")
        matches = match_blocks(article.text, gold, article.blocks)
        score_article(report, name, matches, skipped=len(gold) - len(matches))
    report.corpus_sha256 = corpus_digest(gold_dir, text_dir, chosen)
    return report


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def format_report(report: EvalReport) -> str:
    """A readable plain-text table of the report, for people."""
    c, b, v = report.caption, report.body, report.video
    lines = [
        f"{report.articles} articles, {report.scored_blocks} scored blocks "
        f"({report.skipped_blocks} credit-only skipped, {report.unmapped} unmapped)",
        "",
        f"caption detection  P {_fmt(c.precision)}  R {_fmt(c.recall)}  F1 {_fmt(c.f1)}"
        f"   (tp {c.tp}, fp {c.fp}, fn {c.fn})",
        f"photo vs video     accuracy {_fmt(report.media_accuracy)} over {report.media.n} found captions",
        f"video captions     P {_fmt(v.precision)}  R {_fmt(v.recall)}  F1 {_fmt(v.f1)}",
        f"body               P {_fmt(b.precision)}  R {_fmt(b.recall)}  F1 {_fmt(b.f1)}",
        f"site macro F1      {_fmt(report.site_macro_f1)}",
        "",
        f"{'label':<14} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'pred':>6}",
    ]
    for label, prf in report.per_label.items():
        gold_n, pred_n = prf.tp + prf.fn, prf.tp + prf.fp
        p = prf.precision if pred_n else None
        r = prf.recall if gold_n else None
        f = prf.f1 if gold_n or pred_n else None
        lines.append(f"{label:<14} {_fmt(p):>6} {_fmt(r):>6} {_fmt(f):>6} {gold_n:>6} {pred_n:>6}")
    width = max([len(s) for s in report.per_site] + [4])
    lines += ["", f"{'site':<{width}} {'n':>3} {'capP':>6} {'capR':>6} {'capF1':>6} {'bodyR':>6}"]
    for site, s in sorted(report.per_site.items()):
        has_caps = s.caption.tp + s.caption.fn + s.caption.fp
        cap = (s.caption.precision, s.caption.recall, s.caption.f1) if has_caps else (None, None, None)
        lines.append(
            f"{site:<{width}} {s.articles:>3} {_fmt(cap[0]):>6} {_fmt(cap[1]):>6} {_fmt(cap[2]):>6}"
            f" {_fmt(s.body.recall if s.body.tp + s.body.fn else None):>6}"
        )
    return "\n".join(lines)


__all__ = [
    "PRF",
    "BlockMatch",
    "EvalReport",
    "SiteReport",
    "corpus_digest",
    "evaluate",
    "format_report",
    "is_dont_care",
    "match_blocks",
]
