"""The dataset card: README.md with the YAML front matter `datasets` reads, and the sections people read.

The front matter is regenerated with the shards, every build (ecosystem.md §1.6 pitfall 7-8): configs with
their data files, a ``version`` and a ``description`` carrying the digest of the files (so a rebuild with
different data never hits a stale `datasets` cache), and ``dataset_info`` with features and split sizes.
Nothing in the card depends on the time or the machine: the same build gives the same card.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .ids import stable_hash
from .schema import DESCRIPTIONS, TABLES, hf_features
from .splits import SPLIT_NAMES

# The X.Y.Z head of a version string: a config's `version` must look like that.
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)")

SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
)


#: How good the labels and alignments are, as measured on hand-labelled articles for this version (the
#: README's "How good is it"; tests/test_card.py re-measures the alignment figures). Parser:
#: ``python scripts/train_classifier.py --loso`` (each dev page scored by a model that never saw its site);
#: alignment: ``python scripts/eval_align.py --set heldout`` (captions never used to fit the ranker).
MEASURED_QUALITY: dict[str, Any] = {
    "parser": {
        "articles": 50,
        "sites": 44,
        "caption_f1": 0.875,
        "caption_precision": 0.906,
        "caption_recall": 0.847,
        "daily_mail_caption_f1": 0.980,
        "body_precision": 0.943,
        "body_recall": 0.942,
        "media_accuracy": 0.993,
    },
    "alignment": {
        "captions": 98,
        "articles": 32,
        "top1": 0.663,
        "top3": 0.898,
        "proximity_top1": 0.357,
        "proximity_top3": 0.571,
        "parser_top1": 0.571,
        "parser_top3": 0.735,
    },
}


def _quality_section() -> str:
    """What a researcher should expect of the labels and of ``related``, with how it was measured."""
    parser, align = MEASURED_QUALITY["parser"], MEASURED_QUALITY["alignment"]
    rows = [
        [
            "caption detection (photo + video vs the rest)",
            f"F1 {parser['caption_f1']:.3f} (precision {parser['caption_precision']:.3f}, "
            f"recall {parser['caption_recall']:.3f}); Daily Mail pages {parser['daily_mail_caption_f1']:.3f}",
        ],
        [
            "body paragraphs",
            f"precision {parser['body_precision']:.3f}, recall {parser['body_recall']:.3f}",
        ],
        ["photo vs video, of the captions found", f"accuracy {parser['media_accuracy']:.3f}"],
        [
            "`related`: the paragraph the picture illustrates first / among the top 3",
            f"{align['top1']:.3f} / {align['top3']:.3f} (the nearest paragraphs: "
            f"{align['proximity_top1']:.3f} / {align['proximity_top3']:.3f}); with the parser's own labels "
            f"{align['parser_top1']:.3f} / {align['parser_top3']:.3f}",
        ],
    ]
    return (
        _table(["what", "measured"], rows)
        + f"""

Measured for this version of captionset on hand-labelled articles, not on this dataset. Parser:
{parser["articles"]} news articles from {parser["sites"]} sites, each scored by a model that was not fitted to
its site (leave-one-site-out). Alignment: {align["captions"]} captions of {align["articles"]} articles that were
never used to fit the ranker, aligned on the hand labels of their blocks (and, last, on the parser's). On
sites unlike these, expect lower figures."""
    )


def config_version(version: str) -> str:
    """The X.Y.Z a config's ``version:`` needs (a dev suffix is dropped)."""
    match = SEMVER.match(version)
    return ".".join(match.groups()) if match else "0.0.0"


def size_category(n: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if n < limit), "10M<n<100M")


