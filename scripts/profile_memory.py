"""Print the build's main-process RSS at each phase of the final step (grouping, each split file, leakage).

Usage: python scripts/profile_memory.py INPUT [--workers 2] [--caption-row-group ROWS]

Why: the workers' memory is flat, but the final step in the main process grows with the corpus (see the
README's Benchmark section); this shows where. It wraps private functions of captionset.build, so it is a
diagnostic, not an API.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
from pathlib import Path

import psutil

from captionset import write

build_module = importlib.import_module("captionset.build")
PROCESS = psutil.Process()


def report(tag: str) -> None:
    print(f"{tag:<32} {PROCESS.memory_info().rss >> 20:>6} MB", flush=True)


def traced(name: str, owner=build_module):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        report(f"before {name}")
        result = original(*args, **kwargs)
        report(f"after {name}")
        return result

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--caption-row-group", type=int, default=write.ROW_GROUP_ROWS["captions"])
    args = parser.parse_args()
    write.ROW_GROUP_ROWS["captions"] = args.caption_row_group
    for name in ("_group", "_write_tables", "_leakage"):
        traced(name)
    close = write.ShardedWriter.close

    def closing(self):
        files = close(self)
        report(f"closed {self.config}/{self.split}")
        return files

    write.ShardedWriter.close = closing
    out = Path(tempfile.mkdtemp()) / "dataset"
    try:
        result = build_module.build(args.inputs, out, workers=args.workers, quiet=True)
        print(result.summary())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    report("end")


if __name__ == "__main__":
    main()
