import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captionset.text import DecodeError, decode_bytes


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        ("café\n".encode(), "café\n", "utf-8"),
        (codecs.BOM_UTF8 + "café".encode(), "café", "utf-8-sig"),
        ("café – “quoted”".encode("cp1252"), "café – “quoted”", "cp1252"),
        (b"caf\xe9 \x81", "caf\xe9 \x81", "latin-1"),
        (b"a\r\nb\rc", "a\nb\nc", "utf-8"),
        ("Ünïcode\r\n".encode("utf-16"), "Ünïcode\n", "utf-16"),
    ],
)
def test_decode(data, text, encoding):
    assert decode_bytes(data) == (text, encoding)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(32)) * 20])
def test_binary_is_refused_with_a_reason(data):
    with pytest.raises(DecodeError) as info:
        decode_bytes(data)
    assert info.value.reason == "binary"


#: Lone surrogates in each encoding decode_bytes reads (UTF-8's encoded surrogate is refused by strict
#: decoding, so those bytes take cp1252 or latin-1).
SURROGATE_BYTES = [
    codecs.BOM_UTF8 + b"a\xed\xa0\x80b",
    b"a\xed\xa0\x80b\xed\xbf\xbf",
    codecs.BOM_UTF16_LE + b"\x00\xd8a\x00",
    codecs.BOM_UTF16_BE + b"\xdc\x00\x00a",
    codecs.BOM_UTF32_LE + b"\x00\xd8\x00\x00a\x00\x00\x00",
    codecs.BOM_UTF32_BE + b"\x00\x00\xdc\x00",
]


def no_lone_surrogate(text: str) -> bool:
    return not any("\ud800" <= c <= "\udfff" for c in text)


@pytest.mark.parametrize("data", SURROGATE_BYTES)
def test_decoded_text_holds_no_lone_surrogate(data):
    """parse_article checks only texts given as str for lone surrogates: decoding never makes one."""
    assert no_lone_surrogate(decode_bytes(data)[0])


BOMS = [
    b"",
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(BOMS), st.binary(max_size=64))
def test_decoding_any_bytes_makes_no_lone_surrogate(bom, body):
    try:
        text, _ = decode_bytes(bom + body)
    except DecodeError:
        return
    assert no_lone_surrogate(text)


def test_parse_replaces_lone_surrogates_of_str_input_only():
    """A str input is made writable; decoded bytes come out as decoded (U+FFFD already in place)."""
    from captionset import parse_article

    article = parse_article("Title\n\nA body with a lone \ud800 surrogate.")
    assert no_lone_surrogate(article.text) and "\ufffd" in article.text
    for data in SURROGATE_BYTES:
        decoded = decode_bytes(data)[0]
        assert parse_article(data).text == decoded
