"""The server-wide training pool (lab/pool.py): one training per experiment, followers, cancellation, the queue.

Most tests use the thread backend with fake trainings that wait on Events, so every interleaving is set by the test;
a few run the process backend (the server's) with real bn_core trainings and picklable fakes.
"""
import functools
import os
import threading
import time

import pytest
from pool_fakes import Value, count, crash, forever, unloadable

import bn_core as bc
from bn_core.record import Snapshot
from lab.pool import BACKGROUND, USER, TrainingPool, WorkerCrashed, worker_count

TIMEOUT = 10  # seconds: only reached when a test fails


class Fake:
    """A fake training of ``steps`` values (the pool's ``start``). With ``hold`` it yields its first value, then
    waits for ``release()`` before the next ones. It records when it started, how far it got, how it ended."""

    def __init__(self, steps=3, hold=False, fail_at=None, started_log=None, name=None):
        self.steps, self.fail_at, self.log, self.name = steps, fail_at, started_log, name
        self.started, self.closed, self.gate = threading.Event(), threading.Event(), threading.Event()
        if not hold:
            self.gate.set()
        self.yielded = 0
        self.stopped_early = False

    def __call__(self):
        return self._run()

    def _run(self):
        self.started.set()
        if self.log is not None:
            self.log.append(self.name)
        try:
            for i in range(1, self.steps + 1):
                if i > 1:
                    assert self.gate.wait(TIMEOUT), "the test never released this fake"
                if i == self.fail_at:
                    raise ValueError(f"boom at {i}")
                self.yielded = i
                yield Value(i)
        except GeneratorExit:
            self.stopped_early = True
            raise
        finally:
            self.closed.set()

    def release(self):
        self.gate.set()


class Kit:
    """Pools and fakes made by a test; at its end every fake is released, then every pool shut down."""

    def __init__(self):
        self.pools, self.fakes = [], []

    def pool(self, **kwargs):
        kwargs.setdefault("backend", "thread")
        pool = TrainingPool(**kwargs)
        self.pools.append(pool)
        return pool

    def fake(self, **kwargs):
        fake = Fake(**kwargs)
        self.fakes.append(fake)
        return fake

    def close(self):
        for fake in self.fakes:
            fake.release()
        for pool in self.pools:
            pool.shutdown()


@pytest.fixture
def kit():
    k = Kit()
    yield k
    k.close()


def settle(job, states=("done", "failed", "cancelled")):
    """Wait until ``job`` is in one of ``states``; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        seen = job.version
        if job.state in states:
            return job
        assert job.wait(deadline - time.monotonic(), since=seen), f"{job} never reached {states}"


def first_value(job):
    """Wait until ``job`` runs and has published its first value."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        seen = job.version
        if job.state == "running" and job.latest is not None:
            return job
        assert job.wait(deadline - time.monotonic(), since=seen), f"{job} published nothing"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# --- one training per experiment ---

def test_two_requests_for_one_key_get_one_job_and_one_training(kit):
    pool = kit.pool(workers=2)
    first, second = kit.fake(hold=True), kit.fake()
    a = pool.request("k", first, total=3, follower="a")
    b = pool.request("k", second, total=3, follower="b")
    assert a is b and a.followers == 2
    first_value(a)
    first.release()
    settle(a)
    assert a.state == "done" and a.latest.steps_done == 3 and a.steps_done == 3 and a.fraction == 1.0
    assert pool.stats()["started"] == 1 and not second.started.is_set()


def test_a_finished_value_is_looked_up_not_trained_again(kit):
    """The pool keeps no finished values: it asks ``finished`` (under its lock) and trains only what it lacks."""
    pool, kept = kit.pool(workers=1), {}
    job = settle(pool.request("k", kit.fake(), total=3, follower="a",
                              on_done=lambda j: kept.update({j.key: j.latest}), finished=kept.get))
    again = kit.fake()
    done = pool.request("k", again, total=3, follower="b", finished=kept.get)
    assert done.state == "done" and done.latest is job.latest and done.fraction == 1.0
    assert not again.started.is_set() and pool.stats()["started"] == 1
    assert not done.wait(0.01)  # nothing changes any more
    other = kit.fake()
    settle(pool.request("other", other, total=3, finished=kept.get))  # not kept there: trained
    assert other.started.is_set() and pool.stats()["started"] == 2


