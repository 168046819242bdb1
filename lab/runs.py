"""Where pages get their runs. Draws nothing (no streamlit here): progress goes to a callback the page hands in.

A run is asked for as a Task (an experiment's key and how to train it). In order:

1. the process-wide cache of finished values (``finished_runs``, bounded, least recently used out);
2. the persistent store (lab/store.py: a folder on disk, or Redis shared by several replicas);
3. the server-wide training pool (lab/pool.py): one training per experiment whoever asks, at most one worker per
   core, a queue beyond that. Every session that asks for an experiment in training follows that same run.
   Across replicas, a lease in the store says who trains: the others follow its progress from the store.

Finished values are values (a RunRecord's arrays are read-only; ``record.build_model()`` for a model to change),
shared by every session that asks for the same key.
"""
import atexit
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bn_core import RunRecord, train_steps
from bn_core.record import Snapshot
from lab import pool as pool_module
from lab import store as store_module
from lab.caches import BoundedCache

POLL = 0.25  # seconds between progress updates while waiting
LEASE_TTL = 30.0  # seconds a replica's claim on a training lasts without renewal
PROGRESS_EVERY = 1.0  # seconds between progress copies put in the store for other replicas


MAX_CACHED_RUNS = 48  # a run is ~0.3-3 MB (records + weights): ~100 MB at most
finished_runs = BoundedCache(MAX_CACHED_RUNS)


@dataclass
class Progress:
    """What a page shows while its runs train: the latest value of each run (None before it starts), the share of
    all their steps done, which run is training now, and how many experiments wait before it."""

    records: list
    fraction: float
    current: int  # index of the run shown in the progress text
    step: int  # its step
    steps: int  # its total
    ahead: int = 0  # experiments in the queue before it (0 once it trains)


@dataclass(frozen=True)
class Task:
    """One training, as the cache, the store and the pool see it. ``start()`` returns an iterator of live values
    (the last one is the result); ``key`` names the experiment (equal keys are the same experiment, trained once).
    ``start`` and ``publish`` run in a worker process: module-level functions or partials of them."""

    key: object
    start: Callable
    total: int  # steps, for progress
    publish: Callable = pool_module._identity  # a copy safe to hand to other sessions (runs in the worker)
    steps_of: Callable = lambda value: value.steps_done
    done_of: Callable = lambda value: value.done  # finished (keep it) rather than stopped


def config_task(config, data=None):
    """The Task that trains ``config`` with bn_core.train_steps (``data``: an upload, named by config.data_id)."""
    return Task(config, partial(train_steps, config, data), config.steps, publish=RunRecord.view)


def config_tasks(configs, data=None):
    return [config_task(c, data) for c in configs]


# ---- the pool and the store: one of each per server process, made on first use ----

_lock = threading.Lock()
_pool = None
_store = None
OWNER = store_module.process_owner()  # this replica, in the store's leases


def training_pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = pool_module.TrainingPool(immutable=(Snapshot,), preload=("bn_core",))
            atexit.register(_pool.shutdown, False)
        return _pool


def run_store():
    """The store, or None when BNLAB_STORE is "off" (tests that must train every time)."""
    global _store
    if os.environ.get("BNLAB_STORE", "").strip().lower() == "off":
        return None
    with _lock:
        if _store is None:
            _store = store_module.open_store()
        return _store


def announce(event, key):
    """One line on the server's stderr per training started or run taken from the store (the replica test and an
    operator count them)."""
    print(f"bnlab: {event} {store_module.run_key(key)}", file=sys.stderr, flush=True)


def _announced(start, key):
    """Runs in the worker: say that a training starts, then start it."""
    announce("training started", key)
    return start()


def cached(key):
    """The finished value of this key (a TrainConfig's run, or a task's), from memory or the store; else None."""
    value = finished_runs.get(key)
    store = run_store()
    if value is None and store is not None:
        value = store.get(key)
        if value is not None:
            finished_runs.put(key, value)
            announce("served from store", key)
    return value


def _keep(task, value):
    """A finished value, for every session of this server and, through the store, of any replica."""
    if finished_runs.get(task.key) is not None:
        return  # kept already
    finished_runs.put(task.key, value)
    store = run_store()
    if store is not None:
        store.put(task.key, value)


def _trained(task, job):
    """The pool calls this when ``job`` has trained to its end, before any session sees it done, whether sessions
    still follow it or not: keep its value, then give up this replica's claim — in this order, so that a replica
    finding the claim free finds the run stored."""
    if job.latest is not None and task.done_of(job.latest):
        _keep(task, job.latest)
    store = run_store()
    if store is not None:
        store.release(task.key, OWNER)


def _request(task, priority, follower=None):
    """Ask the pool for ``task``'s job (see lab/pool.py): finished values are looked up in ``finished_runs``."""
    return training_pool().request(task.key, partial(_announced, task.start, task.key), total=task.total,
                                   priority=priority, follower=follower, publish=task.publish,
                                   on_done=partial(_trained, task), finished=finished_runs.get)


