"""Wall time of each experiment of the "beyond the paper" lesson at its default size (bn_core.beyond), trained the
way the app's pool trains them: at most two runs at a time, each in a worker process that is already warm.

    python benchmarks/beyond_sweeps.py [--json] [--workers 2]

Target: every experiment under 20 s on the project's 2-core machine kind.
"""
import argparse
import json
import os
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app (lab/__init__.py) and `make bench`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bn_core as bc  # noqa: E402

TARGET_S = 20.0


def warm_up(_):
    bc.load_data(bc.TrainConfig())  # imports scikit-learn and caches the digits, as a running app has
    return os.getpid()


def run_one(name, config):
    """Train one run of an experiment; returns (seconds, status)."""
    t0 = time.perf_counter()
    if name in bc.EXPERIMENT_MEASURE:
        record, _ = deque(bc.train_measured(config, bc.EXPERIMENT_MEASURE[name]), maxlen=1)[0]
    else:
        record = bc.train(config)
    return time.perf_counter() - t0, record.status


def run(workers=2):
    out = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(warm_up, range(workers)))
        for name in bc.EXPERIMENTS:
            runs = bc.experiment_configs(name)
            t0 = time.perf_counter()
            futures = [pool.submit(run_one, name, config) for _, config in runs]
            results = [f.result() for f in futures]
            wall = time.perf_counter() - t0
            out[name] = {"wall_s": wall, "runs": len(runs), "run_s_sum": sum(s for s, _ in results),
                         "longest_run_s": max(s for s, _ in results),
                         "steps": sum(c.steps for _, c in runs),
                         "statuses": sorted({status for _, status in results})}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    r = run(args.workers)
    if args.json:
        print(json.dumps(r))
        return
    for name, v in r.items():
        verdict = "ok" if v["wall_s"] < TARGET_S else f"MISSED (target < {TARGET_S:.0f} s)"
        print(f"{name:13s} {v['runs']:3d} runs, {v['steps']:6d} steps: {v['wall_s']:5.1f} s wall "
              f"({v['run_s_sum']:5.1f} s of runs, longest {v['longest_run_s']:4.1f} s)  {verdict}")


if __name__ == "__main__":
    main()
