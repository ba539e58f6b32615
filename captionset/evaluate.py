"""Evaluation as a feature: score the parser against block-labelled gold files, and the alignment against
hand-labelled caption -> paragraph pairs (``evaluate_alignment``, at the end of this module).

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
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .align import DEFAULT_ALIGN_OPTIONS, AlignOptions, align
from .model import CAPTION_LABELS, LABELS, Article, Block
from .parse import parse_article
from .text import to_text

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
    #: Found captions whose nearest sub-heading before them (none included) is the gold's: the ``section``
    #: that alignment gives them.
    sections: Accuracy = field(default_factory=Accuracy)
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
            "caption_sections": self.sections.value,
            "caption_sections_n": self.sections.n,
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
    # The last gold sub-heading and the last predicted one seen, by gold block index (-1: none yet).
    gold_section = pred_section = -1
    for m in matches:
        if m.gold_kind == "subheading":
            gold_section = m.gold_index
        if m.pred_label == "subheading":
            pred_section = m.gold_index
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
            report.sections.n += 1
            report.sections.correct += gold_section == pred_section
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
        f"caption sections   {_fmt(report.sections.value)} of found captions under the gold's sub-heading",
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


# --- alignment -------------------------------------------------------------------------------------------
#
# A pairs file holds one JSON object per labelled caption: {"article": NAME, "caption": I, "best": [J, ...]}
# in the gold block numbering (block i of the text split on blank lines, as the gold files number them);
# "best": [] says that no paragraph is the picture's; "weak": true marks a judgement call; "corpus": X says
# the article lives in the folder X beside CORPUS_DIR (../shared/corpus/train beside .../dev) rather than in
# CORPUS_DIR itself. Articles are read from CORPUS_DIR/text/NAME.txt and CORPUS_DIR/gold/NAME.jsonl.

# The gold block split of the corpus format: blank lines (spaces or tabs allowed) separate blocks.
GOLD_SPLIT = re.compile(r"\n[ \t]*\n")
#: Related paragraphs looked at: top-1 and top-3 accuracy.
ALIGN_TOP = 3


def read_pairs(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a pairs file (ValueError, with the line, for a row without article, caption and best)."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("article"), str)
            or not isinstance(row.get("caption"), int)
            or not isinstance(row.get("best"), list)
        ):
            raise ValueError(
                f"{path}:{number}: a pair needs 'article' (text), 'caption' (int), 'best' (list)"
            )
        rows.append(row)
    return rows


def gold_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of every gold block: the split on blank lines, empty pieces dropped, pieces not trimmed."""
    spans, pos = [], 0
    for match in GOLD_SPLIT.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def gold_article(folder: str | Path, name: str) -> Article:
    """The article of FOLDER/text/NAME.txt labelled as FOLDER/gold/NAME.jsonl says (sub-headings, kind
    ``subheading``, get the label ``subheading``): what alignment alone is measured on."""
    folder = Path(folder)
    text, _ = to_text((folder / "text" / f"{name}.txt").read_bytes())
    rows = read_gold(folder / "gold" / f"{name}.jsonl")
    spans = gold_blocks(text)
    if len(spans) != len(rows):
        raise ValueError(f"{name}: {len(spans)} blocks in the text, {len(rows)} gold rows")
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


def nearest_paragraphs(body: list[int], caption_index: int, k: int = ALIGN_TOP) -> list[int]:
    """The proximity baseline: the k body paragraphs nearest to the caption (the one before first)."""
    return sorted(body, key=lambda i: (abs(i - caption_index), i > caption_index))[:k]


def _to_gold(parsed: Article, spans: list[tuple[int, int]]) -> dict[int, int]:
    """Parser block index -> gold block index: the gold block holding the parser block's start."""
    starts = [s for s, _ in spans]
    out = {}
    for block in parsed.blocks:
        j = max(0, next((n for n, s in enumerate(starts) if s > block.start), len(starts)) - 1)
        out[block.index] = j
    return out


@dataclass(slots=True)
class AlignScores:
    """Alignment figures with one set of block labels (gold or the parser's)."""

    captions: int = 0  # labelled captions with a best paragraph
    found: int = 0  # ... that are captions in these labels
    top1: int = 0
    top3: int = 0
    proximity_top1: int = 0
    proximity_top3: int = 0
    empty: int = 0  # ... that got no related paragraph
    strong: int = 0  # ... not marked weak
    strong_top1: int = 0
    no_paragraph: int = 0  # labelled captions that no paragraph describes
    no_paragraph_empty: int = 0  # ... that got no related paragraph, as they should

    def add(self, best: set[int], ranked: list[int], baseline: list[int], present: bool, weak: bool) -> None:
        if not best:
            self.no_paragraph += 1
            self.no_paragraph_empty += not ranked
            return
        hit1, hit3 = bool(ranked[:1]) and ranked[0] in best, bool(best & set(ranked[:ALIGN_TOP]))
        self.captions += 1
        self.found += present
        self.top1 += hit1
        self.top3 += hit3
        self.proximity_top1 += bool(baseline[:1]) and baseline[0] in best
        self.proximity_top3 += bool(best & set(baseline[:ALIGN_TOP]))
        self.empty += not ranked
        if not weak:
            self.strong += 1
            self.strong_top1 += hit1

    def to_dict(self) -> dict[str, Any]:
        n = self.captions or 1
        return {
            "captions": self.captions,
            "found_as_caption": self.found,
            "top1": round(self.top1 / n, 4),
            "top3": round(self.top3 / n, 4),
            "proximity_top1": round(self.proximity_top1 / n, 4),
            "proximity_top3": round(self.proximity_top3 / n, 4),
            "empty_related": self.empty,
            "strong_top1": round(self.strong_top1 / (self.strong or 1), 4),
            "no_paragraph_captions": self.no_paragraph,
            "no_paragraph_left_empty": self.no_paragraph_empty,
        }


