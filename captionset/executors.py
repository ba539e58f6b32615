"""Executors only schedule shards: a local process pool by default, Dask when asked."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_tasks(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    *,
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[R]:
    """Run fn over tasks and yield results as they complete (in any order).

    engine="local" with workers=1 runs in this process (no pickling), else a spawn process pool.
    """
    tasks = list(tasks)
    workers = workers or default_workers()
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r}")
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield fn(task)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        futures = [pool.submit(fn, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
