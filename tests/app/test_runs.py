"""The process-wide caches behind every page: bounded, least recently used out first."""
from lab.runs import MAX_CACHED_RUNS, BoundedCache, finished_runs


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
