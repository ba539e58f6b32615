"""Block features: what a careful reader sees in a block, its neighbours and its article, as numbers.

``block_raw`` describes one block on its own (plain Python: word sets and a few end-anchored
patterns, gated so that ordinary paragraphs skip them). ``article_features`` adds, with numpy and once
per article, the features of the neighbouring blocks (captions come in runs and interrupt the story's
flow), the block's place in the article, and article-level statistics (captions of one page share a
style, for example all ending in "(Picture: X)").
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from itertools import chain
from types import ModuleType

import numpy as np

from . import signals
from .compiled import import_speedups

#: Names of the per-block features, in vector order.
BLOCK_FEATURES: tuple[str, ...] = (
    "log_words",
    "words_le3",
    "words_le8",
    "words_9_25",
    "words_26_60",
    "words_gt60",
    "closes",
    "ends_quote",
    "ends_colon",
    "ends_paren",
    "ends_open",
    "ends_digit",
    "sentences",
    "multi_line",
    "starts_lower",
    "starts_digit",
    "starts_quote",
    "starts_bullet",
    "starts_by",
    "label_prefix",
    "credit_bracket",
    "credit_word",
    "credit_slash",
    "credit_agency",
    "credit_bracket_name",
    "credit_only",
    "tail_phrase",
    "pictured",
    "position_cue",
    "video_cue",
    "quotes",
    "reporting",
    "personal",
    "past",
    "present",
    "title_case",
    "all_caps",
    "digits",
    "date_words",
    "date_stamp",
    "url",
    "furniture",
    "boilerplate",
    "byline",
    "open_le8",
    "open_9_25",
    "open_26_60",
    "open_present",
    "open_no_verbs",
    "closed_le8",
    "open_title_case",
    "open_lower_prose",
    "starts_determiner",
    "article_words",
    "commas",
    "ing_words",
    "near_copy",
    "near_copied",
    "short_question",
    "photo_phrase",
)
#: Per-block features copied from the previous and the next block.
NEIGHBOUR_FEATURES: tuple[str, ...] = (
    "closes",
    "log_words",
    "words_le8",
    "credit_bracket",
    "credit_word",
    "credit_slash",
    "credit_agency",
    "label_prefix",
    "pictured",
    "reporting",
    "quotes",
    "title_case",
    "near_copy",
    "starts_bullet",
    "open_9_25",
    "open_lower_prose",
)
#: Features of a block's place in its article and of the article as a whole.
CONTEXT_FEATURES: tuple[str, ...] = (
    "rel_position",
    "is_second",
    "is_third",
    "near_end",
    "is_last",
    "article_open_share",
    "article_credit_share",
    "same_credit_style",
    "open_x_open_share",
    "rel_length",
    "neighbour_same_ending",
    "next_is_end",
    "run_open",
    "open_prose_x_story_closes",
    "open_prose_group",
)
FEATURE_NAMES: tuple[str, ...] = (
    BLOCK_FEATURES
    + tuple(f"prev_{name}" for name in NEIGHBOUR_FEATURES)
    + tuple(f"next_{name}" for name in NEIGHBOUR_FEATURES)
    + CONTEXT_FEATURES
)
_INDEX = {name: i for i, name in enumerate(BLOCK_FEATURES)}
_NEIGHBOUR_INDEX = np.array([_INDEX[name] for name in NEIGHBOUR_FEATURES])
_OPEN_QUOTES = frozenset("\"'‘“«")
_CLOSE_QUOTES = frozenset("\"'’”»")
_BULLETS = frozenset("•-*·▪●–—")
_SENTENCE_END = frozenset(".!?…")
# Closing quotes and brackets that may follow a sentence's last punctuation.
_CLOSERS = "\"'’”)]»"

# Word sets (lower-case tokens): set lookups are much faster than word-alternation patterns.
REPORTING_WORDS = frozenset(
    [
        "said",
        "says",
        "told",
        "according",
        "added",
        "explained",
        "stated",
        "claimed",
        "wrote",
        "asked",
        "insisted",
        "warned",
        "announced",
    ]
)
PERSONAL_WORDS = frozenset(["i", "we", "my", "our", "you", "your", "me", "i'm", "we're", "you're"])
PAST_WORDS = frozenset(
    ["was", "were", "had", "did", "said", "told", "became", "went", "came", "made", "took"]
)
PRESENT_WORDS = frozenset(
    [
        "is",
        "are",
        "stands",
        "sits",
        "walks",
        "looks",
        "poses",
        "holds",
        "waits",
        "arrives",
        "gathers",
        "takes",
        "speaks",
        "shows",
        "attends",
        "leaves",
        "carries",
        "seen",
        "pictured",
        "smiles",
        "wears",
        "waves",
        "appears",
        "lies",
        "plays",
    ]
)
VIDEO_WORDS = frozenset(
    ["video", "videos", "footage", "clip", "clips", "watch", "filmed", "livestream", "playback", "moment"]
)
DATE_WORDS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
FURNITURE_TOKENS = frozenset(
    [
        "advertisement",
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "subscribers",
        "cookie",
        "cookies",
        "privacy",
        "copyright",
        "sponsored",
        "affiliate",
        "commission",
        "bookmark",
        "login",
        "signup",
        "download",
        "comments",
        "trending",
        "recommended",
    ]
)
# Phrases of page furniture (checked as substrings of the lower-cased text of short blocks).
FURNITURE_PHRASES = (
    "sign up",
    "sign in",
    "log in",
    "click here",
    "tap here",
    "read more",
    "follow us",
    "share this",
    "most read",
    "continue reading",
    "terms of",
    "all rights reserved",
    "©",
)
# Words that trigger the end-anchored credit patterns: credit words and picture agencies.
CREDIT_TRIGGERS = frozenset(
    [
        "credit",
        "credits",
        "photo",
        "photos",
        "photograph",
        "picture",
        "pictures",
        "pic",
        "image",
        "images",
        "illustration",
        "source",
        "video",
        "footage",
        "file",
        "courtesy",
        "getty",
        "reuters",
        "ap",
        "afp",
        "pa",
        "epa",
        "efe",
        "shutterstock",
        "alamy",
        "rex",
        "splash",
        "bloomberg",
        "zuma",
        "xinhua",
        "anadolu",
        "sipa",
        "istock",
        "istockphoto",
        "unsplash",
        "pixabay",
        "pexels",
        "wikimedia",
        "flickr",
        "nasa",
        "handout",
        "supplied",
        "pool",
        "backgrid",
        "mega",
        "wenn",
        "ani",
        "pti",
        "kyodo",
        "yonhap",
        "press",
        "tass",
        "sputnik",
        "dpa",
        "abaca",
        "bbc",
        "cnn",
        "nbc",
        "cbs",
        "abc",
        "instagram",
        "twitter",
        "x",
        "facebook",
        "youtube",
        "tiktok",
        "imagn",
        "usa",
    ]
)
# Captions describe a scene: they often open with a determiner or a number ("A man ...", "Two ...").
DETERMINERS = frozenset(
    [
        "A",
        "An",
        "The",
        "Two",
        "Three",
        "Four",
        "Five",
        "Several",
        "Some",
        "Many",
        "Members",
        "People",
        "Pictured",
        "Here",
        "This",
        "These",
        "Police",
    ]
)
ARTICLES = frozenset(("a", "an", "the"))
#: Blocks longer than this are not checked for being a near-copy of another (captions are short).
NEAR_COPY_MAX_WORDS = 60
#: How many leading characters of a block the lexical features read.
HEAD = 320
#: How many leading words of a block the title-case and capitals shares count.
HEAD_WORDS = 60
#: How many closing characters of a block are searched for a credit word (gating the credit patterns).
TAIL_TOKENS = 60


#: Raw per-block values computed in Python; ``BLOCK_FEATURES`` are derived from them with numpy.
RAW_FIELDS: tuple[str, ...] = (
    "n",
    "closes",
    "ends_quote",
    "ends_colon",
    "ends_paren",
    "ends_digit",
    "sentences",
    "multi_line",
    "starts_lower",
    "starts_digit",
    "starts_quote",
    "starts_bullet",
    "starts_by",
    "label_prefix",
    "credit_kind",
    "credit_only",
    "tail_phrase",
    "pictured",
    "position_cue",
    "video_cue",
    "quotes",
    "reporting",
    "personal",
    "past",
    "present",
    "title_case",
    "all_caps",
    "digits",
    "date_words",
    "date_stamp",
    "url",
    "furniture",
    "boilerplate",
    "byline",
    "starts_determiner",
    "article_words",
    "commas",
    "ing_words",
    "near_copy",
    "near_copied",
    "ends_question",
    "photo_phrase",
)
_R = {name: i for i, name in enumerate(RAW_FIELDS)}
CREDIT_KINDS: tuple[str, ...] = ("bracket", "word", "slash", "agency", "bracket_name")
_CREDIT_CODE = {kind: i + 1 for i, kind in enumerate(CREDIT_KINDS)}
# Words that may start a furniture phrase: the phrase list is only searched when one is present.
_FURNITURE_STARTS = frozenset(
    ["sign", "log", "click", "tap", "read", "follow", "share", "most", "continue", "terms", "rights"]
)
_POSITION_CUES = ("(left", "(right", "(centre", "(center", "from left", "above)", "(top", "(bottom")
# Captions speak of the picture or describe what it shows, in the passive: "In this June 20 file photo, ...",
# "FILE - ...", "this image taken from video", "Detectives are seen at ...", "A house is shown".
PHOTO_PHRASE = re.compile(
    r"\b(?:in this (?:[\w,.' -]{0,40} )?(?:photo|picture|image|photograph|handout|screenshot|screen grab|still)"
    r"|file (?:photo|picture|image)|this (?:photo|picture|image|photograph|screenshot)"
    r"|(?:is|are) (?:seen|shown|pictured|depicted)\b(?! as\b))"
    r"|(?-i:^FILE\b)",
    re.I,
)
# Substrings one of which a PHOTO_PHRASE match holds (cheap gate before the pattern).
_PHOTO_GATES = (
    "in this",
    "file",
    "photo",
    "pictur",
    "image",
    "screensh",
    "is seen",
    "are seen",
    "is shown",
    "are shown",
    "depicted",
)


# Substrings of a lower-cased head that mark a web address (as does "@").
_URL_NEEDLES = ("http", "www.", ".com")


#: Ending styles of blocks that close with no credit (``block_raw``); the others name a credit style.
PLAIN_ENDINGS = ("closed", "open", "open_long")


def _credit_ending(text: str, credit: tuple[str, str, int]) -> str:
    """Ending style of a block that closes with a credit: its kind, and for bracket and word credits the word
    before the credit ("bracket:(picture:"), which differs from site to site."""
    kind = credit[0]
    if kind in ("bracket", "word") and credit[2]:
        lead = text[max(0, credit[2] - 12) : credit[2]].split()
        return kind + ":" + (lead[-1].lower() if lead else "")
    return kind


def _photo_phrase(head: str, low: str) -> bool:
    """Does the head of a block speak of a photo or describe what it shows in the passive?"""
    return any(gate in low for gate in _PHOTO_GATES) and PHOTO_PHRASE.search(head) is not None


# What every PHOTO_PHRASE match holds, lower-cased: "this " (its first and third phrases), "file " (its
# second), a passive phrase, or a head that opens with "FILE".
_PHOTO_NEEDS = (
    "this ",
    "file ",
    *(f"{v} {p}" for v in ("is", "are") for p in ("seen", "shown", "pictured", "depicted")),
)


def _photo_phrase_found(head: str) -> bool:
    """PHOTO_PHRASE.search(head) is not None, for a head that passed _PHOTO_GATES: heads without what a
    match needs skip the pattern. Ignoring case, only the letters of signals._FOLDED_LETTERS match ASCII
    letters beyond str.lower's (and İ lowers to two characters), so a head holding one always tries it."""
    if head.startswith("FILE") or any(c in head for c in signals._FOLDED_LETTERS):
        return PHOTO_PHRASE.search(head) is not None
    low = head.lower()
    return any(need in low for need in _PHOTO_NEEDS) and PHOTO_PHRASE.search(head) is not None


