"""Aligning: give every caption its context (position, neighbours, sections, a window, related paragraphs).

One pure pass per article. The related paragraphs are ranked by what a reader uses to match a picture
to the story: the caption's rare words (BM25, with IDF computed inside the article and common English
words discounted), its names and numbers (an entity overlap), its two-word phrases ("Harbour Hospital",
"cluster bombs"), nearness (a mild proximity prior that prefers the text just before the caption and
only reweights real matches), and the other captions of its gallery (one gallery tends to illustrate
one passage). Captions whose words appear in no paragraph get no related paragraph, not a forced match.
By default these signals (plus where the story first names the caption's terms, and the lead paragraph)
are weighed by a small learned ranker, a conditional logit whose weights ship in ``align_model.json``
(``scripts/train_align.py``); ``AlignOptions(ranker="rules")`` keeps the hand-set weighing.

Speed matters (alignment may add at most a fraction of parse time): the body is not tokenised in
Python (that alone costs more than the whole budget); the distinct caption stems of an article are
looked up once, with ``str.find`` in the lower-cased body when they are few, else at once against a
numpy index of the body's word starts; windows are slices of the joined body, with token counts from
numpy; the stemmer and the caption-word analysis are memoised, and the slow credit patterns only run on
captions that can hold a credit. That is the definition; ``_align_speedups.c`` computes the same in C
(the body's layout and lower-casing, the caption queries, the stem look-ups in one pass over the body's
words, the BM25 evidence, the window's slices), giving the same records bit for bit
(tests/test_align_speedups.py); ``CAPTIONSET_PURE_PYTHON=1`` keeps to the Python. So does the learned
ranker of a gallery (``gallery_evidence``, ``learned_scores`` and ``rank_learned`` in one call, the same
floating-point operations in the same order, with the C library's ``log1p`` and ``exp`` that ``math``
calls); where Python would raise or meet a NaN, the compiled call leaves the case to the Python.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from itertools import accumulate, chain
from operator import sub
from pathlib import Path

import numpy as np

from .classify.compiled import import_extension
from .classify.signals import labels_a_sentence, last_word_capitalised_or
from .ids import stable_hash
from .model import CAPTION_LABELS, Article, Block, Caption, Related

#: The compiled evidence layer, or None for the pure-Python path (the definition; the tests set it to
#: None to compare the two).
_speedups = import_extension("captionset._align_speedups")


@dataclass(frozen=True, slots=True)
class AlignOptions:
    """How much context each caption gets, and how related paragraphs are scored."""

    neighbours: int = 1
    window_tokens: int = 512
    top_k: int = 3
    #: Least share of the caption's (IDF-weighted) words a paragraph must share to be related at all.
    min_match: float = 0.05
    #: Least score (in [0, 1]) of a related paragraph.
    min_score: float = 0.05
    #: Extra weight of names and numbers the paragraph shares, on top of their BM25 part.
    entity_bonus: float = 1.0
    #: Extra weight of the caption's two-word phrases found as such in the paragraph (mean IDF units).
    phrase_bonus: float = 1.0
    #: Strength of the proximity prior: evidence (in IDF units) lost per log of paragraph distance.
    prior_strength: float = 1.0
    #: Extra distance of paragraphs after the caption (captions mostly follow what they illustrate).
    after_offset: float = 0.5
    #: Evidence (in IDF units) added to paragraphs of the caption's own section (between subheadings).
    section_bonus: float = 1.0
    #: Share of a caption's evidence taken from the mean of its gallery (captions with no body between).
    gallery_blend: float = 0.3
    #: Evidence (in IDF units) that scores 0.5: a paragraph sharing one or two rare words.
    score_half: float = 4.0
    #: "learned": candidates ranked by the weights of align_model.json (scripts/train_align.py) and
    #: scored by their calibrated probability of being a paragraph the caption illustrates;
    #: "rules": the hand-set log-linear score (evidence, proximity prior, section, gallery blend).
    ranker: str = "learned"

    def __post_init__(self) -> None:
        # A wrong knob fails here, with its name, rather than as a slice, a division by zero or a silent
        # empty result deep in the ranking.
        for name in ("neighbours", "window_tokens", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"AlignOptions.{name} must be an integer >= 0, got {value!r}")
        for name in ("min_match", "min_score", "gallery_blend"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # (False for NaN)
                raise ValueError(f"AlignOptions.{name} must be in [0, 1], got {value!r}")
        for name in ("entity_bonus", "phrase_bonus", "prior_strength", "after_offset", "section_bonus"):
            value = getattr(self, name)
            if not 0.0 <= value < math.inf:
                raise ValueError(f"AlignOptions.{name} must be finite and >= 0, got {value!r}")
        if not 0.0 < self.score_half < math.inf:
            raise ValueError(f"AlignOptions.score_half must be finite and > 0, got {self.score_half!r}")
        if self.ranker not in ("learned", "rules"):
            raise ValueError(f"unknown ranker {self.ranker!r} (learned or rules)")


DEFAULT_ALIGN_OPTIONS = AlignOptions()

#: Weights of the learned ranker (scripts/train_align.py writes them).
MODEL_PATH = Path(__file__).with_name("align_model.json")

# Weight of terms that only occur after the caption's first sentence (background, not the picture).
BACKGROUND_WEIGHT = 0.5
# Weight of the label prefix's words: a mood ("Devastation:") or the subject ("Product name:").
LABEL_WEIGHT = 0.5
# Weight of common English content words ("people", "year"): they name no particular passage.
COMMON_WEIGHT = 0.5
# BM25 constants (the usual Robertson values).
BM25_K1 = 1.2
BM25_B = 0.75
# Characters a page puts inside words that a reader never sees: soft hyphens ("cus\u00adtomers", from CMSs
# that hyphenate), zero-width spaces and joiners, word joiners, and U+FEFF. They would split a word in two
# for matching, so the words are matched without them (records keep the text as it is).
INVISIBLE_IN_WORDS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DROP_INVISIBLE = str.maketrans("", "", INVISIBLE_IN_WORDS)

# A label prefix the page put before the caption ("Devastation: This is ..."); short, capitalised.
LABEL_PREFIX = re.compile(r"^\s*[A-Z][\w'’&.-]*(?:\s+[\w'’&.-]+){0,3}\s*:\s+(?=\S)")
# A credit in brackets or after a credit word, closing the caption ("(Picture: PA)", "Credit: Getty").
CREDIT_MARKED = re.compile(
    r"(?:[\(\[]\s*(?i:picture|pictures|image|images|photo|photos|credit|source|pic|file)\s*:[^\)\]]*[\)\]]"
    r"|\b(?i:credit|photo|photograph|picture|image)s?\s*(?::|\bby\b)[^.!?]*"
    r"|\bPhoto\s+by\b[^.!?]*)\s*$"
)
# Cheap necessary condition of CREDIT_MARKED (a bracket or a credit word; the regex is slow to run on
# every caption): "photo" covers "photograph"; İ (lower-cased to i + U+0307), ı and ſ match i and s
# case-insensitively in `re`.
CREDIT_HINTS = ("credit", "photo", "picture", "image", "(", "[", "\u0307", "\u0131", "\u017f")
# A credit in brackets that names a photographer or agency ("(AP Photo/Jane Roe)", "(Jane Roe / AP)"):
# a slash or a picture-desk word inside; anywhere in the caption, as pages put it mid-text too.
CREDIT_BRACKET = re.compile(  # ("(?<!\s)": as COPYRIGHT_TAIL below)
    r"(?<!\s)\s*[\(\[][^()\[\]]*(?:/|\b(?i:photo|photos|photograph|picture|image|credit|getty|reuters|afp|ap|epa|pa|"
    r"rex|shutterstock|alamy)\b)[^()\[\]]*[\)\]]"
)
# A copyright notice closing the caption ("- Copyright AP Photo", "© Agency").
# (The leftmost match never starts inside a run of white space, so "(?<!\s)" changes no result and spares a
# search from retrying every space of a long run: seconds on a caption padded with thousands of spaces.)
COPYRIGHT_TAIL = re.compile(r"(?<!\s)\s*(?:[-–—|]\s*)?(?:(?i:copyright)|©).*$")
# A credit without a marker: a short run of capitalised words after the caption's last full stop
# ("... the old quay. Harbour Trust", "... at dawn. Jane Roe for Example News").
CREDIT_TAIL = re.compile(
    r"(?P<stop>[.!?][\"'’”)]?)\s+[A-Z][\w.'’&/-]*(?:\s+(?:[A-Z][\w.'’&/-]*|of|for|the|via|and|/|-)){0,7}\s*$"
)
#: The lower-case words CREDIT_TAIL lets into a credit ("Jane Roe for Example News").
CREDIT_TAIL_JOINERS = frozenset(("of", "for", "the", "via", "and", "/", "-"))
# A paragraph that points away from the story: a related-story link ("READ MORE: ...", "Related: ...",
# "See also: ...") or a call to action ("CLICK HERE TO GET THE APP", "Sign up for our newsletter"): page
# furniture set among the story's paragraphs, never the text a picture illustrates (not a related one).
# Searched in the lower-cased body, where a newline opens every paragraph (one scan per article).
OFF_STORY_LEAD = re.compile(
    r"\n(?:(?:read\s+more|more|related|see\s+also|also\s+read|read\s+also)\s*[:|»>]"
    r"|click\s+here\b|sign\s+up\s+(?:for|to)\b|subscribe\s+(?:to|for|now)\b)"
)
# The end of a caption's first sentence (a full stop before a space and a capital or the end).
SENTENCE_END = re.compile(r"[.!?][\"'’”)]?\s+(?=[A-Z])")
# A word (letters and digits); in captions a number grouped by thousands ("150,000") is one word.
WORD = re.compile(r"[^\W_]+")
CAPTION_WORD = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|[^\W_]+")
# The rest of a word after a found search key.
WORD_END = re.compile(r"[^\W_]*")
#: Candidates from which ranking first finds the k-th best score, to sort only those that reach it.
RANK_SHORTLIST = 16
#: The cost of ``_Body._index_look_up`` in characters read by ``str.find`` (one find reads the whole
#: body): a fixed part, and a part per character of the body (measured on the dev articles).
INDEX_FIXED_CHARACTERS, INDEX_KEYS_PER_CHARACTER = 35_000, 3
#: By number of characters (2, 3, 4): the low 32, 48 and 64 bits of four UTF-16 code units.
PREFIX_MASKS = {2: np.uint64(0xFFFFFFFF), 3: np.uint64(0xFFFFFFFFFFFF), 4: np.uint64(0xFFFFFFFFFFFFFFFF)}
#: Fibonacci hashing of prefix codes to 16 bits: the top bits of the code times 2**64 / golden ratio.
PREFIX_HASH_FACTOR, PREFIX_HASH_SHIFT = np.uint64(0x9E3779B97F4A7C15), np.uint64(48)
#: Characters that stand in for ones beyond 16 bits in the word index: a word character that no search
#: key holds (keys are lower case), and a character that is none.
WORD_STAND_IN, OTHER_STAND_IN = ord("A"), 0xFFFF
WORD_STAND_IN_TEXT = chr(WORD_STAND_IN)
#: Every ASCII byte, to delete them from UTF-8 and keep the other characters.
ASCII_BYTES = bytes(range(128))
# Most characters between the two words of a phrase ("Hospital in Dover", "Friends Of The Earth").
PHRASE_GAP = 24

#: Plurals and forms that suffix stripping does not reach (or would merge with another word).
IRREGULAR = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "feet": "foot",
    "news": "news",
    "french": "france",
    "dutch": "netherlands",
}
#: Stem -> the irregular forms that the stem is not a prefix of ("man" <- "men").
IRREGULAR_FORMS: dict[str, tuple[str, ...]] = {
    base: tuple(w for w, b in IRREGULAR.items() if b == base and not w.startswith(base))
    for base in set(IRREGULAR.values())
}
#: Suffixes stripped by the light stemmer, first match wins, with the least stem length left behind;
#: applied until none matches, so that "families" -> "family" -> "fami" and "fami" agree. Inflections
#: go ("bombing", "bombed", "bombs" -> "bomb"), and demonyms meet their place: "Russian", "Russia" ->
#: "russ"; "Pakistani" -> "pakistan"; "Israeli" -> "israel"; "Turkish", "Turkey" -> "turk"; "Mexican",
#: "American" -> "mexic", "americ"; "Korean" -> "kore"; "Chinese", "China" -> "chin".
SUFFIX_RULES: tuple[tuple[str, str, int], ...] = (
    ("ments", "", 4),
    ("ment", "", 4),
    ("nesses", "", 3),
    ("ness", "", 3),
    ("ingly", "", 3),
    ("ings", "", 3),
    ("ing", "", 3),
    ("edly", "", 3),
    ("ied", "y", 2),
    ("ies", "y", 2),
    ("ians", "", 3),
    ("ian", "", 3),
    ("icans", "ic", 3),
    ("ican", "ic", 3),
    ("eans", "e", 3),
    ("ean", "e", 3),
    ("anis", "an", 4),
    ("ani", "an", 4),
    ("ese", "", 4),
    ("ish", "", 4),
    ("ers", "", 5),
    ("er", "", 5),
    ("ed", "", 3),
    ("ly", "", 4),
    ("ey", "", 4),
    ("es", "", 3),
    ("s", "", 3),
    ("e", "", 4),
    ("ia", "", 2),
    ("a", "", 3),
    ("i", "", 4),
)
#: Endings where a final "s" or "es" is not a plural ("press", "virus", "crisis", "gas").
NOT_PLURAL = ("ss", "us", "is", "as")
#: Doubled final consonants left by stripping ("stopped" -> "stopp" -> "stop"); l, s and z stay doubled.
DOUBLED = frozenset(f"{c}{c}" for c in "bdfgkmnprt")
VOWELS = frozenset("aeiouy")

#: Words that carry no topic: function words, reporting verbs, picture-desk words.
STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours may might must shall one two three among amid near says said say told tells while whilst onto upon via per
    pictured picture pictures photo photos photograph image images credit getty ap afp reuters pa epa
    rex shutterstock alamy file left right centre center seen shows shown here today yesterday
    """