class _Follow:
    """One task this session waits for: a job of this server's pool, or another replica's training read from the
    store while its lease holds."""

    def __init__(self, task, follower, priority):
        self.task, self.follower, self.priority = task, follower, priority
        self.value, self.job, self._shared = None, None, 0.0
        self.store = run_store()
        if self.store is None or self.store.lease(task.key, OWNER, LEASE_TTL):
            self._train_here()

    def _train_here(self):
        self.job = _request(self.task, self.priority, self.follower)

    def update(self):
        """Read the latest value; True once the task is over (done, stopped, failed)."""
        if self.job is None:  # another replica trains it: its progress, then its result, come from the store
            if time.monotonic() - self._shared < PROGRESS_EVERY:  # it writes progress that often: read no more
                return False
            self._shared = time.monotonic()
            final = self.store.get(self.task.key)
            if final is not None:
                self.value = final
                return True
            self.value = self.store.get_progress(self.task.key) or self.value
            if self.store.lease(self.task.key, OWNER, LEASE_TTL):  # its trainer is gone: train it here
                self._train_here()
            return False
        job = self.job
        if self.follower is not None:
            job.touch(self.follower)
        state = job.state  # read before the value: once a job is done, its last value is in place (and kept)
        if job.latest is not None:
            self.value = job.latest
        if state in pool_module.ACTIVE:
            self._share_progress()
            return False
        self.release()
        if state == "failed":
            raise job.error
        return True

    def release(self):
        """Give up this replica's claim on the training, once its job is over (finished, failed or cancelled)."""
        if self.store is not None and self.job is not None and self.job.state not in pool_module.ACTIVE:
            self.store.release(self.task.key, OWNER)

    def _share_progress(self):
        """While the job is queued or running: renew the claim (a queued job keeps it too) and, once there is a
        value, put a copy in the store for other replicas — at most every PROGRESS_EVERY seconds."""
        if self.store is None or time.monotonic() - self._shared < PROGRESS_EVERY:
            return
        self._shared = time.monotonic()
        self.store.lease(self.task.key, OWNER, LEASE_TTL)
        if self.value is not None:
            self.store.put_progress(self.task.key, self.value)

    def ahead(self):
        return 0 if self.job is None else training_pool().queue_position(self.job)


def run_tasks(tasks, on_progress=None, follower=None):
    """The final values of ``tasks``, in order: cached ones at once, the others trained by the pool (or followed,
    when another session or replica trains them). ``on_progress(Progress)`` is called every POLL seconds while
    waiting. ``follower`` names the session: its heartbeat keeps the trainings it waits for alive; a rerun of the
    same session follows on. A task's exception (e.g. a ConfigError) is raised. A task stopped early (nobody
    followed it any more) gives its last value, not cached."""
    values = [cached(task.key) for task in tasks]
    follows = {i: _Follow(task, follower or uuid.uuid4().hex, pool_module.USER)
               for i, task in enumerate(tasks) if values[i] is None}
    todo = list(follows)
    total = sum(tasks[i].total for i in todo) or 1
    try:
        while follows:
            for i in list(follows):
                over = follows[i].update()
                values[i] = follows[i].value
                if over:
                    del follows[i]
            if not follows:
                break
            if on_progress is not None:
                current = min(follows)
                done = sum(_steps(tasks[i], values[i]) if i in follows else tasks[i].total for i in todo)
                on_progress(Progress(list(values), min(1.0, done / total), current,
                                     _steps(tasks[current], values[current]), tasks[current].total,
                                     follows[current].ahead()))
            job = next((f.job for f in follows.values() if f.job is not None), None)
            if job is not None:
                job.wait(POLL)
            else:
                time.sleep(POLL)
    finally:  # interrupted (a rerun, Stop) or failed: trainings over by now release their claims in the store
        for f in follows.values():
            f.release()
    return values


def _steps(task, value):
    return 0 if value is None else task.steps_of(value)


def stop(keys, follower):
    """This session stops waiting for these trainings (the Stop button): a training others still follow goes on."""
    if _pool is None:
        return
    for key in keys:
        job = _pool.active(key)
        if job is not None:
            job.unfollow(follower)


def train_runs(configs, data=None, on_progress=None, follower=None):
    """Finished records for ``configs`` (trained now unless cached), in order; see run_tasks."""
    return run_tasks(config_tasks(configs, data), on_progress, follower)


def warm_up(configs):
    """Train these configs in the background at the lowest priority (a student's request goes first), so the first
    student of the day does not wait; each finished run is kept like any other. A config another replica has
    claimed in the store is left to it."""
    store = run_store()

    def hold_claim(task, job):  # the pool keeps the run when it is trained (_trained)
        while job.state in pool_module.ACTIVE:
            job.wait(LEASE_TTL / 3)
            if job.state in pool_module.ACTIVE:
                store.lease(task.key, OWNER, LEASE_TTL)  # still ours while it waits its turn or trains
        store.release(task.key, OWNER)

    for task in config_tasks(configs):
        if cached(task.key) is not None or (store is not None and not store.lease(task.key, OWNER, LEASE_TTL)):
            continue
        job = _request(task, pool_module.BACKGROUND)
        if store is not None:
            threading.Thread(target=hold_claim, args=(task, job), daemon=True, name="warm-up").start()
