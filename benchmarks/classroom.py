"""The classroom benchmark (issue 7, section 3): the real app server (``streamlit run app.py``, a fresh empty run store
each time) under a class's load, its cost read from /proc as the server's own CPU time, its worker processes' CPU
time and its peak memory (benchmarks/appserver.py), every figure a ratio to a baseline measured in the same run:

1. cold: a fresh server, 10 sessions open the same Playground link (the default experiment) at once, against one
   session opening it alone on a fresh server: server CPU and the slowest session's time to a finished page.
2. views: server CPU per cached page view of every lesson page, against a one-line Streamlit page on a second server
   (same Streamlit, same options) in the same run, the views of both interleaved; twice: a view on a server where
   another session is connected (a class), and a view on a server nobody else is on (Streamlit then compiles the
   page script again for each view: it forgets compiled scripts when the last session leaves).
3. crowd: 30 sessions at once on the cached lesson pages (round robin): the slowest, errors, peak memory.
4. configs: a fresh server, 30 sessions at once on the Playground with 30 different configurations (seeds 1..30):
   every one finishes, errors, training processes/threads at once against the pool's workers, peak memory.

Sessions are protocol-level clients by default (``--client protocol``; benchmarks/stclient.py): thirty Chromium
pages would take the two cores from the server they measure. ``--client browser`` uses one Chromium with a fresh
context per session instead. A finished page: its script run ended, nothing runs, the takeaways box is shown (the
home page: its lesson map). Everything stops by itself: every session has a timeout, servers and browsers are
stopped at the end whatever happens.

    python benchmarks/classroom.py [--json] [--out FILE] [--client protocol|browser] [--only cold,views,crowd,configs]
"""
import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from appserver import MINIMAL_MARKER, MINIMAL_PAGE, Sampler, Server, page_server, worker_count  # noqa: E402
from stclient import Page, clients, connected, visit_all  # noqa: E402

from bn_core import TrainConfig  # noqa: E402
from lab import shell  # noqa: E402
from lab.i18n import translate  # noqa: E402
from lab.urlparams import config_to_query  # noqa: E402

TARGETS = {"cold_cpu": 2.5, "cold_wall": 3.0, "view_cpu": 2.0, "peak_mb": 1024}
SCENARIOS = ("cold", "views", "crowd", "configs")
SETTLE_S = 0.3  # after the last session: the server closes its sessions


def lesson_page(lesson, query="lang=en"):
    key = "home.map_title" if lesson.url_path == "home" else "common.takeaways"
    return Page("" if lesson.url_path == "home" else lesson.url_path, query, translate("en", key))


def playground_page(seed=0):
    """The link a teacher shares: the Playground's default experiment with every knob in the URL."""
    query = "&".join(f"{k}={v}" for k, v in {**config_to_query(TrainConfig()), "lang": "en", "seed": seed}.items())
    return lesson_page(shell.PLAYGROUND, query)


def lesson_pages():
    return [lesson_page(lesson) if lesson is not shell.PLAYGROUND else playground_page() for lesson in shell.LESSONS]


def summary(visits):
    walls = [v.wall_s for v in visits if v.wall_s is not None]
    errors = [f"{v.page.path or 'home'}: {e}" for v in visits for e in v.errors]
    return {"sessions": len(visits), "finished": sum(v.ok for v in visits),
            "slowest_s": max(walls) if len(walls) == len(visits) else None,
            "median_s": statistics.median(walls) if walls else None,
            "errors": len(errors), "error_texts": errors[:10], "error_boxes": sum(v.error_boxes for v in visits)}


async def crowd_on(server, sessions, pages, timeout):
    """Every page in its own session at once on ``server``: the visits' summary, the server's CPU from the first
    request to the last finished page, its peaks while they ran."""
    with Sampler(server.pid) as sampler:
        before, t0 = server.cpu(), time.perf_counter()
        visits = await visit_all(sessions, server.url, pages, timeout)
        wall = time.perf_counter() - t0
        await asyncio.sleep(SETTLE_S)
        spent = server.cpu() - before
    return {**summary(visits), "wall_s": wall, "cpu_own_s": spent.own, "cpu_workers_s": spent.workers,
            "cpu_s": spent.total, **sampler.peaks, "peak_mb": server.peak_kb() / 1024,
            "server_tracebacks": server.tracebacks()}


def ratio(a, b):
    return None if a is None or not b else a / b


async def cold(sessions, n, timeout):
    """One session alone on a fresh server, then n at once on another fresh server, on the same Playground link."""
    page = playground_page()
    with Server() as server:
        alone = await crowd_on(server, sessions, [page], timeout)
    with Server() as server:
        crowd = await crowd_on(server, sessions, [page] * n, timeout)
    return {"alone": alone, "crowd": crowd,
            "cpu_ratio": ratio(crowd["cpu_s"], alone["cpu_s"]),
            "cpu_own_ratio": ratio(crowd["cpu_own_s"], alone["cpu_own_s"]),
            "wall_ratio": ratio(crowd["slowest_s"], alone["slowest_s"])}


