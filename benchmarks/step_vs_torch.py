"""One SGD step (forward, loss, backward, update) of a sigmoid + BN MLP: bn_core vs PyTorch CPU.

Each measurement runs in a fresh process of its own (this script in ``--worker`` mode), so neither library's
threads, caches or allocator state touch the other's; rounds alternate the order. Both libraries run with their
defaults: bn_core in float32 (its default dtype), PyTorch in float32 with its default thread count.

    python benchmarks/step_vs_torch.py            # prints a table; exit status 0
    python benchmarks/step_vs_torch.py --json     # the same numbers as JSON (run_all.py uses this)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETS = {
    "digits-size 64-100-100-100-10": [64, 100, 100, 100, 10],
    "MNIST-size 784-100-100-100-10": [784, 100, 100, 100, 10],
}
BATCH = 60
TARGET = 0.8  # bn_core time / torch time


def batches(sizes, n_batches=50, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_batches, BATCH, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], (n_batches, BATCH))
    return X, y


def bn_core_step(sizes):
    import numpy as np

    sys.path.insert(0, str(ROOT))
    import bn_core as bc

    X, y = batches(sizes)
    model = bc.MLP(sizes, activation="sigmoid", batchnorm=True, seed=0)
    opt = bc.SGD(model.parameters(), model.gradients(), lr=0.1)
    assert model.parameters()["fc1.W"].dtype == np.float32

    def step(i):
        logits = model.forward(X[i])
        _, dlogits = bc.softmax_cross_entropy(logits, y[i])
        model.backward(dlogits)
        opt.step()

    return step


def torch_step(sizes):
    import torch

    X, y = batches(sizes)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(fan_in, fan_out, bias=False), torch.nn.BatchNorm1d(fan_out), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.functional.cross_entropy

    def step(i):
        opt.zero_grad()
        loss_fn(model(X[i]), y[i]).backward()
        opt.step()

    return step


def worker(impl, sizes, steps, repeats):
    """Median seconds per step over ``repeats`` timed blocks of ``steps`` steps, after a warm-up."""
    step = (bn_core_step if impl == "bn_core" else torch_step)(sizes)
    for i in range(100):
        step(i % 50)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            step(i % 50)
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


def measure(impl, sizes, steps, repeats):
    cmd = [sys.executable, __file__, "--worker", impl, "--sizes", ",".join(map(str, sizes)),
           "--steps", str(steps), "--repeats", str(repeats)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)["seconds_per_step"]


def run(rounds=5, steps=200, repeats=5):
    results = {}
    for name, sizes in NETS.items():
        times = {"bn_core": [], "torch": []}
        ratios = []
        for r in range(rounds):
            order = ("bn_core", "torch") if r % 2 == 0 else ("torch", "bn_core")
            this_round = {impl: measure(impl, sizes, steps, repeats) for impl in order}
            for impl, t in this_round.items():
                times[impl].append(t)
            ratios.append(this_round["bn_core"] / this_round["torch"])
        results[name] = {
            "bn_core_us": statistics.median(times["bn_core"]) * 1e6,
            "torch_us": statistics.median(times["torch"]) * 1e6,
            "ratio": statistics.median(ratios),
            "ratios": ratios,
        }
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", choices=["bn_core", "torch"])
    parser.add_argument("--sizes", default="64,100,100,100,10")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.worker:
        sizes = [int(s) for s in args.sizes.split(",")]
        print(json.dumps({"seconds_per_step": worker(args.worker, sizes, args.steps, args.repeats)}))
        return
    results = run(args.rounds, args.steps, args.repeats)
    if args.json:
        print(json.dumps(results))
        return
    print(f"One SGD step, sigmoid + BN MLP, batch {BATCH}; median of {args.rounds} alternating rounds, each library "
          f"in its own process (target ratio <= {TARGET})")
    for name, r in results.items():
        verdict = "ok" if r["ratio"] <= TARGET else "MISSED"
        print(f"  {name:32s} bn_core {r['bn_core_us']:7.1f} us   torch {r['torch_us']:7.1f} us   "
              f"ratio {r['ratio']:.2f} [{verdict}]")


if __name__ == "__main__":
    main()
