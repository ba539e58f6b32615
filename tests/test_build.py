"""captionset.build: accounting, leak-free splits, byte-identical rebuilds, atomic output, resume."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from articles_factory import make_article, write_corpus
from click.testing import CliRunner

from captionset import parse_article
from captionset.build import build, partial_dir
from captionset.cli import cli
from captionset.ids import article_id_for

# The module, not the function `captionset.build` that the package exports under the same name.
build_module = importlib.import_module("captionset.build")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def data_files(folder: Path) -> dict[str, bytes]:
    """Every file of a built dataset except the manifest (which holds timings), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, range(40), video=True)
    (folder / "empty.txt").write_text("  \n\n ", encoding="utf-8")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return folder


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "ds"
    return build([corpus], out, workers=1, articles_per_shard=7)


def test_every_input_is_an_article_or_a_reject(built, corpus):
    manifest = json.loads((built.output_dir / "manifest.json").read_text())
    inputs = len(list(corpus.glob("*.txt")))
    assert manifest["counts"]["inputs"] == inputs == built.inputs
    assert built.articles + built.num_rejects == inputs
    assert manifest["counts"]["articles"] + manifest["counts"]["rejects"] == inputs
    rejects = [json.loads(line) for line in (built.output_dir / "rejects.jsonl").read_text().splitlines()]
    assert {Path(r["source"]).name: r["reason"] for r in rejects} == {
        "empty.txt": "empty",
        "image.txt": "binary",
    }
    assert built.rejects == {"binary": 1, "empty": 1}


def test_no_article_in_two_splits_and_tables_agree(built):
    articles = pd.read_parquet(built.output_dir / "articles")
    captions = pd.read_parquet(built.output_dir / "captions")
    blocks = pd.read_parquet(built.output_dir / "blocks")
    assert articles["article_id"].is_unique
    split_of = dict(zip(articles["article_id"], articles["split"], strict=True))
    for table in (captions, blocks):
        assert table.groupby("article_id")["split"].nunique().max() == 1
        assert (table["article_id"].map(split_of) == table["split"]).all()
    assert set(articles["split"]) <= {"train", "validation", "test"}
    assert len(captions) == built.captions == articles["num_captions"].sum()
    assert len(blocks) == built.blocks == articles["num_blocks"].sum()
    assert captions["caption_id"].is_unique


def test_file_names_follow_the_hub_layout(built):
    for config in ("captions", "articles", "blocks"):
        names = sorted(p.name for p in (built.output_dir / config).glob("*.parquet"))
        assert names, config
        for name in names:
            split, index, _, count = name.removesuffix(".parquet").split("-")
            assert split in {"train", "validation", "test"}
            assert int(index) < int(count)


def test_captions_match_parse_and_align(built, corpus):
    from captionset import align

    expected = set()
    for path in sorted(corpus.glob("article-*.txt")):
        article = parse_article(path.read_bytes(), source=str(path), article_id=article_id_for(path.name))
        expected |= {(c.caption_id, c.caption, c.block_index) for c in align(article)}
    captions = pd.read_parquet(built.output_dir / "captions")
    got = set(zip(captions["caption_id"], captions["caption"], captions["block_index"], strict=True))
    assert got == expected


def test_rebuild_is_byte_identical_whatever_workers_and_sharding(corpus, built, tmp_path):
    other = build([corpus], tmp_path / "ds2", workers=2, articles_per_shard=5)
    assert other.manifest["shards"] != built.manifest["shards"]
    assert data_files(other.output_dir) == data_files(built.output_dir)


