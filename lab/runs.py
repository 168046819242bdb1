"""Where pages get their runs: finished runs from a process-wide bounded cache, new ones trained with progress
reported to a callback the page hands in. Draws nothing (no streamlit here).

Finished records are values (read-only arrays; ``record.build_model()`` for a model to change), shared by every
session that asks for the same config.
"""
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bn_core import RunRecord, train_steps


class BoundedCache:
    """A process-wide, thread-safe mapping that keeps its ``maxsize`` most recently used entries (sessions run in
    threads of one process). Values are shared between sessions: treat them as read-only."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self):
        with self._lock:
            return len(self._items)


MAX_CACHED_RUNS = 48  # a run is ~1-3 MB (records + weights): ~100 MB at most
finished_runs = BoundedCache(MAX_CACHED_RUNS)


@dataclass
class Progress:
    """What a page shows while its runs train: the latest value of each run (None before it starts), the share of
    all their steps done, and which run is training now."""

    records: list
    fraction: float
    current: int  # index of the run training now
    step: int  # its step
    steps: int  # its total


@dataclass(frozen=True)
class Task:
    """One training, as the cache and the pool see it. ``start()`` returns an iterator of live values (the last
    one is the result); ``key`` names the experiment (equal keys are the same experiment, trained once)."""

    key: object
    start: Callable
    total: int  # steps, for progress
    publish: Callable = lambda value: value  # a copy safe to hand to other sessions
    steps_of: Callable = lambda value: value.steps_done
    done_of: Callable = lambda value: value.done  # finished (cache it) rather than stopped


def config_task(config, data=None):
    """The Task that trains ``config`` with bn_core.train_steps (``data``: an upload, named by config.data_id)."""
    return Task(config, partial(train_steps, config, data), config.steps, publish=RunRecord.view)


def cached(config):
    """The finished run of this config (or the finished value of this task key), or None."""
    return finished_runs.get(config)


def run_tasks(tasks, on_progress=None):
    """The final values of ``tasks`` (run now unless cached), in order. ``on_progress(Progress)`` is called after
    each value. An exception of a task (e.g. a ConfigError) propagates. A task stopped early is not cached."""
    values = [cached(task.key) for task in tasks]
    todo = [i for i, v in enumerate(values) if v is None]
    total = sum(tasks[i].total for i in todo) or 1
    done = 0
    for i in todo:
        task = tasks[i]
        live = task.start()
        try:
            for value in live:
                values[i] = task.publish(value)
                if on_progress is not None:
                    step = task.steps_of(value)
                    on_progress(Progress(list(values), min(1.0, (done + step) / total), i, step, task.total))
        finally:
            close = getattr(live, "close", None)
            if close is not None:
                close()
        done += task.total
        if values[i] is not None and task.done_of(values[i]):
            finished_runs.put(task.key, values[i])
    return values


def config_tasks(configs, data=None):
    return [config_task(c, data) for c in configs]


def train_runs(configs, data=None, on_progress=None):
    """Finished records for ``configs`` (trained now unless cached), in order; see run_tasks."""
    return run_tasks(config_tasks(configs, data), on_progress)
