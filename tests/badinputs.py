"""A corpus of bad inputs (and good ones hidden among them), generated into a folder for one build.

``write_bad_corpus(folder)`` writes every case and returns what a build must make of each input: its
``source`` (as the build records it) mapped to a reject reason, or to ``ARTICLE`` when the input must be
in the dataset. Text is invented (tests/articles_factory.py), never copied from a corpus.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from articles_factory import make_article

#: The expectation for an input that must become an article.
ARTICLE = "article"
#: A PNG header: an image renamed .txt.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"
#: Latin text with characters that cp1252 and latin-1 encode differently from UTF-8.
ACCENTED = "Café owner Zoë Brontë said the “façade” cost €40,000 – more than the crème brûlée stall."


@dataclass(slots=True)
class BadCorpus:
    """The generated inputs: folders/files to pass to a build and the expected outcome of every input."""

    inputs: list[Path]
    expected: dict[str, str] = field(default_factory=dict)
    #: Inputs read only partly (a truncated compressed JSONL): source prefix -> (articles, reject reason).
    partial: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Decoded texts that must appear in an article's body, by source (the encodings it must get right).
    decoded: dict[str, str] = field(default_factory=dict)
    #: A file that must be unreadable (chmod 000, or simulated when running as root).
    locked: Path | None = None


def accented_article(seed: int) -> str:
    """A good article with a paragraph of accents, curly quotes and a euro sign before its byline."""
    story, byline = make_article(seed).rsplit("\n\nBy ", 1)
    return f"{story}\n\n{ACCENTED}\n\nBy {byline}"


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def write_bad_corpus(root: Path, *, huge_bytes: int = 50 * 1024 * 1024) -> BadCorpus:
    """Write the bad-input corpus under root; returns the inputs and the expected outcome of each."""
    folder = root / "bad"
    corpus = BadCorpus(inputs=[folder])
    expect = corpus.expected

    def case(name: str, data: bytes | str, outcome: str) -> Path:
        path = _write(folder / name, data)
        expect[str(path)] = outcome
        return path

    # Good articles, plain UTF-8.
    for seed in range(5):
        case(f"good-{seed}.txt", make_article(seed, video=seed % 2 == 0), ARTICLE)
    # Empty and white space only.
    case("empty.txt", b"", "empty")
    case("whitespace.txt", b"  \n\t\n \r\n  \n", "empty")
    # Binary: NUL bytes, an image renamed .txt.
    case("nul.txt", make_article(10).encode()[:200] + b"\x00\x00\x01\x02" * 50, "binary")
    case("image.txt", PNG + bytes(range(256)) * 4, "binary")
    # Decodable text in other encodings: parsed, with the right characters.
    for name, encoding in (("cp1252.txt", "cp1252"), ("utf16.txt", "utf-16")):
        path = case(name, accented_article(20 + len(name)).encode(encoding), ARTICLE)
        corpus.decoded[str(path)] = ACCENTED
    # latin-1 with a byte cp1252 leaves undefined (0x81), so only latin-1 decodes it.
    latin = (
        accented_article(30)
        .replace("€", "EUR")
        .replace("•", "·")
        .replace("“", '"')
        .replace("”", '"')
        .replace("–", "-")
    )
    path = case("latin1.txt", latin.replace("Zoë", "Zo\x81ë").encode("latin-1"), ARTICLE)
    corpus.decoded[str(path)] = "Zo\x81ë Brontë"
    # Invalid UTF-8 (a UTF-8 file with stray bytes): parsed through the cp1252/latin-1 fallback.
    case("invalid-utf8.txt", make_article(11).encode() + b"\n\nBroken \xff\xfe\xc3 bytes here.\n", ARTICLE)
    # Sizes: a 50 MB article (beyond the reader's limit), a 9M-character one (beyond max_chars),
    # one 5 MB line (parsed: the classifier sees its head and tail).
    paragraph = " ".join(make_article(12).split("\n\n")[4].split()) + "\n\n"
    case("huge.txt", (paragraph * (huge_bytes // len(paragraph) + 1)).encode(), "too_large")
    case("nine-million.txt", paragraph * (9_000_000 // len(paragraph) + 1), "too_large")
    line = (paragraph.strip() + " ") * (5_000_000 // len(paragraph) + 1)
    case("long-line.txt", f"A Headline Over One Long Line\n\n{line.strip()}\n", ARTICLE)
    # Structure: no blank lines at all, thousands of tiny blocks.
    case("no-blank-lines.txt", make_article(13).replace("\n\n", "\n"), ARTICLE)
    tiny = "\n\n".join(f"Item {i}." for i in range(6000))
    case("tiny-blocks.txt", f"A List Of Many Things\n\n{tiny}\n", ARTICLE)
    # A file name that is not UTF-8 (on POSIX): read, and its name made writable.
    if sys.platform.startswith("linux"):
        raw_name = os.fsencode(folder) + b"/name-\xff.txt"
        with open(raw_name, "wb") as handle:
            handle.write(make_article(14).encode())
        expect[str(folder / "name-\ufffd.txt")] = ARTICLE
    # Compressed: a good one, a truncated one, a corrupt one.
    good_gz = gzip.compress(make_article(15).encode(), mtime=0)
    case("packed.txt.gz", good_gz, ARTICLE)
    case("truncated.txt.gz", good_gz[: len(good_gz) // 2], "truncated")
    case("corrupt.txt.gz", good_gz[:10] + b"\xff" * 64 + good_gz[74:], "corrupt")
    # File system: unreadable, broken symlink, a folder named like a file (whose content is searched).
    corpus.locked = case("locked.txt", make_article(16), "unreadable")
    link = folder / "dangling.txt"
    link.symlink_to(folder / "no-such-target.txt")
    expect[str(link)] = "broken_symlink"
    (folder / "x.txt").mkdir()
    expect[str(folder / "x.txt")] = "not_a_file"
    case("x.txt/inside.txt", make_article(17), ARTICLE)
    # A named pipe and a device named like articles: opening the one waits for ever, the other never ends.
    if hasattr(os, "mkfifo") and os.path.exists("/dev/zero"):
        os.mkfifo(folder / "pipe.txt")
        expect[str(folder / "pipe.txt")] = "not_a_file"
        (folder / "endless.jsonl").symlink_to("/dev/zero")
        expect[str(folder / "endless.jsonl")] = "not_a_file"
    # JSONL with broken lines and wrong field types, in the folder and as a gzip file given directly.
    jsonl = folder / "records.jsonl"
    rows: list[tuple[str, str]] = [
        (json.dumps({"id": "j-good-1", "text": make_article(40)}), ARTICLE),
        ('{"id": "j-broken", "text": "cut off', "bad_json"),
        ("", ""),  # a blank line is not a record
        (json.dumps({"id": "j-number", "text": 42}), "bad_field"),
        (json.dumps({"id": "j-list", "text": ["a", "b"]}), "bad_field"),
        (json.dumps({"id": "j-null", "text": None}), "missing_field"),
        (json.dumps({"id": "j-none"}), "missing_field"),
        (json.dumps({"id": {"nested": 1}, "text": make_article(41)}), "bad_field"),
        (json.dumps({"id": "j-title", "title": 7.5, "text": make_article(42)}), "bad_field"),
        (json.dumps(["not", "an", "object"]), "bad_record"),
        (json.dumps({"id": "j-empty", "text": "   "}), "empty"),
        # A lone surrogate from a JSON escape: parsed, the surrogate replaced so it can be written.
        ('{"id": "j-surrogate", "text": ' + json.dumps(make_article(43))[:-1] + '\\ud800 end."}', ARTICLE),
        (json.dumps({"id": "j-good-2", "text": make_article(44), "date": 20240101}), ARTICLE),
    ]
    _write(jsonl, "\n".join(line for line, _ in rows) + "\n")
    for number, (_, outcome) in enumerate(rows, 1):
        if outcome:
            expect[f"{jsonl}:{number}"] = outcome
    extra = root / "extra"
    packed = [json.dumps({"id": f"z-{i}", "text": make_article(50 + i)}) for i in range(3)]
    data = gzip.compress(("\n".join(packed) + "\n").encode(), mtime=0)
    given = _write(extra / "given.jsonl.gz", data)
    corpus.inputs.append(given)
    for number in range(1, 4):
        expect[f"{given}:{number}"] = ARTICLE
    packed = [json.dumps({"id": f"cut-{i}", "text": make_article(60 + i)}) for i in range(3)]
    data = gzip.compress(("\n".join(packed) + "\n").encode(), mtime=0)
    cut = _write(extra / "cut.jsonl.gz", data[: len(data) * 2 // 3])
    corpus.inputs.append(cut)
    corpus.partial[str(cut)] = (1, "truncated")
    return corpus
