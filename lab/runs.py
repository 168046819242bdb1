"""Where pages get their runs: finished runs from a process-wide bounded cache, new ones trained with progress
reported to a callback the page hands in. Draws nothing (no streamlit here).

Finished records are values (read-only arrays; ``record.build_model()`` for a model to change), shared by every
session that asks for the same config.
"""
import threading
from collections import OrderedDict
from contextlib import closing
from dataclasses import dataclass

from bn_core import train_steps


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
    """What a page shows while its runs train: the latest record of each run (None before it starts), the share of
    all their steps done, and which run is training now."""

    records: list
    fraction: float
    current: int  # index of the run training now
    step: int  # its step
    steps: int  # its total


def cached(config):
    """The finished run of this config, or None."""
    return finished_runs.get(config)


def train_runs(configs, data=None, on_progress=None):
    """Finished records for ``configs`` (trained now unless cached), in order. ``on_progress(Progress)`` is called
    after each record point. A ConfigError propagates before any work is done. A run stopped early (a rerun
    interrupts it) is not cached."""
    records = [cached(c) for c in configs]
    todo = [i for i, r in enumerate(records) if r is None]
    total = sum(configs[i].steps for i in todo)
    done = 0
    for i in todo:
        with closing(train_steps(configs[i], data)) as live:
            for record in live:
                records[i] = record.view()
                if on_progress is not None:
                    on_progress(Progress(list(records), min(1.0, (done + record.steps_done) / total), i,
                                         record.steps_done, configs[i].steps))
        done += configs[i].steps
        if records[i].done:
            finished_runs.put(configs[i], records[i])
    return records
