"""Training for the pages: live progress while a run trains, and a cache of finished runs keyed by config.

The cache is process-wide (a classroom of users on the default experiment trains it once) and bounded, so memory
stays bounded however many sessions and configs there are. Cached records are shared: treat them as read-only
(copy ``record.model`` before changing it).
"""
import threading
from collections import OrderedDict
from contextlib import closing

import streamlit as st

from bn_core import train_steps
from lab.i18n import t


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


MAX_CACHED_RUNS = 48  # a run is ~1-3 MB (records + model): ~100 MB at most
finished_runs = BoundedCache(MAX_CACHED_RUNS)


def cached(config):
    """The finished run of this config, or None."""
    return finished_runs.get(config)


def train_runs(configs, names, data=None, on_progress=None, redraw_every=5):
    """Finished records for ``configs`` (trained now unless cached), in order, with one progress bar.

    ``names`` label each run in the progress text. ``on_progress(records)`` is called every ``redraw_every`` record
    points with the records so far (finished, live, or None when not started), for charts that redraw live.
    A ConfigError propagates before any work is done. A run the user stops (a rerun interrupts it) is not cached.
    """
    records = [cached(c) for c in configs]
    todo = [i for i, r in enumerate(records) if r is None]
    if not todo:
        return records
    total = sum(configs[i].steps for i in todo)
    done = 0
    bar = st.progress(0.0, text=t("common.training_start"))
    for i in todo:
        with closing(train_steps(configs[i], data)) as live:
            for n, record in enumerate(live):
                records[i] = record
                bar.progress(min(1.0, (done + record.steps_done) / total),
                             text=t("common.training", name=names[i], step=record.steps_done,
                                    steps=configs[i].steps))
                if on_progress is not None and n % redraw_every == 0:
                    on_progress(records)
        done += configs[i].steps
        if records[i].status in ("finished", "diverged"):
            finished_runs.put(configs[i], records[i])
    bar.empty()
    return records
