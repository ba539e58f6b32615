"""The Hugging Face ``cnn_dailymail`` article strings, turned back into blank-line separated blocks.

The loader (versions 1.0.0-3.0.0) stripped every line of a ``.story`` file, appended ``" ."`` to each line
whose last character is not one of ``. ! ? ' ` " ’ ” )``, dropped empty lines and joined the rest with
single spaces. So a ``" ."`` marks the end of a former line that lacked closing punctuation - captions,
bylines, headings - while the ends of ordinary paragraphs are lost. ``rebuild_article`` recovers the
marked lines as blocks of their own (without the added ``" ."``, so caption text is clean) and cuts the
story text between them at sentence ends (Daily Mail paragraphs are mostly one sentence long), which is
what lets the parser tell captions from story text again. Pure functions: text in, text out.
"""

from __future__ import annotations

import re

# The " ." the loader appended to a line without closing punctuation: after a non-space, before a space
# (the next line) or the end of the article.
ADDED_STOP = re.compile(r"(?<=\S) \.(?= |$)")
# A sentence end in running text whose line breaks were lost: closing punctuation, closing quotes or
# brackets, then spaces and something that can open a line (a capital, a digit, an opening quote, a bullet).
SENTENCE_END = re.compile(r"[.!?…]['\"’”)\]]*( +)(?=['\"‘“(\[]?[A-Z0-9•▪●])")
# Lines the loader left alone because they end in a bracket or a quote: a photo credit in brackets
# ("... pamphlet (Picture: MSB)") or a quoted headline, followed by a new line's capital.
BRACKET_OR_QUOTE_END = re.compile(
    r"(?:\((?:[^()]{0,60}?\b(?i:photo|picture|image|pic|credit|getty|reuters|ap|afp|epa|pa|shutterstock|alamy|"
    r"bloomberg|handout|supplied)\b[^()]{0,40})\)|(?<=[\w])['\"’”])( +)(?=['\"‘“(]?[A-Z])"
)
# A bullet that opens a former line (highlights written into the story): always a line start.
BULLET_START = re.compile(r"(?<! ) +(?=[•▪●] )")  # from a run's first space only: a long run is tried once
# A full stop that ends an abbreviation, an initial or a list number, not a sentence ("Mr.", "U.S.",
# "J. K. Rowling", "1. Smoking to be banned").
ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Mx|Dr|St|Prof|Sen|Rep|Gov|Gen|Capt|Lt|Col|Sgt|Cpl|Jr|Sr|Rev|Hon|Mt|Ft|No|vs|Inc|Co|"
    r"Ltd|Corp|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)|(?:^|[\s(])(?:[A-Z]|\d{1,2})|"
    r"\b(?:[A-Za-z]\.)+[A-Za-z])\.$"
)
# The short tail of a marked line that is a photo credit after the caption's last sentence ("... from the
# air. ARCHIVE/AGENCY", "... in May. Photo by JOHN DOE/AFP", "... at dawn. Jane Roe for Example News"):
# it stays on the caption's line instead of becoming a block of its own. "Photo: NAME" and "Credit: NAME"
# are left alone: sites print those on a line of their own.
CREDIT_TAIL = re.compile(
    r"^(?:\(?(?i:photo(?:graph)?s?|image|picture|pic|courtesy) (?i:by|of)\b.{0,80}"
    r"|.{0,60}\b(?:AP|AFP|Getty(?: Images)?|Reuters|EPA|PA(?: Wire| Media)?|Shutterstock|Alamy|Bloomberg|Xinhua|"
    r"Zuma|Rex|Splash|Handout|Supplied)\b.{0,40}"
    r"|(?:\S+ ){0,3}\S*[A-Za-z] ?/ ?[A-Za-z].{0,40}"
    r"|(?:[A-Z][\w’'.-]*\s){1,3}for (?:the )?[A-Z].{0,40})$"
)
# Bullet lines, which are grouped back into one block (a highlights list).
BULLET_LINE = re.compile(r"^[•▪●] ")
# The header of Daily Mail stories in cnn_dailymail: "By . NAME . PUBLISHED: . TIME . | . UPDATED: . TIME ."
DM_HEADER = re.compile(
    r"^By \. (?P<by>[^.]{1,120}?) \. (?:PUBLISHED: \. (?P<published>.{1,60}?) \. \| \. "
    r"UPDATED: \. (?P<updated>.{1,60}?) \. )?"
)


def split_sentences(text: str) -> list[str]:
    """Cut story text whose line breaks were lost at sentence ends and before bullets."""
    cuts: list[int] = []
    for match in SENTENCE_END.finditer(text):
        if text[match.start()] == "." and ABBREVIATION.search(
            text, max(0, match.start() - 12), match.start() + 1
        ):
            continue
        cuts.append(match.start(1))
    cuts.extend(match.start(1) for match in BRACKET_OR_QUOTE_END.finditer(text))
    cuts.extend(match.start() for match in BULLET_START.finditer(text))
    pieces, pos = [], 0
    for cut in sorted(set(cuts)):
        pieces.append(text[pos:cut].strip())
        pos = cut
    pieces.append(text[pos:].strip())
    return [p for p in pieces if p]


def recover_lines(article: str) -> list[tuple[str, bool]]:
    """The former lines of an article string as (text, marked): marked lines lacked closing punctuation.

    Text before a marker holds the ordinary lines that preceded the marked one; the marked line is its
    last sentence. Ordinary text is returned one sentence per entry.
    """
    text = " ".join(article.split())
    lines: list[tuple[str, bool]] = []
    header = DM_HEADER.match(text)
    if header:
        lines.append((f"By {header['by']}", True))
        if header["published"]:
            lines.append((f"PUBLISHED: {header['published']} | UPDATED: {header['updated']}", True))
        text = text[header.end() :]
    pos = 0
    for match in ADDED_STOP.finditer(text):
        pieces = split_sentences(text[pos : match.start()])
        pos = match.end()
        if not pieces:
            continue
        while len(pieces) > 1 and len(pieces[-1]) <= 80 and CREDIT_TAIL.match(pieces[-1]):
            pieces[-2:] = [f"{pieces[-2]} {pieces[-1]}"]
        lines.extend((piece, False) for piece in pieces[:-1])
        lines.append((pieces[-1], True))
    lines.extend((piece, False) for piece in split_sentences(text[pos:]))
    return lines


def rebuild_article(article: str, blocks: str = "sentence") -> str:
    """Blank-line separated blocks from a cnn_dailymail article string.

    Each marked line is a block; consecutive bullet lines form one block; the ordinary text between
    marked lines is one block per sentence (``blocks="sentence"``) or one block per run (``"run"``).
    """
    out: list[list[str]] = []
    previous = ""  # "bullet", "marked" or "text": what the last block holds
    for line, marked in recover_lines(article):
        if BULLET_LINE.match(line):
            if previous == "bullet":
                out[-1].append(line)
            else:
                out.append([line])
            previous = "bullet"
        elif marked:
            out.append([line])
            previous = "marked"
        else:
            if blocks == "run" and previous == "text":
                out[-1][-1] += " " + line
            else:
                out.append([line])
            previous = "text"
    return "\n\n".join("\n".join(block) for block in out)


def cnndm_highlights(highlights: str) -> list[str]:
    """The highlights field as a list (joined with newlines from version 2.0.0 on)."""
    return [line.strip() for line in highlights.split("\n") if line.strip()]


def to_cnndm_article(text: str) -> str:
    """The loader's transformation of a story's text, for building test data from labelled articles."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if line[-1] not in ".!?'`\"’”)":
            line += " ."
        lines.append(line)
    return " ".join(lines)