STOPWORDS = frozenset(STOPWORD_TEXT.split())
#: Common English content words: they match many passages of any story, so they weigh half.
COMMON_TEXT = """time times year years day days week weeks month months people person man woman men women
    child children family way thing things world life part place case point number group home house
    area city town country state government company official officials report reports new old first
    last next good great big large small high long little young take takes taken taking make made get
    got go goes going went come came see look looks looking looked show give given use used find found
    know think want work works working help call called back still well even around across
    several many much another way side end according including include includes set put keep
    """
COMMON_WORDS = frozenset(COMMON_TEXT.split())


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light, Porter-like stem, so that "bombs" finds "bombing" and "Turkish" finds "Turkey"."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if not word.isalpha():
        return word
    for _ in range(3):
        for suffix, replacement, least in SUFFIX_RULES:
            if not word.endswith(suffix):
                continue
            base = word[: -len(suffix)]
            if len(base) < least or VOWELS.isdisjoint(base):
                continue
            if suffix in ("s", "es") and word.endswith(NOT_PLURAL):
                continue
            if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                continue  # "houses", "states": only the "s" goes, then the "e"
            word = base + replacement
            if word[-2:] in DOUBLED:
                word = word[:-1]
            break
        else:
            return word
    return word


def _lower(text: str) -> str:
    """``text.lower()``, sooner for text whose only cased characters are ASCII (curly quotes and dashes
    make most news text non-ASCII, and ``str.lower`` is slow on that): ``bytes.lower`` of its UTF-8."""
    if text.isascii():
        return text.lower()
    raw = text.encode("utf-8", "surrogatepass")
    others = raw.translate(None, ASCII_BYTES).decode("utf-8", "surrogatepass")
    if others.lower() != others:  # a non-ASCII letter with a case (or a final sigma): the slow way
        return text.lower()
    return raw.lower().decode("utf-8", "surrogatepass")


