"""The persistent run store (lab/store.py): the same behaviour from the disk store and from Redis, keys that
change with the engine, bad entries dropped and rewritten, bounded size, leases, and no torn entries under
concurrent writers (threads and processes)."""
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import require_binary

import lab.store as store_module
from bn_core import TrainConfig, train
from lab.store import DiskStore, RedisStore, StoreError, encode, engine_version, open_store, redacted, run_key

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
SMALL = TrainConfig(steps=20, record_every=5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server(folder, *extra):
    """A private redis-server on a free loopback port, no persistence; yields its URL, stops it after."""
    require_binary(REDIS_SERVER, "the shared run store's tests need redis-server (apt-get install redis-server)")
    import redis

    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.time() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["disk", "redis"])
def make_store(request, tmp_path):
    """Makes stores of one kind, all on one empty backing store (a folder, or a flushed Redis)."""
    made = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(url).flushall()

    def make(**options):
        made.append(DiskStore(tmp_path / "store", **options) if request.param == "disk"
                    else RedisStore(url, **options))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture(scope="module")
def records():
    return {bn: train(SMALL.replace(batchnorm=bn)) for bn in (True, False)}


def read_raw(store, key):
    if isinstance(store, DiskStore):
        path = store.runs / (run_key(key) + ".run")
        return path.read_bytes() if path.exists() else None
    return store.client.get(f"bnlab:run:{run_key(key)}")


def write_raw(store, key, blob):
    if isinstance(store, DiskStore):
        (store.runs / (run_key(key) + ".run")).write_bytes(blob)
    else:
        store.client.set(f"bnlab:run:{run_key(key)}", blob)


def entry_with(payload, version=None, magic=store_module.MAGIC):
    """An entry with a correct checksum around ``payload``."""
    version = (version or engine_version()).encode()
    return store_module.HEADER.pack(magic, version, hashlib.sha256(payload).digest(), len(payload)) + payload


# --- keys ------------------------------------------------------------------------------------------------------


def test_equal_configs_give_equal_keys_and_different_configs_different_keys():
    assert run_key(TrainConfig()) == run_key(TrainConfig(hidden=(100, 100, 100)))
    assert run_key(TrainConfig(lr=1)) == run_key(TrainConfig(lr=1.0))  # equal configs, same run
    assert run_key(TrainConfig(init_sigma=-0.0)) == run_key(TrainConfig(init_sigma=0.0))
    keys = {run_key(k) for k in [TrainConfig(), TrainConfig(lr=0.1), TrainConfig(hidden=(100, 100)),
                                 TrainConfig(batchnorm=False), (TrainConfig(), "bn"), (TrainConfig(), "no_bn"),
                                 "digits", ("digits",), ["digits"], 1, 1.5, None]}
    assert len(keys) == 12
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)


def test_keys_are_the_same_in_another_process_whatever_its_hash_seed():
    key = (TrainConfig(), frozenset({"alpha", "beta", "gamma", "delta"}), {"x": 1, "y": (2, 3)})
    script = ("import sys; from bn_core import TrainConfig; import lab.store as s; "
              "print(s.run_key((TrainConfig(), frozenset({'alpha', 'beta', 'gamma', 'delta'}), "
              "{'y': (2, 3), 'x': 1}))); print('streamlit' in sys.modules)")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}).stdout.split()
        assert out == [run_key(key), "False"]  # same key, and the store does not import streamlit


def test_keys_without_a_stable_text_are_refused():
    with pytest.raises(TypeError, match="stable key"):
        run_key((TrainConfig(), object()))
    assert run_key(np.float64(0.5)) == run_key(0.5) and run_key((np.int64(3), np.bool_(True))) == run_key((3, 1))


def test_any_change_to_the_engine_source_gives_new_keys(tmp_path, monkeypatch):
    engine = tmp_path / "bn_core"
    shutil.copytree(store_module.ENGINE_DIR, engine, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store_module, "ENGINE_DIR", engine)
    before_version, before_key = engine_version(), run_key(TrainConfig())
    assert len(before_version) == 16
    with open(engine / "layers.py", "a") as f:
        f.write("\n# a comment is a change too\n")
    assert engine_version() != before_version
    assert run_key(TrainConfig()) != before_key


# --- both stores -----------------------------------------------------------------------------------------------


