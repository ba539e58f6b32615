"""Sources: every format gives the same records, planning covers each record once, bad input is a Reject."""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from captionset.ids import article_id_for
from captionset.model import RawRecord, Reject
from captionset.sources import (
    DEFAULT_SOURCE_OPTIONS,
    InputSlice,
    SourceOptions,
    plan_shards,
    read_slice,
    relative_name,
)
from captionset.sources.files import format_of_name, sniff_format
from captionset.sources.story import split_story

ARTICLES = [
    {
        "id": f"art-{i:02d}",
        "title": f"Headline number {i}",
        "url": f"https://news.example/{i}",
        "date": f"2020-01-{i + 1:02d}",
        "text": f"Headline number {i}\n\nA first paragraph about item {i}, with a comma.\n\n"
        f'Caption: a "quoted" photo of thing {i} (Image: Agency)\n\nCafé naïve – ünïcödé {i}.',
    }
    for i in range(23)
]
COMPRESSORS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


def jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def write_jsonl(path: Path, rows) -> Path:
    path.write_bytes(jsonl_bytes(rows))
    return path


def write_csv(path: Path, rows, delimiter=",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows, row_group_size=5) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def read_all(inputs, options=DEFAULT_SOURCE_OPTIONS, per_shard=1000) -> list[RawRecord | Reject]:
    return [
        item
        for shard in plan_shards(inputs, options, per_shard)
        for p in shard.slices
        for item in read_slice(p, options)
    ]


def as_tuples(items) -> list[tuple]:
    out = []
    for item in items:
        assert isinstance(item, RawRecord), item
        data = item.data.decode("utf-8") if isinstance(item.data, bytes) else item.data
        out.append((item.article_id, data, item.title, item.url, item.published))
    return out


EXPECTED = [(a["id"], a["text"], a["title"], a["url"], a["date"]) for a in ARTICLES]


# --- every format round-trips into the same records ------------------------------------------------


def _make(kind: str, tmp_path: Path) -> Path:
    if kind == "jsonl":
        return write_jsonl(tmp_path / "a.jsonl", ARTICLES)
    if kind in COMPRESSORS:
        path = tmp_path / f"a.jsonl.{kind}"
        path.write_bytes(COMPRESSORS[kind](jsonl_bytes(ARTICLES)))
        return path
    if kind == "csv":
        return write_csv(tmp_path / "a.csv", ARTICLES)
    if kind == "tsv":
        return write_csv(tmp_path / "a.tsv", ARTICLES, delimiter="\t")
    if kind == "csv.gz":
        path = write_csv(tmp_path / "a.csv", ARTICLES)
        gz = tmp_path / "a.csv.gz"
        gz.write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        return gz
    if kind == "parquet":
        return write_parquet(tmp_path / "a.parquet", ARTICLES)
    if kind == "hf":
        import datasets

        datasets.Dataset.from_list(ARTICLES).save_to_disk(str(tmp_path / "saved"))
        return tmp_path / "saved"
    if kind == "hf-dict":
        import datasets

        datasets.DatasetDict(
            {
                "train": datasets.Dataset.from_list(ARTICLES[:15]),
                "test": datasets.Dataset.from_list(ARTICLES[15:]),
            }
        ).save_to_disk(str(tmp_path / "saved"))
        return tmp_path / "saved"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["jsonl", "gz", "bz2", "xz", "zst", "csv", "tsv", "csv.gz", "parquet", "hf", "hf-dict"]
)
@pytest.mark.parametrize("per_shard", [1000, 4])
def test_record_formats_round_trip(kind, per_shard, tmp_path):
    path = _make(kind, tmp_path)
    assert as_tuples(read_all([path], per_shard=per_shard)) == EXPECTED


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet", "hf"])
def test_record_formats_found_in_folders(kind, tmp_path):
    folder = tmp_path / "in" / "deep"
    folder.mkdir(parents=True)
    _make(kind, folder)
    (tmp_path / "in" / "notes.md").write_text("not an input")
    assert as_tuples(read_all([tmp_path / "in"], per_shard=6)) == EXPECTED


def test_text_files_plain_and_compressed_give_the_same_records(tmp_path):
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    for i, article in enumerate(ARTICLES[:5]):
        data = article["text"].encode("utf-8")
        (plain / "sub").mkdir(parents=True, exist_ok=True)
        (packed / "sub").mkdir(parents=True, exist_ok=True)
        (plain / "sub" / f"{i}.txt").write_bytes(data)
        suffix = list(COMPRESSORS)[i % 4]
        (packed / "sub" / f"{i}.txt.{suffix}").write_bytes(COMPRESSORS[suffix](data))
    a, b = read_all([plain]), read_all([packed])
    assert [(r.article_id, r.data) for r in a] == [(r.article_id, r.data) for r in b]
    assert [r.data.decode() for r in a] == [x["text"] for x in ARTICLES[:5]]
    assert a[0].article_id == article_id_for("sub/0.txt")


