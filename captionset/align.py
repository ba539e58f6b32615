"""Aligning: give every caption its context (position, neighbours, sections, a window, related paragraphs).

One pure pass per article. The related paragraphs are ranked by what a reader uses to match a picture
to the story: the caption's rare words (BM25 with IDF computed inside the article), its names and
numbers (an entity overlap), and nearness (a mild proximity prior that only reweights real matches).
Captions whose words appear in no paragraph get no related paragraph rather than a forced match.

Speed matters (alignment may add at most a fraction of parse time), so body paragraphs are never
tokenised: the caption's few terms are looked up with ``str.find`` in the lower-cased body text and
their hits are mapped to paragraphs by offset.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from .ids import stable_hash
from .model import Article, Block, Caption, Related


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
    #: Extra weight of names and numbers the paragraph shares, on top of their BM25 part (so they count double).
    entity_bonus: float = 1.0
    #: Strength of the proximity prior: evidence (in IDF units) lost per log of paragraph distance.
    prior_strength: float = 1.0
    #: Evidence (in IDF units) that scores 0.5: a paragraph sharing one or two rare words.
    score_half: float = 4.0


DEFAULT_ALIGN_OPTIONS = AlignOptions()

# Weight of terms that only occur after the caption's first sentence (background, not the picture).
BACKGROUND_WEIGHT = 0.5
# BM25 constants (the usual Robertson values).
BM25_K1 = 1.2
BM25_B = 0.75

# A label prefix the page put before the caption ("Devastation: This is ..."); short, capitalised.
LABEL_PREFIX = re.compile(r"^\s*[A-Z][\w'’&.-]*(?:\s+[\w'’&.-]+){0,3}\s*:\s+(?=\S)")
# A credit in brackets or after a credit word, closing the caption ("(Picture: PA)", "Credit: Getty").
CREDIT_MARKED = re.compile(
    r"(?:[\(\[]\s*(?i:picture|pictures|image|images|photo|photos|credit|source|pic|file)\s*:[^\)\]]*[\)\]]"
    r"|\b(?i:credit|photo|photograph|picture|image)s?\s*(?::|\bby\b)[^.!?]*"
    r"|\bPhoto\s+by\b[^.!?]*)\s*$"
)
# A credit without a marker: a short run of capitalised words after the caption's last full stop
# ("... launch site. Etlaq", "... Duqm. Tara Atkinson for Rest of World").
CREDIT_TAIL = re.compile(
    r"(?P<stop>[.!?][\"'’”)]?)\s+[A-Z][\w.'’&/-]*(?:\s+(?:[A-Z][\w.'’&/-]*|of|for|the|via|and|/|-)){0,7}\s*$"
)
# The end of a caption's first sentence (a full stop before a space and a capital or the end).
SENTENCE_END = re.compile(r"[.!?][\"'’”)]?\s+(?=[A-Z])")
# A word of the caption (letters and digits; apostrophes end a word, as in the body lookup).
WORD = re.compile(r"[^\W_]+")
# A capitalised word or an acronym: candidate names and places.
CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][^\W_]*")
# Digits grouped by thousands separators, so "150,000" is one number.
GROUPED_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+")
# The rest of a word after a found term: which suffix the hit carries.
WORD_TAIL = re.compile(r"[^\W_]*")

#: Inflection suffixes a term may carry in the body and still count as the same word.
SUFFIXES = frozenset({"", "s", "es", "e", "ed", "d", "ing", "ings", "y", "ies", "ied", "er", "ers", "ren"})
#: Suffixes after a place name ending in "a": its people ("Russia" finds "Russian", "Syrians").
DEMONYM_SUFFIXES = frozenset({"n", "ns"})
#: Plurals that suffixes do not reach ("children" is found from "child" + "ren").
IRREGULAR = {"men": "man", "women": "woman", "children": "child"}
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


@dataclass(slots=True)
class _Body:
    """The body paragraphs of one article, prepared once: lower-cased text, offsets, lengths."""

    indices: list[int]
    texts: list[str]
    hay: str
    starts: list[int]
    lengths: list[int]
    #: BM25 length normalisation of every paragraph: k1 * (1 - b + b * length / average length).
    norms: list[float]
    #: term -> (IDF, [(paragraph ordinal, BM25 term-frequency part)]), filled as captions ask.
    terms: dict[str, tuple[float, list[tuple[int, float]]]]

    @classmethod
    def of(cls, blocks: list[Block]) -> _Body:
        body = [b for b in blocks if b.label == "body"]
        texts = [b.text for b in body]
        starts: list[int] = []
        pos = 0
        for text in texts:
            starts.append(pos)
            pos += len(text) + 1
        lengths = [len(text.split()) for text in texts]
        avg = (sum(lengths) / len(lengths) if lengths else 1.0) or 1.0
        norms = [BM25_K1 * (1 - BM25_B + BM25_B * n / avg) for n in lengths]
        return cls([b.index for b in body], texts, "\n".join(texts).lower(), starts, lengths, norms, {})

    def _hits(self, term: str, found: dict[int, int]) -> None:
        """Count whole-word (maybe inflected) occurrences of a term per paragraph ordinal into found."""
        hay, size, starts = self.hay, len(term), self.starts
        numeric = term[0].isdigit()
        i = hay.find(term)
        while i != -1:
            if i == 0 or not hay[i - 1].isalnum():
                tail = WORD_TAIL.match(hay, i + size).group()
                if (
                    tail == ""
                    or (tail in SUFFIXES and (not numeric or tail == "s"))
                    or (tail in DEMONYM_SUFFIXES and term[-1] == "a")
                ):
                    ordinal = bisect_right(starts, i) - 1
                    found[ordinal] = found.get(ordinal, 0) + 1
            i = hay.find(term, i + size)

    def term(self, term: str) -> tuple[float, list[tuple[int, float]]]:
        """IDF of a term within the article and its BM25 term-frequency part in each paragraph with it."""
        cached = self.terms.get(term)
        if cached is not None:
            return cached
        found: dict[int, int] = {}
        for form in _number_forms(term):
            self._hits(form, found)
        count, norms = len(self.indices), self.norms
        idf = math.log(1.0 + (count - len(found) + 0.5) / (len(found) + 0.5))
        parts = [(o, tf * (BM25_K1 + 1) / (tf + norms[o])) for o, tf in sorted(found.items())]
        self.terms[term] = cached = (idf, parts)
        return cached


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light stem (plural, -ed, -ing, final e) so that a caption's "bombs" finds the body's "bombing"."""
    if len(word) <= 3 or word[0].isdigit():
        return IRREGULAR.get(word, word)
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith("ian") and len(word) > 5:
        return word[:-1]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3]
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return word[:-2]
    if word.endswith("ers") and len(word) > 6:
        return word[:-3]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("ing") and len(word) > 5:
        return word[:-3]
    if word.endswith("ed") and len(word) > 4:
        return word[:-2]
    if word.endswith(("e", "y")) and len(word) > 4:
        return word[:-1]
    return word


