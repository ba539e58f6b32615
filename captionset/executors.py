"""Executors only schedule shards: a local process pool by default, Dask when asked.

Both run the same pure task function and yield its results as they complete (in any order); callers
order them by shard index, so the output never depends on the engine or the worker count. A task that
fails (its function raises, or the worker process running it dies) is retried once; when it fails
again, ``TaskFailed`` names the task instead of the run hanging or failing anonymously.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ENGINES: tuple[str, ...] = ("local", "dask")
#: How many times a failed task is run again before TaskFailed is raised.
RETRIES = 1


class TaskFailed(RuntimeError):
    """A task failed on every attempt (its function raised, or its worker process died)."""

    def __init__(self, task: Any, error: BaseException | str, attempts: int = RETRIES + 1) -> None:
        self.task = task
        self.error = error
        self.attempts = attempts
        name = getattr(task, "spec", task)
        name = f"shard {name.index}" if hasattr(name, "index") else repr(task)[:200]
        super().__init__(f"{name} failed after {attempts} attempt(s): {error}")


class EngineUnavailable(RuntimeError):
    """The asked-for engine needs an optional dependency that is not installed."""


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

    engine="local": workers=1 runs in this process (no pickling), else a spawn process pool.
    engine="dask": the tasks go to the Dask cluster at ``scheduler`` (``tcp://host:8786``), or to a
    LocalCluster of ``workers`` single-threaded worker processes on 127.0.0.1 started for this run.
    fn must be importable by the workers (a module-level function of an installed package).
    Raises TaskFailed when a task fails twice.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    tasks = list(tasks)
    workers = workers or default_workers()
    if engine == "dask":
        return _run_dask(_import_distributed(), fn, tasks, workers, scheduler)
    if scheduler is not None:
        raise ValueError("a scheduler address needs engine='dask'")
    if workers <= 1 or len(tasks) <= 1:
        return _run_inline(fn, tasks)
    return _run_pool(fn, tasks, workers)


def _run_inline(fn: Callable[[T], R], tasks: list[T]) -> Iterator[R]:
    for task in tasks:
        for attempt in range(RETRIES + 1):
            try:
                result = fn(task)
            except Exception as error:
                if attempt == RETRIES:
                    raise TaskFailed(task, error) from error
            else:
                yield result
                break


# Worker-side flags (shared memory, set before a task runs): which tasks a dead pool had started.
_STARTED: Any = None


#: Why a build stops when its worker processes die before running anything.
WORKERS_DIE_AT_START = (
    "worker processes died before running any task (a script that calls captionset.build must guard "
    "it with `if __name__ == '__main__':`, since workers are spawned; or a task cannot be unpickled)"
)


def _init_worker(started: Any) -> None:
    global _STARTED
    _STARTED = started


def _call_marked(fn: Callable[[T], R], i: int, task: T) -> R:
    _STARTED[i] = 1
    return fn(task)


def _pool(workers: int, started: Any = None) -> ProcessPoolExecutor:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    if started is None:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(started,)
    )


def _run_pool(fn: Callable[[T], R], tasks: list[T], workers: int) -> Iterator[R]:
    """A spawn process pool that survives a worker's death.

    When a worker dies the pool breaks and every unfinished future fails with BrokenProcessPool. The
    tasks that had started (a flag in shared memory, set by the worker before it runs a task) are
    suspects; the others are resubmitted as they are. A task that is a suspect a second time is run
    alone in a one-worker pool after all the others: if that worker dies too, the task is the culprit
    and TaskFailed names it.
    """
    import multiprocessing

    failures = [0] * len(tasks)
    pending = list(range(len(tasks)))
    isolate: list[int] = []  # twice suspects: run alone once everything else has finished
    barren = 0  # pools in a row that broke before any task started or finished
    while pending:
        started = multiprocessing.get_context("spawn").RawArray("b", len(tasks))
        pool = _pool(min(workers, len(pending)), started)
        progress = False
        try:
            futures = {pool.submit(_call_marked, fn, i, tasks[i]): i for i in pending}
            pending, waiting, broken = [], set(futures), False
            while waiting and not broken:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    i, error = futures[future], future.exception()
                    if error is None:
                        progress = True
                        yield future.result()
                    elif isinstance(error, BrokenProcessPool):
                        broken = True
                        waiting.add(future)
                    else:
                        failures[i] += 1
                        if failures[i] > RETRIES:
                            raise TaskFailed(tasks[i], error, failures[i]) from error
                        retry = pool.submit(_call_marked, fn, i, tasks[i])
                        futures[retry] = i
                        waiting.add(retry)
            if broken:
                wait(waiting)
                for future in waiting:
                    i = futures[future]
                    if future.exception() is None:
                        progress = True
                        yield future.result()
                        continue
                    failures[i] += bool(started[i])
                    (isolate if failures[i] > RETRIES else pending).append(i)
                pending.sort()
                progress = progress or any(started)
                barren = 0 if progress else barren + 1
                if barren > RETRIES:
                    # Workers die before any task starts: resubmitting would loop for ever.
                    raise TaskFailed(tasks[pending[0]], WORKERS_DIE_AT_START, barren)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for i in sorted(isolate):
        yield _run_alone(fn, tasks[i], failures[i] + 1)


def _run_alone(fn: Callable[[T], R], task: T, attempt: int) -> R:
    """Run one suspect task in a pool of its own: its result, or TaskFailed if its worker dies again."""
    pool = _pool(1)
    try:
        return pool.submit(fn, task).result()
    except BrokenProcessPool as error:
        raise TaskFailed(
            task, "its worker process died (killed, out of memory or crashed)", attempt
        ) from error
    except Exception as error:
        raise TaskFailed(task, error, attempt) from error
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _import_distributed():
    try:
        import distributed
    except ImportError as error:
        raise EngineUnavailable(
            "engine 'dask' needs the dask extra: pip install 'captionset[dask]'"
        ) from error
    return distributed


def _run_dask(
    distributed: Any, fn: Callable[[T], R], tasks: list[T], workers: int, scheduler: str | None
) -> Iterator[R]:
    """Map fn over the tasks on a Dask cluster (an existing one, or a LocalCluster for this run)."""
    import dask

    if not tasks:
        return
    cluster = None
    # A task whose worker dies is rescheduled once, then fails with KilledWorker (our clusters only).
    with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
        if scheduler is None:
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
        client = distributed.Client(cluster if cluster is not None else scheduler)
    try:
        futures = client.map(fn, tasks, pure=False, retries=RETRIES)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in distributed.as_completed(futures):
            try:
                result = future.result()
            except Exception as error:
                raise TaskFailed(tasks[index[future.key]], error) from error
            future.release()
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
