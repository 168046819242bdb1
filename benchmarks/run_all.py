"""Run every benchmark (each in a process of its own) and print a short table. ``make bench`` calls this.

Benchmarks are timing scripts, never timed tests: the numbers depend on the machine and its load.
"""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, str(HERE / script), "--json", *args], check=True, capture_output=True,
                         text=True, env=env).stdout
    return json.loads(out)


def main():
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []
    try:
        step = run("step_vs_torch.py")
    except subprocess.CalledProcessError as exc:  # no torch here: skip that one, say why
        step = None
        rows.append(("SGD step vs PyTorch", "skipped (is torch installed?)", "", exc.stderr.strip().splitlines()[-1:]))
    if step:
        for name, r in step.items():
            rows.append((f"SGD step {name}", f"bn_core {r['bn_core_us']:.0f} us / torch {r['torch_us']:.0f} us",
                         f"ratio {r['ratio']:.2f}", "ok" if r["ratio"] <= 0.8 else "MISSED (target <= 0.8)"))
    rec = run("recorder_overhead.py")
    rows.append(("recorder overhead (defaults)", f"train {rec['train_s']:.2f} s / bare {rec['bare_s']:.2f} s",
                 f"{100 * rec['overhead']:+.1f}%", "ok" if rec["overhead"] <= 0.15 else "MISSED (target <= 15%)"))
    fig = run("figure1_run.py")
    rows.append(("Figure 1 run (2 × 5000 steps)", f"BN {fig['bn_s']:.2f} s + no BN {fig['no_bn_s']:.2f} s",
                 f"{fig['total_s']:.2f} s", ""))
    beyond = run("beyond_sweeps.py")
    for name, r in beyond.items():
        rows.append((f"beyond: {name} ({r['runs']} runs, 2 at a time)", f"{r['run_s_sum']:.1f} s of runs",
                     f"{r['wall_s']:.1f} s wall", "ok" if r["wall_s"] < 20 else "MISSED (target < 20 s)"))
    pool = run("pool_backends.py")
    for name in ("process", "thread"):
        r = pool[name]
        rows.append((f"training pool, {pool['workers']} {name} workers ({pool['configs']} runs)",
                     f"{r['wall_s']:.2f} s / one after another {pool['reference_wall_s']:.2f} s; "
                     f"server CPU {r['server_cpu_s']:.2f} s", f"throughput {r['throughput_ratio']:.2f}×",
                     "lab/pool.py uses processes" if name == "process" else ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