async def one_view(server, sessions, page, timeout):
    before = server.cpu()
    visit = await sessions.visit(server.url, page, timeout)
    await asyncio.sleep(SETTLE_S)
    return visit, server.cpu() - before


async def views(sessions, app, rounds, timeout, in_class):
    """Server CPU per cached view of each page on ``app`` (already warm) and of the one-line page on a server of its
    own, the views interleaved round by round; a view = one fresh session, opened and closed. ``in_class``: each
    server keeps one other session connected meanwhile, as a class does (see the module's docstring)."""
    pages = lesson_pages()
    spent = {p.path or "home": [] for p in pages}
    walls = {p.path or "home": [] for p in pages}
    minimal = Page("", "", MINIMAL_MARKER)
    errors = []
    with page_server(MINIMAL_PAGE) as ref:
        async with contextlib.AsyncExitStack() as others:
            if in_class:
                await others.enter_async_context(connected(ref.url))
                await others.enter_async_context(connected(app.url))
            await one_view(ref, sessions, minimal, timeout)  # warm: imports, the first run's compilation
            ref_spent = []
            for _ in range(rounds):
                visit, cost = await one_view(ref, sessions, minimal, timeout)
                errors += [f"one-line page: {e}" for e in visit.errors]
                ref_spent.append(cost)
                for page in pages:
                    visit, cost = await one_view(app, sessions, page, timeout)
                    errors += [f"{page.path or 'home'}: {e}" for e in visit.errors]
                    spent[page.path or "home"].append(cost)
                    walls[page.path or "home"].append(visit.wall_s)
        ref_tracebacks = ref.tracebacks()
    ref_cpu = statistics.fmean(c.total for c in ref_spent)
    out = {"rounds": rounds, "minimal_cpu_ms": 1000 * ref_cpu, "errors": len(errors) + ref_tracebacks,
           "error_texts": errors[:10], "pages": {}}
    for name, costs in spent.items():
        mean = statistics.fmean(c.total for c in costs)
        done = [w for w in walls[name] if w is not None]
        out["pages"][name] = {"cpu_ms": 1000 * mean, "cpu_own_ms": 1000 * statistics.fmean(c.own for c in costs),
                              "ratio": mean / ref_cpu if ref_cpu else None,
                              "median_wall_s": statistics.median(done) if done else None}
    return out


async def warm(server, sessions, timeout):
    """Open every lesson page once (training what it needs), one after the other."""
    out = {}
    for page in lesson_pages():
        visit = await sessions.visit(server.url, page, timeout)
        out[page.path or "home"] = {"wall_s": visit.wall_s, "errors": visit.errors}
    return out


async def configs(sessions, n, timeout):
    """n sessions at once on a fresh server, each on the Playground's default experiment with its own seed."""
    with Server() as server:
        result = await crowd_on(server, sessions, [playground_page(seed) for seed in range(1, n + 1)], timeout)
    workers = worker_count()
    if result["children"]:
        bounded = result["busy_children"] <= workers
    else:
        bounded = None  # training in the server's own threads: which thread trains is not visible from /proc
    return {**result, "workers": workers, "bounded": bounded}


async def run(args):
    out = {"client": args.client, "cores": os.cpu_count(), "load_before": os.getloadavg(), "workers": worker_count()}
    async with clients(args.client) as sessions:
        if "cold" in args.only:
            out["cold"] = await cold(sessions, args.sessions, args.timeout)
        if "views" in args.only or "crowd" in args.only:
            with Server() as app:
                out["warm"] = await warm(app, sessions, args.timeout)
                if "views" in args.only:
                    out["views"] = await views(sessions, app, args.views, args.view_timeout, in_class=True)
                    out["views_alone"] = await views(sessions, app, args.views, args.view_timeout, in_class=False)
                if "crowd" in args.only:
                    pages = lesson_pages()
                    out["crowd"] = await crowd_on(app, sessions, [pages[i % len(pages)] for i in range(args.classroom)],
                                                  args.timeout)
        if "configs" in args.only:
            out["configs"] = await configs(sessions, args.classroom, args.timeout)
    out["load_after"] = os.getloadavg()
    return out


def verdict(value, target, below=False):
    if value is None:
        return "n/a"
    ok = value < target if below else value <= target
    return "ok" if ok else f"MISSED (target {'<' if below else '<='} {target:g})"


def fmt(x, spec=".2f", unit=""):
    return "—" if x is None else f"{x:{spec}}{unit}"