def test_a_trained_record_comes_back_whole(make_store, records):
    writer, reader = make_store(), make_store()  # another store on the same backing: another process's view
    for bn, record in records.items():
        key = SMALL.replace(batchnorm=bn)
        assert reader.get(key) is None
        assert writer.put(key, record)
        back = reader.get(key)
        assert back is not record
        assert back.config == record.config and back.status == record.status == "finished"
        assert back.steps_done == 20 and list(back.steps) == [0, 5, 10, 15, 20]
        assert back.to_csv() == record.to_csv()  # every recorded number
        if bn:
            np.testing.assert_array_equal(back.snapshots[-1].layers[0].gamma, record.snapshots[-1].layers[0].gamma)
    assert reader.get(SMALL.replace(seed=1)) is None


def test_plain_values_under_any_kind_of_key(store):
    values = {"digits": {"a": [1, 2.5, None]}, (SMALL, "bn"): np.arange(12.0).reshape(3, 4),
              (SMALL, "no_bn"): ("text", b"bytes"), 7: 0}
    for key, value in values.items():
        store.put(key, value)
    for key, value in values.items():
        np.testing.assert_equal(store.get(key), value)
    store.put("digits", "replaced")
    assert store.get("digits") == "replaced"


def test_an_entry_of_another_engine_version_is_not_served(store, monkeypatch):
    store.put(SMALL, "old engine's run")
    monkeypatch.setattr(store_module, "engine_version", lambda: "0123456789abcdef")
    assert store.get(SMALL) is None  # the key holds the engine version
    store.put(SMALL, "new engine's run")
    assert store.get(SMALL) == "new engine's run"


DAMAGE = {
    "truncated": lambda blob: blob[:len(blob) // 2],
    "cut in the header": lambda blob: blob[:10],
    "empty": lambda blob: b"",
    "a flipped payload byte": lambda blob: blob[:-100] + bytes([blob[-100] ^ 0xFF]) + blob[-99:],
    "a flipped checksum byte": lambda blob: blob[:30] + bytes([blob[30] ^ 0x01]) + blob[31:],
    "an extra byte": lambda blob: blob + b"\0",
    "garbage": lambda blob: np.random.default_rng(0).bytes(len(blob)),
    "another engine version": lambda blob: entry_with(blob[store_module.HEADER.size:], version="0123456789abcdef"),
    "another format": lambda blob: entry_with(blob[store_module.HEADER.size:], magic=b"BNLRUN00"),
    "intact but not zlib": lambda blob: entry_with(b"not compressed"),
    "intact but not a pickle": lambda blob: entry_with(zlib.compress(b"not a pickle")),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_bad_entry_is_never_served_and_is_rewritten(store, records, damage, caplog):
    record = records[True]
    store.put(SMALL, record)
    good = read_raw(store, SMALL)
    write_raw(store, SMALL, DAMAGE[damage](good))
    with caplog.at_level(logging.WARNING, logger="lab.store"):
        assert store.get(SMALL) is None
    assert "dropping bad entry" in caplog.text
    assert read_raw(store, SMALL) is None  # dropped, so nothing reads it again
    store.put(SMALL, record)
    assert store.get(SMALL).to_csv() == record.to_csv()


def test_progress_of_a_run_being_trained(make_store):
    trainer, follower = make_store(progress_ttl=30), make_store(progress_ttl=30)
    assert follower.get_progress(SMALL) is None
    trainer.put_progress(SMALL, {"step": 5})
    trainer.put_progress(SMALL, {"step": 10})
    assert follower.get_progress(SMALL) == {"step": 10}
    assert follower.get_progress(SMALL.replace(seed=1)) is None
    trainer.put(SMALL, "finished")
    assert follower.get_progress(SMALL) is None  # the finished run replaces it
    assert follower.get(SMALL) == "finished"


def test_progress_of_a_trainer_that_stopped_updating_expires(make_store):
    trainer = make_store(progress_ttl=0.3)
    trainer.put_progress(SMALL, {"step": 5})
    assert trainer.get_progress(SMALL) == {"step": 5}
    time.sleep(0.6)
    assert trainer.get_progress(SMALL) is None


def test_leases(make_store):
    a, b = make_store(), make_store()
    assert a.lease(SMALL, "a", ttl=30)
    assert a.lease(SMALL, "a", ttl=30)  # already mine: renewed
    assert not b.lease(SMALL, "b", ttl=30)
    assert b.lease(SMALL.replace(seed=1), "b", ttl=30)  # another run is free
    b.release(SMALL, "b")  # not b's to release
    assert not b.lease(SMALL, "b", ttl=30)
    a.release(SMALL, "a")
    assert b.lease(SMALL, "b", ttl=30)


def test_an_expired_lease_can_be_taken(make_store):
    a, b = make_store(), make_store()
    assert a.lease(SMALL, "a", ttl=0.3)
    assert not b.lease(SMALL, "b", ttl=30)
    time.sleep(0.6)  # a's trainer died without releasing
    assert b.lease(SMALL, "b", ttl=30)
    assert not a.lease(SMALL, "a", ttl=30)


def test_one_of_many_threads_racing_for_a_lease_gets_it(make_store):
    stores = [make_store() for _ in range(8)]
    start, granted = threading.Barrier(len(stores)), []

    def race(i):
        start.wait()
        if stores[i].lease(SMALL, f"owner{i}", ttl=30):
            granted.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(granted) == 1


def test_threads_putting_one_key_never_tear_it(make_store):
    writers = [make_store() for _ in range(4)]
    reader = make_store()
    values = [np.random.default_rng(i).bytes(300_000) for i in range(len(writers))]

    def write(i):
        for _ in range(8):
            writers[i].put(SMALL, values[i])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writers))]
    for th in threads:
        th.start()
    seen = []
    while any(th.is_alive() for th in threads):
        seen.append(reader.get(SMALL))
    first_hit = next((i for i, v in enumerate(seen) if v is not None), len(seen))
    assert all(v in values for v in seen[first_hit:])  # once there, always a whole value, never a torn one
    assert reader.get(SMALL) in values