def block_raw(text: str) -> tuple[tuple, str]:
    """Raw values of one block (``RAW_FIELDS`` order, near-copy fields left 0) and its ending style.

    The ending style ("closed", "open", "open_long", or a credit style such as "bracket:(picture:") lets
    the article-level features compare blocks that end alike.
    """
    words = text.split()
    n = len(words) or 1
    # Lexical cues are read from the head of the block: enough to tell prose from captions, and fast.
    head = text[:HEAD]
    head_words = words[:HEAD_WORDS]
    hn = len(head_words) or 1
    low = head.lower()
    tokens = signals.WORD.findall(low)
    token_set = set(tokens)
    last = text[-1]
    first = text[0]
    tail = text[-signals.TAIL :]
    stripped_end = text.rstrip(_CLOSERS)
    closes = bool(stripped_end) and stripped_end[-1] in _SENTENCE_END
    credit = None
    if (
        last in ")]"
        or "/" in tail
        or not CREDIT_TRIGGERS.isdisjoint(signals.WORD.findall(text[-TAIL_TOKENS:].lower()))
    ):
        credit = signals.credit_match(text)
    if credit:
        kind = credit[0]
        ending = _credit_ending(text, credit)
    else:
        kind = None
        ending = "closed" if closes else "open_long" if n >= 9 else "open"
    furniture = not FURNITURE_TOKENS.isdisjoint(token_set) or (
        n <= 40
        and (
            "©" in head
            or (not _FURNITURE_STARTS.isdisjoint(token_set) and any(p in low for p in FURNITURE_PHRASES))
        )
    )
    short = n <= 25
    raw = (
        n,
        closes,
        last in _CLOSE_QUOTES,
        last == ":",
        last in ")]",
        last.isdigit(),
        min(len(signals.SENTENCE_BREAK.findall(text, 0, 1000)), 6),
        "\n" in text,
        first.islower(),
        first.isdigit(),
        first in _OPEN_QUOTES,
        first in _BULLETS,
        text.startswith("By "),
        ":" in text[:45] and signals.label_prefix(text) is not None,
        _CREDIT_CODE[kind] if kind else 0,
        n <= 8 and credit is not None and signals.is_credit_only(text),
        credit is None and not closes and signals.TAIL_PHRASE.search(tail) is not None,
        "pictured" in token_set,
        "(" in low and any(cue in low for cue in _POSITION_CUES),
        not VIDEO_WORDS.isdisjoint(token_set),
        min(head.count('"') + head.count("“") + head.count(" '") + head.count(" ‘"), 4),
        not REPORTING_WORDS.isdisjoint(token_set),
        not PERSONAL_WORDS.isdisjoint(token_set),
        len(token_set & PAST_WORDS) + low.count("ed ") + low.count("ed,") + low.count("ed."),
        len(token_set & PRESENT_WORDS),
        sum(map(str.istitle, head_words)) / hn,
        sum(map(str.isupper, head_words)) / hn,
        signals.DIGIT.search(head) is not None,
        not DATE_WORDS.isdisjoint(token_set),
        short and signals.DATE_STAMP.search(text) is not None,
        "@" in head or any(needle in low for needle in _URL_NEEDLES),
        furniture,
        len(text) <= 40 and signals.is_boilerplate(text),
        short and signals.is_byline(text),
        words[0] in DETERMINERS if words else False,
        (tokens.count("the") + tokens.count("a") + tokens.count("an")) / hn,
        min(head.count(","), 4),
        min(low.count("ing ") + low.count("ing,") + low.count("ing."), 3),
        0.0,
        0.0,
        stripped_end[-1:] == "?",
        _photo_phrase(head, low),
    )
    return raw, ending