def matching_text(block: Block) -> tuple[str, str]:
    """The caption's words worth matching, without its photo credit: (label prefix, caption text).

    The label prefix ("Devastation:", "Lakeland:") is kept apart: it can be a mood word or the subject.
    """
    text = block.text
    if block.credit and block.credit in text:
        text = text.replace(block.credit, " ")
    text = CREDIT_MARKED.sub("", text.strip())
    text = CREDIT_TAIL.sub(r"\g<stop>", text)
    label = ""
    if block.caption_label and text.startswith(block.caption_label):
        label, text = block.caption_label, text[len(block.caption_label) :].lstrip(" :")
    else:
        match = LABEL_PREFIX.match(text)
        if match:
            label, text = match.group().rstrip(" :"), text[match.end() :]
    return label, text


def query_terms(text: str, label: str = "") -> tuple[dict[str, float], set[str]]:
    """Search terms of a caption text with their weights, and the subset that are names or numbers.

    A news caption's first sentence describes the picture; later sentences add background (agency
    captions repeat the story's context), so their terms count half, as do the label prefix's words.
    """
    grouped = [m.replace(",", "") for m in GROUPED_NUMBER.findall(text)]
    text = GROUPED_NUMBER.sub(" ", text)
    first_end = SENTENCE_END.search(text)
    cut = first_end.end() if first_end else len(text)
    terms: dict[str, float] = {}
    for match in WORD.finditer(text.lower()):
        word = match.group()
        if len(word) < 2 or word in STOPWORDS:
            continue
        term = stem(word)
        weight = 1.0 if match.start() < cut else BACKGROUND_WEIGHT
        if terms.get(term, 0.0) < weight:
            terms[term] = weight
    entities = {t for t in terms if t[0].isdigit()}
    for match in CAPITALISED.finditer(text):
        word = match.group().lower()
        # The caption's first word is capitalised by position, not because it is a name.
        if match.start() > 0 and word not in STOPWORDS and len(word) > 1:
            entities.add(stem(word))
    for number in grouped:
        terms.setdefault(number, 1.0)
        entities.add(number)
    for word in WORD.findall(label.lower()):
        if len(word) > 1 and word not in STOPWORDS:
            terms.setdefault(stem(word), BACKGROUND_WEIGHT)
    return terms, entities & terms.keys()


def _number_forms(term: str) -> list[str]:
    """A number as the body may write it: "150000" and "150,000"."""
    if term.isdigit() and len(term) > 3:
        return [term, f"{int(term):,}"]
    return [term]


