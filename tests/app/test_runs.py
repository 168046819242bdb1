"""The process-wide caches behind every page: bounded, least recently used out first."""
from lab.caches import BoundedCache
from lab.runs import MAX_CACHED_RUNS, finished_runs


def test_bounded_cache_keeps_the_most_recently_used():
    cache = BoundedCache(3)
    for k in "abc":
        cache.put(k, k.upper())
    assert cache.get("a") == "A"  # "a" is now the most recently used
    cache.put("d", "D")  # evicts "b", the least recently used
    assert [cache.get(k) for k in "abcd"] == ["A", None, "C", "D"]
    for i in range(100):
        cache.put(i, i)
    assert len(cache._items) == 3


def test_the_run_cache_is_bounded():
    assert finished_runs.maxsize == MAX_CACHED_RUNS and 0 < MAX_CACHED_RUNS <= 64


# --- lab.runs with the pool and the store: what pages get ------------------------------------------------------

import threading  # noqa: E402

import pytest  # noqa: E402

from bn_core import TrainConfig  # noqa: E402
from lab import runs  # noqa: E402

TINY = TrainConfig(dataset="xor", hidden=(8,), steps=400, record_every=50, batch_size=16)


def _fresh(**changes):
    """A config no other test trained (the caches are process-wide): a seed of its own."""
    _fresh.seed += 1
    return TINY.replace(seed=1000 + _fresh.seed, **changes)


_fresh.seed = 0


def test_two_sessions_asking_for_one_config_get_one_training():
    config = _fresh()
    started = runs.training_pool().stats()["started"]
    results, progress = {}, {"a": [], "b": []}

    def session(name):
        results[name] = runs.train_runs([config], on_progress=progress[name].append, follower=name)[0]

    threads = [threading.Thread(target=session, args=(n,)) for n in "ab"]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert runs.training_pool().stats()["started"] == started + 1  # one training, two followers
    assert results["a"].status == results["b"].status == "finished"
    assert results["a"].steps_done == config.steps and results["a"] is runs.cached(config)
    assert all(0 <= p.fraction <= 1 for p in progress["a"] + progress["b"])


def test_a_finished_run_comes_from_the_store_without_training():
    config = _fresh()
    (trained,) = runs.train_runs([config])
    runs.finished_runs._items.clear()  # as a new replica (or a restarted server) would start: an empty memory
    started = runs.training_pool().stats()["started"]
    (again,) = runs.train_runs([config])
    assert runs.training_pool().stats()["started"] == started  # nothing trained
    assert again.steps_done == trained.steps_done and list(again.metric("test_acc")) == list(trained.metric("test_acc"))


def test_a_stopped_follower_does_not_stop_a_training_another_follows():
    config = _fresh(steps=4000)
    task = runs.config_task(config)
    job = runs.training_pool().request(task.key, task.start, total=task.total, follower="a", publish=task.publish)
    job.touch("b")
    while job.state == "queued":
        job.wait(1.0)
    runs.stop([config], "a")
    assert job.state == "running"  # "b" still follows
    runs.stop([config], "b")
    job.wait(10.0, since=job.version) if job.state == "running" else None
    assert job.state == "cancelled"  # nobody follows it any more: its worker is freed


def test_more_experiments_than_workers_wait_in_a_visible_queue():
    pool = runs.training_pool()
    others = [_fresh(steps=20000) for _ in range(pool.workers + 1)]  # every worker busy, and one more waiting
    for c in others:
        task = runs.config_task(c)
        pool.request(task.key, task.start, total=task.total, follower="other", publish=task.publish)
    mine = _fresh()
    seen = []

    def progress(p):
        seen.append(p.ahead)
        if p.ahead:  # the page says "N experiments ahead of yours"; then the other student leaves
            runs.stop(others, "other")

    (record,) = runs.train_runs([mine], on_progress=progress, follower="me")
    assert seen[0] >= 1  # every worker busy, at least the other student's queued experiment before mine
    assert record.status == "finished" and pool.stats()["running"] <= pool.workers


def test_an_error_in_a_task_reaches_the_page():
    bad = TINY.replace(batch_size=1)
    with pytest.raises(Exception) as info:
        runs.train_runs([bad])  # BN with a batch of one cannot train
    assert getattr(info.value, "code", None) == "batch_of_one"
    assert runs.run_store().lease(bad, "another replica", 5.0)  # the failed training's claim was given up


def test_a_page_and_another_session_follow_one_training():
    """A student's Playground page and another session ask for the same experiment at once: one training each for
    BN and no BN, followed by both, and the page draws the finished runs."""
    from apptest_util import no_exception, open_page

    import lab.lessons.playground as pg
    from lab.urlparams import query_to_config

    query = {"data": "xor", "depth": "1", "width": "8", "steps": "3000", "every": "50", "batch": "16"}
    config, mode, _ = query_to_config(query)
    configs, _ = pg.run_plan(config.replace(seed=4242), mode)
    started = runs.training_pool().stats()["started"]
    other = {}
    follower = threading.Thread(target=lambda: other.update(records=runs.train_runs(configs, follower="other")))
    follower.start()  # the other session asks first; the page joins the same trainings
    at = open_page("pages/playground.py", "en", seed=4242, query=query)
    follower.join(120)
    no_exception(at)
    assert len(at.get("plotly_chart")) >= 2  # drawn from the finished runs
    assert runs.training_pool().stats()["started"] - started == 2  # BN and no BN, once each for both sessions
    assert [r.steps_done for r in other["records"]] == [3000, 3000]


def test_a_run_that_ends_while_nobody_polls_is_kept_before_its_claim_is_given_up(monkeypatch):
    """A session that asked for a run and stopped polling (a rerun, a closed tab) still counts as following it for
    a while; if the run ends then, it is kept all the same — in memory and in the store — and the store has it
    before this replica's claim is given up (another replica finding the claim free must find the run)."""
    config = _fresh()
    store = runs.run_store()
    assert store.lease(config, runs.OWNER, runs.LEASE_TTL)  # as _Follow does before it asks the pool
    stored_at_release = []
    release = store.release
    monkeypatch.setattr(store, "release", lambda key, owner: (stored_at_release.append(store.get(key) is not None),
                                                              release(key, owner)))
    job = runs._request(runs.config_task(config), runs.pool_module.USER, follower="left")
    while job.state in runs.pool_module.ACTIVE:  # waits on the job itself: no follower's update() runs
        job.wait(1.0)
    assert job.state == "done"
    assert runs.finished_runs.get(config) is job.latest and store.get(config).steps_done == config.steps
    assert stored_at_release == [True]
    assert store.lease(config, "another replica", 5.0)  # the claim was given up
