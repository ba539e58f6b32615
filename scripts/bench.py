#!/usr/bin/env python3
"""Benchmark: parse/align speed per core, full builds at 1 and 2 workers and under Dask, peak memory.

Generates a corpus of N plain-text articles shaped like the dev set - each one a dev article (or, without
../shared, an article of the default corpus) whose blocks are partly replaced by blocks of other articles
and shuffled, so that no two articles are the same - in a temporary folder, then prints a markdown table:

- floor: a loop that only reads and splits the files (decode + segment), articles/s on one core;
- parse, parse+align: in-process loops on one core (a sample of the corpus), and the alignment overhead;
- with ``--shard``: one shard of the sample through ``process_shard`` on one core, its CPU split into
  parse, align and the rest (reading, near-duplicate signatures, rows, Arrow, Parquet parts);
- build 1w / 2w / dask: ``captionset.build`` in a fresh process (workers=1, workers=2, engine=dask with two
  workers), articles/s per core, the ratio of build speed per core to the floor, 2-worker scaling, and the
  peak RSS of the whole process tree (build process + workers, sampled every 0.1 s). Measured speed-ups
  need otherwise idle cores; the last column estimates the 2-worker speed-up from the 1-worker build's
  timings (its shard phase divides by two, the rest does not), which a busy machine cannot distort.

Targets (issue 5 / issue 2): parse+align >= 1,000 articles/s per core; alignment adds <= 30 %; a build of
100k articles in <= 3 min on 2 cores; peak RSS <= 1 GB and flat from 10k to 100k; 2 workers >= 1.7x one.

Usage:
    python scripts/bench.py                         # N = 1,000 and 10,000 (a few minutes on 2 cores)
    python scripts/bench.py --sizes 1000,10000,100000  # the full run (about half an hour on 2 cores)
    python scripts/bench.py --sizes 1000 --runs 1w  # quick: one build, 1 worker
    python scripts/bench.py --sizes 2000 --runs "" --shard  # the shard path's CPU: parse, align, the rest
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from captionset import align, parse_article
from captionset.segment import segment
from captionset.text import to_text

ROOT = Path(__file__).resolve().parent.parent
DEV_TEXT = ROOT.parent / "shared" / "corpus" / "dev" / "text"
DEFAULT_CORPUS = ROOT / "data" / "corpus"
# Blank lines separate blocks in the corpus format.
BLANK_LINE = re.compile(r"\n[ \t\xa0]*\n")
RUNS = {"1w": {"workers": 1}, "2w": {"workers": 2}, "dask": {"workers": 2, "engine": "dask"}}


def source_articles() -> tuple[list[list[str]], str]:
    folder = DEV_TEXT if DEV_TEXT.is_dir() else DEFAULT_CORPUS
    articles = []
    for path in sorted(folder.rglob("*.txt")):
        blocks = [b for b in BLANK_LINE.split(path.read_text(encoding="utf-8")) if b.strip()]
        if len(blocks) >= 3:
            articles.append(blocks)
    return articles, str(folder)


def generate(n: int, folder: Path, articles: list[list[str]], seed: int = 5) -> None:
    """Write n articles: a base article with ~30 % of its blocks replaced from others, some shuffled."""
    pool = [block for blocks in articles for block in blocks[1:]]
    for k in range(n):
        rng = random.Random(f"{seed}:{k}")
        base = articles[k % len(articles)]
        blocks = list(base)
        for i in range(1, len(blocks) - 1):
            if rng.random() < 0.3:
                blocks[i] = rng.choice(pool)
        if len(blocks) > 4:
            i, j = sorted(rng.sample(range(1, len(blocks) - 1), 2))
            blocks[i], blocks[j] = blocks[j], blocks[i]
        sub = folder / f"{k // 1000:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{k:07d}.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def loop_rate(paths: list[Path], work) -> float:
    """Articles per second of work over the files, on this one core (CPU time, not wall time)."""
    started = time.process_time()
    for path in paths:
        work(path.read_bytes())
    return len(paths) / max(time.process_time() - started, 1e-9)


def shard_costs(corpus: Path, sample: int) -> dict[str, float]:
    """CPU ms per article of one shard of ``sample`` articles through ``process_shard`` (one core, in
    process): the total, the parse and align calls inside it, and the rest (reading, signatures, rows,
    Arrow and Parquet) - the part that parse and align speed-ups leave."""
    import importlib

    build_module = importlib.import_module("captionset.build")
    from captionset.sources import plan_shards

    spent = {"parse": 0.0, "align": 0.0}

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - started

        return wrapper

    originals = build_module.parse_article, build_module.align
    build_module.parse_article = timed("parse", originals[0])
    build_module.align = timed("align", originals[1])
    parts = Path(tempfile.mkdtemp(prefix="captionset-bench-parts-"))
    try:
        spec = plan_shards([corpus], articles_per_shard=sample)[0]
        task = build_module.ShardTask(spec, str(parts), "bench")
        started = time.process_time()
        result = build_module.process_shard(task)
        total = time.process_time() - started
    finally:
        build_module.parse_article, build_module.align = originals
        shutil.rmtree(parts, ignore_errors=True)
    per = 1e3 / max(result.inputs, 1)
    costs = {"total": total * per, "parse": spent["parse"] * per, "align": spent["align"] * per}
    costs["rest"] = costs["total"] - costs["parse"] - costs["align"]
    return costs


def floor(data: bytes) -> None:
    segment(to_text(data)[0])


def parse_only(data: bytes) -> None:
    parse_article(data)


def parse_and_align(data: bytes) -> None:
    align(parse_article(data))


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                total = 0
                for proc in procs:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


BUILD = """
import json, sys, time
from captionset.build import build
started = time.perf_counter()
result = build([sys.argv[1]], sys.argv[2], workers=int(sys.argv[3]), engine=sys.argv[4], quiet=True)
print(json.dumps({"seconds": time.perf_counter() - started, "articles": result.articles,
                  "timings": result.manifest.get("timings", {})}))
