import codecs

import pytest

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
