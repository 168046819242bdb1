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


def classroom_rows(r):
    """The classroom benchmark's figures (benchmarks/classroom.py) as rows of the table."""
    cold, views, crowd, configs = r["cold"], r["views"], r["crowd"], r["configs"]
    pages = views["pages"]
    worst = max(p["ratio"] for p in pages.values())
    bounded = {True: "ok", False: "MISSED (target <= workers)", None: "n/a (no worker processes)"}[configs["bounded"]]
    at_once = (f"{configs['busy_children']} trainings at once / {configs['workers']} workers" if configs["children"]
               else f"trains in server threads ({configs['active_threads']} busy at once)")
    return [
        (f"classroom: cold server, {cold['crowd']['sessions']} sessions on one Playground link",
         f"slowest {cold['crowd']['slowest_s'] or float('nan'):.1f} s, CPU {cold['crowd']['cpu_s']:.1f} s; "
         f"alone {cold['alone']['slowest_s'] or float('nan'):.1f} s, {cold['alone']['cpu_s']:.1f} s",
         f"wall {cold['wall_ratio'] or float('nan'):.1f}×, CPU {cold['cpu_ratio']:.1f}×",
         "ok" if (cold["wall_ratio"] or 99) <= 3 and cold["cpu_ratio"] <= 2.5 else "MISSED (target 3× wall, 2.5× CPU)"),
        ("classroom: server CPU per cached view vs a one-line page",
         ", ".join(f"{name} {p['ratio']:.1f}×" for name, p in pages.items()), f"max {worst:.1f}×",
         "ok" if worst <= 2 else "MISSED (target <= 2×)"),
        (f"classroom: {crowd['sessions']} sessions at once on cached lessons",
         f"slowest {crowd['slowest_s'] or float('nan'):.1f} s, {crowd['errors']} errors",
         f"peak {crowd['peak_mb']:.0f} MB",
         "ok" if crowd["errors"] == 0 and crowd["slowest_s"] and crowd["peak_mb"] < 1024 else
         "MISSED (target 0 errors, < 1 GB)"),
        (f"classroom: {configs['sessions']} sessions, {configs['sessions']} Playground configurations",
         f"{configs['finished']}/{configs['sessions']} finished, {configs['errors']} errors, {at_once}",
         f"peak {configs['peak_mb']:.0f} MB",
         bounded if configs["finished"] == configs["sessions"] and not configs["errors"] and configs["peak_mb"] < 1024
         else "MISSED (target all finish, 0 errors, < 1 GB)"),
    ]


def rerun_rows(r):
    """The widget-change figures (benchmarks/rerun_cost.py) as rows of the table."""
    return [(f"widget change: {c['name']}", f"server CPU {c['cpu_ms']:.0f} ms, chart in {c['chart_s']:.2f} s",
             f"{c['cpu_ratio']:.1f}× / {c['chart_ratio']:.1f}× a one-slider page",
             f"server {'ok' if c['cpu_ms'] < 150 else 'MISSED (< 150 ms)'}, "
             f"chart {'ok' if c['chart_s'] < 0.3 else 'MISSED (< 0.3 s)'}")
            for c in r["cases"]]


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
    rows += classroom_rows(run("classroom.py"))
    try:
        rerun = run("rerun_cost.py")
    except subprocess.CalledProcessError as exc:  # no Chromium here: skip that one, say why
        rows.append(("widget change cost", "skipped (is /usr/bin/chromium installed?)", "",
                     exc.stderr.strip().splitlines()[-1:]))
    else:
        rows += rerun_rows(rerun)
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