# --- the disk store --------------------------------------------------------------------------------------------


def test_least_recently_used_entries_are_evicted_to_stay_within_the_bound(tmp_path):
    values = {k: np.random.default_rng(i).bytes(20_000) for i, k in enumerate("abcdef")}  # incompressible
    size = len(encode(values["a"]))
    store = DiskStore(tmp_path, max_bytes=3 * size + size // 2)  # room for three
    for k in "abc":
        assert store.put(k, values[k])
    assert store.get("a") == values["a"]  # a used: b is now the least recently used
    store.put("d", values["d"])
    assert store.get("b") is None
    assert [store.get(k) == values[k] for k in "acd"] == [True] * 3
    for k in "ef":
        store.put(k, values[k])
        assert store.size() <= store.max_bytes
    assert store.size() == 3 * size and store.get("e") == values["e"] and store.get("f") == values["f"]


def test_an_entry_larger_than_the_whole_store_is_not_stored_and_evicts_nothing(tmp_path, caplog):
    store = DiskStore(tmp_path, max_bytes=50_000)
    store.put("small", "kept")
    with caplog.at_level(logging.WARNING, logger="lab.store"):
        assert not store.put("huge", np.random.default_rng(0).bytes(60_000))
    assert "exceeds" in caplog.text
    assert store.get("huge") is None and store.get("small") == "kept"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path, records):
    store = DiskStore(tmp_path)
    store.put(SMALL, records[True])
    store.put_progress(SMALL.replace(seed=1), records[False])
    store.lease(SMALL, "a", ttl=30)
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert len(list(store.runs.iterdir())) == 1


def test_temp_files_of_writers_that_died_are_cleaned_up(tmp_path):
    store = DiskStore(tmp_path)
    old, fresh = store.runs / ".x.run.1.2.ab.tmp", store.runs / ".y.run.3.4.cd.tmp"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")  # a writer at work right now
    past = time.time() - 2 * store_module.STALE_TEMP
    os.utime(old, (past, past))
    store.put("k", "v")
    assert not old.exists() and fresh.exists()
    assert store.get("k") == "v"


def _run_children(tmp_path, script, args_list):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), *map(str, args)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in args_list]
    return children


def test_processes_putting_one_key_never_tear_it(tmp_path):
    script = ("import sys, numpy as np; from lab.store import DiskStore; store = DiskStore(sys.argv[1]); "
              "value = np.random.default_rng(int(sys.argv[2])).bytes(1_000_000)\n"
              "for _ in range(15): store.put('shared', value)")
    values = [np.random.default_rng(i).bytes(1_000_000) for i in (1, 2)]
    store = DiskStore(tmp_path)
    children = _run_children(tmp_path, script, [(1,), (2,)])
    seen = []
    while any(c.poll() is None for c in children):
        seen.append(store.get("shared"))
    for c in children:
        assert c.wait() == 0, c.stderr.read()
    hits = [v for v in seen if v is not None]
    assert all(v in values for v in hits)
    assert store.get("shared") in values
    assert [p.name for p in store.runs.iterdir()] == [run_key("shared") + ".run"]