@lru_cache(maxsize=1)
def _character_classes() -> tuple[np.ndarray, np.ndarray]:
    """Which of the first 65,536 characters are word characters (``str.isalnum``) and which are spaces
    (``str.isspace``), to look up a whole text at once."""
    characters = [chr(c) for c in range(0x10000)]
    return (
        np.fromiter(map(str.isalnum, characters), dtype=bool, count=0x10000),
        np.fromiter(map(str.isspace, characters), dtype=bool, count=0x10000),
    )


def _utf16_codes(text: str) -> tuple[np.ndarray, bytes]:
    """One 16-bit code per character of the text, and their bytes (little-endian). A character beyond
    16 bits (an emoji) gets a stand-in that is a word character or not alike (none is a space), and so
    does U+0000: the word index's codes of two, three and four characters must never meet ("ab" then
    U+0000 read as three characters is the code of "ab")."""
    raw = text.encode("utf-16-le", "surrogatepass")
    if len(raw) == 2 * len(text) and "\x00" not in text:
        return np.frombuffer(raw, np.uint16), raw
    wide = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32).copy()
    beyond = np.flatnonzero((wide > 0xFFFF) | (wide == 0))
    wide[beyond] = [WORD_STAND_IN if chr(c).isalnum() else OTHER_STAND_IN for c in wide[beyond].tolist()]
    codes = wide.astype(np.uint16)
    return codes, codes.tobytes()


@lru_cache(maxsize=1 << 14)
def _key_plan(term: str) -> tuple[tuple[tuple[int, int, str, bool], ...], tuple[str, ...]]:
    """How ``_Body._index_look_up`` finds a term: (code of the first characters, how many of them, key,
    whether a word that is just the key is a hit) of every key that is a plain word of 16-bit
    characters (and no stand-in), and the other keys (found with ``str.find``)."""
    words: list[tuple[int, int, str, bool]] = []
    others: list[str] = []
    for key in _search_keys(term):
        if len(key) > 1 and key.isalnum() and max(key) <= "\uffff" and WORD_STAND_IN_TEXT not in key:
            code = int.from_bytes(key[:4].encode("utf-16-le"), "little")
            words.append((code, min(len(key), 4), key, key == term or stem(key) == term))
        else:
            others.append(key)
    return tuple(words), tuple(others)


def _prefix_hash(codes: np.ndarray) -> np.ndarray:
    """16 bits of every 64-bit prefix code (Fibonacci hashing), to mark and look up codes in a table."""
    return (codes * PREFIX_HASH_FACTOR) >> PREFIX_HASH_SHIFT


@lru_cache(maxsize=1 << 14)
def _search_keys(term: str) -> tuple[str, ...]:
    """What to look for in the body to find every word with this stem: the stem itself (its words
    start with it), without a final "y" ("body" <- "bodies"), and irregular forms ("man" <- "men")."""
    first = term[:-1] if term.endswith("y") and len(term) > 3 else term
    keys = (first, *IRREGULAR_FORMS.get(term, ()))
    # Decimal digits only: int() refuses other digits ("²³⁴⁵" is a digit string, not a number).
    if term.isdecimal() and len(term) > 3:
        keys += (f"{int(term):,}",)  # "150000" is written "150,000"
    return keys


#: What the body knows of one stem: IDF, BM25 tf parts, hit spans, paragraph -> term frequency.
_Term = tuple[float, list[tuple[int, float]], list[tuple[int, int]], dict[int, int]]


