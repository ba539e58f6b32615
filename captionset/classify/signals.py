"""Named, compiled patterns that a careful reader uses to tell captions from story text.

Each pattern is generic (it names kinds of text, never strings of one article). The patterns that look
at how a block ends run on its last ``TAIL`` characters only, which keeps classifying fast.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: How many closing characters of a block the end-anchored patterns look at.
TAIL = 160

# Picture agencies and sources that credit lines name ("Getty Images", "AP Photo", "Reuters", "iStock").
AGENCY = (
    r"(?i:getty(?:\s?images)?|reuters|ap(?:\s?photo)?|associated\s+press|afp|pa(?:\s(?:wire|media|images))?|"
    r"epa(?:-efe)?|efe|shutterstock|alamy|rex(?:\s?features|/shutterstock)?|splash(?:\s?news)?|bloomberg|"
    r"zuma(?:\s?press)?|xinhua|anadolu|sipa|istock(?:photo)?|unsplash|pixabay|pexels|wikimedia(?:\s?commons)?|"
    r"flickr|nasa|handout|supplied|pool|backgrid|mega|wenn|ani|pti|kyodo|yonhap|canadian\s+press|"
    r"press\s+association|usa\s?today(?:\s?sports)?|imagn|tass|sputnik|dpa|abaca|bbc|cnn|nbc|cbs|abc|"
    r"instagram|twitter|x|facebook|youtube|tiktok|file|courtesy)"
)
# A word that introduces a credit ("Credit:", "Photo:", "Image credit:", "Picture:", "Source:").
CREDIT_WORD = r"(?i:image\s+credits?|photo\s+credits?|credits?|photo(?:graph)?s?|pictures?|pics?|images?|illustrations?|source|video|footage|file)"
# A credit in brackets closing a caption: "(Image: Getty)", "(Picture: PA)", "(AP Photo/Name)", "[File: Reuters]".
# (A name/agency pair starts with a letter: "(17/18–19/20)" is a range of seasons.)
BRACKET_CREDIT = re.compile(
    r"[\(\[](?P<credit>(?:" + CREDIT_WORD + r")\s*:[^\(\)\[\]]{1,90}|"
    r"[^\(\)\[\]]{0,60}?\b" + AGENCY + r"\b[^\(\)\[\]]{0,60}|"
    r"(?:photo|video|image|picture)s?\s+(?:by|courtesy\s+of)\s[^\(\)\[\]]{1,80}|"
    r"[^\W\d_][^\(\)\[\]\s]{0,39}/[^\(\)\[\]]{1,80})[\)\]]\W{0,3}$",
    re.I,
)
# A bracketed capitalised name closing a caption: "(Carlos Saucedo)", "(Unsplash)".
BRACKET_NAME = re.compile(r"\((?P<credit>[A-Z][\w.'’&-]*(?: [A-Z][\w.'’&-]*){0,4})\)\W{0,2}$")
# Credits introduced by a word at the end: "Credit: Getty", "Photo by Kevin / AP", "Image: Vjeran Pavic".
TRAILING_CREDIT = re.compile(
    r"(?:^|(?<=[.,;|—–(-])\s*|\s(?=[A-Z]))(?P<credit>(?:" + CREDIT_WORD + r")\s*(?::|\b(?i:by)\b|\|)\s*"
    r"[^:!?]{1,90}?|(?i:courtesy)(?:\s+of)?\s+[^.!?]{1,80}?|(?:—|–|-)\s*" + AGENCY + r"\s+pic)\s*$"
)
# A photographer / agency pair closing a caption: "Stefan Rousseau/via Reuters", "PAUL SANCYA / AP",
# "Jane Roe/Getty Images News/Getty Images", "Sam Okafor/Getty Images Europe".
SLASH_CREDIT = re.compile(
    r"(?:^|[\s.,;])(?P<credit>(?:[A-Z][\w.'’-]*\s?){1,3}\s?/\s?(?:via\s+)?[\w.'’ -]{0,30}?\b"
    + AGENCY
    + r"\b(?:[\w /.'’-]{0,40})?)\s*$"
)
# An agency name alone closing a caption after its last sentence: "... in 2017. Getty Images".
BARE_AGENCY = re.compile(r"(?:[.!?]\s+|\s)(?P<credit>(?=[A-Z])" + AGENCY + r"(?:\s+(?i:images))?)\s*$")
# A short capitalised phrase after the last full stop: "... from the air. ARCHIVE/AGENCY" (a credit line).
TAIL_PHRASE = re.compile(
    r"[.!?][\"'’”)]?\s+(?P<credit>[A-Z][\w.'’&/-]*(?:\s+(?:[A-Z][\w.'’&/-]*|of|for|the|via|and|/)){0,6})\s*$"
)
# Words of a credit-only block ("Photo: AP", "Getty Images", "(Image: Getty)").
CREDIT_ONLY = re.compile(
    r"^[\(\[]?\s*(?:"
    + CREDIT_WORD
    + r"\s*(?i:by)?\s*:?\s*)?[^.!?]{0,60}?\b(?=[A-Z])"
    + AGENCY
    + r"\b(?:\s*[/|,][^.!?]{0,40})?\s*[\)\]]?\.?$"
)
# "Devastation: This is the moment ..." - a short capitalised label before a colon opens many captions.
LABEL_PREFIX = re.compile(r"^(?P<label>[A-Z0-9](?:[\w'’&\-]|\.(?! )| (?! )){0,38}?[\w'’.]):\s+(?=\S)")
# Words that point at what is shown: "(pictured)", "left", "above", "seen here".
# (Editing it or VIDEO_CUE: every match must hold one of _PICTURED_STEMS / _VIDEO_STEMS below, or end in a
# duration; tested.)
PICTURED_CUE = re.compile(
    r"\b(pictured|picture above|from left|left|right|centre|center|above|below|top|bottom|inset|"
    r"seen here|in this (?:photo|image|picture|file photo)|file photo|this photo|this image)\b",
    re.I,
)
# A bracketed position mark points at people in a picture ("The mayor (left) greets her deputy (right)",
# "(pictured)"): a heading or a loose line never has one (story paragraphs may: the classifier asks only of
# blocks the model reads as neither body nor caption).
POSITION_MARK = re.compile(
    r"\((?:pictured|left|right|cent(?:re|er)|above|below|inset|(?:second|third|far|top|bottom|back|front) "
    r"(?:left|right|row)|from left|clockwise from (?:top )?left|l|r)\)",
    re.I,
)
# Video captions and player titles speak of footage, clips and "the moment".
VIDEO_CUE = re.compile(
    r"\b(?:videos?(?! (?:link|call|conference|chat|game|games|feed)s?\b)|footage|clips?|watch|filmed|the moment"
    r"|livestream|media playback|newscast)\b|\d{1,2}:\d{2}\s*$",
    re.I,
)
# A caption whose medium is a video names it or its player: "Video: ...", "WATCH: ...", a livestream, a player's
# notice or duration. Footage, clips and "the moment" may also be what a still taken from the video shows, and
# pages caption such stills as photos; a crowd that watches something is in a photo too.
VIDEO_NAMED = re.compile(
    r"\b(?:videos?(?! (?:link|call|conference|chat|game|games|feed)s?\b)|livestream|media playback|newscast)\b"
    r"|^\W*watch\b(?! (?:out|over|for)\b)|\d{1,2}:\d{2}\s*$",
    re.I,
)
# What a video player leaves in flattened text on its own line: a "Video" or "Watch" tab, its duration, or its
# notice that it cannot play here. The player's caption follows it.
PLAYER_MARK = re.compile(
    r"\s*(?:video|watch(?: video| now)?|play video|now playing|(?:duration:?\s*)?\d{1,2}:\d{2}(?::\d{2})?"
    r"|media playback is (?:unsupported|not supported)\b[^.]*|your browser does not support\b[^.]*\bvideo\b[^.]*)"
    r"\.?\s*",
    re.I,
)
#: Longest player mark ``PLAYER_MARK`` is tried on (the notices are the long ones).
PLAYER_MARK_MAX_CHARS = 80
# A caption that names its picture as a photo is a photo's, whatever else it says ("I could not film it, so this
# photo will have to do").
PHOTO_CUE = re.compile(
    r"\b(?:this|the above|a file|the file) (?:photo|photograph|picture|image|still)\b", re.I
)
# Closing punctuation of a sentence in running text (quotes and brackets may follow it).
CLOSING_PUNCT = re.compile(r"[.!?…][\"'’”\)\]]*$")
# A byline or date stamp line: "By Jane Doe 03/04/2021 09:15:00", "Published May 7, 2025".
BYLINE = re.compile(
    r"^(?:By\s+[^\n]{2,200}?\s*)?\d{1,2}/\d{1,2}/\d{4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$|^By\s+[A-Z][^\n]{1,100}$"
)
# A date stamp anywhere: "16/02/2016", "2024-04-27".
DATE_STAMP = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b")
# A line that only says how long ago an item was posted ("1 day ago", "Last updated 21 hours ago"): video
# players and link cards leave them, and they are neither captions nor headings. (A clock time, "Updated:
# 9.45pm", is not forced to "other": pages put it in a story paragraph; is_time_stamp only keeps it from
# being a caption.)
# ("(?<!\s)": a match never starts inside a run of white space, so a search does not retry every space of a
# long run, which took seconds on a block of thousands; the results are the same.)
TIME_AGO = re.compile(
    r"(?<!\s)\s*(?:(?:last )?(?:updated|published|posted)\s*(?::\s*)?)?"
    r"(?:\d+|an?|one)\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago\.?\s*",
    re.I,
)
#: Longest block ``TIME_AGO`` is tried on.
TIME_AGO_MAX_CHARS = 40
# An embedded social post, as its embed code reads once flattened: signed "— Jane Roe (@jroe) May 7, 2025"
# (a tweet) or "A post shared by Jane Roe (@jroe) on May 7, 2025 at 9:24am PDT" (Instagram). Page furniture
# quoted from elsewhere: never the story's text, a caption or a heading.
EMBEDDED_POST = re.compile(
    r"[—–-]\s*[^—–\n]{1,80}\(@\w{1,30}\)\s*(?:[A-Z][a-z]+\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})\s*$"
    r"|\bA post shared by [^\n]{1,80}\(@[\w.]{1,30}\) on [A-Z][a-z]+\.? \d{1,2}, \d{4}(?: at [^\n]{1,20})?\s*$"
)
# A month name followed by a day ("May 7", "Nov. 8") or a weekday: captions and datelines often date a scene.
DATE_WORDS = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}\b|"
    r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
# A full date, day and year ("Nov. 19, 2019", "April 14, 2024", "7 May 2025"): wire-style captions date the
# scene they show ("... on Tuesday, March 3, 2022, in Porthaven").
FULL_DATE = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+(?:19|20)\d\d\b|"
    r"\b\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+(?:19|20)\d\d\b"
)
# A named subject and a present-tense verb opening a block, the wire captions' formula ("Sam Okafor scores",
# "Maria Lopez helps", "Jane Roe, chief executive of X, speaks", "Rescuers are seen"): capitalised words, an
# optional aside in brackets or commas, then a verb in -s (not "was" or "has", nor a word in -ss, -us, -is)
# or "is/are seen". A determiner before a lower-case word ("The shares rose") opens a common noun, not a name.
SUBJECT_PRESENT_VERB = re.compile(
    r"(?!(?:The|A|An|This|These|Those|Its|Their|His|Her|Our)\s+[a-z])"
    r"(?:[A-Z][\w'’.&-]*\s+){0,5}[A-Z][\w'’.&-]*(?:\s+\([^()]{1,40}\)|,[^,]{3,80},)?\s+"
    r"(?:(?!(?:was|has|does|this|thus|its|his)\b)[a-z]{2,}(?<!ss)(?<!us)(?<!is)s|"
    r"(?:is|are)\s+(?:seen|pictured|shown|photographed))\b"
)
# A time of day ("9.45pm", "5:50 AM", "10:48 GMT") or a clock reading ("10:48"): with only dates and stamp
# words around it, a line is a time stamp ("Updated: 9.45pm", "Thu, Mar 3, 2022 - 7:15 AM"), page furniture
# that is never a caption.
TIME_OF_DAY = re.compile(
    r"\b\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?m\b\.?|\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:GMT|BST|UTC|CET|[ECMP][SD]?T)\b",
    re.I,
)
CLOCK_TIME = re.compile(TIME_OF_DAY.pattern + r"|\b\d{1,2}:\d{2}(?::\d{2})?\b", re.I)
#: Lower-case words a time stamp may hold besides dates and times ("Last updated at 9.45pm").
STAMP_WORDS = frozenset(("updated", "published", "posted", "last", "first", "on", "at", "am", "pm", "ago"))
#: Longer lines are never time stamps.
STAMP_MAX_WORDS = 8
STAMP_MAX_CHARS = 80
#: Longer blocks are never read as a dated scene (the longest such caption in the corpus has 290 characters).
DATED_SCENE_MAX_CHARS = 400
# Page furniture that is the same on every site: ad slots, share widgets, related-link headings.
BOILERPLATE = re.compile(
    r"^(?:advertisement|popular articles|related articles?|related|read more|more from|share this( article| story)?|"
    r"share|comments?|most read|most popular|trending|sign up|subscribe|you may also like\.{0,3}|"
    r"recommended|story continues below|continue reading|reply|up next|more stories|copy link|email|"
    r"print|follow us|latest news|more on this story|top stories|watch next|related stories|read next|"
    r"scroll to continue)\s*:?$",
    re.I,
)
# The dots and bars between widget labels on one line ("Advertisement · Scroll to continue", "Share | Email").
WIDGET_SEPARATOR = re.compile(r"\s*[·•|]\s*")
# Words of page furniture anywhere in a block: newsletters, cookies, sharing, sign-in prompts.
FURNITURE_WORDS = re.compile(
    r"\b(?:advertisement|newsletter|subscribe|subscription|sign up|sign in|log in|logged in|cookies?|"
    r"privacy policy|terms of (?:service|use)|all rights reserved|copyright|click here|tap here|"
    r"download (?:the|our) app|follow us|share this|read more|most read|continue reading|"
    r"story continues|recommended|sponsored|affiliate|commission|bookmark)\b|©",
    re.I,
)
# Reported speech and attribution: body paragraphs quote and attribute; captions rarely do.
REPORTING = re.compile(
    r"\b(?:said|says|told|according to|added|explained|stated|claimed|wrote|asked|insisted|warned)\b", re.I
)
# Pronouns of the writer or reader: first and second person mark running text or furniture, not captions.
PERSONAL = re.compile(r"\b(?:I|I'm|I’m|we|We|my|My|our|Our|you|You|your|Your)\b")
# Past-tense forms typical of narration ("was", "had", "-ed").
PAST_TENSE = re.compile(r"\b(?:was|were|had|did|said|told)\b|\b\w{3,}ed\b", re.I)
# Present-tense forms typical of captions ("is seen", "walks", "are pictured").
PRESENT_TENSE = re.compile(
    r"\b(?:is|are|stands?|sits?|walks?|looks?|poses?|holds?|waits?|arrives?|gathers?|"
    r"takes?|speaks?|shows?|attends?|leaves?|carr(?:y|ies)|seen)\b"
)
# A web address or handle: embeds, share links and furniture.
URL = re.compile(r"https?://|www\.|\.com\b|@\w")
# A bullet line, as in highlights and lists.
BULLET_LINE = re.compile(r"^\s*[•\-\*·▪●–—]\s+")
# A sentence boundary inside a block: ". The" (used to count sentences).
SENTENCE_BREAK = re.compile(r"[.!?][\"'’”)]?\s+[A-Z\"'‘“]")
# Words that start with a capital (title-case ratio), words in capitals ("BREAKING"), -ed and -ing forms.
CAPITALISED_WORD = re.compile(r"(?<!\S)[\"'‘“(]?[A-Z]")
UPPER_WORD = re.compile(r"\b[A-Z]{2,}\b")
ED_WORD = re.compile(r"\w\w\wed\b")
ING_WORD = re.compile(r"\w\wing\b")
# Any digit (numbers and dates).
DIGIT = re.compile(r"\d")
# Word tokens for overlap between blocks.
WORD = re.compile(r"[a-z0-9]+")
# A label prefix that ends in a credit word ("... Credit:") is a credit, not a label.
CREDIT_TAIL_WORD = re.compile(r"\b" + CREDIT_WORD + r"$")
# A leading "Credit"/"Photo" word left over after matching a credit, stripped from the credit value.
CREDIT_LEAD = re.compile(r"^(?:" + CREDIT_WORD + r")\s*(?::|\bby\b|\|)\s*", re.I)

#: Lower-case words that a credit-only line may hold ("photo by X via AP", "courtesy of the X").
CREDIT_FILLERS = frozenset(
    [
        "by",
        "via",
        "of",
        "for",
        "and",
        "the",
        "photo",
        "photos",
        "image",
        "images",
        "picture",
        "pictures",
        "credit",
        "credits",
        "courtesy",
        "source",
        "file",
    ]
)

# Lower-case words of a would-be credit: a credit names people and agencies ("Jane Roe via Unsplash").
LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*")
#: A value behind a credit word and a colon with this many lower-case words (fillers aside) is a sentence.
SENTENCE_LOWER_WORDS = 4


def labels_a_sentence(text: str) -> bool:
    """Is the text a credit word and a colon before running text ("Image: Ana Lopes has signed a deal to
    coach ..."), i.e. a caption labelled "Image", rather than a credit ("Image: Ana Lopes via Unsplash")?"""
    label = CREDIT_LEAD.match(text)
    if label is None or ":" not in label.group() or text.count(" ", label.end()) < SENTENCE_LOWER_WORDS - 1:
        return False
    lower = [w for w in LOWER_WORD.findall(text, label.end()) if w not in CREDIT_FILLERS]
    return len(lower) >= SENTENCE_LOWER_WORDS


_CREDIT_PATTERNS = (
    ("bracket", BRACKET_CREDIT),
    ("word", TRAILING_CREDIT),
    ("slash", SLASH_CREDIT),
    ("agency", BARE_AGENCY),
    ("bracket_name", BRACKET_NAME),
)


# Every match of TRAILING_CREDIT holds one of these (lower-cased): a credit word, "courtesy" or "pic".
_CREDIT_WORD_STEMS = (
    "credit",
    "photo",
    "pic",
    "image",
    "illustration",
    "source",
    "video",
    "footage",
    "file",
    "courtesy",
)


# Non-ASCII letters that match ASCII letters when case is ignored (İ, ı, ſ and the Kelvin sign).
_FOLDED_LETTERS = "\u0130\u0131\u017f\u212a"


def closes_sentence(text: str) -> bool:
    """Does the block end like a sentence of running text?"""
    return bool(CLOSING_PUNCT.search(text, max(0, len(text) - 8)))


def credit_match(text: str) -> tuple[str, str, int] | None:
    """The credit closing a block as (kind, credit, start offset), or None.

    Kinds: ``bracket`` "(Image: Getty)", ``word`` "Credit: Rex", ``slash`` "Name/AP", ``agency`` "Getty Images",
    ``bracket_name`` "(Carlos Saucedo)".
    """
    offset = max(0, len(text) - TAIL)
    found = _tail_credit(text[offset:])
    return None if found is None else (found[0], found[1], offset + found[2])


@lru_cache(maxsize=1024)
def _tail_credit(tail: str) -> tuple[str, str, int] | None:
    """credit_match of a block's tail (offset in the tail). Cached: the classifier's features and the
    caption fields of the same block ask for it in turn."""
    # Patterns that cannot match are skipped: each needs a literal near the end or a credit word. Ignoring
    # case, only the four _FOLDED_LETTERS of all non-ASCII characters match ASCII letters (and only two of
    # them lower to ASCII): a tail without them holds a credit word only where its lowered text does.
    end = tail[-5:]
    bracket = ")" in end or "]" in end
    lowered = tail.lower()
    worded = any(word in lowered for word in _CREDIT_WORD_STEMS) or (
        not tail.isascii() and any(letter in tail for letter in _FOLDED_LETTERS)
    )
    # An agency name ends in a letter (compared ignoring case, which lets four non-ASCII letters match).
    last = tail.rstrip()[-1:]
    lettered = (last.isascii() and last.isalpha()) or last in _FOLDED_LETTERS
    for kind, pattern in _CREDIT_PATTERNS:
        if (
            (kind == "bracket" and not bracket)
            or (kind == "bracket_name" and ")" not in end)
            or (kind == "slash" and "/" not in tail)
            or (kind == "word" and not worded)
            or (kind == "agency" and not lettered)
        ):
            continue
        match = pattern.search(tail)
        if match:
            credit = match.group("credit").strip(" \t\n\xa0.,;|—–-")
            if kind != "bracket_name" and kind != "agency":
                credit = CREDIT_LEAD.sub("", credit).strip() or credit
            if kind == "word" and labels_a_sentence(match.group("credit")):
                continue  # "Image: <the caption>": the credit word labels the caption
            if credit:
                return kind, credit, match.start("credit")
    return None


def clear_caches() -> None:
    """Forget cached pattern results (benchmarks call it so that no pass profits from an earlier one)."""
    _tail_credit.cache_clear()
    _credit_only.cache_clear()
    _boilerplate.cache_clear()


#: Longer blocks (stripped) are never credit-only.
CREDIT_ONLY_MAX_CHARS = 90


def is_credit_only(text: str) -> bool:
    """A block that is nothing but a photo credit ("(Image: Getty)", "Photo: AP", "Getty Images")."""
    stripped = text.strip()
    if len(stripped) > CREDIT_ONLY_MAX_CHARS:
        return False
    return _credit_only(stripped)


@lru_cache(maxsize=1024)
def _credit_only(stripped: str) -> bool:
    """is_credit_only of a short stripped block. Cached: the features, the rules and the caption fields
    ask it of the same blocks in turn."""
    words = stripped.split()
    if len(words) <= 6 and CREDIT_ONLY.match(stripped):
        # Names and agencies only: no lower-case word beyond the few that credits use.
        return all(not w[0].islower() or w.strip("():[]").lower() in CREDIT_FILLERS for w in words)
    match = credit_match(stripped)
    return bool(match and match[2] <= 2 and match[0] in ("bracket", "word"))


#: The longest label LABEL_PREFIX takes (a first character, up to 38 more and a last one): its colon is
#: among the first LABEL_PREFIX_MAX_CHARS + 1 characters, which label_prefix checks before the pattern.
LABEL_PREFIX_MAX_CHARS = 40


def label_prefix(text: str) -> str | None:
    """The short label before a colon that opens a caption ("Devastation: ..." -> "Devastation")."""
    if text.find(":", 0, LABEL_PREFIX_MAX_CHARS + 1) < 0:
        return None
    match = LABEL_PREFIX.match(text)
    if not match:
        return None
    label = match.group("label")
    if labels_a_sentence(text):  # "Image: <the caption>"
        return label
    if len(label.split()) > 4 or CREDIT_LEAD.match(text) or CREDIT_TAIL_WORD.search(label):
        return None
    return label


# Substrings one of which every PICTURED_CUE / VIDEO_CUE match holds, lower-cased: in text without
# _FOLDED_LETTERS (where ignoring case is str.lower) a block with none of them cannot match, and skips the
# pattern (which tries every position). The duration ("1:45") that VIDEO_CUE and VIDEO_NAMED also take ends
# the block, so its colon is third from the end (``_ends_in_duration``).
_PICTURED_STEMS = (
    "pictur",
    "left",
    "right",
    "cent",
    "above",
    "below",
    "top",
    "bottom",
    "inset",
    "seen here",
    "in this",
    "file photo",
    "this photo",
    "this image",
)
_VIDEO_STEMS = (
    "video",
    "footage",
    "clip",
    "watch",
    "filmed",
    "the moment",
    "livestream",
    "media playback",
    "newscast",
)


def _may_match(text: str, stems: tuple[str, ...]) -> bool:
    """False only when the text's lowered form holds none of the stems (so a pattern they gate cannot
    match), or, for text with one of the _FOLDED_LETTERS (which match ASCII letters when case is ignored
    but do not lower to them), never."""
    if not text.isascii() and any(letter in text for letter in _FOLDED_LETTERS):
        return True
    low = text.lower()
    return any(stem in low for stem in stems)


def pictured_cues(text: str) -> tuple[str, ...]:
    """Position words of a caption ("pictured", "left", "above"), lower-cased, first occurrence order."""
    if not _may_match(text, _PICTURED_STEMS):
        return ()
    return tuple(dict.fromkeys(m.lower() for m in PICTURED_CUE.findall(text)))


def names_a_video(text: str) -> bool:
    """Is this caption a video's: does it name a video or its player (``VIDEO_NAMED``) and not call itself a
    photo? Weaker cues (``has_video_cue``: footage, "the moment") help to find captions, not their medium."""
    return _video_unless_photo(text, VIDEO_NAMED)


def has_video_cue(text: str) -> bool:
    """Does the text speak of a video (footage, clip, "the moment", a player's duration) and not call itself a
    photo? A video link or call is something a photo shows."""
    return _video_unless_photo(text, VIDEO_CUE)


def _ends_in_duration(text: str) -> bool:
    """May the block end in a player's duration ("1:45", "12:30")? Its colon is third from the end."""
    return text.rstrip()[-3:-2] == ":"


def _video_unless_photo(text: str, pattern: re.Pattern[str]) -> bool:
    """The video pattern matches and the text does not call itself a photo (both gated by _VIDEO_STEMS and
    a closing duration, one of which every match of either pattern holds)."""
    if not _may_match(text, _VIDEO_STEMS) and not _ends_in_duration(text):
        return False
    return bool(pattern.search(text)) and not PHOTO_CUE.search(text)


#: Longer blocks are never boilerplate headings (callers may test the length first and skip the call).
BOILERPLATE_MAX_CHARS = 40


def is_boilerplate(text: str) -> bool:
    """A whole block that is a widget heading or furniture label ("Advertisement", "Popular Articles")."""
    return len(text) <= BOILERPLATE_MAX_CHARS and _boilerplate(text)


@lru_cache(maxsize=1024)
def _boilerplate(text: str) -> bool:
    """is_boilerplate of a short block. Cached: the features and the rules ask it of the same blocks."""
    return bool(BOILERPLATE.match(text.strip()))


def _joined_parts(text: str, max_chars: int) -> list[str]:
    """The pieces of a short line joined by dots or bars (``WIDGET_SEPARATOR``), or [] for a longer line or a
    line with fewer than two pieces."""
    if len(text) > max_chars or ("|" not in text and "·" not in text and "•" not in text):
        return []
    parts = [part for part in WIDGET_SEPARATOR.split(text.strip()) if part]
    return parts if len(parts) > 1 else []


def joins_widget_labels(text: str) -> bool:
    """A short line of several furniture labels joined by separators ("Advertisement · Scroll to continue",
    "Share | Email | Print"). A rule of the classifier, not a model feature (the model was trained without it)."""
    parts = _joined_parts(text, BOILERPLATE_MAX_CHARS)
    return bool(parts) and all(BOILERPLATE.match(part) for part in parts)


# Where a share bar sends the page: a line of these names only ("Facebook Twitter Email LinkedIn") is furniture.
SHARE_TARGETS = frozenset(
    ("facebook", "twitter", "x", "email", "e-mail", "linkedin", "reddit", "pinterest", "whatsapp", "telegram",
     "messenger", "tumblr", "flipboard", "print", "copy", "link", "share", "sms", "bluesky", "threads", "mastodon")
)  # fmt: skip
SHARE_PREFIXES = tuple(sorted(SHARE_TARGETS))
# A word of a share bar (a name such as "e-mail" may hold a hyphen).
SHARE_WORD = re.compile(r"[^\W\d_][\w-]*")
# Words between the names of a share bar ("Share on X", "Share this story via Email").
SHARE_FILLERS = frozenset(("on", "via", "to", "this", "article", "story"))
#: Longest share bar looked at, and fewest names it has.
SHARE_BAR_MAX_CHARS = 120
SHARE_BAR_MIN_NAMES = 3


def is_embedded_post(text: str) -> bool:
    """Does the block end with an embedded social post's signature (``EMBEDDED_POST``)? Only the tail is
    searched, and only when it holds the handle's "(@"."""
    start = max(0, len(text) - TAIL)
    return text.find("(@", start) >= 0 and EMBEDDED_POST.search(text, start) is not None


def is_share_bar(text: str) -> bool:
    """A line of share targets only, with or without separators ("Facebook Twitter Email LinkedIn Reddit").
    A rule of the classifier, not a model feature."""
    # The first word rules out almost every line before the pattern runs.
    if len(text) > SHARE_BAR_MAX_CHARS or not text.lstrip(" |·•").lower().startswith(SHARE_PREFIXES):
        return False
    words = SHARE_WORD.findall(text.lower())
    names = sum(word in SHARE_TARGETS for word in words)
    return names >= SHARE_BAR_MIN_NAMES and all(
        word in SHARE_TARGETS or word in SHARE_FILLERS for word in words
    )


#: Words each piece of a row of labels may have ("Business · Updated", "Profile | Jane Roe").
LABEL_ROW_PART_WORDS = 6
#: Longer blocks are never a row of labels.
LABEL_ROW_MAX_CHARS = 120


def is_label_row(text: str) -> bool:
    """Short labels joined by dots or bars ("Business · Updated", "Profile | Jane Roe", "Images: Smile |
    Window"): navigation or page metadata, never a caption. A credit line ("Jane Roe | Getty Images") is left
    to the credit rules."""
    parts = _joined_parts(text, LABEL_ROW_MAX_CHARS)
    if not parts or any(len(part.split()) > LABEL_ROW_PART_WORDS for part in parts):
        return False
    return not is_credit_only(text) and credit_match(text) is None


def is_byline(text: str) -> bool:
    """An author and/or date line ("By Jane Doe 03/04/2021 09:15:00")."""
    return len(text) <= 220 and "\n" not in text and bool(BYLINE.match(text.strip()))


def is_time_stamp(text: str) -> bool:
    """A short line that only dates the page: a clock time, and otherwise dates, capitalised words and stamp
    words ("Updated: 9.45pm", "Thu, Mar 3, 2022 - 7:15 AM"); "Fireworks light up the sky at 9pm" is not."""
    if len(text) > STAMP_MAX_CHARS or len(text.split()) > STAMP_MAX_WORDS or not CLOCK_TIME.search(text):
        return False
    rest = LOWER_WORD.findall(CLOCK_TIME.sub(" ", text))
    if not all(word in STAMP_WORDS for word in rest):
        return False
    # A bare "1:30" may be a video's duration ("Budget Speech 2:45"): a stamp also has a date or a stamp word.
    return bool(rest or DATE_WORDS.search(text) or TIME_OF_DAY.search(text))


def is_dated_scene(text: str) -> bool:
    """A block of one sentence (an abbreviation may look like a second) in the wire captions' formula: a named
    subject doing something now, dated with a full date ("Maria Lopez helps her son with his homework April
    14, 2024, in Porthaven, Maine."). Story sentences with a full date report or narrate: they quote,
    attribute, use the past or the first person. (Cheapest checks first: this runs on every short story
    paragraph, and a year's first two digits rule out most of them.)"""
    if len(text) > DATED_SCENE_MAX_CHARS or ("20" not in text and "19" not in text):
        return False
    if SUBJECT_PRESENT_VERB.match(text.lstrip()) is None:
        return False
    if not FULL_DATE.search(text) or len(SENTENCE_BREAK.findall(text)) > 1:
        return False
    if REPORTING.search(text) or PERSONAL.search(text) or URL.search(text):
        return False
    return not any(mark in text for mark in '"“”')


#: Abbreviations whose full stop ends no sentence ("Mr. Smith", "Acme Co. Ltd"): no credit follows them.
TITLE_ABBREVIATIONS = frozenset(
    ("mr", "mrs", "ms", "dr", "st", "sen", "rep", "gov", "gen", "lt", "col", "sgt", "prof", "rev", "jr", "sr",
     "inc", "co", "corp", "ltd", "no", "vs", "mt", "ft", "ave")
)  # fmt: skip
#: The spaces that may follow the full stop before a credit phrase.
SENTENCE_GAPS = (" ", "\n", "\t", "\xa0")
#: A full stop and a gap: a sentence may end before a credit phrase.
SENTENCE_GAP_MARKS = tuple(f".{gap}" for gap in SENTENCE_GAPS)
#: What TAIL_PHRASE's last credit word may end with besides a letter or digit.
CREDIT_PHRASE_LAST = "_'’&/-"
#: The lower-case words TAIL_PHRASE's credit phrase may hold (its other words are capitalised).
CREDIT_PHRASE_JOINERS = frozenset(("of", "for", "the", "via", "and", "/"))
#: Marks that open a quotation: a block that opens with one is a pull quote, not a described picture.
QUOTE_OPENERS = frozenset("\"'“‘«")
#: Words a sentence needs before a credit phrase for the block to be a described picture, not a heading.
SENTENCE_CREDIT_MIN_WORDS = 4
# A photographer's name and the outlet they shot for, closing a description with no full stop between: "...
# at the harbour Jane Roe/Porthaven Gazette" (two or three capitalised words, a slash, one to four more): how
# pages credit their own and freelance pictures, no agency named. No space around the slash: a pair of headings
# ("Firm Chop / Crud") or a byline ("By Jane Roe / Staff Writer") has them. (Left out of credit_match, whose
# credit kinds the model reads: sentence_then_credit's rule uses it.)
NAMED_SLASH_CREDIT = re.compile(
    r"\s(?P<credit>[A-Z][\w.'’-]+(?:\s[A-Z][\w.'’-]+){1,2}/[A-Z][\w.'’&-]*(?:\s[A-Z][\w.'’&-]*){0,3})\s*$"
)


#: Longer blocks are never a picture's credit line.
CREDIT_LINE_MAX_WORDS = 12
# A line that only credits a picture, opened by what the picture is: "Screenshot by Jane Roe/Porthaven News",
# "Photo composite by Jane Roe and Sam Okafor", "Illustration courtesy of Maria Lopez": it stands where the
# picture is. ("Graphic: ..." and "Images: ..." alone also open links and lists, so a credit word is needed;
# a full stop may only close an initial, "Photo by Jane R. Roe".)
PICTURE_CREDIT_LINE = re.compile(
    r"[\(\[]?(?i:(?:photo|image)\s+(?:composite|illustration|montage|collage)s?|screen\s?(?:shot|grab)s?"
    r"|photo(?:graph)?s?|images?|pictures?|illustrations?|graphics?|artwork|renderings?|composites?|montages?)"
    r"\s*:?\s*(?i:by|courtesy\s+of|via|adapted\s+from)\s+(?=[A-Z\d])(?:\b[A-Z]\.|[^.!?]){1,80}[\)\]]?"
)
#: First letters (lower-cased) of the words that open a PICTURE_CREDIT_LINE: most lines are ruled out sooner.
_PICTURE_CREDIT_INITIALS = frozenset("([pisgacrm")


def is_picture_credit_line(text: str) -> bool:
    """A short block that is only a credit, opened by what the picture is ("Screenshot by Jane Roe"), to
    anyone: a credit to a known agency ("Photo: Jane Roe, AP") is is_credit_only's, which pages label
    either way, so the model decides those."""
    stripped = text.strip()
    if not stripped or stripped[0].lower() not in _PICTURE_CREDIT_INITIALS:
        return False
    if len(stripped.split()) > CREDIT_LINE_MAX_WORDS:
        return False
    return PICTURE_CREDIT_LINE.fullmatch(stripped) is not None and not is_credit_only(stripped)


def sentence_then_credit(text: str) -> bool:
    """A sentence, then a capitalised phrase after its full stop ("A rocket stands on the launchpad. Porthaven
    Space", "... south of the harbour. Jane Roe for Example News"), or a description closed by a photographer and
    their outlet ("Crowds on the quay Jane Roe/Porthaven Gazette"): a caption and its credit. A heading holds no
    full stop before its last words (abbreviations such as "Mr." and numbered items such as "1." do not count),
    and a quotation with its speaker ("“We will rebuild this town.” Jane Roe") is a pull quote."""
    return _sentence_credit(text) is not None


def _sentence_credit(text: str) -> str | None:
    """The credit phrase of sentence_then_credit, or None."""
    tail_start = max(0, len(text) - TAIL)
    if "/" in text[tail_start:] and (named := NAMED_SLASH_CREDIT.search(text, tail_start)) is not None:
        head, credit = text[: named.start("credit")], named.group("credit")
        before = head.split()
        if credit.partition("/")[0].count(" ") == 2 and before and before[-1][:1].isupper():
            # In a longer run of capitalised words ("at Porthaven Fashion Week Jane Roe/..."): a name of two.
            first, _, credit = credit.partition(" ")
            head += first
        return credit if _describes(head) else None
    if not _may_close_with_credit_phrase(text):
        return None
    return _credit_phrase(text, tail_start)


def _may_close_with_credit_phrase(text: str) -> bool:
    """Can ``_credit_phrase`` find anything? Its phrase ends the block in a word character or one of
    CREDIT_PHRASE_LAST but not a full stop (that closes a sentence), its last word is capitalised or one of
    CREDIT_PHRASE_JOINERS, and it follows a full stop and a gap. (The cheap checks: most blocks are
    sentences, and the phrase pattern tries every position of the tail.)"""
    last = text.rstrip()[-1:]
    if not last or last == "." or not (last.isalnum() or last in CREDIT_PHRASE_LAST):
        return False
    if not last_word_capitalised_or(text, CREDIT_PHRASE_JOINERS):
        return False
    return any(gap in text for gap in SENTENCE_GAP_MARKS)


def last_word_capitalised_or(text: str, joiners: frozenset[str]) -> bool:
    """Is the text's last whitespace token capitalised (A-Z) or one of ``joiners``? What a run of capitalised
    credit words closing the text needs (the credit-phrase patterns are slow to run on every block)."""
    last = text.rsplit(None, 1)
    return bool(last) and ("A" <= last[-1][0] <= "Z" or last[-1] in joiners)


def _credit_phrase(text: str, tail_start: int) -> str | None:
    """The capitalised phrase after a description's last full stop (``TAIL_PHRASE`` from ``tail_start``)."""
    match = TAIL_PHRASE.search(text, tail_start)
    # A full stop, then a space: a quotation closed before the name is a pull quote and its speaker.
    if match is None or text[match.start()] != "." or text[match.start() + 1] not in SENTENCE_GAPS:
        return None
    head = text[: match.start()]
    last = head.rsplit(None, 1)[-1] if head.strip() else ""
    if len(last) < 3 or not last.isalpha() or last.lower() in TITLE_ABBREVIATIONS or not _describes(head):
        return None
    credit = match.group("credit").strip()
    return None if credit.endswith(".") else credit  # "... Click Here." closes a sentence, not a credit


def _describes(head: str) -> bool:
    """Is the text before a credit phrase a description: some words, one a lower-case word, and no quotation?"""
    if head.lstrip()[:1] in QUOTE_OPENERS:
        return False
    words = head.split()
    return len(words) >= SENTENCE_CREDIT_MIN_WORDS and any(w.islower() and len(w) > 2 for w in words)


def caption_fields(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Extract (label prefix, credit, position cues) from a caption's text."""
    match = credit_match(text)
    credit = match[1] if match else None
    if credit is None:
        credit = text.strip(" ()[]") if is_credit_only(text) else _sentence_credit(text)
    return label_prefix(text), credit, pictured_cues(text)