def test_leases_hold_across_processes(tmp_path):
    """Four processes race for the same 100 leases, each at the same moment: every run gets exactly one trainer."""
    script = ("import sys, time; from lab.store import DiskStore; store = DiskStore(sys.argv[1]); "
              "time.sleep(max(0.0, float(sys.argv[3]) - time.time())); "
              "print(''.join(str(int(store.lease(('run', i), sys.argv[2], ttl=60))) for i in range(100)))")
    start = time.time() + 3  # after every child has imported
    children = _run_children(tmp_path, script, [(f"proc{i}", start) for i in range(4)])
    won = []
    for c in children:
        out, err = c.communicate(timeout=60)
        assert c.returncode == 0, err
        won.append([int(x) for x in out.strip()])
    assert np.sum(won, axis=0).tolist() == [1] * 100
    assert not DiskStore(tmp_path).lease(("run", 0), "parent", ttl=60)  # held by a winner, though it has exited


def test_the_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BNLAB_STORE_DIR", str(tmp_path / "chosen"))
    assert DiskStore().root == tmp_path / "chosen"
    monkeypatch.delenv("BNLAB_STORE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert DiskStore().root == tmp_path / "cache" / "bnlab" / "runs"
    assert (tmp_path / "cache" / "bnlab" / "runs" / "runs").stat().st_mode & 0o077 == 0  # private


def test_a_folder_every_user_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(StoreError, match="writable by every user"):
        DiskStore(shared)


# --- Redis -----------------------------------------------------------------------------------------------------


def test_open_store_picks_the_store_from_the_environment(tmp_path, monkeypatch, redis_url):
    monkeypatch.setenv("BNLAB_STORE_DIR", str(tmp_path / "default"))
    monkeypatch.delenv("BNLAB_STORE", raising=False)
    assert open_store().root == tmp_path / "default"
    monkeypatch.setenv("BNLAB_STORE", "  ")
    assert open_store().root == tmp_path / "default"
    monkeypatch.setenv("BNLAB_STORE", str(tmp_path / "given"))
    assert open_store().root == tmp_path / "given"
    monkeypatch.setenv("BNLAB_STORE", redis_url)
    redis_store = open_store()
    assert isinstance(redis_store, RedisStore)
    redis_store.close()
    with pytest.raises(StoreError, match="neither a redis:// URL nor a folder"):
        open_store("http://example.invalid/store")


def test_an_unreachable_redis_is_a_clear_error_at_startup_without_the_password():
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    with pytest.raises(StoreError, match="cannot reach the Redis run store") as caught:
        open_store(url)
    assert "unset BNLAB_STORE" in str(caught.value) and "hunter2" not in str(caught.value)
    assert redacted("unix:///run/redis.sock?db=0&password=hunter2") == "unix:///run/redis.sock?db=0&password=***"
    assert redacted("redis://bn:hunter2@host:6379/0") == "redis://bn:***@host:6379/0"


def test_redis_going_away_while_the_app_runs_is_logged_not_raised(tmp_path, caplog):
    with redis_server(tmp_path) as url:
        store = RedisStore(url, timeout=1)
        store.put(SMALL, "stored")
    with caplog.at_level(logging.WARNING, logger="lab.store"):
        assert store.get(SMALL) is None
        assert store.put(SMALL, "lost") is False
        assert store.lease(SMALL, "a", ttl=30)  # train here rather than wait for a store that is gone
        store.put_progress(SMALL, {"step": 5})
        assert store.get_progress(SMALL) is None
    assert "Redis get failed" in caplog.text
    store.close()


def test_a_bounded_redis_evicts_and_an_unbounded_one_is_warned_about(redis_url, caplog):
    with caplog.at_level(logging.WARNING, logger="lab.store"):
        store = RedisStore(redis_url)
    assert "no maxmemory" in caplog.text
    store.client.flushall()
    store.client.config_set("maxmemory", 4 * 2**20)
    store.client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        values = [np.random.default_rng(i).bytes(300_000) for i in range(30)]  # 9 MB into 4 MB
        assert all(store.put(("run", i), v) for i, v in enumerate(values))
        assert store.client.dbsize() < 30
        assert store.client.info("memory")["used_memory"] <= 4 * 2**20
        assert store.get(("run", 29)) == values[29]  # the latest is kept
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="lab.store"):
            RedisStore(redis_url).close()
        assert "maxmemory" not in caplog.text
    finally:
        store.client.config_set("maxmemory", 0)
        store.client.config_set("maxmemory-policy", "noeviction")
        store.close()


# --- the test helper -------------------------------------------------------------------------------------------


def test_a_missing_program_skips_locally_and_fails_under_ci(monkeypatch):
    from conftest import require_binary as helper

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        helper("/no/such/program", "test of the helper")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        helper("/no/such/program", "test of the helper")
    assert helper(sys.executable, "test of the helper") == sys.executable
