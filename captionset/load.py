"""Loading a built dataset with `datasets`, and reading its manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .schema import TABLES


def _check_dir(path: Path) -> None:
    if not (path / "README.md").is_file() or not (path / "manifest.json").is_file():
        raise FileNotFoundError(f"{path} is not a captionset dataset (no README.md / manifest.json)")


def load(path: str | os.PathLike[str], config: str = "captions", split: str | None = None, **kwargs: Any):
    """The dataset as `datasets.load_dataset` gives it: a DatasetDict, or a Dataset when ``split`` is given.

    A thin wrapper: the folder is a plain Hugging Face dataset, so ``datasets.load_dataset(path, config)``
    works the same way without captionset installed.
    """
    import datasets

    path = Path(path)
    _check_dir(path)
    if config not in TABLES:
        raise ValueError(f"config must be one of {list(TABLES)}, got {config!r}")
    return datasets.load_dataset(str(path), config, split=split, **kwargs)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The build's manifest.json: options, counts, statistics, files, timings."""
    path = Path(path)
    _check_dir(path)
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _split_files(path: Path, manifest: dict[str, Any], config: str, split: str | None) -> list[Path]:
    splits = [split] if split else list(manifest["files"][config])
    return [path / f for s in splits for f in manifest["files"][config][s]["files"]]


def show(
    path: str | os.PathLike[str], config: str = "captions", split: str | None = None, n: int = 5
) -> list[dict[str, Any]]:
    """The first ``n`` rows of a config (of one split, or of every split in turn), as dicts."""
    import pyarrow.parquet as pq

    path = Path(path)
    manifest = read_manifest(path)
    if config not in TABLES:
        raise ValueError(f"config must be one of {list(TABLES)}, got {config!r}")
    if split is not None and split not in manifest["files"][config]:
        raise ValueError(f"split must be one of {list(manifest['files'][config])}, got {split!r}")
    rows: list[dict[str, Any]] = []
    for file in _split_files(path, manifest, config, split):
        handle = pq.ParquetFile(file)
        for batch in handle.iter_batches(batch_size=max(n, 1)):
            rows.extend(batch.to_pylist()[: n - len(rows)])
            if len(rows) >= n:
                return rows
    return rows


def stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts, split rule, statistics and leakage of a build, with the row counts checked against the files."""
    import pyarrow.parquet as pq

    path = Path(path)
    manifest = read_manifest(path)
    checked: dict[str, dict[str, int]] = {}
    for config, per_split in manifest["files"].items():
        checked[config] = {}
        for split, info in per_split.items():
            rows = sum(pq.read_metadata(path / f).num_rows for f in info["files"])
            if rows != info["num_examples"]:
                raise ValueError(
                    f"{path}: {config}/{split} has {rows} rows, the manifest says {info['num_examples']}"
                )
            checked[config][split] = rows
    counts = manifest["counts"]
    return {
        "path": str(path),
        "captionset_version": manifest["captionset_version"],
        "inputs": counts["inputs"],
        "articles": counts["articles"],
        "captions": counts["captions"],
        "blocks": counts["blocks"],
        "rejects": counts["rejects"],
        "rejects_by_reason": counts["rejects_by_reason"],
        "splits": checked,
        "split_rule": manifest["split_rule"],
        "statistics": manifest["statistics"],
    }