@dataclass(slots=True)
class _Body:
    """The body paragraphs of one article, prepared once: lower-cased text, offsets, lengths.

    Paragraphs are not tokenised in Python: the captions' stems are looked up with ``str.find`` in the
    lower-cased body text when they are few, else matched at once against a numpy index of where the
    words start; each hit's whole word is checked to have the same stem, and hits are mapped to
    paragraphs by offset. Lookups are cached for the other captions of the article.
    """

    indices: list[int]
    texts: list[str]
    #: The lower-cased paragraphs joined by newlines, with a newline before the first and after the
    #: last one (so that every hit has a character on either side).
    hay: str
    starts: list[int]
    #: Offset of the end of every paragraph in ``hay`` (its newline), to map hits to paragraphs.
    ends: list[int]
    #: BM25 length normalisation of every paragraph: k1 * (1 - b + b * length / average length),
    #: lengths in characters (proportional to words, and free).
    norms: list[float]
    #: Number of subheadings before every paragraph: paragraphs with the same number share a section.
    sections: list[int]
    #: (block, ordinal of the next paragraph, subheadings before) of every caption, in block order.
    captions: list[tuple[Block, int, int]]
    #: Block index of every subheading, and the ordinal of the first paragraph after it.
    headings: list[tuple[int, int]]
    #: term -> (IDF, [(paragraph ordinal, BM25 term-frequency part)], [(start, end) of every hit in
    #: text order], {paragraph ordinal: term frequency}).
    terms: dict[str, _Term] = field(default_factory=dict)
    #: Whitespace tokens of every paragraph (the window's token budget), counted for the first window.
    lengths: list[int] = field(default_factory=list)
    #: Whitespace tokens of the whole body.
    tokens: int = 0
    #: ``hay_codes``, once made.
    codes: tuple[np.ndarray, bytes] | None = None
    #: The paragraphs joined by blank lines, and where each one starts in it (windows are slices).
    joined: str = ""
    joined_starts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, blocks: list[Block]) -> _Body:
        if _speedups is not None:
            return cls(*_speedups.body_layout(blocks, CAPTION_LABELS, BM25_K1, BM25_B))
        indices: list[int] = []
        texts: list[str] = []
        sections: list[int] = []
        captions: list[tuple[Block, int, int]] = []
        headings: list[tuple[int, int]] = []
        for block in blocks:
            label = block.label
            if label == "body":
                indices.append(block.index)
                texts.append(block.text)
                sections.append(len(headings))
            elif label == "subheading":
                headings.append((block.index, len(texts)))
            elif label in CAPTION_LABELS:
                captions.append((block, len(texts), len(headings)))
        sizes = list(map(len, texts))
        avg = (sum(sizes) / len(sizes) if sizes else 1.0) or 1.0
        norms = [BM25_K1 * (1 - BM25_B + BM25_B * n / avg) for n in sizes]
        hay = _lower("\n".join(["", *texts, ""]))
        if len(hay) != sum(sizes) + len(sizes) + 1:
            # Lower-casing changed some lengths ("İ" becomes "i" and a combining dot): offsets into the hay
            # come from the lower-cased paragraphs themselves.
            sizes = [len(_lower(text)) for text in texts]
        ends = list(accumulate(map((1).__add__, sizes)))  # a newline before every paragraph
        starts = list(map(sub, ends, sizes))
        return cls(indices, texts, hay, starts, ends, norms, sections, captions, headings)

    def term(self, term: str) -> _Term:
        """IDF of a stem within the article, its BM25 term-frequency part in each paragraph with it,
        and where its words are in the body text."""
        cached = self.terms.get(term)
        if cached is not None:
            return cached
        return self._store(term, self._find(term, _search_keys(term)))

    def look_up(self, *groups: Iterable[str]) -> None:
        """Find every term (of the groups) not known yet: with ``str.find`` when there are a few search
        keys (each find reads the whole body), else all at once from where the body's words start
        (``_index_look_up``, whose cost is ``INDEX_FIXED_CHARACTERS`` and ``INDEX_KEYS_PER_CHARACTER``);
        compiled, in one pass over the body's words. Same hits every way."""
        if _speedups is not None:
            stems, keys = _compiled_stem, _compiled_search_keys  # the same strings as stem, _search_keys
            args = (self.hay, self.ends, self.norms, self.terms, groups, keys, stems, BM25_K1 + 1)
            _speedups.look_up(*args)
            return
        new = [term for term in dict.fromkeys(chain.from_iterable(groups)) if term not in self.terms]
        keys, size = sum(len(_search_keys(term)) for term in new), len(self.hay)
        if keys * size < INDEX_FIXED_CHARACTERS + INDEX_KEYS_PER_CHARACTER * size:
            for term in new:
                self._store(term, self._find(term, _search_keys(term)))
            return
        self._index_look_up(new)

    def _find(self, term: str, keys: Iterable[str]) -> list[tuple[int, int]]:
        """(start, end) of every word of the stem, in text order: each search key is looked up with
        ``str.find`` and kept where a word starts and the whole word has the stem."""
        hay = self.hay
        find = hay.find
        hits: list[tuple[int, int]] = []
        for key in keys:
            size = len(key)
            exact = key == term
            i = find(key)
            while i != -1:
                end = i + size
                if not hay[i - 1].isalnum():
                    # Most hits are the stem itself as a whole word: no regex needed to see that.
                    if hay[end].isalnum():
                        end = WORD_END.match(hay, end).end()
                        if stem(hay[i:end]) == term:
                            hits.append((i, end))
                    elif exact or stem(hay[i:end].replace(",", "")) == term:  # "150,000" is 150000
                        hits.append((i, end))
                i = find(key, end)  # no word starts inside the word just seen
        if hits and len(keys) > 1:
            hits.sort()
        return hits

    def _index_look_up(self, terms: list[str]) -> None:
        """Store every term with the hits ``_find`` gives, found in one pass over the body in numpy: the
        first four characters at every word start, as one number, are matched against the search keys'
        (two or three for shorter keys), and only those words are checked in Python. Keys that are no
        plain word ("150,000") are still looked up with ``str.find``."""
        hay = self.hay
        size = len(hay)
        codes, raw = self.hay_codes()
        in_word = _character_classes()[0][codes]
        # The body opens and closes with a newline: the changes are a word's start, its end, the next start...
        bounds = np.flatnonzero(in_word[1:] != in_word[:-1]) + 1
        starts = bounds[::2]
        lengths = bounds[1::2] - starts
        # Four UTF-16 code units from every position, read as one little-endian 64-bit number.
        prefixes = np.ndarray((size,), "<u8", raw + bytes(6), 0, (2,))[starts]
        # Per term: its hits and its term frequency by paragraph, as its keys find them.
        found: dict[str, tuple[list[tuple[int, int]], dict[int, int]]] = {term: ([], {}) for term in terms}
        # Codes of two, three and four characters never meet: no key holds U+0000.
        by_prefix: dict[int, list[tuple[str, str, int, bool, list[tuple[int, int]], dict[int, int]]]] = {}
        widths: set[int] = set()
        recount: list[str] = []  # terms whose hits come from several keys, or from str.find
        for term in terms:
            words, others = _key_plan(term)
            hits, counts = found[term]
            for code, width, key, whole in words:
                by_prefix.setdefault(code, []).append((term, key, len(key), whole, hits, counts))
                widths.add(width)
            if others:
                hits += self._find(term, others)
            if others or len(words) > 1:
                recount.append(term)
        if by_prefix:
            # Words whose first characters hash like a key's (a few more than those with a key's).
            marked = np.zeros(1 << 16, dtype=bool)
            marked[_prefix_hash(np.fromiter(by_prefix, np.uint64, len(by_prefix)))] = True
            wanted = np.concatenate([prefixes & PREFIX_MASKS[width] for width in sorted(widths)])
            chosen = np.flatnonzero(marked[_prefix_hash(wanted)])
            numbers = chosen % len(starts)  # the same word can be chosen by a short and by a long key
            places = starts[numbers]
            for start, length, code, ordinal in zip(
                places.tolist(),
                lengths[numbers].tolist(),
                wanted[chosen].tolist(),
                np.searchsorted(self.ends, places).tolist(),  # the first paragraph not ending before
                strict=True,
            ):
                for term, key, key_size, whole, hits, counts in by_prefix.get(code, ()):
                    if key_size > 4 and not hay.startswith(key, start):
                        continue
                    # The key itself is a hit when ``whole``; a longer word when it has the stem.
                    end = start + length
                    if stem(hay[start:end]) == term if length > key_size else whole:
                        hits.append((start, end))
                        counts[ordinal] = counts.get(ordinal, 0) + 1
        for term in recount:  # hits in text order, then counted
            found[term][0].sort()
            self._store(term, found[term][0])
        absent = math.log(1.0 + (len(self.indices) + 0.5) / 0.5)  # the IDF of a stem in no paragraph
        for term, (hits, counts) in found.items():
            if term in self.terms:
                continue
            if hits:
                self._store(term, hits, counts)
            else:
                self.terms[term] = (absent, [], hits, counts)

    def _store(self, term: str, hits: list[tuple[int, int]], found: dict[int, int] | None = None) -> _Term:
        """Remember a stem's hits with their paragraphs (term frequency by paragraph, in text order:
        counted here unless given), IDF and BM25 parts."""
        if found is None:
            # Hits are in text order: the paragraph of each is the first whose end is not before it.
            found = {}
            ends = self.ends
            ordinal = 0
            for i, _ in hits:
                if ends[ordinal] < i:
                    ordinal = bisect_left(ends, i, ordinal + 1)
                found[ordinal] = found.get(ordinal, 0) + 1
        norms = self.norms
        count = len(self.indices)
        idf = math.log(1.0 + (count - len(found) + 0.5) / (len(found) + 0.5))
        k1 = BM25_K1 + 1
        parts = [(o, tf * k1 / (tf + norms[o])) for o, tf in found.items()]
        self.terms[term] = stored = (idf, parts, hits, found)
        return stored

    def prepare_windows(self) -> None:
        """What context windows are cut from: the paragraphs joined by blank lines, where each starts in
        it (the last entry is one blank line past the end), and the whitespace tokens of every paragraph
        (``len(text.split())``), counted at once in numpy."""
        joined = self.joined = "\n\n".join(self.texts)
        starts = self.joined_starts = list(accumulate([len(text) + 2 for text in self.texts], initial=0))
        if _speedups is not None:
            self.lengths = _speedups.token_counts(self.texts)
            self.tokens = sum(self.lengths)
            return
        # Both texts open with a newline; a token opens after a space: at i + 1 for every i in ``before``,
        # so the tokens of a paragraph are those with i from the character before it to its last one.
        if len(self.hay) == self.ends[-1] + 1:  # lower-casing kept every character in place: read the hay
            text, bounds = self.hay_codes()[0], [0, *self.ends]
        else:
            text, bounds = _utf16_codes("\n" + joined)[0], starts
        spaces = _character_classes()[1][text]
        before = np.flatnonzero(spaces[:-1] > spaces[1:])
        self.lengths = np.diff(np.searchsorted(before, bounds)).tolist()
        self.tokens = sum(self.lengths)

    def hay_codes(self) -> tuple[np.ndarray, bytes]:
        """``_utf16_codes`` of the hay, made once for the word index and the windows' token counts."""
        if self.codes is None:
            self.codes = _utf16_codes(self.hay)
        return self.codes

    def adjacent(self, first: str, second: str) -> list[int]:
        """Ordinals of the paragraphs where a word of ``first`` is followed by one of ``second``,
        with only stop words between them ("hospital in Dover" has the phrase hospital-dover)."""
        hay, starts = self.hay, self.starts
        begins = [begin for begin, _ in self.terms[second][2]]  # in text order already
        found: list[int] = []
        for _, end in self.terms[first][2]:
            n = bisect_left(begins, end)
            if n < len(begins) and begins[n] - end <= PHRASE_GAP:
                between = hay[end : begins[n]]
                if "\n" not in between and all(w in STOPWORDS for w in WORD.findall(between)):
                    ordinal = bisect_right(starts, end) - 1
                    if ordinal not in found:
                        found.append(ordinal)
        return found


@dataclass(slots=True)
class _Query:
    """A caption's search terms: weighted stems, the names and numbers among them, two-word phrases."""

    terms: dict[str, float]
    entities: set[str]
    phrases: list[tuple[str, str]]


@lru_cache(maxsize=1 << 16)
def _caption_token(token: str) -> tuple[str, bool, bool, bool] | None:
    """A caption word's stem, whether it is a common word, and whether it opens with a digit or a
    capital; None for stop words and single letters. Memoised: captions reuse the same words."""
    word = token.lower()
    if "," in word:
        word = word.replace(",", "")
    if len(word) < 2 or word in STOPWORDS:
        return None
    first = token[0]
    return stem(word), word in COMMON_WORDS, first.isdigit(), first.isupper()


