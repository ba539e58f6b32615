"""The block classifier: a small learned model over block features, then structural rules.

Two stages of gradient-boosted trees (``model.json.gz``, trained by ``scripts/train_classifier.py``, each
stage the average of two bagged models, scored by ``trees.TreeEnsemble``; a stage may also be one-vs-rest
logistic regression): stage 1 scores each block from its own, its neighbours' and its article's features;
stage 2 adds the stage-1 scores of the neighbouring blocks and of the blocks that end in the same style,
because captions come in runs and share a style within a page. Rules then settle what
structure decides: the first block is the title, a bullet block before the story is the highlights, a
date line at the end is the byline, known widget headings are boilerplate.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..model import CAPTION_LABELS, Block
from . import signals
from .features import FEATURE_NAMES, PLAIN_ENDINGS, article_features
from .trees import TreeEnsemble, blend_probabilities, softmax

#: Classes the model tells apart (title and highlights are decided by position and form).
MODEL_CLASSES: tuple[str, ...] = ("body", "caption", "other", "boilerplate", "byline")
#: Stage-2 features: stage-1 scores of the neighbours and of blocks with the same ending style.
STAGE2_FEATURES: tuple[str, ...] = (
    "s1_self_caption",
    "s1_self_body",
    "s1_prev_caption",
    "s1_prev_body",
    "s1_prev_other",
    "s1_next_caption",
    "s1_next_body",
    "s1_next_other",
    "s1_prev2_caption",
    "s1_next2_caption",
    "s1_article_caption",
    "s1_same_ending_caption",
    "s1_same_ending_body",
)
#: A bullet block near the top is the highlights while fewer story paragraphs than this precede it.
HIGHLIGHTS_BEFORE_BODY = 2
#: The last block that can be the highlights (a bullet block further down is a list in the story).
HIGHLIGHTS_LAST_BLOCK = 5
#: Blocks of at most this many words with no closing punctuation read as sub-headings when not captions.
SUBHEADING_MAX_WORDS = 20
#: The trained model: JSON, gzip-compressed (the trees' node tables are most of it).
MODEL_FILE = "model.json.gz"


@lru_cache(maxsize=1)
def load_model() -> dict[str, Any]:
    """The shipped model (parsed once per process)."""
    text = gzip.decompress(resources.files(__package__).joinpath(MODEL_FILE).read_bytes()).decode("utf-8")
    model = json.loads(text)
    if tuple(model["features"]) != FEATURE_NAMES:
        raise ValueError(f"{MODEL_FILE} was trained on other features: run scripts/train_classifier.py")
    return model


def stage_matrices(stage: dict[str, Any]) -> TreeEnsemble | tuple[np.ndarray, np.ndarray]:
    """The arrays of one model stage, built once and cached on the stage dict: a tree ensemble, or the
    weights and biases of the logistic model."""
    cached = stage.get("_arrays")
    if cached is None:
        if stage.get("kind") == "trees":
            cached = TreeEnsemble.from_dict(stage)
        else:
            weights = np.array([stage["weights"][c] for c in MODEL_CLASSES], dtype=float).T
            biases = np.array([stage["bias"][c] for c in MODEL_CLASSES], dtype=float)
            cached = (weights, biases)
        stage["_arrays"] = cached
    return cached


def predict_stage(x: np.ndarray, stage: dict[str, Any]) -> np.ndarray:
    """Class probabilities (blocks x ``MODEL_CLASSES``): softmax of boosted trees, normalised one-vs-rest
    logistic regression, or the mean of several such models (a blend: the bagged trees)."""
    if stage.get("kind") == "blend":
        parts = stage["parts"]
        ensembles = stage.get("_ensembles")
        if ensembles is None:  # worked out once and cached on the stage dict, as stage_matrices does
            trees_only = all(part.get("kind") == "trees" for part in parts)
            ensembles = stage["_ensembles"] = [stage_matrices(part) for part in parts] if trees_only else []
        if ensembles:
            # The bagged trees: sum(predict_stage(x, part) for part in parts) / len(parts), in one pass.
            return blend_probabilities(ensembles, x)
        return sum(predict_stage(x, part) for part in parts) / len(parts)
    arrays = stage_matrices(stage)
    if isinstance(arrays, TreeEnsemble):
        return softmax(arrays.raw_scores(x))
    weights, biases = arrays
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ weights + biases, -30.0, 30.0)))
    return p / p.sum(axis=1, keepdims=True)


def stage2_rows(x: np.ndarray, probs: np.ndarray, endings: list[str]) -> np.ndarray:
    """Append the stage-2 context features (from stage-1 probabilities) to the feature matrix."""
    count = x.shape[0]
    cap, body, other = 1, 0, 2
    extra = np.zeros((count, len(STAGE2_FEATURES)))
    if count == 0:
        return np.hstack([x, extra])
    inner = max(count - 1, 1)
    # Columns in STAGE2_FEATURES order, copied a few at a time.
    extra[:, 0:2] = probs[:, (cap, body)]
    extra[2:, 2:5] = probs[1:-1, (cap, body, other)]
    extra[:-1, 5:8] = probs[1:, (cap, body, other)]
    extra[3:, 8] = probs[1:-2, cap]
    extra[:-2, 9] = probs[2:, cap]
    extra[:, 10] = probs[1:, cap].sum() / inner
    groups: dict[str, list[int]] = {}
    for i in range(1, count):
        groups.setdefault(endings[i], []).append(i)
    if any(len(members) > 1 for members in groups.values()):
        same_cap, same_body = [0.0] * count, [0.0] * count
        cap_p, body_p = probs[:, cap].tolist(), probs[:, body].tolist()
        for members in groups.values():
            if len(members) > 1:
                _others_mean(probs[:, cap], cap_p, members, same_cap)
                _others_mean(probs[:, body], body_p, members, same_body)
        extra[:, 11] = same_cap
        extra[:, 12] = same_body
    return np.hstack([x, extra])


#: numpy sums fewer values than this one after the other (more pairwise, in blocks of eight).
_NUMPY_SEQUENTIAL_SUM = 8


def _others_mean(column: np.ndarray, values: list[float], members: list[int], out: list[float]) -> None:
    """out[i] = the mean of the other members' values, for each member i: numpy's
    ``(column[members].sum() - column[members]) / (len(members) - 1)`` with Python floats (the same IEEE
    operations, without numpy's cost per call for the usual handful of members)."""
    if len(members) < _NUMPY_SEQUENTIAL_SUM:
        total = -0.0  # numpy's start: a sum of -0.0 values stays -0.0
        for i in members:
            total += values[i]
    else:
        total = float(column[members].sum())
    others = len(members) - 1
    for i in members:
        out[i] = (total - values[i]) / others


def model_probabilities(texts: list[str], model: dict[str, Any]) -> np.ndarray:
    """Stage-2 class probabilities (blocks x ``MODEL_CLASSES``) for the block texts of one article."""
    return _probabilities_and_endings(texts, model)[0]


def _probabilities_and_endings(texts: list[str], model: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """model_probabilities, and each block's ending style (which names its credit style, if any)."""
    x, endings = article_features(texts)
    probs = predict_stage(x, model["stage1"])
    if "stage2" in model:
        probs = predict_stage(stage2_rows(x, probs, endings), model["stage2"])
    return probs, endings


def _is_bullet_list(text: str) -> bool:
    """Is every non-blank line of the block a bullet line (highlights)?"""
    if not signals.BULLET_LINE.match(text):
        # The first non-blank line is not one (the pattern at the text's start also lets a line break
        # follow the mark, so it holds whenever that line does): most blocks are settled by one match.
        return False
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(signals.BULLET_LINE.match(line) for line in lines)


#: Credit styles that only captions end with: "(Image: Getty)", "[File: Reuters]", "Credit: Rex", "Photo: AP"
#: (a bare agency or a bracketed name also closes bylines, datelines and related links, so they are left to the
#: model).
CAPTION_CREDIT_KINDS = frozenset(["bracket", "word"])


def _closes_with_caption_credit(ending: str) -> bool:
    """Does a block of this ending style (``features``: "bracket:(picture:", "open", ...) close with a credit
    that only captions close with (``CAPTION_CREDIT_KINDS``)?"""
    return ending.partition(":")[0] in CAPTION_CREDIT_KINDS


#: The model's columns of the caption and the other (loose text) classes.
CAPTION_CLASS = MODEL_CLASSES.index("caption")
OTHER_CLASS = MODEL_CLASSES.index("other")
#: Most words the model's caption may have: the longest caption in the labelled corpus has 99; longer
#: "captions" the model found were lists and long story paragraphs (a credit or file mark still makes one).
CAPTION_MAX_WORDS = 150
#: Words a block needs besides its credit to be a caption rather than a credit line.
CAPTION_MIN_WORDS = 5
# A picture word and a colon open a caption on sites that label them so ("Image: Jane Roe signs the deal"); a
# sentence must follow (labels_a_sentence), else it is a credit. ("Video:" and "Watch:" open links too.)
PICTURE_LABEL = re.compile(r"(?i:image|photo(?:graph)?|picture|pictured)\s*:\s")
# The wire services' formula for what a caption shows: "... in this handout picture released by the council",
# "In this June 20, 2024, file photo, ...", "in this screen grab taken from video". Stories say "a photo shows".
IN_THIS_PICTURE = re.compile(
    r"\b(?i:in this (?:[\w,.' -]{0,40} )?(?:photo(?:graph)?|picture|image|screenshot|screen grab|still image"
    r"|handout (?:photo|picture|image)))(?![\w-])"
)
# The wire services' mark of an archive picture opens its caption: AP's "FILE - ...", Reuters' "FILE PHOTO: ...".
FILE_PHOTO_LEAD = re.compile(r"(?:FILE(?: PHOTO)?|File photo)\s*[-–—:]\s")


def _ends_in_caption_credit(text: str, ending: str | None = None) -> bool:
    """Does the block describe something and close with a picture credit? On every page we have seen such a
    block is a caption, whatever the rest of the page looks like. ``ending`` (the block's ending style from
    the features, when known) spares most blocks the credit patterns."""
    if ending is not None and not _closes_with_caption_credit(ending):
        return False
    if len(text.split()) < CAPTION_MIN_WORDS or signals.is_credit_only(text):
        return False
    credit = signals.credit_match(text)
    return credit is not None and credit[0] in CAPTION_CREDIT_KINDS and len(text[: credit[2]].split()) >= 3


def label_texts(texts: list[str], model: dict[str, Any] | None = None) -> list[tuple[str, float]]:
    """(label, confidence) for every block text of one article, in order."""
    count = len(texts)
    if count == 0:
        return []
    probs, endings = _probabilities_and_endings(texts, model or load_model())
    best_of = probs.argmax(axis=1).tolist()
    top = probs.max(axis=1)
    best_p = top.tolist()
    shown = _shown_scores(top)
    labels: list[tuple[str, float]] = [("title", 0.95)]
    # Story paragraphs seen so far: the highlights come before the story, but a lead caption above them
    # may have been read as one paragraph.
    body_seen = 0
    player_marks: list[int] = []
    for i in range(1, count):
        text = texts[i]
        label, score = MODEL_CLASSES[best_of[i]], best_p[i]
        if (
            label == "body"
            and HIGHLIGHTS_LAST_BLOCK < i < count - 2
            and len(text) > signals.BOILERPLATE_MAX_CHARS
            and not _closes_with_caption_credit(endings[i])
            and text[:4] not in ("FILE", "File")
            and (text[:1] not in "IiPp" or not PICTURE_LABEL.match(text))
            and (len(text) > signals.DATED_SCENE_MAX_CHARS or not signals.is_dated_scene(text))
            and (len(text) > QUESTION_HEADING_MAX_CHARS or "?" not in text[-3:])
            and (endings[i] == "closed" or not signals.sentence_then_credit(text))
            and ("n this " not in text or IN_THIS_PICTURE.search(text) is None)
            and not signals.is_embedded_post(text)
        ):
            # Most blocks: a story paragraph that no rule below touches (they all ask for a place near
            # either end, a short text, a credit ending, a file mark, an "Image:" label, a dated scene, a
            # short question, an unclosed sentence + credit phrase, "in this picture", an embedded post, or
            # another label).
            body_seen += 1
            labels.append(("body", shown[i]))
            continue
        if len(text) <= signals.PLAYER_MARK_MAX_CHARS and signals.PLAYER_MARK.fullmatch(text):
            player_marks.append(i)
        if label == "caption" and _never_a_caption(text):
            label = _best_non_caption(probs[i])
        if body_seen < HIGHLIGHTS_BEFORE_BODY and i <= HIGHLIGHTS_LAST_BLOCK and _is_bullet_list(text):
            label, score = "highlight", max(score, 0.8)
        elif (i >= count - 2 and signals.is_byline(text)) or (
            i <= BYLINE_TOP_LAST_BLOCK and AUTHOR_LINE.match(text) is not None
        ):
            label, score = "byline", max(score, 0.9)
        elif (
            len(text) <= signals.BOILERPLATE_MAX_CHARS
            and (signals.is_boilerplate(text) or signals.joins_widget_labels(text))
        ) or signals.is_share_bar(text):
            label, score = "boilerplate", max(score, 0.85)
        elif (len(text) <= signals.TIME_AGO_MAX_CHARS and signals.TIME_AGO.fullmatch(text)) or (
            signals.is_embedded_post(text)
        ):
            # A time-ago line or an embedded post: loose text, not a caption nor (below) a subheading, scored
            # by the model's "other" probability.
            labels.append(("other", _shown_score(max(float(probs[i, OTHER_CLASS]), 0.6))))
            continue
        elif label == "byline" and i < count - 3 and i > 3:
            # A byline inside the story is a stray author or date line.
            label = "other"
        elif label == "caption" and signals.is_credit_only(text):
            label = "photo_caption"
        elif label != "caption" and _caption_by_form(text, label, endings[i]):
            label, score = "caption", max(float(probs[i, CAPTION_CLASS]), 0.6)
        if label == "caption":
            label = _caption_label(text)
        elif label == "other" and body_seen and _is_bullet_list(text):
            # A bulleted list inside the story (steps, specs, key points) is story text, not a heading.
            label = "body"
        elif (
            label == "other"
            and not (player_marks and player_marks[-1] == i)  # a player's "Video" tab heads no section
            and _heads_a_section(text, endings[i])
        ) or (label == "body" and _is_question_heading(text, endings[i])):
            label = "subheading"
        body_seen += label == "body"
        labels.append((label, shown[i] if score == best_p[i] else _shown_score(score)))
    _uncredited_on_a_credited_page(texts, endings, labels, probs)
    _join_caption_runs(texts, endings, labels)
    _caption_players(player_marks, labels)
    return labels


def _never_a_caption(text: str) -> bool:
    """Forms the model may read as a caption that never are: furniture leads ("Scroll down", "MORE:"), text
    longer than any caption, a time stamp ("Updated: 9.45pm"), a row of labels ("Business · Updated") and a
    line that ends with a colon: it introduces what follows (a list, a quote, a table), no picture."""
    return bool(
        text.rstrip().endswith(":")
        or FURNITURE_LEAD.match(text)
        or len(text.split()) > CAPTION_MAX_WORDS
        or signals.is_time_stamp(text)
        or signals.is_label_row(text)
    )


def _heads_a_section(text: str, ending: str) -> bool:
    """Is loose text a sub-heading? Short, and unclosed or one question; not closed by a credit ("Photo: Jane
    Roe", ``ending`` is the block's ending style) nor one of the lines of ``_heads_no_section``."""
    return (
        (not signals.closes_sentence(text) or _asks_one_question(text))
        and len(text.split()) <= SUBHEADING_MAX_WORDS
        and ending in PLAIN_ENDINGS
        and not _heads_no_section(text)
    )


def _is_question_heading(text: str, ending: str) -> bool:
    """A short question that opens with a question word ("What is the plan?", "Who runs it?"): how explainers
    head their sections. The model reads most as story text, on sites it has not seen (site CV: 26 of 35 are
    the gold's sub-headings, the rest interview questions and all-caps headings labelled as story)."""
    return (
        len(text) <= QUESTION_HEADING_MAX_CHARS
        and len(text.split()) <= QUESTION_HEADING_MAX_WORDS
        and QUESTION_LEAD.match(text) is not None
        and _asks_one_question(text)
        and _heads_a_section(text, ending)
    )


def _asks_one_question(text: str) -> bool:
    """Is the block one question, as explainers head their sections ("What is in the plan?", "Why now?")? Not
    a numbered item ("12. Why ...?") nor a run of questions; callers bound its length."""
    stripped = text.rstrip(CLOSING_QUOTES)
    return stripped.endswith("?") and stripped.count("?") == 1 and not text[:1].isdigit()


#: A page's buttons and the words a flattened page leaves of its date line and byline, each alone on a line:
#: furniture, never the heading of a section.
PAGE_CONTROLS = frozenset(
    ("close", "previous", "prev", "next", "menu", "search", "share", "reply", "back", "skip", "expand",
     "collapse", "print", "save", "loading", "published", "updated", "posted", "by", "on")
)  # fmt: skip
#: Marks around a page control ("Next »", "× Close", "Published:").
PAGE_CONTROL_MARKS = " .:»«›‹×<>|"


def _heads_no_section(text: str) -> bool:
    """Short lines that are not headings: what dates the page or an item ("Published May 07, 2025", "2 hours
    ago 10:05 Jane Roe", an embedded post signed "— Jane Roe (@jroe) May 7, 2025", "8 min read"), a row of
    labels ("Business · Updated"), an author line ("By Jane Roe"), a link or call to action ("MORE: Storm
    closes the bridge", "Scroll down for video"), a web address or handle ("jroe@example.com", "IG: @jroe"),
    a figure with no word ("£ 205", "4") and a page control on its own ("Close", "Next", "Published")."""
    # Cheap gates first: the date patterns need a digit (a full date a year), the others a word of theirs.
    lowered = text.lower()
    if signals.DIGIT.search(text) is not None and (
        (YEAR.search(text) is not None and signals.FULL_DATE.search(text))
        or ("read" in lowered and READING_TIME.search(text))
        or signals.is_time_stamp(text)
        or LETTER_WORD.search(text) is None
    ):
        return True
    return bool(
        lowered.strip(PAGE_CONTROL_MARKS) in PAGE_CONTROLS
        or ("ago" in lowered and signals.TIME_AGO.search(text))
        or signals.URL.search(text) is not None
        or signals.is_label_row(text)
        or AUTHOR_LINE.match(text) is not None
        or ((lead := FURNITURE_LEAD.match(text)) is not None and text[lead.end() :].strip(" :"))
    )


def _caption_by_form(text: str, label: str, ending: str) -> bool:
    """Caption forms that overrule the model's ``label`` (not a caption): a picture credit closing a
    description, a wire service's file mark, a picture's credit line, a sentence labelled "Image:", a dated
    scene, a sentence closed by a credit phrase or one that says "in this picture", and, for loose text and
    sub-headings (story paragraphs may hold "(pictured)"), a bracketed position mark."""
    if _closes_with_caption_credit(ending) and _ends_in_caption_credit(text):
        return True
    if FILE_PHOTO_LEAD.match(text) or signals.is_picture_credit_line(text):
        return True
    if PICTURE_LABEL.match(text) and signals.labels_a_sentence(text):
        return True
    if label in ("body", "other") and (
        signals.is_dated_scene(text)
        or signals.sentence_then_credit(text)
        or ("n this " in text and IN_THIS_PICTURE.search(text) is not None)
    ):
        return True
    return label == "other" and "(" in text and signals.POSITION_MARK.search(text) is not None


def _caption_players(marks: list[int], labels: list[tuple[str, float]]) -> None:
    """A photo caption within two blocks after a video player's mark (``signals.PLAYER_MARK``), with no story
    paragraph between, is the player's: its title or description, so a video's caption."""
    for mark in marks:
        for i in range(mark + 1, min(mark + 3, len(labels))):
            label, score = labels[i]
            if label == "body":
                break
            if label == "photo_caption":
                labels[i] = ("video_caption", score)
                break


#: Decimals of a block's score as labels give it.
SCORE_DECIMALS = 4
_SCORE_SCALE = 10.0**SCORE_DECIMALS
#: How far from a tie (a scaled score ending in .5) the scaled score must be for its rounding to be sure:
#: far more than the error of the scaling (under 1e-11 for scores up to 1).
_TIE_MARGIN = 1e-6


def _shown_score(score: float) -> float:
    """A score as labels give it: clipped to [0, 1], rounded to SCORE_DECIMALS (Python's round)."""
    return round(min(max(score, 0.0), 1.0), SCORE_DECIMALS)


def _shown_scores(scores: np.ndarray) -> list[float]:
    """_shown_score of each score, most of them at once: a score strictly inside (0, 1) whose scaled value
    is not near a tie rounds to the integer nearest to it, k, and Python's round then gives the double
    nearest to k / 10**SCORE_DECIMALS, which is what dividing k by the (exact) scale gives. Scores near a
    tie, at or past the ends, or NaN take _shown_score itself."""
    scaled = np.minimum(np.maximum(scores, 0.0), 1.0) * _SCORE_SCALE  # (no inf - inf below)
    sure = (scores > 0.0) & (scores < 1.0) & (np.abs(scaled - np.floor(scaled) - 0.5) > _TIE_MARGIN)
    shown = (np.rint(scaled) / _SCORE_SCALE).tolist()
    if not sure.all():
        for i in np.flatnonzero(~sure).tolist():
            shown[i] = _shown_score(float(scores[i]))
    return shown


#: Words of a block that may join a caption run: sentence-like, caption-sized.
RUN_JOIN_WORDS = (9, 60)
#: Share of the page's long story paragraphs (26+ words) that must close for an unclosed block to stand out.
RUN_JOIN_STORY_CLOSES = 0.8
# Imperative page furniture and link leads ("Scroll down for video", "Click here to ...", "MORE: ...",
# "READ MORE ...") are not captions, whatever they end in. (align.OFF_STORY_LEAD, which keeps such
# paragraphs out of a caption's related ones, casts a narrower net: a story paragraph may open "Tap water".)
FURNITURE_LEAD = re.compile(
    r"^(?:(?:scroll (?:down|up)|click|tap|swipe|read more|see more|sign up)\b|(?:more|related|see also)\s*:)",
    re.I,
)


#: Most words and characters of a question read as a sub-heading when the model reads it as story text.
QUESTION_HEADING_MAX_WORDS = 10
QUESTION_HEADING_MAX_CHARS = 90
# A question word opening a question heading ("What", "Why", "Is", "Can", ...).
QUESTION_LEAD = re.compile(
    r"(?:what|why|how|who|whose|which|when|where|is|are|was|were|can|could|will|would|should|does|do|did|has"
    r"|have)\b",
    re.I,
)
# Quotes and brackets that may follow a sentence's closing mark.
CLOSING_QUOTES = "\"'’”)] "
# An author line: "By" and names of capitalised words ("By Jane Roe", "by Example News Agency", "By JANE ROE,
# SAM OKAFOR and MARIA LOPEZ Associated Press"); "By the numbers" is a heading.
# (Each gap is "\s+" or "\s*,\s+", never both ways: the pattern must not backtrack through white space.)
AUTHOR_LINE = re.compile(r"[Bb]y\s+[A-Z][\w.'’-]*(?:(?:\s*,)?\s+(?:[A-Z][\w.'’-]*|and|&)){0,9}\s*$")
#: Last block where an author line under the headline is a byline (the model often reads it as loose text).
BYLINE_TOP_LAST_BLOCK = 4
# A page's estimate of reading time ("8 min read", "17 minute read"): metadata, not a heading.
READING_TIME = re.compile(r"\b\d+\s*(?:min|mins|minutes?)\.?\s+read\b", re.I)
# A year of a full date (``signals.FULL_DATE``), found faster than the date.
YEAR = re.compile(r"(?:19|20)\d\d")
# A word of two or more letters: a heading has one (a price or a count alone is a widget's figure).
LETTER_WORD = re.compile(r"[^\W\d_]{2,}")


def _best_non_caption(probs: np.ndarray) -> str:
    """The likeliest model class of a block that is not a caption."""
    order = np.argsort(-probs, kind="stable")
    return next(MODEL_CLASSES[k] for k in order.tolist() if MODEL_CLASSES[k] != "caption")


def _caption_label(text: str) -> str:
    """A caption's label: a video's when it names a video or its player, else a photo's."""
    return "video_caption" if signals.names_a_video(text) else "photo_caption"


#: Captions closing with a caption credit a page needs, as most of its captions, to credit them all.
CREDITED_PAGE_MIN_CAPTIONS = 3


def _uncredited_on_a_credited_page(
    texts: list[str], endings: list[str], labels: list[tuple[str, float]], probs: np.ndarray
) -> None:
    """A page that closes most of its captions with a credit ("(Photo: Jane Roe)") credits them all: on such a
    page an unclosed line with no credit that the model reads as a caption is a headline (live-blog items,
    related stories), unless it is a picture's credit line itself or points at the picture ("(pictured)")."""
    captions = [i for i, (label, _) in enumerate(labels) if label.endswith("caption")]
    credited = sum(_closes_with_caption_credit(endings[i]) for i in captions)
    if credited < CREDITED_PAGE_MIN_CAPTIONS or 2 * credited <= len(captions):
        return
    for i in captions:
        text = texts[i]
        if endings[i] not in ("open", "open_long") or signals.is_picture_credit_line(text):
            continue
        if signals.is_credit_only(text) or signals.pictured_cues(text) or signals.names_a_video(text):
            continue
        label = _best_non_caption(probs[i])
        score = _shown_score(float(probs[i, MODEL_CLASSES.index(label)]))
        if label == "other" and _heads_a_section(text, endings[i]):
            label = "subheading"
        labels[i] = (label, score)


def _join_caption_runs(texts: list[str], endings: list[str], labels: list[tuple[str, float]]) -> None:
    """Captions of one page share a style and come in runs: an unclosed sentence-like block right before or
    after two captions that end the same way it does is a caption too, on a page whose story paragraphs close
    (where an unclosed sentence stands out)."""
    count = len(texts)
    is_caption = [label.endswith("caption") for label, _ in labels]

    def joins(i: int, first: int, second: int) -> bool:
        """Are blocks first and second captions (never the title) ending the way block i does?"""
        return (
            first > 0
            and second < count
            and is_caption[first]
            and is_caption[second]
            and endings[first] == endings[second] == endings[i]
        )

    candidates = [
        i
        for i in range(1, count)
        if not is_caption[i]
        and endings[i] == "open_long"
        and labels[i][0] in ("body", "other", "subheading")
        and (joins(i, i - 2, i - 1) or joins(i, i + 1, i + 2))
    ]
    if not candidates:
        return
    long_closes = [
        signals.closes_sentence(text)
        for text, (label, _) in zip(texts, labels, strict=True)
        if label == "body" and len(text.split()) >= 26
    ]
    if len(long_closes) < 3 or sum(long_closes) < RUN_JOIN_STORY_CLOSES * len(long_closes):
        return
    low, high = RUN_JOIN_WORDS
    for i in candidates:
        text = texts[i]
        if low <= len(text.split()) <= high and not FURNITURE_LEAD.match(text):
            labels[i] = (_caption_label(text), labels[i][1])


def classify_blocks(blocks: list[Block], model: dict[str, Any] | None = None) -> None:
    """Label blocks in place (label, score, and caption fields for captions)."""
    for block, (label, score) in zip(blocks, label_texts([b.text for b in blocks], model), strict=True):
        block.label, block.score = label, score
        if label in CAPTION_LABELS:  # block.is_caption, without the property's call
            block.caption_label, block.credit, block.cues = signals.caption_fields(block.text)
            block.media_type = "video" if label == "video_caption" else "photo"
