"""The recorder's cost: ``bn_core.train`` at the default record interval against the same training loop with no
records at all (same model, optimizer, mini-batches), in the same process, alternating, median of the rounds.

    python benchmarks/recorder_overhead.py [--json] [--rounds N]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bn_core as bc  # noqa: E402

TARGET = 0.15  # train() may take at most 15% longer than the bare loop


def bare_loop(config, data):
    """What train() does minus the recording: the same model, optimizer and mini-batches (the trainer's own
    batch RNG and epoch order), forward, loss, backward, update."""
    model = bc.build_model(config, data.n_features, data.n_classes)
    opt = bc.SGD(model.parameters(), model.gradients(), lr=config.lr, momentum=config.sgd_momentum)
    X, y = data.X_train, data.y_train
    batch_rng = np.random.default_rng((config.seed, 1))
    n, m = len(X), config.batch_size
    order, pos = batch_rng.permutation(n), 0
    for _ in range(config.steps):
        if pos + m > n:
            order, pos = batch_rng.permutation(n), 0
        idx = order[pos:pos + m]
        pos += m
        _, dlogits = bc.softmax_cross_entropy(model.forward(X[idx]), y[idx])
        model.backward(dlogits)
        opt.step()
    return model


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(rounds=7, steps=2000):
    config = bc.TrainConfig(steps=steps)  # defaults: digits, 3×100 sigmoid + BN, batch 60, record_every=50
    data = bc.load_data(config)
    bc.train(config.replace(steps=100), data=data)  # warm-up
    bare_loop(config.replace(steps=100), data)
    t_train, t_bare = [], []
    for r in range(rounds):
        pair = [("train", lambda: bc.train(config, data=data)), ("bare", lambda: bare_loop(config, data))]
        for name, fn in pair if r % 2 == 0 else pair[::-1]:
            seconds, out = timed(fn)
            (t_train if name == "train" else t_bare).append(seconds)
            if name == "train":
                record = out
    assert record.status == "finished"
    # Same model, same batches: the recorded run's final weights are the bare loop's (the recorder only reads).
    bare = bare_loop(config, data)
    for k, v in record.weights.items():
        np.testing.assert_array_equal(v, bare.state_dict()[k], err_msg=k)
    overheads = [a / b - 1 for a, b in zip(t_train, t_bare)]
    return {"steps": steps, "record_every": config.record_every, "snapshots": len(record.snapshots),
            "train_s": statistics.median(t_train), "bare_s": statistics.median(t_bare),
            "overhead": statistics.median(overheads), "overheads": overheads}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.rounds, args.steps)
    if args.json:
        print(json.dumps(r))
        return
    verdict = "ok" if r["overhead"] <= TARGET else "MISSED"
    print(f"Recorder overhead, TrainConfig defaults ({r['steps']} steps, record every {r['record_every']}, "
          f"{r['snapshots']} records): train {r['train_s']:.3f} s, bare loop {r['bare_s']:.3f} s, "
          f"overhead {100 * r['overhead']:.1f}% (target <= {100 * TARGET:.0f}%) [{verdict}]; per round "
          f"{', '.join(f'{100 * o:.1f}%' for o in r['overheads'])}")


if __name__ == "__main__":
    main()