def test_on_done_keeps_the_value_before_the_job_says_done_even_when_nobody_polls(kit):
    """A session that stops polling (a rerun, a closed tab) still counts as a follower for a while: a job that ends
    then must still be kept, and before any session can see it done (else one would ask for it again)."""
    pool, seen = kit.pool(workers=1), []
    fake = kit.fake(hold=True)
    job = pool.request("k", fake, total=3, follower="a",
                       on_done=lambda j: seen.append((j.state, j.latest.steps_done)))
    first_value(job)
    fake.release()  # nobody touches or waits for the job from here on
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [("running", 3)]
    assert settle(job).state == "done"


def test_on_done_is_not_called_for_a_cancelled_or_failed_job(kit):
    pool, seen = kit.pool(workers=1), []
    failing = pool.request("f", kit.fake(fail_at=2), total=3, follower="a", on_done=seen.append)
    assert settle(failing).state == "failed"
    held = kit.fake(hold=True)
    stopped = first_value(pool.request("s", held, total=3, follower="a", on_done=seen.append))
    stopped.unfollow("a")
    held.release()
    assert settle(stopped).state == "cancelled" and seen == []


def test_progress_fraction_follows_the_latest_value(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(steps=4, hold=True)
    job = first_value(pool.request("k", fake, total=4, follower="a"))
    assert job.steps_done == 1 and job.fraction == 0.25
    fake.release()
    assert settle(job).fraction == 1.0


# --- followers and cancellation ---

def test_one_follower_leaving_does_not_stop_a_job_another_follows(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(hold=True)
    job = first_value(pool.request("k", fake, total=3, follower="a"))
    pool.request("k", kit.fake(), total=3, follower="b")
    job.unfollow("a")  # "a" pressed Stop
    assert job.state == "running"
    fake.release()
    assert settle(job).state == "done" and fake.yielded == 3 and not fake.stopped_early


def test_the_last_follower_leaving_stops_a_running_job_and_frees_its_worker(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(hold=True)
    job = first_value(pool.request("k", fake, total=3, follower="a"))
    pool.request("k", fake, total=3, follower="b")
    nxt = kit.fake()
    waiting = pool.request("other", nxt, total=3, follower="c")
    assert waiting.state == "queued"
    job.unfollow("a")
    job.unfollow("b")
    assert job.state == "cancelled"
    fake.release()  # it reaches its next value, where the pool stops it
    assert fake.closed.wait(TIMEOUT) and fake.stopped_early and fake.yielded == 2
    assert job.latest.steps_done == 1  # nothing published after the cancel
    assert settle(waiting).state == "done" and nxt.started.is_set()  # the worker was freed
    assert pool.stats()["running"] == 0
    # Dropped from the table: asking again trains afresh.
    fresh = kit.fake()
    again = pool.request("k", fresh, total=3, follower="d")
    assert again is not job and settle(again).state == "done" and fresh.started.is_set()


def test_the_last_follower_leaving_a_queued_job_means_it_never_starts(kit):
    pool = kit.pool(workers=1)
    blocker = kit.fake(hold=True)
    running = first_value(pool.request("blocker", blocker, total=3))
    never = kit.fake()
    queued = pool.request("k", never, total=3, follower="a")
    assert pool.stats()["queued"] == 1
    queued.unfollow("a")
    assert queued.state == "cancelled" and pool.stats()["queued"] == 0
    later = kit.fake()
    after = pool.request("later", later, total=3, follower="b")  # FIFO: would start after "k" if it were queued
    blocker.release()
    settle(running)
    settle(after)
    assert later.started.is_set() and not never.started.is_set() and pool.stats()["started"] == 2


def test_a_follower_not_touched_for_the_ttl_counts_as_gone(kit):
    clock = FakeClock()
    pool = kit.pool(workers=1, follower_ttl=10, clock=clock, reap_every=3600)  # expiry by hand, below
    lone, shared = kit.fake(hold=True), kit.fake()
    lone_job = first_value(pool.request("lone", lone, total=3, follower="a"))
    shared_job = pool.request("shared", shared, total=3, follower="b")  # queued: expiry applies there too
    pool.request("shared", shared, total=3, follower="c")
    clock.now += 6
    lone_job.touch("a")
    shared_job.touch("c")
    clock.now += 6  # "b" last seen 12 s ago; "a" and "c" 6 s ago
    pool.expire_followers()
    assert lone_job.state == "running" and shared_job.state == "queued" and shared_job.followers == 1
    clock.now += 5  # "a" last seen 11 s ago; "c" touches again
    shared_job.touch("c")
    pool.expire_followers()
    assert lone_job.state == "cancelled" and shared_job.state in ("queued", "running")
    lone.release()
    assert lone.closed.wait(TIMEOUT) and lone.stopped_early
    assert settle(shared_job).state == "done"


def test_the_reaper_thread_expires_followers_by_itself(kit):
    clock = FakeClock()
    pool = kit.pool(workers=1, follower_ttl=10, clock=clock, reap_every=0.01)
    job = pool.request("k", kit.fake(hold=True), total=3, follower="a")
    clock.now += 11
    assert settle(job).state == "cancelled"


def test_a_job_requested_without_a_follower_completes(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(hold=True)
    job = first_value(pool.request("warm-up", fake, total=3, priority=BACKGROUND))
    assert job.followers == 0
    pool.request("warm-up", fake, total=3, follower="student")  # a student looks, then leaves
    job.unfollow("student")
    pool.expire_followers()
    assert job.state == "running"
    fake.release()
    assert settle(job).state == "done" and fake.yielded == 3


def test_a_failed_job_keeps_its_error_and_is_not_cached(kit):
    pool = kit.pool(workers=1)
    job = settle(pool.request("k", kit.fake(fail_at=2), total=3, follower="a"))
    assert job.state == "failed" and isinstance(job.error, ValueError) and str(job.error) == "boom at 2"
    assert job.latest.steps_done == 1  # what it got to before failing
    retry = kit.fake()
    again = pool.request("k", retry, total=3, follower="a")
    assert again is not job and settle(again).state == "done" and retry.started.is_set()


# --- the queue and the workers ---

def test_students_go_before_the_warm_up_and_first_come_first_served(kit):
    pool = kit.pool(workers=1)
    started = []
    blocker = kit.fake(hold=True)
    running = first_value(pool.request("blocker", blocker, total=3))
    jobs, fakes = {}, {}
    for name, priority in [("bg1", BACKGROUND), ("u1", USER), ("bg2", BACKGROUND), ("u2", USER)]:
        fakes[name] = kit.fake(started_log=started, name=name, hold=name == "u1")
        jobs[name] = pool.request(name, fakes[name], total=3, priority=priority, follower=name)
    assert {n: pool.queue_position(j) for n, j in jobs.items()} == {"u1": 0, "u2": 1, "bg1": 2, "bg2": 3}
    assert pool.queue_position(running) == 0 and pool.stats()["queued"] == 4
    # A student asks for what is warming up: it joins the students, after those already waiting.
    assert pool.request("bg2", kit.fake(), total=3, priority=USER, follower="s") is jobs["bg2"]
    assert {n: pool.queue_position(j) for n, j in jobs.items()} == {"u1": 0, "u2": 1, "bg2": 2, "bg1": 3}
    seen = jobs["bg1"].version
    blocker.release()
    first_value(jobs["u1"])
    # "bg1" itself did not change, but its place in the queue did: its waiters wake up to redraw it.
    assert jobs["bg1"].state == "queued" and jobs["bg1"].version > seen and pool.queue_position(jobs["bg1"]) == 2
    fakes["u1"].release()
    for job in jobs.values():
        settle(job)
    assert started == ["u1", "u2", "bg2", "bg1"]
    assert all(pool.queue_position(j) == 0 for j in jobs.values())


def test_never_more_trainings_run_than_workers(kit):
    pool = kit.pool()  # as many as the cores
    fakes = [kit.fake(hold=True) for _ in range(pool.workers + 2)]
    jobs = [pool.request(i, fake, total=3, follower="a") for i, fake in enumerate(fakes)]
    for job in jobs[:pool.workers]:
        first_value(job)
    assert pool.stats() == {"started": pool.workers, "running": pool.workers, "queued": 2,
                            "workers": pool.workers, "backend": "thread"}
    assert [j.state for j in jobs[pool.workers:]] == ["queued", "queued"]
    assert not any(f.started.is_set() for f in fakes[pool.workers:])
    assert [pool.queue_position(j) for j in jobs[pool.workers:]] == [0, 1]
    for fake in fakes:
        fake.release()
    assert all(settle(j).state == "done" for j in jobs) and pool.stats()["started"] == len(jobs)


def test_the_number_of_workers_is_bounded_by_the_cores(monkeypatch):
    cores = os.cpu_count()
    assert worker_count(1000) == cores and worker_count(1) == 1 and worker_count(0) == 1
    monkeypatch.setenv("BNLAB_WORKERS", "1")
    assert worker_count() == 1
    monkeypatch.setenv("BNLAB_WORKERS", "999")
    assert worker_count() == cores
    monkeypatch.delenv("BNLAB_WORKERS")
    assert worker_count() == cores
    monkeypatch.setenv("BNLAB_WORKERS", "two")
    with pytest.raises(ValueError, match="BNLAB_WORKERS"):
        worker_count()


def test_many_sessions_asking_at_once_get_one_training(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(hold=True)
    barrier = threading.Barrier(20)
    got = []

    def session(i):
        barrier.wait()
        got.append(pool.request("k", fake, total=3, follower=i))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job = got[0]
    assert all(j is job for j in got) and job.followers == 20
    for i in range(19):
        job.unfollow(i)
    assert job.state in ("queued", "running")
    fake.release()
    assert settle(job).state == "done" and pool.stats()["started"] == 1


def test_shutdown_cancels_queued_and_running_jobs(kit):
    pool = kit.pool(workers=1)
    fake = kit.fake(hold=True)
    running = first_value(pool.request("a", fake, total=3, follower="x"))
    queued = pool.request("b", kit.fake(), total=3, follower="y")
    stopper = threading.Thread(target=pool.shutdown)
    stopper.start()
    assert settle(queued).state == "cancelled" and settle(running).state == "cancelled"
    fake.release()
    stopper.join(TIMEOUT)
    assert not stopper.is_alive() and fake.stopped_early
    with pytest.raises(RuntimeError, match="shut down"):
        pool.request("c", kit.fake(), total=3)


def test_a_real_training_in_a_thread(kit):
    pool = kit.pool(workers=1)
    config = bc.TrainConfig(steps=20, record_every=5)
    job = settle(pool.request(config, functools.partial(bc.train_steps, config), total=20, follower="a",
                              publish=freeze))
    assert job.state == "done" and job.latest.status == "finished" and job.latest.steps_done == 20
    assert [s.test_acc for s in job.latest.snapshots] == [s.test_acc for s in bc.train(config).snapshots]


# --- the process backend (the server's) ---

freeze = bc.RunRecord.view  # the app's publish function: a copy that later record points do not change


@pytest.fixture(scope="module")
def process_pool():
    pool = TrainingPool(workers=1, backend="process", immutable=(Snapshot,), preload=("bn_core",))
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def light_pool():
    """A process pool for the fakes of pool_fakes.py: its worker imports no NumPy, so replacing it is quick."""
    pool = TrainingPool(workers=1, backend="process")
    yield pool
    pool.shutdown()


def test_a_real_training_in_a_worker_process(process_pool):
    config = bc.TrainConfig(steps=40, record_every=5, seed=7)
    job = process_pool.request(config, functools.partial(bc.train_steps, config), total=40, follower="a",
                               publish=freeze)
    values = []
    while job.state in ("queued", "running"):
        seen = job.version
        if job.latest is not None and (not values or job.latest is not values[-1]):
            values.append(job.latest)
        job.wait(TIMEOUT, since=seen)
    assert job.state == "done", job.error
    final = job.latest
    assert final.status == "finished" and final.steps_done == 40 and final.weights is not None
    expected = bc.train(config)
    assert [s.test_acc for s in final.snapshots] == [s.test_acc for s in expected.snapshots]
    for name, value in expected.weights.items():
        assert (final.weights[name] == value).all(), name
    # Snapshots already sent are sent once, then referenced: successive values share them.
    assert all(v.snapshots[0] is final.snapshots[0] for v in values)
    assert len(process_pool.worker_pids()) == 1 and os.getpid() not in process_pool.worker_pids()


def test_a_worker_process_stops_a_run_nobody_follows_and_takes_the_next(light_pool, tmp_path):
    marker = tmp_path / "closed"
    job = light_pool.request("forever", functools.partial(forever, str(marker)), total=10**9, follower="a")
    light_pool.request("forever", functools.partial(forever, str(marker)), total=10**9, follower="b")
    first_value(job)
    job.unfollow("a")
    progress = job.steps_done
    while job.steps_done <= progress:  # "b" still follows: it keeps going
        seen = job.version
        assert job.wait(TIMEOUT, since=seen) and job.state == "running"
    job.unfollow("b")
    assert job.state == "cancelled"
    nxt = settle(light_pool.request("next", functools.partial(count, 3), total=3, follower="c"))
    assert nxt.state == "done" and nxt.latest.steps_done == 3
    assert marker.exists()  # closed before the worker took the next job


def test_an_error_in_a_worker_process_reaches_the_followers(process_pool):
    config = bc.TrainConfig(steps=5, batch_size=100_000)
    job = settle(process_pool.request(config, functools.partial(bc.train_steps, config), total=5, follower="a"))
    assert job.state == "failed" and isinstance(job.error, bc.ConfigError)
    assert job.error.code == "batch_too_large" and job.error.params["batch_size"] == 100_000
    assert "exceeds" in str(job.error)


def test_a_crashed_worker_process_fails_its_job_and_is_replaced(light_pool):
    job = settle(light_pool.request("crash", crash, total=2, follower="a"))
    assert job.state == "failed" and isinstance(job.error, WorkerCrashed) and "code 3" in str(job.error)
    after = settle(light_pool.request("after crash", functools.partial(count, 3), total=3, follower="a"))
    assert after.state == "done" and after.latest.steps_done == 3


def test_a_value_that_does_not_load_fails_its_job_and_the_next_job_is_not_mixed_up(light_pool):
    job = settle(light_pool.request("unloadable", unloadable, total=6, follower="a"))
    assert job.state == "failed" and "does not load" in str(job.error)
    after = settle(light_pool.request("after unloadable", functools.partial(count, 2), total=2, follower="a"))
    assert after.state == "done" and after.latest.steps_done == 2  # none of the failed job's values


def test_a_function_from_main_is_refused_with_a_clear_error(light_pool):
    def start():
        yield Value(1)

    start.__module__ = "__main__"
    job = settle(light_pool.request("main", start, total=1, follower="a"))
    assert job.state == "failed" and "__main__" in str(job.error)
