"""captionset.write: fixed row groups, zstd, selective dictionaries, metadata, shard names."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from captionset.schema import BLOCKS
from captionset.write import (
    ShardedWriter,
    TableWriter,
    atomic_write_text,
    file_metadata,
    shard_count,
    shard_name,
    write_jsonl,
)


def blocks_table(n: int, start: int = 0) -> pa.Table:
    rows = [
        {
            "article_id": f"a{i // 10:05d}",
            "split": None,
            "index": i % 10,
            "start": i * 10,
            "end": i * 10 + 9,
            "label": ("body", "title", "photo_caption")[i % 3],
            "score": 0.5,
            "media_type": "photo" if i % 3 == 2 else None,
            "caption_label": None,
            "credit": None,
            "text": f"block number {i} with some words in it",
        }
        for i in range(start, start + n)
    ]
    return pa.Table.from_pylist(rows, schema=BLOCKS)


def test_row_groups_and_bytes_do_not_depend_on_how_rows_arrive(tmp_path):
    table = blocks_table(2500)
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    with TableWriter(one, BLOCKS, "blocks", row_group_rows=1000) as writer:
        writer.write(table)
    with TableWriter(many, BLOCKS, "blocks", row_group_rows=1000) as writer:
        for start in range(0, 2500, 333):
            writer.write(table.slice(start, 333))
    assert one.read_bytes() == many.read_bytes()
    meta = pq.read_metadata(one)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 1000, 500]
    assert pq.read_table(one).equals(table)


def test_zstd_and_dictionaries_only_on_low_cardinality_columns(tmp_path):
    path = tmp_path / "b.parquet"
    with TableWriter(path, BLOCKS, "blocks") as writer:
        writer.write(blocks_table(300))
    group = pq.read_metadata(path).row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert all(c.compression == "ZSTD" for c in columns.values())
    assert "RLE_DICTIONARY" in columns["label"].encodings
    assert "RLE_DICTIONARY" not in columns["text"].encodings
    assert "RLE_DICTIONARY" not in columns["article_id"].encodings


def test_metadata_has_version_and_no_time(tmp_path):
    path = tmp_path / "b.parquet"
    metadata = file_metadata("blocks", {"split_rule": {"seed": "x"}, "split": "train"})
    with TableWriter(path, BLOCKS, "blocks", metadata) as writer:
        writer.write(blocks_table(5))
    kv = {k.decode(): v.decode() for k, v in pq.read_metadata(path).metadata.items()}
    assert kv["captionset.config"] == "blocks" and kv["captionset.split"] == "train"
    assert json.loads(kv["captionset.split_rule"]) == {"seed": "x"}
    assert not any("time" in k or "created" in k or "date" in k for k in kv)


def test_sharded_writer_names_counts_and_sizes(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("captionset.write").write.SHARD_ROWS, "blocks", 400)
    writer = ShardedWriter(tmp_path / "blocks", BLOCKS, "blocks", "train", 1000, file_metadata("blocks"))
    for start in range(0, 1000, 150):
        writer.write(blocks_table(min(150, 1000 - start), start))
    result = writer.close()
    names = [f"blocks/{shard_name('train', i, 3)}" for i in range(3)]
    assert result.files == names == ["blocks/train-00000-of-00003.parquet", *names[1:]]
    assert [pq.read_metadata(tmp_path / n).num_rows for n in names] == [400, 400, 200]
    assert result.num_examples == 1000
    assert result.file_bytes == sum((tmp_path / n).stat().st_size for n in names)
    assert result.num_bytes > 0 and len(result.sha256) == 64


def test_an_empty_split_writes_no_file(tmp_path):
    result = ShardedWriter(tmp_path / "blocks", BLOCKS, "blocks", "test", 0).close()
    assert result.files == [] and result.num_examples == 0
    assert not list((tmp_path / "blocks").glob("*.parquet"))
    assert shard_count(0, "blocks") == 0 and shard_count(1, "blocks") == 1


def test_sharded_writer_refuses_a_wrong_row_count(tmp_path):
    writer = ShardedWriter(tmp_path / "blocks", BLOCKS, "blocks", "train", 10)
    writer.write(blocks_table(7))
    with pytest.raises(RuntimeError, match="expected 10"):
        writer.close()


def test_atomic_text_and_jsonl(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    assert write_jsonl(tmp_path / "r.jsonl", [{"b": 1, "a": "é"}]) == 1
    assert (tmp_path / "r.jsonl").read_text(encoding="utf-8") == '{"a": "é", "b": 1}\n'
