"""Wall time of the full "paper Figure 1" run: the same 3×100 sigmoid network with and without BN (digits,
batch 60, 5000 steps, a record every 50), as the covariate-shift lesson trains it.

    python benchmarks/figure1_run.py [--json]
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bn_core as bc  # noqa: E402

CONFIG = bc.TrainConfig(dataset="digits", hidden=(100, 100, 100), activation="sigmoid", batch_size=60, steps=5000,
                        record_every=50)


def run():
    t0 = time.perf_counter()
    data = bc.load_data(CONFIG)
    load_s = time.perf_counter() - t0
    out = {"load_s": load_s}
    for name, batchnorm in (("bn", True), ("no_bn", False)):
        t0 = time.perf_counter()
        record = bc.train(CONFIG.replace(batchnorm=batchnorm), data=data)
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_test_acc"] = record.snapshots[-1].test_acc
        out[f"{name}_status"] = record.status
    out["total_s"] = load_s + out["bn_s"] + out["no_bn_s"]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run()
    if args.json:
        print(json.dumps(r))
        return
    print(f"Figure 1 run (2 nets × {CONFIG.steps} steps, record every {CONFIG.record_every}): "
          f"total {r['total_s']:.2f} s = data {r['load_s']:.2f} s + BN {r['bn_s']:.2f} s + no BN {r['no_bn_s']:.2f} s; "
          f"final test accuracy BN {r['bn_test_acc']:.3f}, no BN {r['no_bn_test_acc']:.3f}")


if __name__ == "__main__":
    main()