def test_parquet_files_carry_version_and_split_rule(built):
    path = next((built.output_dir / "captions").glob("train-*.parquet"))
    meta = pq.read_metadata(path)
    kv = {k.decode(): v.decode() for k, v in meta.metadata.items()}
    assert kv["captionset.config"] == "captions" and kv["captionset.split"] == "train"
    assert json.loads(kv["captionset.split_rule"])["seed"] == "captionset"
    assert "captionset.version" in kv
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_existing_output_is_refused_unless_overwrite(corpus, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build([corpus], out, workers=1)
    with pytest.raises(FileExistsError, match="not a captionset dataset"):
        build([corpus], out, workers=1, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"


def test_overwrite_replaces_and_a_crash_keeps_the_previous_output(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    write_corpus(first, range(5))
    write_corpus(second, range(100, 108))
    out = tmp_path / "ds"
    build([first], out, workers=1)
    before = data_files(out)

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while writing")

    monkeypatch.setattr(build_module, "_write_tables", crash)
    with pytest.raises(RuntimeError, match="simulated"):
        build([second], out, workers=1, overwrite=True)
    assert data_files(out) == before
    monkeypatch.undo()
    result = build([second], out, workers=1, overwrite=True)
    assert result.articles == 8
    assert not partial_dir(out).exists()
    assert pd.read_parquet(out / "articles")["source"].str.contains("second").all()


def test_resume_reuses_done_shards_and_gives_the_same_dataset(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, range(12))
    clean = build([corpus], tmp_path / "clean", workers=1, articles_per_shard=4)
    out = tmp_path / "ds"
    monkeypatch.setattr(
        build_module, "_write_tables", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        build([corpus], out, workers=1, articles_per_shard=4)
    monkeypatch.undo()
    assert not out.exists() and partial_dir(out).is_dir()
    calls = []
    original = build_module.process_shard
    monkeypatch.setattr(build_module, "process_shard", lambda task: calls.append(task) or original(task))
    resumed = build([corpus], out, workers=1, articles_per_shard=4, resume=True)
    assert calls == []
    assert resumed.manifest["resumed_shards"] == resumed.manifest["shards"] == 3
    assert data_files(out) == data_files(clean.output_dir)


def test_resume_redoes_shards_whose_inputs_changed(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    paths = write_corpus(corpus, range(8))
    out = tmp_path / "ds"
    monkeypatch.setattr(
        build_module, "_write_tables", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        build([corpus], out, workers=1, articles_per_shard=4)
    monkeypatch.undo()
    paths[-1].write_text(make_article(999), encoding="utf-8")
    result = build([corpus], out, workers=1, articles_per_shard=4, resume=True)
    assert result.manifest["resumed_shards"] == 1
    titles = set(pd.read_parquet(out / "articles")["title"])
    assert parse_article(make_article(999)).title in titles


def test_duplicate_ids_across_inputs_are_rejected(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_corpus(one, range(3))
    write_corpus(two, range(2))  # same relative names, so the same article ids
    result = build([one, two], tmp_path / "ds", workers=1)
    assert result.articles == 3
    assert result.rejects == {"duplicate_id": 2}
    assert result.inputs == 5


def test_duplicates_in_middle_shards_leave_the_other_rows_with_their_article(tmp_path):
    # Small shards: the second input's first shards are all duplicates, its last ones are not, so every
    # later part's rows must still find their own article (split, group) after the dropped ones.
    one, two = tmp_path / "one", tmp_path / "two"
    write_corpus(one, range(5))
    write_corpus(two, range(9))
    result = build([one, two], tmp_path / "ds", workers=1, articles_per_shard=2)
    assert result.articles == 9 and result.rejects == {"duplicate_id": 5}
    articles = pd.read_parquet(tmp_path / "ds" / "articles")
    captions = pd.read_parquet(tmp_path / "ds" / "captions")
    split_of = dict(zip(articles["article_id"], articles["split"], strict=True))
    assert (captions["article_id"].map(split_of) == captions["split"]).all()
    assert len(captions) == articles["num_captions"].sum() > 0
    assert articles["group_id"].notna().all()


def test_default_corpus_builds_with_machine_independent_sources(tmp_path):
    from captionset.corpus import default_corpus_dir

    result = build(None, tmp_path / "ds", workers=1)
    shipped = sorted(p.name for p in default_corpus_dir().glob("*.txt"))
    assert result.articles + result.num_rejects == len(shipped) > 0 and result.captions > 0
    sources = pd.read_parquet(tmp_path / "ds" / "articles")["source"]
    assert set(sources) <= {f"default-corpus/{name}" for name in shipped}
    assert len(sources) == result.articles
    assert (tmp_path / "ds" / "README.md").is_file()


def test_missing_input_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        build([tmp_path / "nope"], tmp_path / "ds")


def test_resplit_with_the_same_rule_gives_the_same_files(built, tmp_path):
    import shutil

    from captionset.build import resplit

    copy = tmp_path / "copy"
    shutil.copytree(built.output_dir, copy)
    result = resplit(copy)
    assert result.articles == built.articles
    assert data_files(copy) == data_files(built.output_dir)


def test_resplit_moves_groups_not_rows_and_keeps_every_row(built, tmp_path):
    import shutil

    from captionset.build import resplit

    copy = tmp_path / "copy"
    shutil.copytree(built.output_dir, copy)
    result = resplit(copy, ratios=(0.5, 0.25, 0.25), seed="other", split_by="article")
    old = pd.read_parquet(built.output_dir / "captions")
    new = pd.read_parquet(copy / "captions")
    assert sorted(new["caption_id"]) == sorted(old["caption_id"])
    articles = pd.read_parquet(copy / "articles")
    assert (articles.groupby("group_id")["split"].nunique() == 1).all()
    assert (
        new["article_id"].map(dict(zip(articles["article_id"], articles["split"], strict=True)))
        == new["split"]
    ).all()
    assert result.splits["articles"]["validation"] > 0
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["split_rule"]["seed"] == "other" and manifest["resplit_from"]["seed"] == "captionset"
    assert manifest["counts"]["inputs"] == built.inputs
    assert (copy / "rejects.jsonl").read_bytes() == (built.output_dir / "rejects.jsonl").read_bytes()
    assert "seed `other`" in (copy / "README.md").read_text()


def test_cli_build_prints_a_summary_and_refuses_an_existing_folder(corpus, tmp_path):
    from click.testing import CliRunner

    from captionset.cli import cli

    out = tmp_path / "ds"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["build", str(corpus), "-o", str(out), "--workers", "1", "-q"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "40 articles" in result.stdout and "2 rejected" in result.stdout
    assert (out / "README.md").is_file()
    again = runner.invoke(cli, ["build", str(corpus), "-o", str(out)], catch_exceptions=False)
    assert again.exit_code == 1 and "exists" in again.stderr
    over = runner.invoke(
        cli,
        ["build", str(corpus), "-o", str(out), "--overwrite", "--seed", "x", "--ratios", "0.6,0.2,0.2", "-q"],
        catch_exceptions=False,
    )
    assert over.exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["split_rule"]["ratios"]["train"] == 0.6


def test_cli_build_takes_the_alignment_knobs(corpus, tmp_path):
    """--top-k, --neighbours and --window-tokens reach every caption row and the manifest."""
    import pandas as pd
    from click.testing import CliRunner

    from captionset.cli import cli

    out = tmp_path / "ds"
    args = ["build", str(corpus), "-o", str(out), "--workers", "1", "-q"]
    knobs = ["--top-k", "1", "--neighbours", "0", "--window-tokens", "20"]
    result = CliRunner().invoke(cli, args + knobs, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out / "captions")
    assert len(rows) > 0
    assert rows["related"].map(len).max() == 1
    assert rows["context_before"].map(len).max() == 0 and rows["context_after"].map(len).max() == 0
    assert rows["context_window"].map(lambda text: len(text.split())).max() <= 20
    align = json.loads((out / "manifest.json").read_text())["options"]["align"]
    assert (align["top_k"], align["neighbours"], align["window_tokens"]) == (1, 0, 20)
    bad = CliRunner().invoke(cli, [*args[:4], "--top-k", "-1"], catch_exceptions=False)
    assert bad.exit_code == 2 and "top-k" in bad.output


@pytest.mark.parametrize("ratios", ["0.8,0.2", "x,y,z", "0.9,0.9,0.1"])
def test_cli_bad_ratios_are_usage_errors(ratios, tmp_path):
    from click.testing import CliRunner

    from captionset.cli import cli

    result = CliRunner().invoke(
        cli, ["build", "-o", str(tmp_path / "ds"), "--ratios", ratios], catch_exceptions=False
    )
    assert result.exit_code == 2 and "--ratios" in result.stderr
    assert not (tmp_path / "ds").exists()


def test_cli_split_resplits(built, tmp_path):
    import shutil

    from click.testing import CliRunner

    from captionset.cli import cli

    copy = tmp_path / "copy"
    shutil.copytree(built.output_dir, copy)
    result = CliRunner().invoke(
        cli,
        ["split", str(copy), "--ratios", "0.34,0.33,0.33", "--seed", "s", "--split-by", "date", "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0 and "40 articles" in result.stdout
    articles = pd.read_parquet(copy / "articles").dropna(subset=["published"])
    train_max = articles.loc[articles["split"] == "train", "published"].max()
    test_min = articles.loc[articles["split"] == "test", "published"].min()
    assert train_max <= test_min


def test_republished_copies_share_a_group_and_a_split(tmp_path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, range(30))
    original = (corpus / "article-0003.txt").read_text(encoding="utf-8")
    lines = original.splitlines()
    # Another outlet's copy: a new headline and byline, one paragraph dropped, the story otherwise the same.
    body = [i for i, line in enumerate(lines) if line.count(".") >= 3]
    copy = ["Wire Copy Of The Story", "", *[line for i, line in enumerate(lines[2:], 2) if i != body[-1]]]
    (corpus / "zz-copy.txt").write_text("\n".join(copy), encoding="utf-8")
    (corpus / "zz-exact.txt").write_text(
        original.replace("By Staff Reporter", "By Wire Reporter"), encoding="utf-8"
    )
    result = build([corpus], tmp_path / "ds", workers=1, ratios=(0.34, 0.33, 0.33))
    articles = pd.read_parquet(tmp_path / "ds" / "articles").set_index("source")
    names = {Path(s).name: s for s in articles.index}
    trio = articles.loc[[names["article-0003.txt"], names["zz-copy.txt"], names["zz-exact.txt"]]]
    assert trio["group_id"].nunique() == 1 and trio["split"].nunique() == 1
    assert (articles["group_id"] == articles["article_id"]).sum() == len(articles) - 2
    assert result.manifest["statistics"]["groups"]["largest_group"] == 3
    leak = result.manifest["statistics"]["leakage"]
    assert leak["articles_in_several_splits"] == leak["groups_in_several_splits"] == 0


def test_leakage_check_counts_what_it_finds():
    import pyarrow as pa

    light = pa.table(
        {
            "article_id": ["a", "b", "c", "d"],
            "group_id": ["a", "b", "b", "d"],
            "caption_keys": pa.array([[1, 2], [2, 3], [3], [4]], pa.list_(pa.uint64())),
        }
    )
    split_of_row = np.array([0, 2, 2, 0], np.int8)  # train, test, test, train
    written = {
        "train": pa.chunked_array([["a", "b", "d"]]),
        "validation": pa.chunked_array([], pa.string()),
        "test": pa.chunked_array([["b", "c"]]),
    }
    leak = build_module._leakage(light, split_of_row, written)
    assert leak["articles_in_several_splits"] == 1
    assert leak["caption_texts_in_several_splits"] == 1  # key 2: in train (a) and test (b); 3 only in test
    assert leak["caption_rows_with_shared_text"] == 2
    assert leak["shared_caption_texts_by_pair"] == {
        "train/validation": 0,
        "train/test": 1,
        "validation/test": 0,
    }
    assert leak["groups_in_several_splits"] == 0
    # a group whose articles went to two splits is counted
    split_of_row[2] = 0
    assert build_module._leakage(light, split_of_row, written)["groups_in_several_splits"] == 1


KILLABLE_BUILD = """
import sys
from captionset import build
build([sys.argv[1]], sys.argv[2], workers=1, articles_per_shard=10)
"""


@pytest.mark.slow
def test_a_build_killed_with_sigkill_resumes_to_the_same_dataset(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    corpus = tmp_path / "corpus"
    write_corpus(corpus, range(200))
    out = tmp_path / "ds"
    process = subprocess.Popen([sys.executable, "-c", KILLABLE_BUILD, str(corpus), str(out)])
    parts = partial_dir(out) / "parts"
    deadline = time.monotonic() + 60
    while len(list(parts.glob("*.done.json"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list(parts.glob("*.done.json")))
    assert 3 <= done < 20, "the build finished before it could be killed"
    assert not out.exists()
    resumed = build([corpus], out, workers=1, articles_per_shard=10, resume=True)
    assert resumed.manifest["resumed_shards"] >= 3
    clean = build([corpus], tmp_path / "clean", workers=1, articles_per_shard=50)
    assert data_files(out) == data_files(clean.output_dir)
    assert resumed.articles == 200


def test_a_second_build_into_the_same_folder_is_refused_while_one_runs(corpus, tmp_path):
    out = tmp_path / "dataset"
    with build_module.output_lock(out) as lock:
        assert lock == tmp_path / ".dataset.lock"
        with pytest.raises(build_module.OutputBusy, match="another captionset build"):
            build([corpus], out, workers=1)
        with pytest.raises(build_module.OutputBusy):
            build_module.resplit(out)
        assert not out.exists() and not partial_dir(out).exists()
        result = CliRunner().invoke(cli, ["build", str(corpus), "-o", str(out)], catch_exceptions=False)
        assert result.exit_code == 1 and "another captionset build" in result.output
    # Released with its holder (the lock is the open file's): the folder can be built and re-split now.
    build([corpus], out, workers=1)
    build_module.resplit(out, seed="other")
    assert (out / "manifest.json").is_file()


def test_block_columns_give_the_table_of_the_schemas_block_rows(corpus):
    """The shard path gathers the blocks table column by column: it must be the table of
    schema.block_table_rows, value for value (captions and all), including an article without blocks."""
    import pyarrow as pa

    from captionset.model import Article
    from captionset.schema import BLOCKS, block_table_rows

    articles = [parse_article(p.read_bytes(), source=str(p)) for p in sorted(corpus.glob("article-*.txt"))]
    articles.insert(1, Article(article_id="none", source="none", text="", blocks=[]))
    assert any(b.is_caption for a in articles for b in a.blocks)
    columns = build_module._BlockColumns()
    for article in articles:
        columns.add(article)
    rows = [row for article in articles for row in block_table_rows(article)]
    expected = pa.Table.from_pylist(rows, schema=BLOCKS)
    assert len(columns) == len(rows)
    assert columns.table().equals(expected)
    assert build_module._BlockColumns().table().equals(BLOCKS.empty_table())


def test_parts_are_written_without_the_published_files_extras(corpus, tmp_path):
    """Worker parts skip statistics, page indexes and content-defined chunking (read once, whole); the
    published files keep them."""
    from captionset.sources import plan_shards

    task = build_module.ShardTask(plan_shards([corpus], articles_per_shard=50)[0], str(tmp_path), "fp")
    build_module.process_shard(task)
    part = pq.ParquetFile(build_module.part_path(tmp_path, 0, "blocks"))
    assert part.metadata.num_rows > 0
    assert not part.metadata.row_group(0).column(0).is_stats_set
    out = build([corpus], tmp_path / "ds", workers=1)
    published = pq.ParquetFile(next((out.output_dir / "blocks").glob("train-*.parquet")))
    assert published.metadata.row_group(0).column(0).is_stats_set


@pytest.mark.parametrize("compressed", [False, True])
def test_read_whole_reads_to_the_limit_and_no_further(tmp_path, compressed):
    """Shards read article files by their size: a file at the limit is read whole, one byte more is
    TooLarge, compressed or not, and a file whose size says 0 (as /proc's do) is still read whole."""
    import gzip

    from captionset.sources.common import TooLarge, read_whole

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / (name + (".gz" if compressed else ""))
        path.write_bytes(gzip.compress(data) if compressed else data)
        return path

    assert read_whole(write("at", b"x" * 100), 100) == b"x" * 100
    assert read_whole(write("empty", b""), 100) == b""
    with pytest.raises(TooLarge):
        read_whole(write("over", b"x" * 101), 100)
    if not compressed:
        loadavg = Path("/proc/loadavg")
        if loadavg.is_file() and loadavg.stat().st_size == 0:
            assert read_whole(loadavg, 1000).count(b" ") >= 3


def test_code_fingerprint_covers_the_models_and_rules_not_compiled_files():
    """A retrained classifier (model.json.gz) or ranker must change the fingerprint (resume and the card
    depend on it); compiled extensions must not (they differ by machine, not in results)."""
    package = Path(build_module.__file__).resolve().parent
    names = {p.relative_to(package).as_posix() for p in build_module.fingerprinted_files()}
    assert {"classify/model.json.gz", "align_model.json", "build.py", "classify/signals.py"} <= names
    assert not any(name.endswith((".so", ".pyd", ".c")) for name in names)
    assert all("__pycache__" not in name for name in names)
    assert len(build_module.code_fingerprint()) == 16