def test_field_mappings(tmp_path):
    rows = [{"body": "Some text.", "key": 7, "headline": "H", "link": "https://x/1", "when": "2021-02-03"}]
    options = SourceOptions(
        text_field="body", id_field="key", title_field="headline", url_field="link", date_field="when"
    )
    (record,) = read_all([write_jsonl(tmp_path / "m.jsonl", rows)], options)
    assert (record.article_id, record.data, record.title, record.url, record.published) == (
        "7",
        "Some text.",
        "H",
        "https://x/1",
        "2021-02-03",
    )


def test_parquet_timestamps_become_iso_dates(tmp_path):
    import datetime as dt

    table = pa.table(
        {"text": ["x y z."], "date": pa.array([dt.datetime(2020, 5, 6, 7, 8, 9)], pa.timestamp("s"))}
    )
    pq.write_table(table, tmp_path / "t.parquet")
    (record,) = read_all([tmp_path / "t.parquet"])
    assert record.published == "2020-05-06T07:08:09"


# --- ids ----------------------------------------------------------------------------------------------


def test_ids_come_from_the_id_field_else_url_else_relative_path(tmp_path):
    rows = [{"text": "a."}, {"text": "b.", "url": "https://x/b"}, {"text": "c.", "id": "given"}]
    first = read_all([write_jsonl(tmp_path / "x.jsonl", rows)])
    assert [r.article_id for r in first] == [
        article_id_for("x.jsonl:1"),
        article_id_for("https://x/b"),
        "given",
    ]


def test_ids_do_not_depend_on_where_the_corpus_lives_or_what_else_is_read(tmp_path):
    one = tmp_path / "one" / "corpus"
    (one / "a").mkdir(parents=True)
    (one / "a" / "s.txt").write_text("Story.")
    (one / "b.txt").write_text("Other.")
    two = tmp_path / "elsewhere" / "corpus"
    shutil.copytree(one, two)
    (two / "0-first.txt").write_text("A new file that sorts first.")
    ids_one = {r.data: r.article_id for r in read_all([one])}
    ids_two = {r.data: r.article_id for r in read_all([two])}
    assert ids_one == {k: v for k, v in ids_two.items() if k in ids_one}
    assert len(set(ids_two.values())) == 3


def test_relative_name_drops_compression_suffix(tmp_path):
    (tmp_path / "d").mkdir()
    assert relative_name(tmp_path / "d" / "x.txt.gz", tmp_path) == "d/x.txt"
    assert relative_name(tmp_path / "x.jsonl.zst", tmp_path / "x.jsonl.zst") == "x.jsonl"


# --- planning: record ranges, each record exactly once ---------------------------------------------


@pytest.mark.parametrize("kind", ["jsonl", "gz", "csv", "csv.gz", "parquet", "hf-dict"])
@pytest.mark.parametrize("per_shard", [1, 4, 7, 23, 50])
def test_plan_reads_each_record_exactly_once(kind, per_shard, tmp_path):
    path = _make(kind, tmp_path)
    shards = plan_shards([path], SourceOptions(), per_shard)
    sizes = [sum((p.stop - p.start) for p in s.slices) for s in shards]
    assert sizes[:-1] == [per_shard] * (len(shards) - 1) and 0 < sizes[-1] <= per_shard
    assert [s.index for s in shards] == list(range(len(shards)))
    ids = [r.article_id for s in shards for p in s.slices for r in read_slice(p)]
    assert ids == [a["id"] for a in ARTICLES]


