"""Print the build's main-process RSS at each phase of the final step (grouping, each split file, leakage),
with the peak sampled in between.

Usage: python scripts/profile_memory.py INPUT [--workers 2] [--caption-row-group ROWS]

Why: the workers' memory is flat; this shows what the final step in the main process holds (the light
table of ids and groups, the MinHash matrix while grouping, the split writers' buffers) and whether it grows
with the corpus. The RSS and peak lines also give Arrow's own allocation: the gap is allocator slack and
library buffers. It wraps private functions of captionset.build, so it is a diagnostic, not an API.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa

from captionset import write

build_module = importlib.import_module("captionset.build")
PROCESS = psutil.Process()
_peak = [0]


def _sample() -> None:
    while True:
        _peak[0] = max(_peak[0], PROCESS.memory_info().rss)
        time.sleep(0.02)


def report(tag: str) -> None:
    rss = PROCESS.memory_info().rss
    print(
        f"{tag:<32} {rss >> 20:>6} MB  (peak since the last line {max(_peak[0], rss) >> 20:>6} MB, "
        f"Arrow {pa.total_allocated_bytes() >> 20:>4} MB)",
        flush=True,
    )
    _peak[0] = rss


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
    threading.Thread(target=_sample, daemon=True).start()
    out = Path(tempfile.mkdtemp()) / "dataset"
    try:
        result = build_module.build(args.inputs, out, workers=args.workers, quiet=True)
        print(result.summary())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    report("end")


if __name__ == "__main__":
    main()
