"""captionset.croissant: croissant.json validates with mlcroissant and reads the same rows as the Parquet files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from articles_factory import built_dataset

from captionset.build import resplit
from captionset.croissant import render_croissant
from captionset.schema import TABLES

mlc = pytest.importorskip("mlcroissant")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return built_dataset(tmp_path_factory, "croissant", 12, seed="croissant", video=True)


def test_every_table_has_a_file_set_and_a_record_set_with_every_column(dataset):
    doc = json.loads((dataset / "croissant.json").read_text(encoding="utf-8"))
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert [d["includes"] for d in doc["distribution"]] == [f"{t}/*.parquet" for t in TABLES]
    for record_set in doc["recordSet"]:
        names = [f["name"] for f in record_set["field"]]
        assert names == TABLES[record_set["name"]].names


def test_validates_and_reads_the_rows_of_the_parquet_files(dataset):
    croissant = mlc.Dataset(str(dataset / "croissant.json"))
    assert not croissant.metadata.ctx.issues.errors
    for table in TABLES:
        rows = list(croissant.records(table))
        expected = pq.read_table(dataset / table).sort_by([("article_id", "ascending")])
        assert len(rows) == expected.num_rows > 0
        by_article = sorted(row[f"{table}/article_id"].decode() for row in rows)
        assert by_article == expected["article_id"].to_pylist()
    first = next(iter(croissant.records("captions")))
    # Lists and structs come through: related paragraphs carry their block index and score.
    assert isinstance(first["captions/cues"], list)
    assert all(
        {"captions/related/block_index", "captions/related/score"} <= set(r)
        for r in first["captions/related"]
    )


def test_depends_only_on_the_manifest_and_follows_a_resplit(dataset, tmp_path):
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    manifest["timings"] = {"total_seconds": 123.0}
    assert render_croissant(manifest) == json.loads((dataset / "croissant.json").read_text(encoding="utf-8"))
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    resplit(copy, ratios=(0.5, 0.25, 0.25), seed="again")
    croissant = mlc.Dataset(str(copy / "croissant.json"))
    splits = {row["articles/split"].decode() for row in croissant.records("articles")}
    expected = set(pq.read_table(copy / "articles", columns=["split"])["split"].to_pylist())
    assert splits == expected