def test_shards_pack_many_files_and_cut_large_ones(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", ARTICLES[:3])
    for i in range(4):
        (tmp_path / f"b{i}.txt").write_text(f"Text {i}.")
    write_jsonl(tmp_path / "c.jsonl", ARTICLES[3:13])
    shards = plan_shards([tmp_path], SourceOptions(), 5)
    assert [sum((p.stop or 1) - p.start for p in s.slices) for s in shards] == [5, 5, 5, 2]
    assert [len(list(read_slice(p))) for s in shards for p in s.slices] == [3, 1, 1, 1, 1, 3, 5, 2]


def test_uncompressed_jsonl_and_csv_shards_seek_to_their_first_record(tmp_path):
    rows = [{"id": str(i), "text": f"line one {i}\nline two"} for i in range(10)]
    for path in (write_jsonl(tmp_path / "s.jsonl", rows), write_csv(tmp_path / "s.csv", rows)):
        pieces = [p for s in plan_shards([path], SourceOptions(), 3) for p in s.slices]
        assert [p.start for p in pieces] == [0, 3, 6, 9]
        assert all(p.offset > 0 for p in pieces[1:])
        data = path.read_bytes()
        for p in pieces[1:]:  # the offset is where record `start` begins
            assert data[: p.offset].endswith(b"\n")
        assert [r.article_id for p in pieces for r in read_slice(p)] == [str(i) for i in range(10)]


def test_planning_large_jsonl_is_cheap_and_exact(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        for i in range(100_000):
            out.write(f'{{"id": "{i}", "text": "t"}}\n')
    shards = plan_shards([path], SourceOptions(), 1000)
    assert len(shards) == 100
    last = shards[-1].slices[0]
    assert (last.start, last.stop) == (99_000, 100_000)
    assert [r.article_id for r in read_slice(last)][:2] == ["99000", "99001"]


def test_plan_is_stable(tmp_path):
    for name in ("b.txt", "a/c.txt", "a.jsonl"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "b.txt").write_text("B.")
    (tmp_path / "a" / "c.txt").write_text("C.")
    write_jsonl(tmp_path / "a.jsonl", ARTICLES[:2])
    first = plan_shards([tmp_path], SourceOptions(), 2)
    assert first == plan_shards([tmp_path], SourceOptions(), 2)
    assert [Path(p.path).name for s in first for p in s.slices] == [
        "a.jsonl",
        "c.txt",
        "b.txt",
    ]  # "." sorts before "/"


# --- detection ----------------------------------------------------------------------------------------


def test_format_by_name_and_by_content(tmp_path):
    assert format_of_name("x/y.JSONL.gz") == "jsonl"
    assert format_of_name("a.story") == "story" and format_of_name("a.tsv") == "csv"
    assert format_of_name("README") is None
    write_jsonl(tmp_path / "rows", ARTICLES[:1])
    write_parquet(tmp_path / "table", ARTICLES[:1])
    (tmp_path / "plain").write_text("Just text.")
    (tmp_path / "packed").write_bytes(gzip.compress(jsonl_bytes(ARTICLES[:1])))
    assert [sniff_format(tmp_path / n) for n in ("rows", "table", "plain", "packed")] == [
        "jsonl",
        "parquet",
        "text",
        "jsonl",
    ]
    assert as_tuples(read_all([tmp_path / "table"])) == EXPECTED[:1]


def test_compression_detected_by_magic_bytes_not_name(tmp_path):
    path = tmp_path / "mislabelled.jsonl"
    path.write_bytes(zstandard.ZstdCompressor().compress(jsonl_bytes(ARTICLES[:2])))
    assert as_tuples(read_all([path])) == EXPECTED[:2]


def test_glob_and_explicit_format(tmp_path):
    (tmp_path / "keep.txt").write_text("Keep.")
    (tmp_path / "skip.txt").write_text("Skip.")
    (tmp_path / "data.dat").write_bytes(jsonl_bytes(ARTICLES[:2]))
    assert [r.data for r in read_all([tmp_path], SourceOptions(glob="keep*"))] == [b"Keep."]
    records = read_all([tmp_path], SourceOptions(glob="*.dat", format="jsonl"))
    assert as_tuples(records) == EXPECTED[:2]
    assert len(read_all([tmp_path], SourceOptions(format="text"))) == 2


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown input format"):
        SourceOptions(format="xml")


# --- .story files -----------------------------------------------------------------------------------

STORY = (
    "By . Jane Doe .\n\nFirst paragraph of the story.\n\nA caption without a full stop\n\n"
    "Last paragraph.\n\n@highlight\n\nThe first highlight\n\n@highlight\n\nThe second one\n"
)


def test_split_story_keeps_story_offsets_and_highlights():
    story, highlights = split_story(STORY)
    assert STORY.startswith(story) and story.endswith("Last paragraph.")
    assert highlights == ["The first highlight", "The second one"]
    assert split_story("No highlights here.\n") == ("No highlights here.", [])


def test_story_files_read_with_highlights_and_sha1_ids(tmp_path):
    name = "0001d1afc246a7964130f43ae940af6bc6c57f01"
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / f"{name}.story").write_text(STORY)
    (tmp_path / "stories" / "empty.story").write_text("@highlight\n\nonly a highlight\n")
    record, reject = read_all([tmp_path])
    assert record.article_id == name and record.highlights == ["The first highlight", "The second one"]
    assert "@highlight" not in record.data and "A caption without a full stop" in record.data
    assert isinstance(reject, Reject) and reject.reason == "empty"


# --- rejects: never an exception, never silently dropped ------------------------------------------


def _reasons(items) -> list[tuple[str, str]]:
    return [(Path(r.source).name, r.reason) for r in items if isinstance(r, Reject)]


def test_bad_jsonl_records_become_rejects_with_line_numbers(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"id": "ok", "text": "Fine."}),
        "{not json",
        json.dumps({"id": "n", "text": 5}),
        json.dumps({"id": "m", "body": "no text field"}),
        "",
        json.dumps(["a", "list"]),
        json.dumps({"id": "e", "text": "   "}),
        json.dumps({"id": {"nested": 1}, "text": "Bad id."}),
    ]
    path.write_text("\n".join(lines) + "\n")
    items = read_all([path])
    assert [r.article_id for r in items if isinstance(r, RawRecord)] == ["ok"]
    assert _reasons(items) == [
        ("bad.jsonl:2", "bad_json"),
        ("bad.jsonl:3", "bad_field"),
        ("bad.jsonl:4", "missing_field"),
        ("bad.jsonl:6", "bad_record"),
        ("bad.jsonl:7", "empty"),
        ("bad.jsonl:8", "bad_field"),
    ]


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("per_shard", [1000, 3])
def test_truncated_compressed_files_keep_what_was_read_and_reject_the_rest(suffix, per_shard, tmp_path):
    rows = [{"id": str(i), "text": f"Record {i} " + "words " * 400} for i in range(40)]
    packed = COMPRESSORS[suffix](jsonl_bytes(rows))
    path = tmp_path / f"cut.jsonl.{suffix}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    items = read_all([path], per_shard=per_shard)
    records = [r for r in items if isinstance(r, RawRecord)]
    assert [r.article_id for r in records] == [str(i) for i in range(len(records))]
    assert len(records) < 40
    assert [r.reason for r in items if isinstance(r, Reject)] == ["truncated"]


