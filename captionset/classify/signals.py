"""Named, compiled patterns that a careful reader uses to tell captions from story text."""

from __future__ import annotations

import re

# "Devastation: This is the moment ..." - a short capitalised label before a colon opens many captions.
LABEL_PREFIX = re.compile(r"^(?P<label>[A-Z0-9][\w'’&.\- ]{0,38}?[\w'’.]):\s+(?=\S)")
# Credits in brackets at the end: "(Image: Getty)", "(Picture: PA)", "(AP Photo/Name)", "(Evan Vucci / AP)".
BRACKET_CREDIT = re.compile(
    r"\s*[\(\[](?P<credit>(?:image|photo|picture|photograph|pic|credit|video|footage|illustration)s?"
    r"(?:\s+credits?)?\s*:[^\)\]]{1,80}|[^\(\)\[\]]{0,60}(?:photo|getty|reuters|ap|afp|pa|epa|images?|shutterstock|"
    r"alamy|rex|splash|handout|supplied)[^\(\)\[\]]{0,40})[\)\]]\s*$",
    re.I,
)
# Credits introduced by a word at the end: "Credit: Getty", "Photo by Kevin / AP", "Image: Vjeran Pavic".
TRAILING_CREDIT = re.compile(
    r"(?:^|[\s.])(?P<credit>(?:image credits?|credits?|photo(?:graph)?s?|picture|pic|image|illustration)"
    r"\s*(?::|by)\s*[^.!?]{1,80})$",
    re.I,
)
# Words that point at what is shown: "(pictured)", "left", "above".
PICTURED_CUE = re.compile(
    r"\b(pictured|picture above|left|right|centre|center|above|below|top|bottom|inset)\b", re.I
)
# Video captions and player titles speak of footage, clips and "the moment".
VIDEO_CUE = re.compile(r"\b(video|footage|clip|watch|filmed|the moment|livestream|play(?:ing)?\b)", re.I)
# Closing punctuation of a sentence in running text (quotes and brackets may follow it).
CLOSING_PUNCT = re.compile(r"[.!?…][\"'’”\)\]]*$")
# A byline or date stamp line: "By Jane Doe 16/02/2016 11:12:00".
BYLINE = re.compile(
    r"^(?:By\s+[^\n]{2,200}?\s*)?\d{1,2}/\d{1,2}/\d{4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$|^By\s+[A-Z][^\n]{1,80}$"
)
# Page furniture that is the same on every site: ad slots, share widgets, related-link headings.
BOILERPLATE = re.compile(
    r"^(?:advertisement|popular articles|related articles?|related|read more|more from|share this( article)?|"
    r"share|comments?|most read|most popular|trending|sign up|subscribe|you may also like\.{0,3}|"
    r"recommended|story continues below|continue reading|reply)\s*:?$",
    re.I,
)
# A bullet line, as in highlights and lists.
BULLET_LINE = re.compile(r"^\s*[•\-\*·▪●]\s+")


def caption_fields(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Extract (label prefix, credit, position cues) from a caption's text."""
    label = None
    match = LABEL_PREFIX.match(text)
    if match and len(match.group("label").split()) <= 4:
        label = match.group("label")
    credit = None
    match = BRACKET_CREDIT.search(text) or TRAILING_CREDIT.search(text)
    if match:
        credit = match.group("credit").strip()
        credit = (
            re.sub(
                r"^(?:image credits?|credits?|photo(?:graph)?s?|picture|pic|image|illustration)\s*(?::|by)\s*",
                "",
                credit,
                flags=re.I,
            ).strip()
            or credit
        )
    cues = tuple(dict.fromkeys(m.lower() for m in PICTURED_CUE.findall(text)))
    return label, credit, cues
