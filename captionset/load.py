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
