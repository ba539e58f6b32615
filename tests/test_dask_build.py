"""The dataset is the same, byte for byte, whatever the engine and the worker count."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from captionset.build import _default_inputs, build
from captionset.sources import SourceOptions


def _corpus(tmp_path: Path) -> Path:
    """The default corpus as text files, plus the same articles in gzipped JSONL under other ids."""
    corpus = tmp_path / "corpus"
    texts = sorted(p for root in _default_inputs() for p in Path(root).rglob("*.txt"))
    (corpus / "txt").mkdir(parents=True)
    for path in texts:
        shutil.copy(path, corpus / "txt" / path.name)
    rows = [{"id": f"jsonl-{p.stem}", "text": p.read_text(encoding="utf-8")} for p in texts]
    (corpus / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    return corpus


def _files(folder: Path) -> dict[str, bytes]:
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("timings", None)  # seconds, worker count and engine differ by design
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


@pytest.mark.slow
def test_dask_build_equals_local_build_byte_for_byte(tmp_path):
    pytest.importorskip("distributed")
    corpus = _corpus(tmp_path)
    options = SourceOptions()
    one = build([corpus], tmp_path / "one", workers=1, source_options=options, articles_per_shard=3)
    two = build([corpus], tmp_path / "two", workers=2, source_options=options, articles_per_shard=3)
    dask = build(
        [corpus], tmp_path / "dask", workers=2, engine="dask", source_options=options, articles_per_shard=3
    )
    assert one.articles > 7 and one.rejects  # the broken line is a reject, not a crash
    reference = _files(tmp_path / "one")
    assert any(name.endswith(".parquet") for name in reference)
    assert _files(tmp_path / "two") == reference
    assert _files(tmp_path / "dask") == reference
    assert (one.articles, one.captions) == (two.articles, two.captions) == (dask.articles, dask.captions)
