"""The command line: parse (jsonl and table), folders, errors, eval, ``python -m captionset``, --version."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from captionset import __version__, parse_article
from captionset.cli import cli
from captionset.corpus import default_corpus_dir
from captionset.evaluate import evaluate

ROW_FIELDS = {"article_id", "source", "index", "start", "end", "label", "score", "text"}
CAPTION_FIELDS = {"media_type", "caption_label", "credit"}


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def article_path(tmp_path) -> Path:
    """A copy of one default-corpus article (it has photo and video captions)."""
    target = tmp_path / "storm.txt"
    shutil.copyfile(default_corpus_dir() / "harbour-storm.txt", target)
    return target


def test_parse_jsonl_rows_have_every_field_and_offsets_into_the_text(article_path):
    rows = jsonl(run("parse", "--format", "jsonl", str(article_path)))
    text = article_path.read_text(encoding="utf-8")
    assert rows and all(set(row) >= ROW_FIELDS for row in rows)
    assert [row["index"] for row in rows] == list(range(len(rows)))
    assert {row["source"] for row in rows} == {str(article_path)}
    assert len({row["article_id"] for row in rows}) == 1
    for row in rows:
        assert text[row["start"] : row["end"]] == row["text"]
        assert 0.0 <= row["score"] <= 1.0
    captions = [row for row in rows if row["label"] in ("photo_caption", "video_caption")]
    assert captions, "the storm article has captions"
    for row in captions:
        assert set(row) >= CAPTION_FIELDS
        assert row["media_type"] in ("photo", "video")
    assert any(row["credit"] for row in captions), "the storm article has an (Image: ...) credit"
    assert not any(CAPTION_FIELDS & set(row) for row in rows if row not in captions)


def test_parse_jsonl_agrees_with_the_python_api(article_path):
    rows = jsonl(run("parse", "--format", "jsonl", str(article_path)))
    article = parse_article(article_path.read_bytes(), source=str(article_path))
    assert [(r["start"], r["end"], r["label"]) for r in rows] == [
        (b.start, b.end, b.label) for b in article.blocks
    ]


def test_parse_takes_the_alignment_knobs(article_path):
    default = [row for row in jsonl(run("parse", "--format", "jsonl", str(article_path))) if "related" in row]
    assert max(len(row["related"]) for row in default) > 1
    rows = jsonl(run("parse", "--format", "jsonl", "--top-k", "1", "--neighbours", "0", str(article_path)))
    captions = [row for row in rows if "related" in row]
    assert len(captions) == len(default)
    assert all(
        len(row["related"]) <= 1 and not row["context_before"] and not row["context_after"]
        for row in captions
    )
    assert [row["related"][:1] for row in captions] == [row["related"][:1] for row in default]


def test_parse_table_has_one_line_per_block_within_the_terminal_width(article_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    lines = run("parse", "--format", "table", str(article_path)).splitlines()
    blocks = parse_article(article_path.read_bytes()).blocks
    assert lines[0].startswith("== ") and str(article_path) in lines[0]
    assert len(lines) == 1 + len(blocks)
    for line, block in zip(lines[1:], blocks, strict=True):
        assert len(line) <= 71
        fields = line.split()
        assert int(fields[0]) == block.index
        assert fields[1] == block.label
        assert float(fields[2]) == pytest.approx(block.score, abs=0.005)


def test_table_is_the_default_format(article_path):
    assert run("parse", str(article_path)) == run("parse", "--format", "table", str(article_path))


def test_folders_are_searched_recursively_in_a_stable_order(tmp_path, article_path):
    corpus = tmp_path / "corpus"
    for relative in ("b.txt", "a/z.txt", "a/b/c.txt", "c.txt"):
        path = corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(article_path, path)
    (corpus / "notes.md").write_text("not an article\n")
    first = run("parse", "--format", "jsonl", str(corpus))
    sources = list(dict.fromkeys(row["source"] for row in jsonl(first)))
    expected = ["a/b/c.txt", "a/z.txt", "b.txt", "c.txt"]
    assert [Path(s).relative_to(corpus).as_posix() for s in sources] == expected
    assert run("parse", "--format", "jsonl", str(corpus)) == first


def test_files_are_read_in_the_order_given(tmp_path, article_path):
    second = tmp_path / "another.txt"
    shutil.copyfile(article_path, second)
    rows = jsonl(run("parse", "--format", "jsonl", str(article_path), str(second)))
    assert list(dict.fromkeys(row["source"] for row in rows)) == [str(article_path), str(second)]


def test_missing_path_is_a_usage_error(tmp_path):
    missing = tmp_path / "no-such-file.txt"
    result = CliRunner().invoke(cli, ["parse", str(missing)])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_binary_file_is_skipped_with_a_message_and_a_failing_status(tmp_path, article_path):
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    result = CliRunner().invoke(cli, ["parse", "--format", "jsonl", str(binary), str(article_path)])
    assert result.exit_code == 1
    assert str(article_path) in result.stdout  # the good file is still parsed
    assert "skipped" in result.stderr and str(binary) in result.stderr


def test_compressed_files_are_read_and_a_cut_one_is_skipped(tmp_path, article_path):
    packed = gzip.compress(article_path.read_bytes(), mtime=0)
    (tmp_path / "whole.txt.gz").write_bytes(packed)
    (tmp_path / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    plain = CliRunner().invoke(cli, ["parse", "--format", "jsonl", str(article_path)], catch_exceptions=False)
    result = CliRunner().invoke(
        cli, ["parse", "--format", "jsonl", str(tmp_path / "whole.txt.gz"), str(tmp_path / "cut.txt.gz")]
    )
    assert result.exit_code == 1
    assert "skipped" in result.stderr and "cut.txt.gz" in result.stderr
    labels = [json.loads(line)["label"] for line in result.stdout.splitlines()]
    assert labels == [json.loads(line)["label"] for line in plain.stdout.splitlines()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_named_pipe_is_skipped_not_waited_on(tmp_path, article_path):
    os.mkfifo(tmp_path / "pipe.txt")
    result = CliRunner().invoke(cli, ["parse", "--format", "jsonl", str(tmp_path)])
    assert result.exit_code == 1
    assert "is a named pipe" in result.stderr and "pipe.txt" in result.stderr


def test_python_dash_m_captionset_parse(article_path):
    process = subprocess.run(
        [sys.executable, "-m", "captionset", "parse", "--format", "jsonl", str(article_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert jsonl(process.stdout) == jsonl(run("parse", "--format", "jsonl", str(article_path)))


def test_version():
    output = run("--version")
    assert "captionset" in output and __version__ in output


def test_eval_without_gold_files_is_an_error(tmp_path):
    (tmp_path / "gold").mkdir()
    (tmp_path / "text").mkdir()
    result = CliRunner().invoke(cli, ["eval", str(tmp_path / "gold"), str(tmp_path / "text")])
    assert result.exit_code == 1
    assert "no gold files" in result.output


@pytest.mark.shared
def test_eval_on_the_dev_set(dev_dir):
    gold_dir, text_dir = str(dev_dir / "gold"), str(dev_dir / "text")
    figures = json.loads(run("eval", gold_dir, text_dir, "--json"))
    report = evaluate(gold_dir, text_dir)
    assert figures == json.loads(json.dumps(report.to_dict()))
    assert figures["articles"] == 50
    assert {"caption", "media_accuracy", "body", "per_label", "per_site", "site_macro_f1"} <= set(figures)
    assert "seed" in figures["per_site"] and "subheading" in figures["per_label"]
    table = run("eval", gold_dir, text_dir)
    assert "caption detection" in table and "photo vs video" in table
    assert f"{report.caption.f1:.3f}" in table


@pytest.mark.shared
def test_eval_only_picks_articles_by_name(dev_dir):
    figures = json.loads(
        run("eval", str(dev_dir / "gold"), str(dev_dir / "text"), "--json", "--only", "seed")
    )
    assert figures["articles"] == 1
    assert list(figures["per_site"]) == ["seed"]