"""


def run_build(corpus: Path, out: Path, workers: int, engine: str) -> dict:
    if out.exists():
        shutil.rmtree(out)
    proc = subprocess.Popen(
        [sys.executable, "-c", BUILD, str(corpus), str(out), str(workers), engine],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    memory = TreeMemory(proc.pid)
    stdout, stderr = proc.communicate()
    peak = memory.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"build failed ({engine}, {workers} workers): {stderr[-2000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 2**20
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated corpus sizes")
    parser.add_argument("--sample", type=int, default=2000, help="articles timed by the in-process loops")
    parser.add_argument("--runs", default="1w,2w,dask", help=f"builds to time, from {','.join(RUNS)}")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora")
    parser.add_argument(
        "--shard",
        action="store_true",
        help="also time one shard of --sample articles in process: parse, align and the rest (CPU)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = [r for r in args.runs.split(",") if r]
    try:
        import captionset.build  # noqa: F401
    except ImportError:
        runs = []
        print("captionset.build is not available yet: full builds are skipped", file=sys.stderr)
    if "dask" in runs:
        try:
            import distributed  # noqa: F401
        except ImportError:
            runs.remove("dask")
            print(
                "dask is not installed (pip install 'captionset[dask]'): skipping the Dask build",
                file=sys.stderr,
            )
    articles, origin = source_articles()
    work = Path(tempfile.mkdtemp(prefix="captionset-bench-"))
    print(f"corpus: N articles recombined from {len(articles)} articles of {origin}; cpus={os.cpu_count()}\n")
    rows = []
    try:
        for n in sizes:
            corpus = work / f"corpus-{n}"
            generate(n, corpus, articles)
            paths = sorted(corpus.rglob("*.txt"))[: args.sample]
            row = {"n": n}
            row["floor"] = loop_rate(paths, floor)
            row["parse"] = loop_rate(paths, parse_only)
            row["parse_align"] = loop_rate(paths, parse_and_align)
            if args.shard:
                costs = shard_costs(corpus, args.sample)
                print(
                    f"  N={n} one shard of {args.sample}: {costs['total']:.2f} ms/article CPU (parse "
                    f"{costs['parse']:.2f}, align {costs['align']:.2f}, the rest {costs['rest']:.2f})",
                    file=sys.stderr,
                )
            for run in runs:
                spec = RUNS[run]
                result = run_build(
                    corpus, work / f"out-{n}-{run}", spec["workers"], spec.get("engine", "local")
                )
                result["per_core"] = n / result["seconds"] / spec["workers"]
                row[run] = result
                timings = result.get("timings", {})
                print(
                    f"  N={n} {run}: {result['seconds']:.1f} s, {result['peak_rss_mb']:.0f} MB (shards "
                    f"{timings.get('parse_seconds', 0):.1f} s, grouping {timings.get('group_seconds', 0):.1f} s,"
                    f" writing {timings.get('write_seconds', 0):.1f} s)",
                    file=sys.stderr,
                )
            rows.append(row)
            if not args.keep:
                shutil.rmtree(corpus)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"corpora kept in {work}", file=sys.stderr)
    print_table(rows, runs)
    load = os.getloadavg()
    print(
        f"\nload average at the end (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cpus"
    )


def print_table(rows: list[dict], runs: list[str]) -> None:
    print("| N | floor art/s | parse art/s/core | parse+align art/s/core | align overhead |", end="")
    for run in runs:
        print(f" build {run} art/s/core | {run} wall s | {run} peak RSS MB |", end="")
    if "1w" in runs:
        print(" floor ÷ build 1w (per core) |", end="")
    if {"1w", "2w"} <= set(runs):
        print(" 2w speed-up |", end="")
    if {"1w", "dask"} <= set(runs):
        print(" dask speed-up |", end="")
    if "1w" in runs:
        print(" 2w speed-up on idle cores (est.) |", end="")
    print()
    columns = (
        5 + 3 * len(runs) + 2 * ("1w" in runs) + ({"1w", "2w"} <= set(runs)) + ({"1w", "dask"} <= set(runs))
    )
    print("|" + "---|" * columns)
    for row in rows:
        overhead = row["parse"] / row["parse_align"] - 1
        line = f"| {row['n']:,} | {row['floor']:,.0f} | {row['parse']:,.0f} | {row['parse_align']:,.0f} | {overhead:.0%} |"
        for run in runs:
            r = row[run]
            line += f" {r['per_core']:,.0f} | {r['seconds']:.1f} | {r['peak_rss_mb']:,.0f} |"
        if "1w" in runs:
            line += f" {row['floor'] / row['1w']['per_core']:.0f}x |"
        if {"1w", "2w"} <= set(runs):
            line += f" {row['1w']['seconds'] / row['2w']['seconds']:.2f}x |"
        if {"1w", "dask"} <= set(runs):
            line += f" {row['1w']['seconds'] / row['dask']['seconds']:.2f}x |"
        if "1w" in runs:
            line += f" {amdahl(row['1w']):.2f}x |"
        print(line)


def amdahl(result: dict, workers: int = 2) -> float:
    """Speed-up that `workers` idle cores would give: the 1-worker build's shard phase divides, the rest
    (planning, grouping, writing, process start) does not. A shared machine cannot measure it directly."""
    parallel = result.get("timings", {}).get("parse_seconds", 0.0)
    total = result["seconds"]
    return total / (total - parallel + parallel / workers)


if __name__ == "__main__":
    main()