def front_matter(manifest: dict[str, Any]) -> dict[str, Any]:
    """The YAML header as a dict: Hub metadata, configs (captions is the default) and dataset_info."""
    files = manifest["files"]
    version = config_version(manifest["captionset_version"])
    configs, infos = [], []
    non_empty = [c for c in TABLES if any(files[c][s]["num_examples"] for s in SPLIT_NAMES)]
    # The default config is captions; a build without captions falls back to the next table with rows.
    default = "captions" if "captions" in non_empty else next(iter(non_empty), None)
    for config in non_empty:
        # An empty split (or a table with no rows at all) is left out: `datasets` refuses data with no rows,
        # and one config without files would break loading every other config of the folder.
        present = [s for s in SPLIT_NAMES if files[config][s]["num_examples"]]
        digest = stable_hash(*(files[config][s]["sha256"] for s in SPLIT_NAMES), size=16)
        entry: dict[str, Any] = {
            "config_name": config,
            "data_files": [{"split": s, "path": f"{config}/{s}-*"} for s in present],
        }
        if config == default:
            entry["default"] = True
        entry["version"] = version
        entry["description"] = f"captionset {manifest['captionset_version']} {config}, data {digest}"
        configs.append(entry)
        splits = [
            {
                "name": s,
                "num_bytes": files[config][s]["num_bytes"],
                "num_examples": files[config][s]["num_examples"],
            }
            for s in present
        ]
        infos.append(
            {
                "config_name": config,
                "features": hf_features(TABLES[config]),
                "splits": splits,
                "download_size": sum(files[config][s]["download_bytes"] for s in SPLIT_NAMES),
                "dataset_size": sum(files[config][s]["num_bytes"] for s in SPLIT_NAMES),
            }
        )
    return {
        "pretty_name": "captionset",
        "language": ["en"],
        "license": "other",
        "annotations_creators": ["machine-generated"],
        "source_datasets": ["original"],
        "task_categories": ["text-generation"],
        "size_categories": [size_category(manifest["counts"]["captions"])],
        "tags": ["news", "captions", "journalism"],
        "configs": configs,
        "dataset_info": infos,
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _feature_type(feature: dict[str, Any]) -> str:
    if "dtype" in feature:
        return feature["dtype"]
    inner = feature.get("list")
    if isinstance(inner, str):
        return f"list<{inner}>"
    if isinstance(inner, list):
        return "list<{" + ", ".join(f"{f['name']}: {_feature_type(f)}" for f in inner) + "}>"
    return "struct"


def _fields_section() -> str:
    parts = []
    for config, schema in TABLES.items():
        rows = [
            [f"`{f['name']}`", f"`{_feature_type(f)}`", DESCRIPTIONS[config].get(f["name"], "")]
            for f in hf_features(schema)
        ]
        parts.append(f"#### `{config}`\n\n" + _table(["field", "type", "description"], rows))
    return "\n\n".join(parts)


def _split_rule_text(rule: dict[str, Any]) -> str:
    ratios = ", ".join(f"{name} {value:g}" for name, value in rule["ratios"].items())
    near = rule["near_duplicates"]
    common = (
        f"Ratios: {ratios}; seed `{rule['seed']}` (salt `{rule['salt']}`). "
        "Articles are first grouped: articles whose normalised bodies are identical, or whose bodies are "
        f"near-duplicates (MinHash over {near['shingle_words']}-word shingles, {near['num_perm']} hashes, "
        f"estimated Jaccard >= {near['jaccard']}; bodies under {near['min_words']} words are never grouped), "
        "form one group (connected components), named `group_id` = its smallest article id. "
        "Every article of a group, and every caption and block of those articles, is in the same split."
    )
    if rule["split_by"] == "date":
        return (
            common
            + "\n\nSplit by **date**: groups are ordered by their earliest publication time and cut at "
            "the ratios (oldest in train, newest in test). Undated groups are assigned by hash, as below. "
            "The cut points are quantiles of this build, so they move when articles are added."
        )
    return (
        common + "\n\nSplit by **article group**: a group goes to the split in which "
        "`blake2b-64(salt + NUL + group_id) / 2^64` falls when [0, 1) is cut at the cumulative ratios. "
        "The assignment of a group never depends on the other articles, so adding articles never moves an "
        "existing one (unless a newly added near-duplicate joins its group)."
    )


def _stats_section(manifest: dict[str, Any]) -> str:
    stats = manifest["statistics"]
    counts = manifest["counts"]
    rows = []
    for split in (*SPLIT_NAMES, "all"):
        if split == "all":
            articles, captions, blocks = counts["articles"], counts["captions"], counts["blocks"]
        else:
            articles = counts["splits"]["articles"][split]
            captions = counts["splits"]["captions"][split]
            blocks = counts["splits"]["blocks"][split]
        media = stats["media_type"][split]
        cpa = stats["captions_per_article"][split]
        chars = stats["caption_chars"][split]
        words = stats["caption_words"][split]
        rows.append(
            [
                split,
                articles,
                captions,
                blocks,
                media.get("photo", 0),
                media.get("video", 0),
                f"{cpa['mean']:g} / {cpa['median']} / {cpa['max']}",
                cpa["articles_without_captions"],
                f"{chars['mean']:g} / {chars['median']} ({chars['p10']}-{chars['p90']})",
                f"{words['mean']:g} / {words['median']}",
            ]
        )
    header = [
        "split",
        "articles",
        "captions",
        "blocks",
        "photo",
        "video",
        "captions per article (mean / median / max)",
        "articles without captions",
        "caption chars (mean / median (p10-p90))",
        "caption words (mean / median)",
    ]
    groups = stats["groups"]
    dates = stats.get("published", {})
    date_rows = [
        [
            split,
            (dates[split]["first"] or "-")[:10],
            (dates[split]["last"] or "-")[:10],
            dates[split]["undated"],
        ]
        for split in (*SPLIT_NAMES, "all")
        if split in dates
    ]
    return (
        _table(header, rows)
        + "\n\nPublication dates (UTC):\n\n"
        + _table(["split", "first", "last", "undated articles"], date_rows)
        + f"\n\nNear-duplicate groups: {groups['groups']} groups; {groups['articles_in_multi_article_groups']} "
        f"articles are in a group of two or more (largest: {groups['largest_group']})."
    )


def _leakage_section(leak: dict[str, Any]) -> str:
    pairs = ", ".join(f"{k} {v}" for k, v in leak["shared_caption_texts_by_pair"].items())
    return (
        f"- Articles in more than one split: **{leak['articles_in_several_splits']}**.\n"
        f"- Near-duplicate groups in more than one split: **{leak['groups_in_several_splits']}**.\n"
        f"- Distinct caption texts (lower-cased words) found in more than one split: "
        f"**{leak['caption_texts_in_several_splits']}**, carried by {leak['caption_rows_with_shared_text']} "
        f"caption rows ({pairs}). These are captions of different articles that happen to read the same "
        "(for example stock photos reused across stories, or short generic captions); they are reported, "
        "not removed."
    )


def _options_rows(options: dict[str, Any]) -> list[list[str]]:
    rows = []
    for stage, values in options.items():
        if isinstance(values, dict):
            rows += [[f"`{stage}.{k}`", f"`{v}`"] for k, v in values.items()]
        else:
            rows.append([f"`{stage}`", f"`{values}`"])
    return rows


def render_card(manifest: dict[str, Any]) -> str:
    """README.md for a built dataset, from its manifest (timings are never used: they would break bytes)."""
    header = yaml.safe_dump(front_matter(manifest), sort_keys=False, allow_unicode=True, width=1000)
    counts = manifest["counts"]
    rejects = counts["rejects_by_reason"]
    reject_text = ", ".join(f"`{k}` {v}" for k, v in rejects.items()) or "none"
    version = manifest["captionset_version"]
    split_rows = [[f"`{config}`", *(counts["splits"][config][s] for s in SPLIT_NAMES)] for config in TABLES]
    empty = [s for s in SPLIT_NAMES if not counts["splits"]["articles"][s]]
    empty_note = (
        f"\n\nEmpty splits ({', '.join(empty)}) are not listed in the YAML header: `datasets` cannot load a "
        "split without rows."
        if empty
        else ""
    )
    empty_tables = [c for c in TABLES if not counts[c]]
    if empty_tables:
        empty_note += (
            f"\n\nTables without any row in this build ({', '.join(empty_tables)}) have no files and no "
            "config in the YAML header."
        )
    body = f"""# captionset: news captions with their article context

## Dataset summary

Photo and video captions taken out of news articles, each with its position in the article, the paragraphs
around it, a context window and the paragraphs it most likely describes, built by
[captionset](https://pypi.org/project/captionset/) {version}. {counts["articles"]} articles gave
{counts["captions"]} captions ({counts["blocks"]} labelled blocks). Three configs:

- `captions` (default): one row per caption, with its context;
- `articles`: one row per article (title, byline, publication time, highlights, body paragraphs, counts);
- `blocks`: one row per block of text with the parser's label and score, to audit the parser.

```python
import datasets, pandas as pd
captions = datasets.load_dataset("path/to/this/folder", "captions")   # train / validation / test
articles = pd.read_parquet("path/to/this/folder/articles")            # every split, one DataFrame
```

Off the Hub, `croissant.json` (MLCommons Croissant 1.1) describes the same tables:
`mlcroissant.Dataset("path/to/this/folder/croissant.json").records("captions")`.

## How it was built

`captionset build` (parser and aligner of captionset {version}, code fingerprint
`{manifest.get("code_fingerprint", "unknown")}`) read {counts["inputs"]} inputs
(input fingerprint `{manifest["input_fingerprint"]}`): {counts["articles"]} became articles and
{counts["rejects"]} were rejected ({reject_text}; every reject is listed with its reason in `rejects.jsonl`).
Each article was decoded, cut into blocks, each block labelled (title, highlight, body, subheading,
photo_caption, video_caption, byline, boilerplate, other), and each caption aligned with its context.
`manifest.json` records the same counts, the options and the timings of the run.

Options (fingerprint `{manifest["options_fingerprint"]}`):

{_table(["option", "value"], _options_rows(manifest["options"]))}

## Dataset Structure

### Data Fields

{_fields_section()}

### Data Splits

{_table(["config", *SPLIT_NAMES], split_rows)}{empty_note}

{_split_rule_text(manifest["split_rule"])}

The rule is also stored in every Parquet file's key-value metadata (`captionset.split_rule`).
`captionset split DIR --ratios ... --seed ...` re-splits this folder without re-parsing.

## Statistics

{_stats_section(manifest)}

## Leakage check

{_leakage_section(manifest["statistics"]["leakage"])}

## Measured quality

{_quality_section()}

## Limits

- Labels, captions and their context are machine-made by a heuristic parser; expect errors, above all on
  sites unlike the ones it was tuned on. The `blocks` config and the `score` columns let you audit them.
- Text has no images: captions describe pictures that are not included.
- Publication times come from the input's date field or the byline; naive times are taken as UTC.
- Near-duplicate grouping compares bodies only; two rewrites of one story with little wording in common
  stay separate groups.
- The licence of the text is that of the input articles (`license: other`); check it before
  redistributing.
"""
    return f"---\n{header}---\n\n{body}"