def test_truncated_compressed_text_file_is_rejected(tmp_path):
    packed = gzip.compress(b"Some article text. " * 2000)
    (tmp_path / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "junk.txt.gz").write_bytes(b"\x1f\x8b not really gzip")
    assert _reasons(read_all([tmp_path])) == [("cut.txt.gz", "truncated"), ("junk.txt.gz", "corrupt")]


def test_bad_files_become_rejects(tmp_path, monkeypatch):
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "dir.txt" / "inside.txt").write_text("Inside a folder named like a file.")
    os.symlink(tmp_path / "missing.txt", tmp_path / "broken.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    (tmp_path / "header-only.csv").write_text("id,text\n")
    write_csv(tmp_path / "nocol.csv", [{"id": "1", "body": "x"}])
    write_parquet(tmp_path / "nocol.parquet", [{"id": "1", "body": "x"}])
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    (tmp_path / "binary.story").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "big.txt").write_text("x" * 2000)
    items = read_all([tmp_path], SourceOptions(max_record_bytes=1000))
    assert [r.data for r in items if isinstance(r, RawRecord)] == [b"Inside a folder named like a file."]
    assert sorted(_reasons(items)) == [
        ("big.txt", "too_large"),
        ("binary.story", "binary"),
        ("broken.txt", "broken_symlink"),
        ("corrupt.parquet", "unreadable"),
        ("dir.txt", "not_a_file"),
        ("empty.jsonl", "empty"),
        ("empty.txt", "empty"),
        ("header-only.csv", "empty"),
        ("nocol.csv", "missing_field"),
        ("nocol.parquet", "missing_field"),
    ]


def test_unreadable_and_missing_files_become_rejects(tmp_path, monkeypatch):
    path = tmp_path / "locked.txt"
    path.write_text("Secret.")

    def refuse(target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr("captionset.sources.common.open_binary", refuse)
    (reject,) = read_all([path])
    assert (reject.source, reject.reason) == (str(path), "unreadable")
    monkeypatch.undo()
    (missing,) = read_all([tmp_path / "nope.txt"])
    assert missing.reason == "missing"


def test_too_long_jsonl_line_is_rejected_and_reading_goes_on(tmp_path):
    path = write_jsonl(
        tmp_path / "long.jsonl", [{"id": "a", "text": "x" * 5000}, {"id": "b", "text": "short"}]
    )
    items = read_all([path], SourceOptions(max_record_bytes=1000))
    assert _reasons(items) == [("long.jsonl:1", "too_large")]
    assert [r.article_id for r in items if isinstance(r, RawRecord)] == ["b"]


def test_a_reader_bug_becomes_a_reject(monkeypatch, tmp_path):
    (tmp_path / "a.txt").write_text("Text.")

    def boom(*args):
        raise RuntimeError("bug")
        yield

    monkeypatch.setitem(__import__("captionset.sources", fromlist=["_READERS"])._READERS, "text", boom)
    (reject,) = read_all([tmp_path])
    assert reject.reason == "reader_error" and "bug" in reject.detail


def test_unknown_reader_in_a_slice_is_a_reject(tmp_path):
    (reject,) = read_slice(InputSlice(path=str(tmp_path / "x"), format="xml", root=str(tmp_path)))
    assert reject.reason == "unsupported"
