import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captionset.segment import BLANK_LINE, BYLINE_TAIL_CHARS, LINE_BREAK, TRAILING_BYLINE, segment


def _reference_trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def _reference_spans(text: str, separator: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for match in separator.finditer(text, start, end):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, end))
    return [span for s, e in spans if (span := _reference_trim(text, s, e))]


def reference_segment(text: str, max_blocks: int) -> list[tuple[int, int, str]]:
    """segment as first written (trim by lstrip, slice each block's text at the end): its definition."""
    spans = _reference_spans(text, BLANK_LINE, 0, len(text))
    if len(spans) <= 2 and text.count("\n") >= 3:
        spans = [sub for s, e in spans for sub in _reference_spans(text, LINE_BREAK, s, e)]
    if spans:
        s, e = spans[-1]
        match = TRAILING_BYLINE.search(text, max(s, e - BYLINE_TAIL_CHARS), e)
        if match and match.start() > s:
            spans[-1:] = [
                span for span in (_reference_trim(text, s, match.start()), (match.start(1), e)) if span
            ]
    if len(spans) > max_blocks:
        spans[max_blocks - 1 :] = [(spans[max_blocks - 1][0], spans[-1][1])]
    return [(s, e, text[s:e]) for s, e in spans]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                "Bb",
                " ",
                "\t",
                "\xa0",
                "\u2003",
                "\n",
                "\n\n",
                "\n \n",
                "x\n",
                "By Jo ",
                "1/2/2020",
                " 10:00",
            ]
        ),
        max_size=30,
    ).map("".join),
    st.sampled_from([2, 3, 5000]),
)
def test_segment_equals_its_first_definition(text, max_blocks):
    blocks = segment(text, max_blocks=max_blocks)
    assert [(b.start, b.end, b.text) for b in blocks] == reference_segment(text, max_blocks)
    assert [b.index for b in blocks] == list(range(len(blocks)))


def test_blank_lines_split_blocks_and_offsets_cover_text():
    text = "Title\n\nFirst para.\n \nSecond para.\n\n\nBy Jo 01/02/2020 10:00:00"
    blocks = segment(text)
    assert [b.text for b in blocks] == ["Title", "First para.", "Second para.", "By Jo 01/02/2020 10:00:00"]
    for b in blocks:
        assert text[b.start : b.end] == b.text


def test_text_without_blank_lines_splits_on_lines():
    text = "Title\nOne paragraph.\nAnother paragraph.\nA third."
    assert [b.text for b in segment(text)] == ["Title", "One paragraph.", "Another paragraph.", "A third."]


def test_byline_glued_to_last_paragraph_is_split_off():
    text = "Title\n\nA paragraph.\n\nLast paragraph.\nBy Jane Doe 03/04/2021 09:15:00"
    blocks = segment(text)
    assert blocks[-1].text == "By Jane Doe 03/04/2021 09:15:00"
    assert blocks[-2].text == "Last paragraph."


def test_bullet_list_stays_one_block():
    text = "Title\n\n  • one\n  • two\n  • three\n\nBody."
    assert segment(text)[1].text == "• one\n  • two\n  • three"


def test_block_guard_merges_the_tail():
    text = "\n\n".join(f"p{i}" for i in range(50))
    blocks = segment(text, max_blocks=10)
    assert len(blocks) == 10
    assert blocks[-1].text.startswith("p9") and blocks[-1].text.endswith("p49")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n\t •:\xa0")), max_size=300))
def test_offsets_in_order_and_inside_text(text):
    blocks = segment(text)
    last = 0
    for b in blocks:
        assert last <= b.start < b.end <= len(text)
        assert text[b.start : b.end] == b.text == b.text.strip()
        last = b.end


@pytest.mark.shared
def test_matches_gold_block_split(dev_dir):
    for path in sorted((dev_dir / "text").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        gold = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
        assert len(segment(text)) == len(gold), path.name
