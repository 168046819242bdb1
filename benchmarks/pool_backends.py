"""Threads or processes for the training pool (lab/pool.py): K distinct default trainings on a pool of 2 workers
of each backend, against the same K trained one after another in this process (the reference), in the same run.

Reported per backend: throughput as a ratio to the reference; the server process's own CPU (``/proc/self/stat``)
and the worker processes' CPU (all of it as a ratio to the reference's CPU); and how much slower a page's
pure-Python work (a session thread rendering a cached page) gets while the pool trains, against the same work on
the idle process. Every value the pool publishes is a frozen copy of the live record (as the app's pages get them);
with processes it is pickled back to the server.

    python benchmarks/pool_backends.py [--json] [--configs K] [--steps N] [--rounds R]
"""
import argparse
import copy
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bn_core as bc  # noqa: E402
from bn_core.record import Snapshot  # noqa: E402
from lab.pool import TrainingPool  # noqa: E402

WORKERS = 2
PAGE_EVERY = 0.02  # seconds between two page renders of the probe (a busy classroom)


def freeze(record):
    """What a page may hold while the run goes on: a copy sharing the (never changed) snapshots, the model only
    once the run is over."""
    frozen = copy.copy(record)
    frozen.snapshots = list(record.snapshots)
    frozen._sorted_prev = []
    frozen.model = None if record.status == "running" else copy.deepcopy(record.model)
    return frozen


def page_work():
    """A stand-in for a session rendering a cached page: a few milliseconds of pure Python in 20 pieces, the GIL
    released between them, as a server does at every message it writes to a socket."""
    for _ in range(20):
        sum(len(str(i)) for i in range(1000))
        time.sleep(0)


def cpu_seconds(pid="self"):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def page_latencies(until):
    """Render the probe page every PAGE_EVERY seconds until ``until()``; the wall time of each render."""
    out = []
    while not until():
        t0 = time.perf_counter()
        page_work()
        out.append(time.perf_counter() - t0)
        time.sleep(PAGE_EVERY)
    return out


def reference(configs):
    """The K trainings one after another in this thread, publishing every value as the pool does."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    finals = []
    for config in configs:
        for value in bc.train_steps(config):
            last = freeze(value)
        finals.append(last)
    return {"wall_s": time.perf_counter() - t0, "server_cpu_s": cpu_seconds() - c0, "finals": finals}


def on_pool(backend, configs, publish):
    pool = TrainingPool(WORKERS, backend=backend, immutable=(Snapshot,), preload=("bn_core",))
    try:
        warm = [bc.TrainConfig(steps=20, seed=100 + i) for i in range(WORKERS)]  # start the workers, untimed
        for job in [pool.request(c, functools.partial(bc.train_steps, c), total=c.steps) for c in warm]:
            while job.state in ("queued", "running"):
                job.wait(5)
        pids = pool.worker_pids()
        t0, c0, w0 = time.perf_counter(), cpu_seconds(), sum(cpu_seconds(p) for p in pids)
        jobs = [pool.request(c, functools.partial(bc.train_steps, c), total=c.steps, publish=publish)
                for c in configs]
        latencies = page_latencies(lambda: all(j.state not in ("queued", "running") for j in jobs))
        wall, server = time.perf_counter() - t0, cpu_seconds() - c0
        workers = sum(cpu_seconds(p) for p in pids) - w0
        assert [j.state for j in jobs] == ["done"] * len(jobs), [(j.state, j.error) for j in jobs]
        return {"wall_s": wall, "server_cpu_s": server, "worker_cpu_s": workers,
                "page_s": statistics.median(latencies), "finals": [j.latest for j in jobs]}
    finally:
        pool.shutdown()


def run(n_configs=4, steps=1000, rounds=1):
    from benchmarks import pool_backends  # freeze by its module name: a worker process does not run __main__

    configs = [bc.TrainConfig(steps=steps, seed=i) for i in range(n_configs)]
    bc.train(bc.TrainConfig(steps=50))  # warm-up
    idle_done = time.perf_counter() + 1.0
    idle_page = statistics.median(page_latencies(lambda: time.perf_counter() > idle_done))
    rows = {"reference": [], "thread": [], "process": []}
    for r in range(rounds):
        order = ["reference", "thread", "process"]
        for name in order if r % 2 == 0 else order[::-1]:
            out = reference(configs) if name == "reference" else on_pool(name, configs, pool_backends.freeze)
            rows[name].append(out)
    # Same configs, same numbers, whichever way they were trained.
    ref_acc = [f.snapshots[-1].test_acc for f in rows["reference"][0]["finals"]]
    for name in ("thread", "process"):
        assert [f.snapshots[-1].test_acc for f in rows[name][0]["finals"]] == ref_acc, name
        assert all(f.model is not None and f.status == "finished" for f in rows[name][0]["finals"]), name
    ref_wall = statistics.median(o["wall_s"] for o in rows["reference"])
    out = {"configs": n_configs, "steps": steps, "workers": WORKERS, "rounds": rounds, "idle_page_s": idle_page,
           "reference_wall_s": ref_wall,
           "reference_cpu_s": statistics.median(o["server_cpu_s"] for o in rows["reference"])}
    for name in ("thread", "process"):
        runs = rows[name]
        out[name] = {
            "wall_s": statistics.median(o["wall_s"] for o in runs),
            "throughput_ratio": statistics.median(ref["wall_s"] / o["wall_s"]
                                                  for ref, o in zip(rows["reference"], runs)),
            "server_cpu_s": statistics.median(o["server_cpu_s"] for o in runs),
            "worker_cpu_s": statistics.median(o["worker_cpu_s"] for o in runs),
            "page_slowdown": statistics.median(o["page_s"] for o in runs) / idle_page,
            # all the CPU the K trainings took (server and workers) against the reference's: the cost of sharing
            "cpu_ratio": statistics.median((o["server_cpu_s"] + o["worker_cpu_s"]) / ref["server_cpu_s"]
                                           for ref, o in zip(rows["reference"], runs)),
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.configs, args.steps, args.rounds)
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['configs']} default trainings of {r['steps']} steps, {r['workers']} workers; reference: one after "
          f"another in one thread, {r['reference_wall_s']:.2f} s wall, {r['reference_cpu_s']:.2f} s CPU")
    for name in ("thread", "process"):
        b = r[name]
        print(f"  {name:7}  {b['wall_s']:.2f} s wall, throughput {b['throughput_ratio']:.2f}× the reference; "
              f"server process CPU {b['server_cpu_s']:.2f} s, worker processes {b['worker_cpu_s']:.2f} s "
              f"(all CPU {b['cpu_ratio']:.2f}× the reference's); "
              f"a page's Python work {b['page_slowdown']:.1f}× slower than on an idle server")


if __name__ == "__main__":
    main()