#: ``stem``, ``_search_keys`` and ``_caption_token`` compiled (the same results; bound to IRREGULAR_FORMS
#: and the word lists), for the compiled path; None without the extension. Still memoised: a hit is
#: sooner than the call, and the articles of one build share most of their words.
_compiled_stem = _compiled_search_keys = _compiled_caption_token = None
if _speedups is not None:
    _compiled_stem = lru_cache(maxsize=1 << 16)(_speedups.stem)
    _compiled_search_keys = lru_cache(maxsize=1 << 14)(partial(_speedups.search_keys, IRREGULAR_FORMS))
    _compiled_caption_token = lru_cache(maxsize=1 << 16)(
        partial(_speedups.caption_token, STOPWORDS, COMMON_WORDS)
    )


def clear_caches() -> None:
    """Forget the memoised word analysis (stems, search keys, caption words): benchmarks call it so that
    no pass over the same articles profits from an earlier one."""
    for cached in (
        stem,
        _search_keys,
        _key_plan,
        _caption_token,
        _compiled_stem,
        _compiled_search_keys,
        _compiled_caption_token,
    ):
        if cached is not None:
            cached.cache_clear()


def _caption_words(piece: str) -> list[str]:
    """``CAPTION_WORD.findall(piece)``, sooner: no word spans a space, and most whitespace tokens of a
    caption are a plain word already (the regex is slow next to ``str.split``)."""
    words: list[str] = []
    for token in piece.split():
        if token.isalnum():
            words.append(token)
        else:
            words += CAPTION_WORD.findall(token)
    return words


def _text_query(text: str) -> tuple[dict[str, float], set[str], list[tuple[str, str]]]:
    """``query`` of a caption text without its label prefix: terms, entities, phrases."""
    first_end = SENTENCE_END.search(text)
    cut = first_end.end() if first_end else len(text)
    terms: dict[str, float] = {}
    entities: set[str] = set()
    phrases: list[tuple[str, str]] = []
    for piece, weight in ((text[:cut], 1.0), (text[cut:], BACKGROUND_WEIGHT)):
        previous, previous_word = "", False  # the name word before, if the phrase can go on
        bridged = False  # a stop word since then ("Bank of England" is one name, "Crowds of 150" not)
        for position, token in enumerate(_caption_words(piece)):
            known = _caption_token(token)
            if known is None:
                bridged = True
                continue
            term, common, digit, upper = known
            share = weight * COMMON_WEIGHT if common else weight
            if terms.get(term, 0.0) < share:
                terms[term] = share
            # The caption's first word is capitalised by position, not because it is a name.
            if digit or (upper and (position or weight != 1.0)):
                entities.add(term)
            # Names of two words or more ("Harbour Hospital", "Jane Roebuck", "May 7") as phrases.
            if upper or digit:
                if previous and previous != term and (not bridged or (previous_word and upper)):
                    phrases.append((previous, term))
                previous, previous_word = term, not digit
            else:
                previous = ""
            bridged = False
    return terms, entities, phrases


def query(text: str, label: str = "") -> _Query:
    """The search terms of a caption text (without its credit) and of its label prefix.

    A news caption's first sentence describes the picture; later sentences add background (agency
    captions repeat the story's context), so their terms count half, as do the label prefix's words
    and common English words. Capitalised words (not the caption's first) and numbers are entities.
    """
    if _speedups is not None:
        terms, entities, phrases = _speedups.caption_query(
            text, _compiled_caption_token, BACKGROUND_WEIGHT, COMMON_WEIGHT
        )
    else:
        terms, entities, phrases = _text_query(text)
    if label:
        for word in WORD.findall(label.lower()):
            if len(word) > 1 and word not in STOPWORDS:
                terms.setdefault(stem(word) if _speedups is None else _compiled_stem(word), LABEL_WEIGHT)
    return _Query(terms, entities, phrases)


def query_terms(text: str, label: str = "") -> tuple[dict[str, float], set[str]]:
    """Search terms of a caption text with their weights, and the subset that are names or numbers."""
    found = query(text, label)
    return found.terms, found.entities


#: What evidence_parts finds: the caption's weight, and per paragraph ordinal its BM25 match, its bonus
#: (names, numbers, phrases), the weight of caption terms first met in it, and of terms only in it.
Parts = tuple[float, dict[int, float], dict[int, float], dict[int, float], dict[int, float]]


