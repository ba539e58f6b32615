"""captionset.card: the README's YAML agrees with the files, and the sections people read are there."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from articles_factory import built_dataset, write_corpus

from captionset.build import build
from captionset.card import config_version, front_matter, render_card, size_category
from captionset.schema import TABLES, hf_features

ROOT = Path(__file__).resolve().parent.parent


def read_front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return built_dataset(tmp_path_factory, "card", 30, seed="card", video=True)


def test_configs_list_captions_first_as_default_with_globs_that_match(dataset):
    meta, _ = read_front_matter(dataset / "README.md")
    configs = meta["configs"]
    assert [c["config_name"] for c in configs] == ["captions", "articles", "blocks"]
    assert configs[0]["default"] is True and not any(c.get("default") for c in configs[1:])
    manifest = json.loads((dataset / "manifest.json").read_text())
    for config in configs:
        assert config["version"] == config_version(manifest["captionset_version"])
        for entry in config["data_files"]:
            matched = sorted(glob.glob(str(dataset / entry["path"])))
            listed = sorted(
                str(dataset / f) for f in manifest["files"][config["config_name"]][entry["split"]]["files"]
            )
            assert matched == listed and matched, entry


def test_dataset_info_features_and_split_sizes_match_the_files(dataset):
    meta, _ = read_front_matter(dataset / "README.md")
    for info in meta["dataset_info"]:
        config = info["config_name"]
        assert info["features"] == hf_features(TABLES[config])
        total_bytes = 0
        for split in info["splits"]:
            files = sorted((dataset / config).glob(f"{split['name']}-*.parquet"))
            assert split["num_examples"] == sum(pq.read_metadata(f).num_rows for f in files) > 0
            assert pq.read_schema(files[0]).remove_metadata() == TABLES[config].remove_metadata()
            total_bytes += sum(f.stat().st_size for f in files)
        assert info["download_size"] == total_bytes
        assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])


def test_sections_are_there_and_counts_agree(dataset):
    _, body = read_front_matter(dataset / "README.md")
    for heading in (
        "## Dataset summary",
        "## How it was built",
        "### Data Fields",
        "### Data Splits",
        "## Statistics",
        "## Leakage check",
        "## Measured quality",
        "## Limits",
    ):
        assert heading in body
    manifest = json.loads((dataset / "manifest.json").read_text())
    counts = manifest["counts"]
    assert f"{counts['articles']} articles gave\n{counts['captions']} captions" in body
    assert "seed `card`" in body
    assert "Articles in more than one split: **0**" in body
    first = manifest["statistics"]["published"]["all"]["first"]
    assert first is not None and f"| all | {first[:10]} |" in body
    for column in TABLES["captions"].names:
        assert f"`{column}`" in body


def test_card_has_no_timings(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["timings"]["total_seconds"] > 0
    text = (dataset / "README.md").read_text()
    assert "seconds" not in text
    # The card is the same whatever the build took (a rebuild must give the same bytes).
    for key in manifest["timings"]:
        manifest["timings"][key] = 12345.678
    assert render_card(manifest) == text


def test_description_follows_the_data(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    before = {c["config_name"]: c["description"] for c in front_matter(manifest)["configs"]}
    manifest["files"]["blocks"]["train"]["sha256"] = "0" * 64
    after = {c["config_name"]: c["description"] for c in front_matter(manifest)["configs"]}
    assert before["blocks"] != after["blocks"] and before["captions"] == after["captions"]
    assert render_card(manifest) != (dataset / "README.md").read_text()


def test_empty_splits_are_left_out_of_the_yaml(tmp_path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, range(4))
    out = tmp_path / "ds"
    build([corpus], out, workers=1, ratios=(1.0, 0.0, 0.0))
    meta, body = read_front_matter(out / "README.md")
    for config in meta["configs"]:
        assert [d["split"] for d in config["data_files"]] == ["train"]
    for info in meta["dataset_info"]:
        assert [s["name"] for s in info["splits"]] == ["train"]
    assert "| `captions` |" in body
    assert "Empty splits (validation, test) are not listed" in body


def test_helpers():
    assert config_version("0.1.0.dev3+g123") == "0.1.0"
    assert config_version("weird") == "0.0.0"
    assert size_category(999) == "n<1K" and size_category(25_000) == "10K<n<100K"


def test_measured_quality_is_in_the_card_and_the_readme(dataset):
    """The card tells researchers how good the labels and alignments are, with the README's figures."""
    from captionset.card import MEASURED_QUALITY

    body = (dataset / "README.md").read_text(encoding="utf-8")
    parser, align = MEASURED_QUALITY["parser"], MEASURED_QUALITY["alignment"]
    assert f"F1 {parser['caption_f1']:.3f} (precision {parser['caption_precision']:.3f}" in body
    assert f"{align['top1']:.3f} / {align['top3']:.3f} (the nearest paragraphs" in body
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        f"**{parser['caption_f1']:.3f}** (P {parser['caption_precision']:.3f}, R {parser['caption_recall']:.3f}"
        in readme
    )
    assert f"{parser['body_recall']:.3f} (P {parser['body_precision']:.3f}" in readme
    assert f"**{align['top1']:.3f} / {align['top3']:.3f}**" in readme