def table(r):
    rows = [("what", "measured", "ratio", "target")]
    if "cold" in r:
        c = r["cold"]
        a, n = c["alone"], c["crowd"]
        rows.append(("cold server, 1 session, Playground link", f"{fmt(a['slowest_s'], '.1f', ' s')} to finished; CPU "
                     f"{a['cpu_own_s']:.1f} s server + {a['cpu_workers_s']:.1f} s workers", "1 (baseline)", ""))
        rows.append((f"cold server, {n['sessions']} sessions at once", f"slowest {fmt(n['slowest_s'], '.1f', ' s')}; "
                     f"{n['finished']}/{n['sessions']} finished, {n['errors']} errors",
                     f"wall {fmt(c['wall_ratio'], '.1f', '×')}", verdict(c["wall_ratio"], TARGETS["cold_wall"])))
        rows.append(("", f"CPU {n['cpu_own_s']:.1f} s server + {n['cpu_workers_s']:.1f} s workers",
                     f"CPU {fmt(c['cpu_ratio'], '.1f', '×')} (server alone {fmt(c['cpu_own_ratio'], '.1f', '×')})",
                     verdict(c["cpu_ratio"], TARGETS["cold_cpu"])))
    if "views" in r:
        v, lone = r["views"], r.get("views_alone")
        rows.append(("cached view, one-line page", f"{v['minimal_cpu_ms']:.0f} ms server CPU" + (
            f" (alone on the server: {lone['minimal_cpu_ms']:.0f} ms)" if lone else ""), "1 (baseline)", ""))
        for name, p in v["pages"].items():
            alone = lone["pages"][name] if lone else None
            rows.append((f"cached view, {name}", f"{p['cpu_ms']:.0f} ms CPU, {fmt(p['median_wall_s'], '.2f', ' s')}"
                         + (f" (alone: {alone['cpu_ms']:.0f} ms, {fmt(alone['ratio'], '.1f', '×')})" if alone else ""),
                         f"{fmt(p['ratio'], '.1f', '×')}", verdict(p["ratio"], TARGETS["view_cpu"])))
        for which in (v, lone or {"errors": 0}):
            if which["errors"]:
                rows.append(("", f"{which['errors']} errors in the views", "", "MISSED (target 0)"))
    if "crowd" in r:
        c = r["crowd"]
        rows.append((f"{c['sessions']} sessions at once, cached lessons",
                     f"slowest {fmt(c['slowest_s'], '.1f', ' s')} (median {fmt(c['median_s'], '.1f', ' s')}), "
                     f"{c['errors']} errors, {c['server_tracebacks']} tracebacks", "",
                     "ok" if c["errors"] == 0 and c["server_tracebacks"] == 0 and c["slowest_s"] else
                     "MISSED (target 0 errors)"))
        rows.append(("", f"server peak {c['peak_mb']:.0f} MB (with workers {c['rss_with_children_mb']:.0f} MB)", "",
                     verdict(c["peak_mb"], TARGETS["peak_mb"], below=True)))
    if "configs" in r:
        c = r["configs"]
        at_once = (f"{c['busy_children']} busy of {c['children']} worker processes" if c["children"] else
                   f"no worker process: {c['active_threads']} server threads used CPU at once")
        rows.append((f"{c['sessions']} sessions, {c['sessions']} configurations",
                     f"{c['finished']}/{c['sessions']} finished, slowest {fmt(c['slowest_s'], '.0f', ' s')}, "
                     f"{c['errors']} errors, {c['server_tracebacks']} tracebacks", "",
                     "ok" if c["finished"] == c["sessions"] and not c["errors"] else "MISSED (all, 0 errors)"))
        rows.append(("", f"{at_once}; {c['workers']} workers", "",
                     {True: "ok", False: "MISSED (≤ workers)", None: "n/a (no workers)"}[c["bounded"]]))
        rows.append(("", f"server peak {c['peak_mb']:.0f} MB (with workers {c['rss_with_children_mb']:.0f} MB), "
                     f"CPU {c['cpu_own_s']:.0f} s server + {c['cpu_workers_s']:.0f} s workers", "",
                     verdict(c["peak_mb"], TARGETS["peak_mb"], below=True)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=("protocol", "browser"), default="protocol")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--sessions", type=int, default=10, help="sessions on the cold server (default 10)")
    parser.add_argument("--classroom", type=int, default=30, help="sessions in the crowd and configs scenarios")
    parser.add_argument("--views", type=int, default=8, help="views of each page (rounds)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a session may take to a finished page")
    parser.add_argument("--view-timeout", type=float, default=120, help="the same for one cached view")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument("--out", help="also write the results as JSON to this file")
    args = parser.parse_args()
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    if not args.only <= set(SCENARIOS):
        parser.error(f"--only takes {', '.join(SCENARIOS)}")
    r = asyncio.run(run(args))
    if args.out:
        Path(args.out).write_text(json.dumps(r, indent=1))
    if args.json:
        print(json.dumps(r))
        return
    load = ", ".join(f"{x:.1f}" for x in r["load_before"])
    print(f"{r['cores']} cores, load {load} before; {r['client']} clients; pool workers {r['workers']}")
    print(table(r))


if __name__ == "__main__":
    main()