@dataclass(slots=True)
class AlignmentReport:
    """Top-1 / top-3 of ``related`` against hand-labelled pairs, next to the proximity baseline: on articles
    labelled by their gold files (alignment alone) and as the parser labels them (the whole pipeline)."""

    articles: int = 0
    pairs: int = 0
    gold: AlignScores = field(default_factory=AlignScores)
    parser: AlignScores | None = None
    parser_error: str | None = None
    align_seconds: float = 0.0
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "articles": self.articles,
            "captions": self.pairs,
            "gold": self.gold.to_dict(),
            "parser": self.parser.to_dict() if self.parser else None,
            "parser_error": self.parser_error,
            "align_ms_per_article": round(self.align_seconds / (self.articles or 1) * 1e3, 4),
        }
        if details:
            out["details"] = self.details
        return out


def evaluate_alignment(
    pairs: str | Path | list[dict[str, Any]],
    corpus_dir: str | Path,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
    *,
    with_parser: bool = True,
) -> AlignmentReport:
    """Score ``align`` against a pairs file (or its rows) over the articles of ``corpus_dir``."""
    rows = read_pairs(pairs) if isinstance(pairs, (str, Path)) else list(pairs)
    corpus_dir = Path(corpus_dir)
    by_article: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_article.setdefault((row.get("corpus"), row["article"]), []).append(row)
    report = AlignmentReport(articles=len(by_article), pairs=len(rows))
    report.parser = AlignScores() if with_parser else None
    for (corpus, name), labelled in sorted(
        by_article.items(), key=lambda item: (item[0][0] or "", item[0][1])
    ):
        folder = corpus_dir if corpus is None or corpus == corpus_dir.name else corpus_dir.parent / corpus
        article = gold_article(folder, name)
        started = time.perf_counter()
        captions = {c.block_index: c for c in align(article, options)}
        report.align_seconds += time.perf_counter() - started
        body = [b.index for b in article.blocks if b.label == "body"]
        parsed_captions: dict[int, Any] = {}
        parsed_body: list[int] = []
        to_gold: dict[int, int] = {}
        if with_parser:
            try:
                parsed = parse_article(
                    (folder / "text" / f"{name}.txt").read_bytes(), source=name, article_id=name
                )
            except Exception as error:  # the parser is another stage: report it, keep scoring alignment
                report.parser_error = f"{type(error).__name__}: {error}"
            else:
                to_gold = _to_gold(parsed, gold_blocks(article.text))
                parsed_captions = {to_gold[c.block_index]: c for c in align(parsed, options)}
                parsed_body = [b.index for b in parsed.blocks if b.label == "body"]
        for row in labelled:
            best, weak = set(row["best"]), bool(row.get("weak"))
            found = captions.get(row["caption"])
            ours = [r.block_index for r in found.related] if found else []
            baseline = nearest_paragraphs(body, row["caption"])
            report.gold.add(best, ours, baseline, found is not None, weak)
            if report.parser is not None:
                p_found = parsed_captions.get(row["caption"])
                p_ours = [to_gold[r.block_index] for r in p_found.related] if p_found else []
                p_base = (
                    [to_gold[i] for i in nearest_paragraphs(parsed_body, p_found.block_index)]
                    if p_found
                    else []
                )
                report.parser.add(best, p_ours, p_base, p_found is not None, weak)
            report.details.append(
                {
                    "article": name,
                    "caption": row["caption"],
                    "best": sorted(best),
                    "related": ours,
                    "scores": [round(r.score, 3) for r in found.related] if found else [],
                    "proximity": baseline,
                    "weak": weak,
                }
            )
    return report


def format_alignment_report(report: AlignmentReport, details: bool = False) -> str:
    """A readable summary (and, with ``details``, one line per caption: ok = top-1 right, o3 = in the top 3,
    XX = wrong), for people."""
    lines = [f"{report.pairs} hand-labelled captions over {report.articles} articles"]
    if report.parser_error:
        lines.append(f"  the parser failed, its figures are incomplete: {report.parser_error}")
    for mode, scores in (("gold", report.gold), ("parser", report.parser)):
        if scores is None:
            continue
        r = scores.to_dict()
        lines.append(
            f"  [{mode} labels] top-1 {r['top1']:.3f} (proximity {r['proximity_top1']:.3f})  "
            f"top-3 {r['top3']:.3f} (proximity {r['proximity_top3']:.3f})  "
            f"strong top-1 {r['strong_top1']:.3f}  n={r['captions']} found={r['found_as_caption']} "
            f"empty={r['empty_related']}  no-paragraph captions left empty "
            f"{r['no_paragraph_left_empty']}/{r['no_paragraph_captions']}"
        )
    if details:
        for d in report.details:
            if not d["best"]:
                mark = "ok" if not d["related"] else "XX"
            elif d["related"][:1] and d["related"][0] in d["best"]:
                mark = "ok"
            else:
                mark = "o3" if set(d["best"]) & set(d["related"]) else "XX"
            lines.append(
                f"{mark}  {d['article'][:28]} {d['caption']} best {d['best']} got {d['related']} {d['scores']}"
                f" prox {d['proximity']}{' weak' if d['weak'] else ''}"
            )
    return "\n".join(lines)


__all__ = [
    "PRF",
    "AlignScores",
    "AlignmentReport",
    "BlockMatch",
    "EvalReport",
    "SiteReport",
    "corpus_digest",
    "evaluate",
    "evaluate_alignment",
    "format_alignment_report",
    "format_report",
    "gold_article",
    "is_dont_care",
    "match_blocks",
    "read_pairs",
]
