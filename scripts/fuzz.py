"""The large fuzz run: parse_article + align on article-like text and bytes, and build on generated folders.

    python scripts/fuzz.py --examples 10000          # 10,000 text + 10,000 bytes examples, 200 builds
    python scripts/fuzz.py --examples 500 --builds 20 --seed 7

Uses the strategies and invariants of tests/fuzzing.py (tests/test_fuzz.py runs a few of them in CI).
Prints, per property, the examples run, the time, the largest input and any failure (hypothesis shrinks
it to a minimal example); exits 1 when a property failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import ARTICLE_BYTES, ARTICLE_TEXT, FILES, build_property, parse_property
from hypothesis import HealthCheck, given, seed, settings


def run(name: str, strategy, prop, examples: int, random_seed: int) -> bool:
    """Run one property for ``examples`` examples; print what happened; True when it held."""
    stats = {"examples": 0, "largest": 0}

    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(value):
        stats["examples"] += 1
        size = len(value) if isinstance(value, str | bytes) else sum(len(d) for _, d in value)
        stats["largest"] = max(stats["largest"], size)
        prop(value)

    started = time.perf_counter()
    try:
        check()
        failure = None
    except Exception:  # a failing property: report it (shrunk by hypothesis) and go on
        failure = traceback.format_exc(limit=-8)
    seconds = time.perf_counter() - started
    print(
        f"{name:<14} {stats['examples']:>7} examples  {seconds:8.1f} s  "
        f"largest input {stats['largest']:>9,} chars/bytes  {'FAILED' if failure else 'ok'}",
        flush=True,
    )
    if failure:
        print(failure, file=sys.stderr)
    return failure is None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=10_000, help="examples per parse property")
    parser.add_argument("--builds", type=int, default=None, help="build examples (default: examples / 50)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (runs are reproducible)")
    args = parser.parse_args()
    builds = args.builds if args.builds is not None else max(args.examples // 50, 1)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    started = time.perf_counter()
    ok = run("parse text", ARTICLE_TEXT, parse_property, args.examples, args.seed)
    ok &= run("parse bytes", ARTICLE_BYTES, parse_property, args.examples, args.seed)
    ok &= run("build", FILES, build_property, builds, args.seed)
    print(
        f"total {time.perf_counter() - started:.1f} s, seed {args.seed}: {'all held' if ok else 'FAILURES'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