def _near_copies(texts: list[str], raw: np.ndarray) -> None:
    """Does a short block repeat words of another block? Captions often repeat a body sentence.

    Three five-word probes (start, middle, end) of each short block are looked for in the article's
    lower-cased blocks: ``near_copy`` is the share found more than once, ``near_copied`` says all were.
    A probe can only occur in blocks holding its three middle words, so each probe is counted only in the
    blocks that hold the rarest of them (an index built once), which keeps long articles linear.
    """
    lowered = [t.lower() for t in texts]
    split = [low.split() for low in lowered]
    counts: Counter[str] = Counter()
    for words in split:
        counts.update(words)
    rarity = counts.__getitem__
    probes: list[tuple[int, str, str]] = []
    for i, words in enumerate(split):
        count = len(words)
        if count < 6 or count > NEAR_COPY_MAX_WORDS:
            continue
        for j in (0, (count - 5) // 2, count - 5):
            probes.append((i, " ".join(words[j : j + 5]), min(words[j + 1 : j + 4], key=rarity)))
    if not probes:
        return
    keys = {key for _, _, key in probes}
    holders: dict[str, list[int]] = {}
    for b, words in enumerate(split):
        for word in keys.intersection(words):
            holders.setdefault(word, []).append(b)
    found = [0] * len(texts)
    for i, probe, key in probes:
        total = 0
        for b in holders[key]:
            total += lowered[b].count(probe)
            if total > 1:
                found[i] += 1
                break
    col, copied = _R["near_copy"], _R["near_copied"]
    for i, hits in enumerate(found):
        if hits:
            raw[i, col] = hits / 3.0
            raw[i, copied] = float(hits == 3)


def derive_block_features(raw: np.ndarray) -> np.ndarray:
    """``BLOCK_FEATURES`` matrix from the raw values (vectorised over the article's blocks)."""
    count = raw.shape[0]
    out = np.zeros((count, len(BLOCK_FEATURES)))
    col = _R
    n = raw[:, col["n"]]
    closes = raw[:, col["closes"]]
    is_open = 1.0 - closes
    title_case = raw[:, col["title_case"]]
    present = raw[:, col["present"]]
    past = raw[:, col["past"]]
    mid = (n >= 9) & (n <= 25)
    ends_open = (
        is_open
        * (1 - raw[:, col["ends_colon"]])
        * (1 - raw[:, col["ends_paren"]])
        * (1 - raw[:, col["ends_quote"]])
    )
    # Sentence-like prose that does not end in a full stop: a caption on pages whose story paragraphs do.
    open_prose = (
        ends_open
        * (n >= 9)
        * (title_case < 0.4)
        * (raw[:, col["article_words"]] > 0)
        * (1 - raw[:, col["starts_bullet"]])
        * (raw[:, col["all_caps"]] < 0.3)
        * (1 - raw[:, col["furniture"]])
        * (1 - raw[:, col["url"]])
    )
    values = {
        "log_words": np.log1p(n),
        "words_le3": n <= 3,
        "words_le8": n <= 8,
        "words_9_25": mid,
        "words_26_60": (n >= 26) & (n <= 60),
        "words_gt60": n > 60,
        "ends_open": ends_open,
        "sentences": raw[:, col["sentences"]] / 3.0,
        "quotes": raw[:, col["quotes"]] / 4.0,
        "past": np.minimum(past, 4) / 4.0,
        "present": np.minimum(present, 4) / 4.0,
        "commas": raw[:, col["commas"]] / 4.0,
        "ing_words": raw[:, col["ing_words"]] / 3.0,
        "article_words": np.minimum(raw[:, col["article_words"]], 0.25) * 4.0,
        "open_le8": is_open * (n <= 8),
        "open_9_25": is_open * mid,
        "open_26_60": is_open * ((n >= 26) & (n <= 60)),
        "open_present": is_open * (present > 0),
        "open_no_verbs": is_open * ((past == 0) & (present == 0)),
        "closed_le8": closes * (n <= 8),
        "open_title_case": is_open * title_case,
        "open_lower_prose": open_prose,
        # "Why was the OBR created?": a question on its own is a sub-heading, not a paragraph.
        "short_question": (raw[:, col["ends_question"]] > 0) & (n <= 14),
    }
    kinds = raw[:, col["credit_kind"]]
    out[:, _CREDIT_OUT] = kinds[:, None] == _CREDIT_CODES
    out[:, _COPIED_OUT] = raw[:, _COPIED_RAW]
    for i, name in _COMPUTED:
        out[:, i] = values[name]
    return out


_CREDIT_OUT = np.array([BLOCK_FEATURES.index(f"credit_{kind}") for kind in CREDIT_KINDS])
_CREDIT_CODES = np.arange(1, len(CREDIT_KINDS) + 1)
_DERIVED = frozenset(
    [
        "log_words",
        "words_le3",
        "words_le8",
        "words_9_25",
        "words_26_60",
        "words_gt60",
        "ends_open",
        "sentences",
        "quotes",
        "past",
        "present",
        "commas",
        "ing_words",
        "article_words",
        "open_le8",
        "open_9_25",
        "open_26_60",
        "open_present",
        "open_no_verbs",
        "closed_le8",
        "open_title_case",
        "open_lower_prose",
        "short_question",
    ]
)
#: Block features that are raw values as they are, and the others (computed in derive_block_features).
_COPIED = [(i, name) for i, name in enumerate(BLOCK_FEATURES) if name not in _DERIVED and name in _R]
_COPIED_OUT = np.array([i for i, _ in _COPIED])
_COPIED_RAW = np.array([_R[name] for _, name in _COPIED])
_COMPUTED = [(i, name) for i, name in enumerate(BLOCK_FEATURES) if name in _DERIVED]


_CLOSES = _INDEX["closes"]
_LOG_WORDS = _INDEX["log_words"]
_OPEN_PROSE = _INDEX["open_lower_prose"]
_LOG_26 = float(np.log1p(25.5))
_CREDIT_COLUMNS = np.array([_INDEX[f"credit_{kind}"] for kind in CREDIT_KINDS])


def _median(values: list[float]) -> float:
    """np.median of a short list, without its overhead."""
    values.sort()
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def raw_values_reference(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Raw values (blocks x ``RAW_FIELDS``) and ending styles, block by block: the readable definition
    that ``raw_values`` computes faster (tests check that the two agree)."""
    raws: list[tuple] = []
    endings: list[str] = []
    for text in texts:
        raw, ending = block_raw(text)
        raws.append(raw)
        endings.append(ending)
    raw_matrix = np.array(raws, dtype=float).reshape(len(texts), len(RAW_FIELDS))
    _near_copies(texts, raw_matrix)
    return raw_matrix, endings


def article_features(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Feature matrix (blocks x ``FEATURE_NAMES``) of one article, and each block's ending style."""
    return assemble_features(*raw_values(texts))


def raw_values(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Raw values (blocks x ``RAW_FIELDS``) and ending styles of an article's blocks: the compiled path
    when the C extension is loaded, else ``raw_values_python`` (the same values)."""
    if _speedups is not None:
        return raw_values_compiled(texts)
    return raw_values_python(texts)


def assemble_features(raw_matrix: np.ndarray, endings: list[str]) -> tuple[np.ndarray, list[str]]:
    """Feature matrix from the raw values: the compiled path when the C extension is loaded, else
    ``assemble_features_python`` (the same values)."""
    if _speedups is not None:
        return assemble_features_compiled(raw_matrix, endings)
    return assemble_features_python(raw_matrix, endings)


def article_features_reference(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """``article_features`` from the block-by-block raw values, all in Python (the definition; slow)."""
    return assemble_features_python(*raw_values_reference(texts))


def assemble_features_python(raw_matrix: np.ndarray, endings: list[str]) -> tuple[np.ndarray, list[str]]:
    """Feature matrix from the raw values: block features, neighbours, place and article context."""
    base = derive_block_features(raw_matrix)
    count = base.shape[0]
    inner = max(count - 1, 1)
    closes = base[:, _CLOSES]
    neighbours = base[:, _NEIGHBOUR_INDEX]
    prev = np.zeros_like(neighbours)
    nxt = np.zeros_like(neighbours)
    prev[1:] = neighbours[:-1]
    nxt[:-1] = neighbours[1:]
    rest = slice(1, None)
    open_share = float((1.0 - closes[rest]).sum()) / inner
    has_credit = base[:, _CREDIT_COLUMNS].max(axis=1) if count else np.zeros(0)
    credit_share = float(has_credit[rest].sum()) / inner
    closed_long = [i for i in range(1, count) if closes[i] and base[i, _LOG_WORDS] > 2.3]
    typical = _median(base[closed_long, _LOG_WORDS].tolist()) if closed_long else 3.0
    # Share of long paragraphs (26+ words) that close: high when the story's paragraphs end in a full stop,
    # which makes sentence-like blocks without one stand out as captions.
    open_prose = base[:, _OPEN_PROSE]
    long_rows = (base[:, _LOG_WORDS] > _LOG_26) & (open_prose == 0)
    long_rows[0] = False
    story_closes = float(closes[long_rows].mean()) if long_rows.sum() >= 3 else 0.0
    prose_group = float(open_prose[1:].sum())
    counts: dict[str, int] = {}
    for ending in endings[1:]:
        counts[ending] = counts.get(ending, 0) + 1
    context = np.zeros((count, len(CONTEXT_FEATURES)))
    index = np.arange(count)
    context[:, 0] = index / inner
    context[:, 1] = index == 1
    context[:, 2] = index == 2
    context[:, 3] = index >= count - 3
    context[:, 4] = index == count - 1
    context[:, 5] = open_share
    context[:, 6] = credit_share
    context[:, 8] = (1.0 - closes) * open_share
    context[:, 9] = base[:, _LOG_WORDS] - typical
    context[:, 11] = index + 2 >= count
    context[:, 13] = open_prose * story_closes
    context[:, 14] = open_prose * story_closes * min(prose_group, 8.0) / 8.0
    # Length of the run of open blocks each block belongs to (0 for closed blocks).
    is_open = (closes == 0).tolist()
    runs = [0] * count
    run = 0
    for i in range(count):
        run = run + 1 if is_open[i] else 0
        runs[i] = run
    for i in range(count - 2, -1, -1):
        if is_open[i] and runs[i + 1] > runs[i]:
            runs[i] = runs[i + 1]
    shared = [
        min(counts.get(ending, 1) - 1, 6) / 6.0 if ending not in PLAIN_ENDINGS else 0.0 for ending in endings
    ]
    context[:, 7] = shared
    ends = np.array(endings, dtype=object)
    same = np.zeros(count, dtype=bool)
    same[1:] = ends[1:] == ends[:-1]
    same[:-1] |= ends[:-1] == ends[1:]
    context[:, 10] = same
    context[:, 12] = np.minimum(runs, 6) / 6.0
    return np.hstack([base, prev, nxt, context]), endings


# --- the fast path: every pattern runs once over the article's blocks joined by SEP -----------------
#: Joins the blocks of an article: no pattern below can match it, so no match spans two blocks and each
#: match belongs to the block its start falls in. Articles whose text holds it take the reference path.
SEP = "\x00"
_TOKEN_SETS: tuple[frozenset[str], ...] = (
    FURNITURE_TOKENS,
    _FURNITURE_STARTS,
    frozenset(["pictured"]),
    VIDEO_WORDS,
    REPORTING_WORDS,
    PERSONAL_WORDS,
    PAST_WORDS,
    PRESENT_WORDS,
    DATE_WORDS,
    ARTICLES,
)
# Only words made of token characters can equal a token ("i'm" never does).
_TOKEN_WORDS = sorted(
    {w for words in _TOKEN_SETS for w in words if signals.WORD.fullmatch(w)}, key=lambda w: (-len(w), w)
)
_TOKEN_ID = {SEP: 0} | {w: i + 1 for i, w in enumerate(_TOKEN_WORDS)}
#: Which token sets (columns, ``_TOKEN_SETS`` order) each token id (rows; 0 is SEP) belongs to.
_TOKEN_MEMBERS = np.array(
    [[0] * len(_TOKEN_SETS)] + [[int(w in words) for words in _TOKEN_SETS] for w in _TOKEN_WORDS], dtype=float
)
_IS_ARTICLE = _TOKEN_MEMBERS[:, _TOKEN_SETS.index(ARTICLES)].astype(bool)
# The looked-up words and SEP (which numbers the blocks in a token list).
_TOKEN_KEYS = frozenset(_TOKEN_ID)
#: Keeps the token characters of ``signals.WORD`` ([a-z0-9]) and SEP, blanks every other byte (the bytes of
#: non-ASCII characters too): splitting the result gives the tokens, fast.
_TOKEN_BYTES = bytes(
    c if c == 0 or chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256)
)
# Credit trigger words and SEP, to look tail tokens up.
_TRIGGERS_AND_SEP = CREDIT_TRIGGERS | {SEP}
_E, _D, _I, _N, _G = (ord(c) for c in "eding")


def _tokens(low: str) -> list[str]:
    """``signals.WORD`` tokens of a lower-cased SEP-joined text, each block's followed by SEP."""
    kept = low.encode("utf-8", "surrogatepass").translate(_TOKEN_BYTES)
    return kept.replace(b"\x00", b" \x00 ").decode("ascii").split()


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _block_of(positions: list[int], seps: np.ndarray) -> np.ndarray:
    """Block number of each position of a SEP-joined text (seps: the SEP positions)."""
    return np.searchsorted(seps, positions)


def _seps(joined: str, lengths: np.ndarray | None) -> np.ndarray:
    """Positions of SEP in joined (from the block lengths when they are known)."""
    if lengths is not None:
        return np.cumsum(lengths[:-1] + 1) - 1
    return np.flatnonzero(_code_points(joined) == 0)


def _counts(pattern: re.Pattern[str], joined: str, count: int, lengths: np.ndarray | None) -> np.ndarray:
    """Matches of pattern in each block of a SEP-joined text."""
    starts = [m.start() for m in pattern.finditer(joined)]
    if not starts:
        return np.zeros(count, dtype=np.int64)
    return np.bincount(_block_of(starts, _seps(joined, lengths)), minlength=count)


def _holds_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(needle in text for needle in needles)


def _found(needles: tuple[str, ...], joined: str, count: int, lengths: np.ndarray | None) -> np.ndarray:
    """Does each block of a SEP-joined text hold one of the needles (plain substrings, found with str.find)?"""
    starts = []
    for needle in needles:
        at = joined.find(needle)
        while at >= 0:
            starts.append(at)
            at = joined.find(needle, at + 1)
    flags = np.zeros(count, dtype=bool)
    if starts:
        flags[_block_of(starts, _seps(joined, lengths))] = True
    return flags


def raw_values_python(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Raw values (blocks x ``RAW_FIELDS``) and ending styles of an article's blocks, as
    ``raw_values_reference`` computes them, but column by column: each pattern runs once over the
    blocks joined by SEP and its matches are assigned to blocks by offset (the path without the C
    extension)."""
    count = len(texts)
    joined = SEP.join(texts)
    if count == 0 or joined.count(SEP) != count - 1:
        return raw_values_reference(texts)
    raw = np.zeros((count, len(RAW_FIELDS)))
    col = _R
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=count)
    words = [t.split() for t in texts]
    n_words = np.fromiter(map(len, words), dtype=np.int64, count=count)
    n = np.maximum(n_words, 1)
    short = n <= 25
    heads = [t[:HEAD] for t in texts]
    head_lengths = np.minimum(lengths, HEAD)
    head_joined = SEP.join(heads)
    low_joined = head_joined.lower()
    low_lengths = head_lengths if len(low_joined) == len(head_joined) else None
    # Tokens of the heads: which looked-up words each block holds (distinct), and how many articles.
    found = [w for w in _tokens(low_joined) if w in _TOKEN_KEYS]
    ids = np.fromiter(map(_TOKEN_ID.__getitem__, found), dtype=np.intp, count=len(found))
    block = np.cumsum(ids == 0)
    keep = ids > 0
    ids, block = ids[keep], block[keep]
    present = np.zeros((count, len(_TOKEN_ID)))
    present[block, ids] = 1
    held = present @ _TOKEN_MEMBERS
    (furniture_tok, furniture_start, pictured, video, reporting, personal, past, present_words, dates, _) = (
        held.T
    )
    article_count = np.bincount(block[_IS_ARTICLE[ids]], minlength=count)
    # Characters of the heads.
    h = _code_points(head_joined)
    h_block = np.repeat(np.arange(count), head_lengths + 1)[: len(h)]
    quote_pairs = (h[:-1] == 32) & ((h[1:] == 39) | (h[1:] == 0x2018))
    quotes = np.bincount(h_block[(h == 34) | (h == 0x201C)], minlength=count) + np.bincount(
        h_block[:-1][quote_pairs], minlength=count
    )
    commas = np.bincount(h_block[h == 44], minlength=count)
    at_sign = np.bincount(h_block[h == 64], minlength=count) > 0
    copyright_sign = np.bincount(h_block[h == 0xA9], minlength=count) > 0
    paren = np.bincount(h_block[h == 40], minlength=count) > 0
    low = _code_points(low_joined)
    low_block = np.cumsum(low == 0)
    # "-ed " and "-ing " endings of the lower-cased heads (as str.count finds them: they cannot overlap).
    word_end = (low == 32) | (low == 44) | (low == 46)
    ed = (low[:-2] == _E) & (low[1:-1] == _D) & word_end[2:]
    ed_count = np.bincount(low_block[:-2][ed], minlength=count)
    ing = (low[:-3] == _I) & (low[1:-2] == _N) & (low[2:-1] == _G) & word_end[3:]
    ing_count = np.bincount(low_block[:-3][ing], minlength=count)
    # Blocks ending alike: closing punctuation and credits.
    stripped_last = [t.rstrip(_CLOSERS)[-1:] for t in texts]
    closes = [c in _SENTENCE_END for c in stripped_last]
    lasts = [t[-1] for t in texts]
    tail_joined = SEP.join([t[-TAIL_TOKENS:] for t in texts]).lower()
    triggered = np.zeros(count, dtype=bool)
    tail_block = 0
    for w in [w for w in _tokens(tail_joined) if w in _TRIGGERS_AND_SEP]:
        if w == SEP:
            tail_block += 1
        else:
            triggered[tail_block] = True
    n_list = n.tolist()
    endings = [
        "closed" if c else "open_long" if k >= 9 else "open" for c, k in zip(closes, n_list, strict=True)
    ]
    credit_kind = [0] * count
    credit_only = [False] * count
    # Only blocks that end in a bracket, hold a slash near the end or name a credit word are matched.
    gated = (
        triggered
        | np.array([c in ")]" for c in lasts])
        | np.array(["/" in t[-signals.TAIL :] for t in texts])
    )
    for i in np.flatnonzero(gated).tolist():
        text = texts[i]
        credit = signals.credit_match(text)
        if credit:
            endings[i] = _credit_ending(text, credit)
            credit_kind[i] = _CREDIT_CODE[credit[0]]
            credit_only[i] = n_list[i] <= 8 and signals.is_credit_only(text)
    firsts = [t[0] for t in texts]
    head_words = [w[:HEAD_WORDS] for w in words]
    head_counts = np.minimum(n_words, HEAD_WORDS)
    hn = np.maximum(head_counts, 1)
    flat = list(chain.from_iterable(head_words))
    word_ends = np.cumsum(head_counts)
    word_starts = word_ends - head_counts
    title_total = np.zeros(len(flat) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(str.istitle, flat), bool, len(flat)), out=title_total[1:])
    upper_total = np.zeros(len(flat) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(str.isupper, flat), bool, len(flat)), out=upper_total[1:])
    title = title_total[word_ends] - title_total[word_starts]
    upper = upper_total[word_ends] - upper_total[word_starts]
    sentence_heads = [t[:1000] for t in texts]
    sentences = _counts(
        signals.SENTENCE_BREAK,
        SEP.join(sentence_heads),
        count,
        np.fromiter(map(len, sentence_heads), np.int64, count),
    )
    raw[:, col["n"]] = n
    raw[:, col["closes"]] = closes
    raw[:, col["ends_quote"]] = [c in _CLOSE_QUOTES for c in lasts]
    raw[:, col["ends_colon"]] = [c == ":" for c in lasts]
    raw[:, col["ends_paren"]] = [c in ")]" for c in lasts]
    raw[:, col["ends_digit"]] = [c.isdigit() for c in lasts]
    raw[:, col["sentences"]] = np.minimum(sentences, 6)
    raw[:, col["multi_line"]] = ["\n" in t for t in texts]
    raw[:, col["starts_lower"]] = [c.islower() for c in firsts]
    raw[:, col["starts_digit"]] = [c.isdigit() for c in firsts]
    raw[:, col["starts_quote"]] = [c in _OPEN_QUOTES for c in firsts]
    raw[:, col["starts_bullet"]] = [c in _BULLETS for c in firsts]
    raw[:, col["starts_by"]] = [t.startswith("By ") for t in texts]
    raw[:, col["label_prefix"]] = [":" in t[:45] and signals.label_prefix(t) is not None for t in texts]
    raw[:, col["credit_kind"]] = credit_kind
    raw[:, col["credit_only"]] = credit_only
    raw[:, col["tail_phrase"]] = [
        not k and not c and signals.TAIL_PHRASE.search(t[-signals.TAIL :]) is not None
        for k, c, t in zip(credit_kind, closes, texts, strict=True)
    ]
    raw[:, col["pictured"]] = pictured > 0
    raw[:, col["position_cue"]] = [
        p and _holds_any(heads[i].lower(), _POSITION_CUES) for i, p in enumerate(paren.tolist())
    ]
    raw[:, col["video_cue"]] = video > 0
    raw[:, col["quotes"]] = np.minimum(quotes, 4)
    raw[:, col["reporting"]] = reporting > 0
    raw[:, col["personal"]] = personal > 0
    raw[:, col["past"]] = past + ed_count
    raw[:, col["present"]] = present_words
    raw[:, col["title_case"]] = title / hn
    raw[:, col["all_caps"]] = upper / hn
    # ASCII digits, and the other decimal digits that ``\\d`` matches (str.isdecimal: category Nd).
    digit = (h >= 48) & (h <= 57)
    wide = set(h[h > 127].tolist())
    decimal = [c for c in wide if chr(c).isdecimal()]
    if decimal:
        digit |= np.isin(h, decimal)
    raw[:, col["digits"]] = np.bincount(h_block[digit], minlength=count) > 0
    raw[:, col["date_words"]] = dates > 0
    raw[:, col["date_stamp"]] = [
        s and ("/" in t or "-" in t) and signals.DATE_STAMP.search(t) is not None
        for s, t in zip(short.tolist(), texts, strict=True)
    ]
    raw[:, col["url"]] = at_sign | _found(_URL_NEEDLES, low_joined, count, low_lengths)
    raw[:, col["furniture"]] = (furniture_tok > 0) | (
        (n <= 40)
        & (
            copyright_sign
            | np.array(
                [
                    bool(s) and _holds_any(heads[i].lower(), FURNITURE_PHRASES)
                    for i, s in enumerate(furniture_start.tolist())
                ]
            )
        )
    )
    raw[:, col["boilerplate"]] = [len(t) <= 40 and signals.is_boilerplate(t) for t in texts]
    # A byline starts with "By" or a digit once stripped (the cheap test spares most blocks the pattern).
    raw[:, col["byline"]] = [
        bool(s) and (t[:2] == "By" or t[:1].isdigit() or t[:1].isspace()) and signals.is_byline(t)
        for s, t in zip(short.tolist(), texts, strict=True)
    ]
    raw[:, col["starts_determiner"]] = [w[0] in DETERMINERS if w else False for w in words]
    raw[:, col["article_words"]] = article_count / hn
    raw[:, col["commas"]] = np.minimum(commas, 4)
    raw[:, col["ing_words"]] = np.minimum(ing_count, 3)
    raw[:, col["ends_question"]] = [c == "?" for c in stripped_last]
    photo_gated = _found(_PHOTO_GATES, low_joined, count, low_lengths)
    raw[:, col["photo_phrase"]] = [
        g and _photo_phrase_found(head) for g, head in zip(photo_gated.tolist(), heads, strict=True)
    ]
    _near_copies_fast(texts, n_words, raw)
    return raw, endings


def _near_copies_fast(texts: list[str], n_words: np.ndarray, raw: np.ndarray) -> None:
    """``_near_copies``, faster: a probe found more than once holds its middle words as whole words each
    time, so a probe whose rarest middle word occurs once in the article is not looked for at all."""
    lowered = [t.lower() for t in texts]
    split = [low.split() for low in lowered]
    counts = Counter(chain.from_iterable(split))
    rarity = counts.__getitem__
    probes: list[tuple[int, str, str]] = []
    for i in np.flatnonzero((n_words >= 6) & (n_words <= NEAR_COPY_MAX_WORDS)).tolist():
        words = split[i]
        size = len(words)
        for j in (0, (size - 5) // 2, size - 5):
            a, b, c = words[j + 1 : j + 4]
            ca, cb, cc = rarity(a), rarity(b), rarity(c)
            if ca > 1 and cb > 1 and cc > 1:
                # The rarest middle word, the first of equals (as min() picks it).
                key = a if ca <= cb and ca <= cc else b if cb <= cc else c
                probes.append((i, " ".join(words[j : j + 5]), key))
    if not probes:
        return
    keys = {key for _, _, key in probes}
    holders: dict[str, list[int]] = {}
    for b, words in enumerate(split):
        if not keys.isdisjoint(words):
            for word in keys.intersection(words):
                holders.setdefault(word, []).append(b)
    found = [0] * len(texts)
    for i, probe, key in probes:
        total = 0
        for b in holders[key]:
            total += lowered[b].count(probe)
            if total > 1:
                found[i] += 1
                break
    col, copied = _R["near_copy"], _R["near_copied"]
    for i, hits in enumerate(found):
        if hits:
            raw[i, col] = hits / 3.0
            raw[i, copied] = float(hits == 3)


# --- the compiled path: captionset/classify/_speedups.c ------------------------------------------------
#: Raw fields that need the signal patterns: computed here, on the blocks the extension names for each
#: (cheap necessary conditions of a match, as raw_values_python gates them).
_PATTERN_FIELDS = (
    "label_prefix",
    "credit_kind",
    "credit_only",
    "tail_phrase",
    "date_stamp",
    "boilerplate",
    "byline",
    "photo_phrase",
)
# Patterns whose meaning the extension builds in (as loops, or as the necessary conditions that gate
# them): it is used only while they read so.
_BUILT_IN_PATTERNS = {
    "SENTENCE_BREAK": r"[.!?][\"'’”)]?\s+[A-Z\"'‘“]",
    "WORD": r"[a-z0-9]+",
    "DIGIT": r"\d",
    "DATE_STAMP": r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b",
    "TAIL_PHRASE": (
        r"[.!?][\"'’”)]?\s+(?P<credit>[A-Z][\w.'’&/-]*(?:\s+(?:[A-Z][\w.'’&/-]*|of|for|the|via|and|/)){0,6})\s*$"
    ),
}
# The extension gates LABEL_PREFIX on its opening.
_LABEL_PREFIX_START = r"^(?P<label>[A-Z0-9]"
_COL_N, _COL_LABEL_PREFIX, _COL_CREDIT_KIND, _COL_CREDIT_ONLY = (
    _R["n"],
    _R["label_prefix"],
    _R["credit_kind"],
    _R["credit_only"],
)
_COL_TAIL_PHRASE, _COL_DATE_STAMP, _COL_BOILERPLATE = _R["tail_phrase"], _R["date_stamp"], _R["boilerplate"]
_COL_BYLINE, _COL_PHOTO_PHRASE = _R["byline"], _R["photo_phrase"]
_FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def raw_values_compiled(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """``raw_values_python`` with the per-block work done by the C extension; only the pattern fields are
    computed here, and only on the blocks whose gates the extension found open."""
    if _speedups is None:
        raise RuntimeError("the C extension captionset.classify._speedups is not loaded")
    raw = np.zeros((len(texts), len(RAW_FIELDS)))
    found = _speedups.block_values(texts, raw) if texts else None
    if found is None:  # no blocks, or an empty one: the Python path handles (and reports) it
        return raw_values_python(texts)
    endings, labels, credits, tails, dates, boilerplates, bylines, photos = found
    for i in labels:
        if signals.label_prefix(texts[i]) is not None:
            raw[i, _COL_LABEL_PREFIX] = 1.0
    for i in credits:
        text = texts[i]
        credit = signals.credit_match(text)
        if credit:
            endings[i] = _credit_ending(text, credit)
            raw[i, _COL_CREDIT_KIND] = _CREDIT_CODE[credit[0]]
            raw[i, _COL_CREDIT_ONLY] = raw[i, _COL_N] <= 8 and signals.is_credit_only(text)
    for i in tails:
        if not raw[i, _COL_CREDIT_KIND] and signals.TAIL_PHRASE.search(texts[i][-signals.TAIL :]) is not None:
            raw[i, _COL_TAIL_PHRASE] = 1.0
    for i in dates:
        if signals.DATE_STAMP.search(texts[i]) is not None:
            raw[i, _COL_DATE_STAMP] = 1.0
    for i in boilerplates:
        if signals.is_boilerplate(texts[i]):
            raw[i, _COL_BOILERPLATE] = 1.0
    for i in bylines:
        if signals.is_byline(texts[i]):
            raw[i, _COL_BYLINE] = 1.0
    for i in photos:
        if _photo_phrase_found(texts[i][:HEAD]):
            raw[i, _COL_PHOTO_PHRASE] = 1.0
    return raw, endings


def assemble_features_compiled(raw_matrix: np.ndarray, endings: list[str]) -> tuple[np.ndarray, list[str]]:
    """``assemble_features_python`` computed by the C extension (numpy's overhead on these small arrays was
    most of its time). log1p stays numpy's, so that the values are the same to the last bit."""
    if _speedups is None:
        raise RuntimeError("the C extension captionset.classify._speedups is not loaded")
    count = raw_matrix.shape[0]
    if count == 0:
        return assemble_features_python(raw_matrix, endings)
    raw = np.ascontiguousarray(raw_matrix, dtype=np.float64)
    out = np.zeros((count, len(FEATURE_NAMES)))
    out[:, _LOG_WORDS] = np.log1p(raw[:, _COL_N])
    _speedups.assemble(raw, endings, out)
    return out, endings


def _speedup_config() -> dict[str, object]:
    """What the C extension takes from this module (it holds no word list or layout of its own)."""
    for name, pattern in _BUILT_IN_PATTERNS.items():
        compiled = getattr(signals, name)
        if compiled.pattern != pattern or compiled.flags != re.UNICODE:
            raise ValueError(f"signals.{name} changed: the C extension computes {pattern!r}")
    label = signals.LABEL_PREFIX
    if not label.pattern.startswith(_LABEL_PREFIX_START) or label.flags != re.UNICODE:
        raise ValueError(f"signals.LABEL_PREFIX no longer starts with {_LABEL_PREFIX_START!r}")
    return {
        "word_sets": {
            "furniture": FURNITURE_TOKENS,
            "furniture_start": _FURNITURE_STARTS,
            "pictured": frozenset(["pictured"]),
            "video": VIDEO_WORDS,
            "reporting": REPORTING_WORDS,
            "personal": PERSONAL_WORDS,
            "past": PAST_WORDS,
            "present": PRESENT_WORDS,
            "date": DATE_WORDS,
            "article": ARTICLES,
            "credit_trigger": CREDIT_TRIGGERS,
            "determiner": DETERMINERS,
        },
        "open_quotes": "".join(sorted(_OPEN_QUOTES)),
        "close_quotes": "".join(sorted(_CLOSE_QUOTES)),
        "bullets": "".join(sorted(_BULLETS)),
        "sentence_end": "".join(sorted(_SENTENCE_END)),
        "closers": _CLOSERS,
        "position_cues": _POSITION_CUES,
        "furniture_phrases": FURNITURE_PHRASES,
        "photo_gates": _PHOTO_GATES,
        "url_needles": _URL_NEEDLES,
        "head": HEAD,
        "tail": signals.TAIL,
        "tail_tokens": TAIL_TOKENS,
        "head_words": HEAD_WORDS,
        "near_copy_max_words": NEAR_COPY_MAX_WORDS,
        "raw_columns": dict(_R),
        "raw_fields": RAW_FIELDS,
        "python_fields": _PATTERN_FIELDS,
        "feature_columns": dict(_FEATURE_INDEX),
        "derived": tuple(sorted(_DERIVED)),
        "context_features": CONTEXT_FEATURES,
        "copied_out": _COPIED_OUT.tolist(),
        "copied_raw": _COPIED_RAW.tolist(),
        "credit_out": _CREDIT_OUT.tolist(),
        "neighbour_src": _NEIGHBOUR_INDEX.tolist(),
        "neighbour_prev": [_FEATURE_INDEX[f"prev_{name}"] for name in NEIGHBOUR_FEATURES],
        "neighbour_next": [_FEATURE_INDEX[f"next_{name}"] for name in NEIGHBOUR_FEATURES],
        "log_26": _LOG_26,
        "endings": PLAIN_ENDINGS,
    }


def _load_speedups() -> ModuleType | None:
    """The C extension, set up from this module; None when it was not built, when CAPTIONSET_PURE_PYTHON
    asks for the pure-Python path, or (with a warning) when it does not fit this module's layout."""
    module = import_speedups()
    if module is None:
        return None
    try:
        module.setup(_speedup_config())
    except (ValueError, TypeError, KeyError) as error:
        warnings.warn(
            f"captionset: compiled features disabled, using the pure-Python path ({error})",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return module


_speedups = _load_speedups()
#: Is the C extension in use? (CI checks that the installed wheel carries it.)
COMPILED = _speedups is not None