def related_paragraphs(
    body: _Body, block: Block, gap: int, options: AlignOptions = DEFAULT_ALIGN_OPTIONS
) -> list[Related]:
    """The top-k body paragraphs the caption describes, best first; empty when none shares its words.

    ``gap`` is the ordinal of the first body paragraph after the caption (the caption sits before it).
    """
    count = len(body.indices)
    if not count:
        return []
    label, text = matching_text(block)
    terms, entities = query_terms(text, label)
    if not terms:
        return []
    lexical: dict[int, float] = {}
    named: dict[int, float] = {}
    total_idf = 0.0
    for term, term_weight in terms.items():
        idf, parts = body.term(term)
        idf *= term_weight
        total_idf += idf
        for ordinal, part in parts:
            lexical[ordinal] = lexical.get(ordinal, 0.0) + idf * part
        if term in entities:
            for ordinal, _ in parts:
                named[ordinal] = named.get(ordinal, 0.0) + idf
    if total_idf <= 0:
        return []
    least = options.min_match * total_idf
    scored: list[tuple[float, int, int]] = []
    for ordinal, evidence in lexical.items():
        if evidence < least:
            continue
        evidence += options.entity_bonus * named.get(ordinal, 0.0)
        distance = gap - 1 - ordinal if ordinal < gap else ordinal - gap
        # Log-linear: a log prior on distance added to the (log-likelihood-like) BM25 evidence.
        evidence -= options.prior_strength * math.log1p(distance)
        if evidence <= 0:
            continue
        score = evidence / (evidence + options.score_half)
        if score >= options.min_score:
            scored.append((-score, distance, ordinal))
    scored.sort()
    return [Related(body.indices[o], round(-s, 6), body.texts[o]) for s, _, o in scored[: options.top_k]]


def context_window(title: str | None, body: _Body, gap: int, budget: int) -> str:
    """Title, lead paragraph, then paragraphs alternating before/after the caption, in document order.

    The NYTimes800k recipe: whitespace tokens up to ``budget``; the paragraph that overflows is cut.
    """
    pieces: dict[int, str] = {}
    left = budget
    if title and left > 0:
        words = title.split()
        pieces[-1] = " ".join(words[:left]) if len(words) > left else title
        left -= min(len(words), left)
    count = len(body.indices)
    before, after = gap - 1, gap
    ordinal = 0  # the lead paragraph comes first, then alternately before and after the caption
    turn_before = True
    while left > 0 and count:
        if ordinal not in pieces:
            size = body.lengths[ordinal]
            text = body.texts[ordinal]
            if size > left:
                text = " ".join(text.split()[:left])
                size = left
            pieces[ordinal] = text
            left -= size
        if before < 0 and after >= count:
            break
        if (turn_before and before >= 0) or after >= count:
            ordinal, before = before, before - 1
        else:
            ordinal, after = after, after + 1
        turn_before = not turn_before
    return "\n\n".join(pieces[k] for k in sorted(pieces))


def align(article: Article, options: AlignOptions = DEFAULT_ALIGN_OPTIONS) -> list[Caption]:
    """Caption records for every caption block of the article, in block order. Pure."""
    blocks = article.blocks
    if not any(b.is_caption for b in blocks):
        return []
    body = _Body.of(blocks)
    title = article.title
    if title is None:
        title = next((b.text for b in blocks if b.label == "title"), None)
    last = max(len(blocks) - 1, 1)
    k = options.neighbours
    captions: list[Caption] = []
    gallery = -1
    in_gallery = False
    section_index: int | None = None
    section: str | None = None
    windows: dict[int, str] = {}  # captions in one gap between paragraphs share their window
    gap = 0  # ordinal of the next body paragraph
    for position, block in enumerate(blocks):
        if block.label == "body":
            gap += 1
            in_gallery = False
            continue
        if block.label == "subheading":
            section_index = block.index
            section = _section_text(blocks, position)
            continue
        if not block.is_caption:
            continue
        if not in_gallery:
            gallery += 1
            in_gallery = True
        captions.append(
            Caption(
                caption_id=stable_hash(article.article_id, str(block.start), str(block.end), block.text),
                article_id=article.article_id,
                media_type=block.media_type or ("video" if block.label == "video_caption" else "photo"),
                caption=block.text,
                caption_label=block.caption_label,
                credit=block.credit,
                gallery_id=gallery,
                block_index=block.index,
                char_start=block.start,
                char_end=block.end,
                position=block.index / last,
                section_index=section_index,
                section=section,
                context_before=body.indices[max(gap - k, 0) : gap] if k > 0 else [],
                context_after=body.indices[gap : gap + k] if k > 0 else [],
                context_window=windows.get(gap)
                or windows.setdefault(gap, context_window(title, body, gap, options.window_tokens)),
                related=related_paragraphs(body, block, gap, options),
                score=block.score,
                cues=block.cues,
            )
        )
    return captions


def _section_text(blocks: list[Block], heading: int) -> str | None:
    """Body paragraphs from the subheading at list position ``heading`` to the next one, joined."""
    texts: list[str] = []
    for block in blocks[heading + 1 :]:
        if block.label == "subheading":
            break
        if block.label == "body":
            texts.append(block.text)
    return "\n\n".join(texts) or None