def evidence_parts(body: _Body, block: Block, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> Parts:
    """The caption's weight (IDF units of all its terms), and per body paragraph (by ordinal) its BM25
    match, its bonus for shared names, numbers and two-word phrases, the weight of the caption's terms
    that the story first uses there (a story introduces a person or place once, in full, where it tells
    about them) and of those no other paragraph uses. Paragraphs sharing less than ``min_match`` of the
    caption's weighted words are left out."""
    label, text = matching_text(block)
    return query_evidence(body, query(text, label), options)


def query_evidence(body: _Body, found: _Query, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> Parts:
    """``evidence_parts`` of a caption's query."""
    if not body.indices:
        return 0.0, {}, {}, {}, {}
    if _speedups is not None:
        return _speedups.query_evidence(
            body.terms,
            body.term,
            found.terms,
            found.entities if options.entity_bonus else None,
            found.phrases,
            options.entity_bonus,
            options.phrase_bonus,
            options.min_match,
            len(body.indices),
            body.hay,
            body.starts,
            STOPWORDS,
            PHRASE_GAP,
        )
    lexical: dict[int, float] = {}
    bonus: dict[int, float] = {}
    first: dict[int, float] = {}
    unique: dict[int, float] = {}
    total = 0.0
    entities = found.entities if options.entity_bonus else ()
    terms, term_of = body.terms, body.term
    known = terms.get
    get, bonus_get, first_get = lexical.get, bonus.get, first.get
    for term, share in found.terms.items():
        stored = known(term) or term_of(term)
        idf = stored[0] * share
        total += idf
        parts = stored[1]
        if not parts:
            continue
        if term in entities:
            extra = options.entity_bonus * idf
            for ordinal, part in parts:
                lexical[ordinal] = get(ordinal, 0.0) + idf * part
                bonus[ordinal] = bonus_get(ordinal, 0.0) + extra
        else:
            for ordinal, part in parts:
                lexical[ordinal] = get(ordinal, 0.0) + idf * part
        opening = parts[0][0]  # hits are in text order: the first part is the first paragraph
        first[opening] = first_get(opening, 0.0) + idf
        if len(parts) == 1:
            unique[opening] = unique.get(opening, 0.0) + idf
    if total <= 0:
        return 0.0, {}, {}, {}, {}
    if options.phrase_bonus and found.phrases:
        shares = found.terms
        for one, two in dict.fromkeys(found.phrases):
            if terms[one][3].keys() & terms[two][3].keys():
                weight = (
                    options.phrase_bonus * (terms[one][0] * shares[one] + terms[two][0] * shares[two]) / 2
                )
                for ordinal in body.adjacent(one, two):
                    bonus[ordinal] = bonus_get(ordinal, 0.0) + weight
    least = options.min_match * total
    return total, {o: v for o, v in lexical.items() if v >= least}, bonus, first, unique


def evidence(body: _Body, block: Block, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> dict[int, float]:
    """How strongly each body paragraph (by ordinal) matches the caption, in IDF units; no prior yet.

    BM25 over the caption's stems, plus its names and numbers and its two-word phrases found in the
    paragraph. Paragraphs sharing less than ``min_match`` of the caption's weighted words are left out.
    """
    _, lexical, bonus, _, _ = evidence_parts(body, block, options)
    return {o: value + bonus.get(o, 0.0) for o, value in lexical.items()}


#: What the learned ranker knows of one (caption, paragraph) pair, in the order of the weights in
#: ``align_model.json`` (scripts/train_align.py fits them).
FEATURE_NAMES = (
    "match",  # BM25 match over the caption's weight (share of the caption found in the paragraph)
    "bonus",  # names, numbers and two-word phrases found, over the caption's weight
    "evidence",  # match + bonus in IDF units, over score_half (a strong match is strong in any caption)
    "relative",  # evidence over the best paragraph's evidence for this caption
    "gallery",  # mean relative evidence of the other captions of its gallery for this paragraph
    "before",  # log(1 + paragraphs between) for a paragraph before the caption, else 0
    "after",  # the same for a paragraph after the caption
    "is_after",  # the paragraph comes after the caption
    "adjacent",  # the paragraph touches the caption (just before or just after)
    "section",  # same section (no subheading between)
    "lead",  # the article's first paragraph
    "lead_caption",  # the first paragraph, for a caption above all paragraphs (the lead image)
    "first",  # weight of the caption's terms the story first uses here, over the caption's weight
    "unique",  # weight of the caption's terms no other paragraph uses, over the caption's weight
)


def pair_features(
    body: _Body,
    total: float,
    lexical: dict[int, float],
    bonus: dict[int, float],
    first: dict[int, float],
    unique: dict[int, float],
    gallery: dict[int, float],
    gap: int,
    section: int,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
) -> dict[int, tuple[float, ...]]:
    """Features (``FEATURE_NAMES``) of every candidate paragraph of one caption: those it matches, and
    those its gallery matches (when it matches something itself)."""
    if not lexical:
        return {}
    evidence = {o: value + bonus.get(o, 0.0) for o, value in lexical.items()}
    top = max(evidence.values())
    sections = body.sections
    half = options.score_half
    log1p = math.log1p
    out: dict[int, tuple[float, ...]] = {}
    for ordinal in evidence.keys() | gallery.keys():
        value = evidence.get(ordinal, 0.0)
        if ordinal < gap:
            distance = gap - 1 - ordinal
            before, after, is_after = log1p(distance), 0.0, 0.0
        else:
            distance = ordinal - gap
            before, after, is_after = 0.0, log1p(distance), 1.0
        out[ordinal] = (
            lexical.get(ordinal, 0.0) / total,
            bonus.get(ordinal, 0.0) / total if ordinal in lexical else 0.0,
            value / half,
            value / top,
            gallery.get(ordinal, 0.0),
            before,
            after,
            is_after,
            1.0 if distance == 0 else 0.0,
            1.0 if sections[ordinal] == section else 0.0,
            1.0 if ordinal == 0 else 0.0,
            1.0 if ordinal == 0 and gap == 0 else 0.0,
            first.get(ordinal, 0.0) / total,
            unique.get(ordinal, 0.0) / total,
        )
    return out


def gallery_evidence(members: list[Parts]) -> list[dict[int, float]]:
    """For each caption of a gallery, the mean over the OTHER captions with evidence of their relative
    evidence per paragraph (captions of one gallery tend to illustrate one passage)."""
    if len(members) < 2:
        return [{} for _ in members]
    relative: list[dict[int, float]] = []
    for _, lexical, bonus, _, _ in members:
        if not lexical:
            relative.append({})
            continue
        evidence = {o: value + bonus.get(o, 0.0) for o, value in lexical.items()}
        top = max(evidence.values())
        relative.append({o: v / top for o, v in evidence.items()})
    with_evidence = [r for r in relative if r]
    if len(with_evidence) < 2:
        return [{} for _ in members]
    sums: dict[int, float] = {}
    for r in with_evidence:
        for o, v in r.items():
            sums[o] = sums.get(o, 0.0) + v
    others = len(with_evidence) - 1
    out = []
    for r in relative:
        if not r:
            out.append({})
            continue
        out.append({o: mean for o, v in sums.items() if (mean := (v - r.get(o, 0.0)) / others) > 0})
    return out


def caption_features(
    article: Article, options: AlignOptions = DEFAULT_ALIGN_OPTIONS, body: _Body | None = None
) -> list[tuple[int, int, int, dict[int, tuple[float, ...]]]]:
    """(block index, gap, section, candidate features) of every caption, in block order: what the
    learned ranker scores (``gap`` is the ordinal of the first paragraph after the caption, ``section``
    the number of subheadings before it; consecutive captions with no paragraph between are a gallery)."""
    body = body or _Body.of(article.blocks)
    out = []
    for members in _galleries(body):
        parts = [evidence_parts(body, block, options) for block, _, _ in members]
        for (block, gap, section), own, shared in zip(members, parts, gallery_evidence(parts), strict=True):
            out.append((block.index, gap, section, pair_features(body, *own, shared, gap, section, options)))
    return out


def rank(
    body: _Body,
    scores: dict[int, float],
    gap: int,
    section: int = -1,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
) -> list[Related]:
    """The top-k paragraphs by evidence minus the proximity prior, squashed into (0, 1], best first.

    ``gap`` is the ordinal of the first body paragraph after the caption (the caption sits before it).
    The prior is log-linear in the distance; paragraphs after the caption start ``after_offset`` away;
    paragraphs of the caption's own section (``section``: subheadings before it) get ``section_bonus``.
    """
    ranked: list[tuple[float, float, int]] = []
    sections = body.sections
    for ordinal, value in scores.items():
        distance = gap - 1 - ordinal if ordinal < gap else ordinal - gap + options.after_offset
        value -= options.prior_strength * math.log1p(distance)
        if sections[ordinal] == section:
            value += options.section_bonus
        if value <= 0:
            continue
        score = value / (value + options.score_half)
        if score >= options.min_score:
            ranked.append((-score, distance, ordinal))
    ranked.sort()
    return [Related(body.indices[o], round(-s, 6), body.texts[o]) for s, _, o in ranked[: options.top_k]]


@lru_cache(maxsize=1)
def load_model() -> tuple[tuple[float, ...], float, float]:
    """The learned ranker's weights (in FEATURE_NAMES order) and its Platt scale and offset."""
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    if tuple(model["features"]) != FEATURE_NAMES:
        raise ValueError("align_model.json was trained on other features: run scripts/train_align.py")
    return tuple(model["weights"]), model["scale"], model["offset"]


def learned_scores(
    body: _Body,
    total: float,
    lexical: dict[int, float],
    bonus: dict[int, float],
    first: dict[int, float],
    unique: dict[int, float],
    gallery: dict[int, float],
    gap: int,
    section: int,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
) -> dict[int, float]:
    """The learned linear score of every candidate: the weights times ``pair_features``, computed in
    one pass without building the feature vectors (alignment must stay cheap next to parsing)."""
    if not lexical:
        return {}
    (w_match, w_bonus, w_evidence, w_relative, w_gallery, w_before, w_after, w_is_after, w_adjacent,
     w_section, w_lead, w_lead_caption, w_first, w_unique) = load_model()[0]  # fmt: skip
    evidence = {o: value + bonus.get(o, 0.0) for o, value in lexical.items()} if bonus else lexical
    scale = w_evidence / options.score_half + w_relative / max(evidence.values())
    # The caption-relative features are over the caption's weight, and only added where not zero.
    w_match, w_bonus, w_first, w_unique = w_match / total, w_bonus / total, w_first / total, w_unique / total
    near, more, opening, only = gallery.get, bonus.get, first.get, unique.get
    sections = body.sections
    log1p = math.log1p
    out: dict[int, float] = {}
    for ordinal, value in evidence.items():
        if ordinal < gap:
            distance = gap - 1 - ordinal
            score = scale * value + w_before * log1p(distance)
        else:
            distance = ordinal - gap
            score = scale * value + w_after * log1p(distance) + w_is_after
        if distance == 0:
            score += w_adjacent
        if sections[ordinal] == section:
            score += w_section
        if (part := near(ordinal)) is not None:
            score += w_gallery * part
        score += w_match * lexical[ordinal]
        if (part := more(ordinal)) is not None:
            score += w_bonus * part
        if (part := opening(ordinal)) is not None:
            score += w_first * part
        if (part := only(ordinal)) is not None:
            score += w_unique * part
        out[ordinal] = score
    for ordinal, value in gallery.items():  # the gallery's candidates the caption does not match itself
        if ordinal in evidence:
            continue
        if ordinal < gap:
            distance = gap - 1 - ordinal
            score = w_before * log1p(distance)
        else:
            distance = ordinal - gap
            score = w_after * log1p(distance) + w_is_after
        if distance == 0:
            score += w_adjacent
        if sections[ordinal] == section:
            score += w_section
        score += w_gallery * value
        if (part := opening(ordinal)) is not None:
            score += w_first * part
        if (part := only(ordinal)) is not None:
            score += w_unique * part
        out[ordinal] = score
    if 0 in out:
        out[0] += w_lead + (w_lead_caption if gap == 0 else 0.0)
    return out


@lru_cache(maxsize=8)
def _least_learned_score(min_score: float) -> float:
    """min_score as a learned linear score: sigmoid(scale * s + offset) >= min_score (scale > 0); 0 or
    less keeps every candidate, 1 or more none."""
    if min_score <= 0.0:
        return -math.inf
    if min_score >= 1.0:
        return math.inf
    _, scale, offset = load_model()
    return (math.log(min_score / (1.0 - min_score)) - offset) / scale


def rank_learned(
    body: _Body, scores: dict[int, float], gap: int, options: AlignOptions = DEFAULT_ALIGN_OPTIONS
) -> list[Related]:
    """The top-k candidates by learned score, each scored by its calibrated probability of being a
    paragraph the caption illustrates; below ``min_score`` left out. Ties: nearer, then earlier."""
    if not scores:
        return []
    _, scale, offset = load_model()
    least = _least_learned_score(options.min_score)
    if 0 < options.top_k < len(scores) > RANK_SHORTLIST:  # no need for a tuple per candidate
        least = max(least, sorted(scores.values(), reverse=True)[options.top_k - 1])
    ranked = [
        (-value, gap - 1 - o if o < gap else o - gap, o) for o, value in scores.items() if value >= least
    ]
    ranked.sort()
    return [
        Related(body.indices[o], round(_probability(scale * s - offset), 6), body.texts[o])
        for s, _, o in ranked[: options.top_k]
    ]


def _probability(logit: float) -> float:
    """1 / (1 + e^logit): the calibrated score of a candidate whose negated, scaled score is ``logit``; 0
    where e^logit overflows (a candidate far below every threshold but 0 keeps)."""
    try:
        return 1.0 / (1.0 + math.exp(logit))
    except OverflowError:
        return 0.0


def learned_related(
    body: _Body,
    members: list[tuple[Block, int, int]],
    parts: list[Parts],
    gap: int,
    options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
) -> list[list[Related]]:
    """The related paragraphs of every caption of one gallery by the learned ranker: ``rank_learned`` of
    ``learned_scores`` with the ``gallery_evidence`` (the definition); compiled in one call, which leaves
    to this code whatever Python would raise on or meet a NaN in (it answers None then)."""
    if _speedups is not None:
        weights, scale, offset = load_model()
        least = _least_learned_score(options.min_score)
        found = _speedups.learned_related(
            parts, members, body.sections, body.indices, body.texts, gap, weights, scale, offset, least,
            options.top_k, options.score_half, Related,
        )  # fmt: skip
        if found is not None:
            return found
    shared = gallery_evidence(parts)
    return [
        rank_learned(body, learned_scores(body, *own, near, gap, section, options), gap, options)
        for (_, _, section), own, near in zip(members, parts, shared, strict=True)
    ]


def related_paragraphs(
    body: _Body, block: Block, gap: int, options: AlignOptions = DEFAULT_ALIGN_OPTIONS
) -> list[Related]:
    """The top-k body paragraphs one caption describes on its own (no gallery), best first."""
    section = body.sections[gap] if gap < len(body.sections) else -1
    return rank(body, evidence(body, block, options), gap, section, options)


def smooth_gallery(scores: list[dict[int, float]], blend: float) -> list[dict[int, float]]:
    """Blend each caption's evidence with its gallery's mean: captions of one gallery tend to
    illustrate one passage. Captions without evidence of their own stay without."""
    members = [s for s in scores if s]
    if blend <= 0 or len(members) < 2:
        return scores
    mean: dict[int, float] = {}
    for member in members:
        for ordinal, value in member.items():
            mean[ordinal] = mean.get(ordinal, 0.0) + value / len(members)
    keep = 1.0 - blend
    return [
        {o: keep * s.get(o, 0.0) + blend * value for o, value in mean.items()} if s else s for s in scores
    ]


def matching_text(block: Block) -> tuple[str, str]:
    """The caption's words worth matching, without its photo credit: (label prefix, caption text).

    The label prefix ("Devastation:", "Product name:") is kept apart: it can be a mood word or the subject.
    """
    text = block.text
    if block.credit and (at := text.rfind(block.credit)) >= 0:
        # The credit closes the caption: cut that one ("A rocket on the Porthaven launchpad. Porthaven" keeps
        # its first "Porthaven").
        text = f"{text[:at]} {text[at + len(block.credit) :]}"
    text = text.strip()
    lowered = text.lower() if _speedups is None else _speedups.lower(text)  # the same string, sooner
    for hint in CREDIT_HINTS:
        if hint in lowered:  # the patterns are slow: run where they can match (a bracket, a colon, "by")
            if ("(" in text or "[" in text) and (")" in text or "]" in text):
                text = _strip_bracket_credits(text)
            if ":" in text or "by" in text:
                text = _strip_marked_credit(text)
            break
    if "copyright" in lowered or "©" in text:
        text = COPYRIGHT_TAIL.sub("", text)
    if _may_end_in_credit(text):
        text = _strip_credit_tail(text)
    label = ""
    if block.caption_label and text.startswith(block.caption_label):
        label, text = block.caption_label, text[len(block.caption_label) :].lstrip(" :")
    elif ":" in text:  # a label prefix ends with a colon
        match = LABEL_PREFIX.match(text)
        if match:
            label, text = match.group().rstrip(" :"), text[match.end() :]
    return label, text


def _strip_bracket_credits(text: str) -> str:
    """``CREDIT_BRACKET.sub("", text)``, sooner: every match opens with the spaces before a bracket, so
    the text before the first bracket's spaces is not searched (the regex tries every space of it)."""
    opening = min(i for i in (text.find("("), text.find("["), len(text)) if i >= 0)
    start = len(text[:opening].rstrip())
    return text[:start] + CREDIT_BRACKET.sub("", text[start:]) if start else CREDIT_BRACKET.sub("", text)


def _strip_marked_credit(text: str) -> str:
    """``CREDIT_MARKED.sub("", text)``, sooner: its one match (it ends the text) holds no ``.!?`` unless
    it is the bracketed one, which holds one closing bracket, the text's last character but spaces; so
    the search starts after the last of those before it (a word boundary still sees the character before)."""
    start = max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1
    end = len(text.rstrip())
    if end and text[end - 1] in ")]":
        start = min(start, max(text.rfind(")", 0, end - 1), text.rfind("]", 0, end - 1)) + 1)
    match = CREDIT_MARKED.search(text, start)
    if match is None or labels_a_sentence(match.group()):  # "Image: <the caption>" is no credit
        return text
    return text[: match.start()] + text[match.end() :]


def _strip_credit_tail(text: str) -> str:
    r"""``CREDIT_TAIL.sub(r"\g<stop>", text)``, sooner: its one match (it ends the text) spans at most nine
    whitespace tokens (the stop's and eight words, each a whole token), so only those are searched."""
    words = text.rsplit(None, 9)
    match = CREDIT_TAIL.search(text, len(words[0]) if len(words) == 10 else 0)
    return text[: match.start()] + match.group("stop") + text[match.end() :] if match else text


def _may_end_in_credit(text: str) -> bool:
    """Cheap necessary condition of CREDIT_TAIL (slow to run on every caption): its last word is a whole
    whitespace token, capitalised or one of the joining words."""
    return last_word_capitalised_or(text, CREDIT_TAIL_JOINERS)


def context_window(title: str | None, body: _Body, gap: int, budget: int) -> str:
    """Title, lead paragraph, then paragraphs alternating before/after the caption, in document order.

    The NYTimes800k recipe: whitespace tokens up to ``budget``; the paragraph that overflows is cut.
    The paragraphs taken are the lead and one run around the caption, so the window is made of a few
    slices of the joined body, not of one piece per paragraph.
    """
    pieces: list[str] = []
    left = budget
    if title and left > 0:
        words = title.split()
        pieces.append(" ".join(words[:left]) if len(words) > left else title)
        left -= min(len(words), left)
    count = len(body.texts)
    if left <= 0 or not count:
        return "\n\n".join(pieces)
    if not body.joined_starts:
        body.prepare_windows()
    if body.tokens < left:  # the whole body fits, wherever the caption is
        pieces.append(body.joined)
        return "\n\n".join(pieces)
    if _speedups is not None:
        pieces += _speedups.window_pieces(
            body.texts, body.lengths, body.joined, body.joined_starts, gap, left
        )
        return "\n\n".join(pieces)
    lengths, texts = body.lengths, body.texts
    cut, cut_text = -1, ""  # the paragraph that overflows the budget (the last one taken), cut to fit
    size = lengths[0]
    if size > left:
        cut, cut_text, left = 0, " ".join(texts[0].split()[:left]), 0
    else:
        left -= size
    # The lead is taken first, then the run [low, high) around the caption grows a paragraph at a time.
    before, after = gap - 1, gap
    low = high = gap
    turn_before = True
    while left > 0 and (before >= 0 or after < count):
        if (turn_before and before >= 0) or after >= count:
            ordinal = low = before
            before -= 1
        else:
            ordinal = after
            high = after = after + 1
        turn_before = not turn_before
        if ordinal == 0:
            continue  # the lead is in already
        size = lengths[ordinal]
        if size > left:
            cut, cut_text, left = ordinal, " ".join(texts[ordinal].split()[:left]), 0
        else:
            left -= size
    if low >= high:
        runs = [(0, 1)]
    elif low <= 1:
        runs = [(0, high)]
    else:
        runs = [(0, 1), (low, high)]
    joined, starts = body.joined, body.joined_starts
    for first, last in runs:
        if first <= cut < last:
            if first < cut:
                pieces.append(joined[starts[first] : starts[cut] - 2])
            pieces.append(cut_text)
            if cut + 1 < last:
                pieces.append(joined[starts[cut + 1] : starts[last] - 2])
        else:
            pieces.append(joined[starts[first] : starts[last] - 2])
    return "\n\n".join(pieces)


def _off_story(body: _Body) -> set[int]:
    """Block indices of the paragraphs that point away from the story (links, calls to action)."""
    found = set()
    starts = body.starts
    for match in OFF_STORY_LEAD.finditer(body.hay):
        ordinal = bisect_left(starts, match.start() + 1)
        if ordinal < len(starts) and starts[ordinal] == match.start() + 1:  # a paragraph's opening
            found.add(body.indices[ordinal])
    return found


def _without(related: list[Related], off_story: set[int], top_k: int) -> list[Related]:
    """The top-k related paragraphs that do not point away from the story."""
    return [found for found in related if found.block_index not in off_story][:top_k]


def _galleries(body: _Body) -> list[list[tuple[Block, int, int]]]:
    """The article's captions (block, gap, section) grouped into galleries: captions with no paragraph
    between them (the same gap) are one gallery."""
    galleries: list[list[tuple[Block, int, int]]] = []
    gap = -1
    for caption in body.captions:
        if caption[1] != gap:
            gap = caption[1]
            galleries.append([])
        galleries[-1].append(caption)
    return galleries


def _visible_words(article: Article) -> list[Block]:
    """The article's blocks, or a copy of the list where the blocks with ``INVISIBLE_IN_WORDS`` are
    copies without them (a few ``str.find`` per article: most have none)."""
    text = article.text
    if text.isascii():
        return article.blocks
    marks = [mark for mark in INVISIBLE_IN_WORDS if mark in text]
    if not marks or not article.blocks:
        return article.blocks
    blocks = list(article.blocks)
    starts = [block.start for block in blocks]
    marked: set[int] = set()
    for mark in marks:
        at = text.find(mark)
        while at >= 0:
            i = max(bisect_right(starts, at) - 1, 0)  # (a mark before the first block: block 0)
            marked.add(i)
            # The rest of that block is done: go on from the next block's start.
            at = text.find(mark, blocks[i + 1].start) if i + 1 < len(blocks) else -1
    for i in marked:
        cleaned = blocks[i].text
        for mark in marks:
            cleaned = cleaned.replace(mark, "")
        if cleaned != blocks[i].text:
            blocks[i] = replace(blocks[i], text=cleaned)
    return blocks


def align(article: Article | str | bytes, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> list[Caption]:
    """Caption records for every caption block of the article, in block order. Pure.

    ``article`` is a parsed ``Article``, or an article's text (str or bytes), which is parsed first with
    the default options (``parse_article``): ``align(open("story.txt").read())`` in a notebook."""
    if isinstance(article, (str, bytes)):
        from .parse import parse_article  # (parse imports the classifier, which align does not need)

        article = parse_article(article)
    blocks = article.blocks
    matched = _visible_words(article)
    body = _Body.of(matched)
    if not body.captions:
        return []
    # Matched without invisible characters, the records and windows keep them: the original of each copy.
    originals: dict[int, Block] = {}
    if matched is not blocks:
        originals = {
            id(copy): block for copy, block in zip(matched, blocks, strict=True) if copy is not block
        }
        body.texts = [block.text for block in blocks if block.label == "body"]
    learned = options.ranker == "learned"
    title = article.title
    if title is None:
        title = next((b.text for b in blocks if b.label == "title"), None)
    article_id = article.article_id
    last = max(len(blocks) - 1, 1)
    k = options.neighbours
    indices = body.indices
    headings = body.headings
    section_texts: dict[int, str | None] = {}  # by number of subheadings before
    captions: list[Caption] = []
    queries = [query(text, label) for label, text in map(matching_text, (c[0] for c in body.captions))]
    if indices:
        body.look_up(*(found.terms for found in queries))
    off_story = _off_story(body)
    ranking = replace(options, top_k=options.top_k + len(off_story)) if off_story else options
    number = 0
    for gallery_id, members in enumerate(_galleries(body)):
        gap = members[0][1]
        window = context_window(title, body, gap, options.window_tokens)
        before = indices[max(gap - k, 0) : gap] if k > 0 else []
        after = indices[gap : gap + k] if k > 0 else []
        parts = [query_evidence(body, found, options) for found in queries[number : number + len(members)]]
        number += len(members)
        if learned:
            related = learned_related(body, members, parts, gap, ranking)
        else:
            scores = [{o: v + own[2].get(o, 0.0) for o, v in own[1].items()} for own in parts]
            smoothed = smooth_gallery(scores, options.gallery_blend)
            related = [
                rank(body, values, gap, section, ranking)
                for (_, _, section), values in zip(members, smoothed, strict=True)
            ]
        if off_story:  # ranked with room for them, then left out
            related = [_without(found, off_story, options.top_k) for found in related]
        for (block, _, section), found in zip(members, related, strict=True):
            block = originals.get(id(block), block)
            if section and section not in section_texts:
                first = headings[section - 1][1]
                end = headings[section][1] if section < len(headings) else len(indices)
                section_texts[section] = "\n\n".join(body.texts[first:end]) or None
            captions.append(
                Caption(
                    caption_id=stable_hash(article_id, str(block.start), str(block.end), block.text),
                    article_id=article_id,
                    media_type=block.media_type or ("video" if block.label == "video_caption" else "photo"),
                    caption=block.text,
                    caption_label=block.caption_label,
                    credit=block.credit,
                    gallery_id=gallery_id,
                    block_index=block.index,
                    char_start=block.start,
                    char_end=block.end,
                    position=block.index / last,
                    section_index=headings[section - 1][0] if section else None,
                    section=section_texts[section] if section else None,
                    context_before=before.copy(),
                    context_after=after.copy(),
                    context_window=window,
                    related=found,
                    score=block.score,
                    cues=block.cues,
                )
            )
    return captions
