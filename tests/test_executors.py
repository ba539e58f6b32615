"""Executors: the local pool and Dask give the same results; failures are retried once, then named.

Task functions are builtins (abs, operator.call over functools.partial) so that spawned workers can
import them whatever the test runner's sys.path.
"""

from __future__ import annotations

import functools
import operator
import os
import sys

import psutil
import pytest

from captionset.executors import EngineUnavailable, TaskFailed, run_tasks

TASKS = [-5, 3, -1, 8, -13, 2, 0, -7]


def _children() -> set[int]:
    """Child processes, except multiprocessing's resource tracker: a per-process singleton started by the
    first pool or cluster of the session, which lives until the test process exits (so a test that runs
    first would otherwise count it as left behind)."""
    children = set()
    for process in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(process.cmdline()):
                children.add(process.pid)
        except psutil.Error:  # ended meanwhile
            pass
    return children


@pytest.mark.parametrize("workers", [1, 2])
def test_local_results_are_every_task_once(workers):
    assert sorted(run_tasks(abs, TASKS, workers=workers)) == sorted(abs(t) for t in TASKS)


def test_no_tasks_and_unknown_engine():
    assert list(run_tasks(abs, [], workers=2)) == []
    with pytest.raises(ValueError, match="unknown engine"):
        run_tasks(abs, TASKS, engine="spark")
    with pytest.raises(ValueError, match="scheduler"):
        run_tasks(abs, TASKS, scheduler="tcp://127.0.0.1:8786")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_that_always_raises_is_retried_then_named(workers):
    with pytest.raises(TaskFailed) as info:
        list(run_tasks(int, ["1", "2", "not a number"], workers=workers))
    assert info.value.task == "not a number" and info.value.attempts == 2
    assert isinstance(info.value.error, ValueError)
    assert "'not a number'" in str(info.value)


def test_a_dead_worker_does_not_hang_the_pool_and_its_task_is_named():
    before = _children()
    good = [functools.partial(pow, 2, i) for i in range(6)]
    killer = functools.partial(os._exit, 3)
    results = []
    with pytest.raises(TaskFailed) as info:
        for result in run_tasks(operator.call, [*good[:3], killer, *good[3:]], workers=2):
            results.append(result)
    assert info.value.task is killer or info.value.task == killer
    assert "died" in str(info.value)
    assert sorted(results) == [1, 2, 4, 8, 16, 32]  # every other task finished
    assert _children() <= before  # the pools are shut down


def test_tasks_that_shared_a_pool_with_a_dead_worker_still_succeed():
    # Three tasks, two workers: innocent tasks running beside the crash are resubmitted, not failed.
    tasks = [functools.partial(pow, 3, 2), functools.partial(os._exit, 1), functools.partial(pow, 3, 3)]
    seen = []
    with pytest.raises(TaskFailed):
        for result in run_tasks(operator.call, tasks, workers=2):
            seen.append(result)
    assert sorted(seen) == [9, 27]


def test_dask_engine_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(EngineUnavailable, match=r"captionset\[dask\]"):
        run_tasks(abs, TASKS, engine="dask", workers=2)


@pytest.mark.slow
def test_dask_local_cluster_equals_local_and_shuts_down():
    pytest.importorskip("distributed")
    before = _children()
    local = sorted(run_tasks(abs, TASKS, workers=1))
    assert sorted(run_tasks(abs, TASKS, workers=2, engine="dask")) == local
    with pytest.raises(TaskFailed) as info:
        list(run_tasks(int, ["4", "x"], workers=2, engine="dask"))
    assert info.value.task == "x"
    assert _children() <= before


class _DiesOnArrival:
    """Unpickling it ends the worker: like workers that die while starting (a script without a
    `__main__` guard), before any task is marked as started."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_workers_that_die_before_any_task_starts_stop_the_run_with_a_hint():
    before = _children()
    with pytest.raises(TaskFailed, match="before running any task") as info:
        list(run_tasks(abs, [_DiesOnArrival(), _DiesOnArrival(), _DiesOnArrival()], workers=2))
    assert "__main__" in str(info.value)
    assert _children() <= before
