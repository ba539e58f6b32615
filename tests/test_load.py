"""Loading a build with `datasets` (offline, fresh process, no stale cache) and pandas: the same records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pandas as pd
import pytest
import yaml
from articles_factory import built_dataset, make_article, write_corpus

from captionset.build import build
from captionset.load import load, read_manifest

SPLITS = ["train", "validation", "test"]

FRESH_LOAD = """
import json, sys, datasets
out = {}
for config in ("captions", "articles", "blocks"):
    dd = datasets.load_dataset(sys.argv[1], config)
    out[config] = {name: ds.num_rows for name, ds in dd.items()}
out["default"] = sorted(datasets.load_dataset(sys.argv[1]))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return built_dataset(tmp_path_factory, "load", 60, seed="load", video=True)


def test_loads_offline_in_a_fresh_process_with_all_splits(dataset, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, str(dataset)], env=env, capture_output=True, text=True, check=True
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    counts = read_manifest(dataset)["counts"]["splits"]
    for config in ("captions", "articles", "blocks"):
        assert sorted(got[config]) == sorted(SPLITS)
        assert got[config] == counts[config]
    assert got["default"] == sorted(SPLITS)


def test_round_trip_load_dataset_equals_read_parquet(dataset):
    for config in ("captions", "articles"):
        dd = load(dataset, config)
        frame = pd.read_parquet(dataset / config)
        for split in SPLITS:
            from_hf = dd[split].to_pandas().reset_index(drop=True)
            from_pq = frame[frame["split"] == split].reset_index(drop=True)
            assert len(from_hf) == len(from_pq) > 0
            key = "caption_id" if config == "captions" else "article_id"
            assert from_hf[key].tolist() == from_pq[key].tolist()
            assert (
                from_hf.drop(columns=["published"])
                .astype(str)
                .equals(from_pq.drop(columns=["published"]).astype(str))
            )
            assert (pd.to_datetime(from_hf["published"], utc=True) == from_pq["published"]).all()


def test_load_one_split_gives_a_dataset(dataset):
    ds = load(dataset, "articles", split="test")
    assert isinstance(ds, datasets.Dataset)
    assert set(ds["split"]) == {"test"}
    with pytest.raises(ValueError):
        load(dataset, "pictures")
    with pytest.raises(FileNotFoundError):
        load(dataset / "captions")


def test_rebuild_with_different_input_is_not_served_from_a_stale_cache(tmp_path):
    corpus = tmp_path / "corpus"
    paths = write_corpus(corpus, range(6))
    out = tmp_path / "ds"
    build([corpus], out, workers=1, ratios=(1.0, 0.0, 0.0))
    old_card = (out / "README.md").read_text(encoding="utf-8")
    before = load(out, "blocks", split="train")["text"]
    for path in paths:  # swap two place names of equal length: same blocks, other text
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("Eastwick", "@").replace("Tolworth", "Eastwick").replace("@", "Tolworth")
        )
    build([corpus], out, workers=1, ratios=(1.0, 0.0, 0.0), overwrite=True)
    # The worst case for `datasets`' cache key: the same file names, row counts and sizes. Give the new card
    # the old dataset_info, so only the data digest in the config description tells the builds apart.
    old_meta = yaml.safe_load(old_card.split("---\n")[1])
    card = (out / "README.md").read_text(encoding="utf-8")
    _, header, body = card.split("---\n", 2)
    meta = yaml.safe_load(header)
    assert (
        meta["dataset_info"][2]["splits"][0]["num_examples"]
        == old_meta["dataset_info"][2]["splits"][0]["num_examples"]
    )
    meta["dataset_info"] = old_meta["dataset_info"]
    (out / "README.md").write_text(
        f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}", encoding="utf-8"
    )
    after = load(out, "blocks", split="train")["text"]
    assert len(after) == len(before)
    assert after != before
    assert after == pd.read_parquet(out / "blocks")["text"].tolist()


def test_a_build_with_empty_splits_still_loads(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus).mkdir()
    (corpus / "only.txt").write_text(make_article(5), encoding="utf-8")
    out = tmp_path / "ds"
    result = build([corpus], out, workers=1)
    present = [s for s in SPLITS if result.splits["articles"][s]]
    assert len(present) == 1
    for config in ("captions", "articles", "blocks"):
        assert sorted(load(out, config)) == present


def test_show_returns_the_first_rows_of_a_split(dataset):
    from captionset.load import show

    rows = show(dataset, "captions", "validation", 3)
    frame = pd.read_parquet(dataset / "captions")
    expected = frame[frame["split"] == "validation"].head(3)
    assert [r["caption_id"] for r in rows] == expected["caption_id"].tolist()
    assert len(show(dataset, "articles", None, 10_000)) == len(pd.read_parquet(dataset / "articles"))
    with pytest.raises(ValueError):
        show(dataset, "captions", "dev")


def test_stats_checks_the_files_against_the_manifest(dataset, tmp_path):
    import shutil

    from captionset.load import stats

    figures = stats(dataset)
    frame = pd.read_parquet(dataset / "articles")
    assert figures["articles"] == len(frame)
    assert (
        figures["splits"]["articles"] == frame["split"].value_counts().reindex(SPLITS, fill_value=0).to_dict()
    )
    assert figures["statistics"]["leakage"]["articles_in_several_splits"] == 0
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["files"]["blocks"]["train"]["num_examples"] += 1
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="blocks/train"):
        stats(broken)


def test_cli_show_and_stats(dataset):
    from click.testing import CliRunner

    from captionset.cli import cli

    runner = CliRunner()
    shown = runner.invoke(
        cli,
        ["show", str(dataset), "--config", "articles", "--split", "test", "-n", "2", "--json"],
        catch_exceptions=False,
    )
    assert shown.exit_code == 0
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(rows) == 2 and {r["split"] for r in rows} == {"test"}
    people = runner.invoke(cli, ["show", str(dataset), "-n", "1"], catch_exceptions=False)
    assert people.exit_code == 0 and "caption_id" in people.stdout and "── captions row 0" in people.stdout
    as_json = runner.invoke(cli, ["stats", str(dataset), "--json"], catch_exceptions=False)
    figures = json.loads(as_json.stdout)
    assert figures["splits"] == read_manifest(dataset)["counts"]["splits"]
    text = runner.invoke(cli, ["stats", str(dataset)], catch_exceptions=False)
    assert text.exit_code == 0 and f"{figures['articles']} articles" in text.stdout
    missing = runner.invoke(cli, ["stats", str(dataset / "captions")], catch_exceptions=False)
    assert missing.exit_code == 1 and "not a captionset dataset" in missing.stderr


def test_a_build_without_captions_still_loads_its_other_configs(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = (
        "A Council Meets\n\nThe council met on Tuesday evening to set its budget for the coming year, "
        "and members argued for three hours before the vote, the clerk said.\n\n"
        "It agreed to raise parking fees by ten per cent and to keep the library open on Saturdays.\n"
    )
    (corpus / "plain.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "ds"
    result = build([corpus], out, workers=1)
    assert result.captions == 0
    assert datasets.get_dataset_config_names(str(out)) == ["articles", "blocks"]
    assert load(out, "articles", split="train").num_rows == 1
    assert datasets.load_dataset(str(out), split="train").num_rows == 1  # the default falls back to articles
    with pytest.raises(ValueError, match="captions"):
        load(out, "captions")
