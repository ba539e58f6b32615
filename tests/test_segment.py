import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captionset.segment import segment


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
    text = "Title\n\nA paragraph.\n\nLast paragraph.\nBy Jane Doe 16/02/2016 11:12:00"
    blocks = segment(text)
    assert blocks[-1].text == "By Jane Doe 16/02/2016 11:12:00"
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
