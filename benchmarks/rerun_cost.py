"""The cost of moving a widget that does not retrain (issue 7, section 2): the γ slider on the γ/β page and the
Playground's record-step slider, each moved with the keyboard in Chromium (one session, the page's runs already
trained), against a reference page with one slider and one small Plotly chart on a second server (same Streamlit,
same options) in the same run. Per move:

- the server's CPU time (its own /proc counters: benchmarks/appserver.py), over the move and its rerun;
- the browser's time from the key press to the redrawn chart (the chart's Plotly data replaced), and to the finished
  rerun (the chart redrawn and the script no longer running), both measured inside the page;
- where that time goes: from the press to the rerun request on the websocket, and from there to the server's
  ``script_finished`` message (both seen by Playwright).

Each slider is moved N times to values not shown before (its figures are built: lab/caches.py has none yet), then
N times back over them (the cached figures are sent); the two are reported apart.

    python benchmarks/rerun_cost.py [--json] [--moves N] [--only TEXT]

Targets (issue 7): under 150 ms of server time and under 0.3 s from the move to the redrawn chart.
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from appserver import Server, page_server  # noqa: E402
from classroom import lesson_page, playground_page  # noqa: E402
from stclient import CHROMIUM, CHROMIUM_ARGS, FINISHED_JS, Page  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from lab import shell  # noqa: E402

TARGET_SERVER_MS, TARGET_CHART_S = 150, 0.3
SETTLE_S = 0.3  # after a finished rerun, before reading the server's CPU again
REFERENCE_PAGE = '''import plotly.graph_objects as go
import streamlit as st

v = st.slider("value", 0.0, 10.0, 1.0, step=0.01, key="ref_slider")
st.plotly_chart(go.Figure(go.Scatter(x=[0, 1, 2], y=[0, v, 2 * v])), key="ref_chart")
st.write("Reference page")
'''

# Installed before each move: times (performance.now) of the key press, the chart's data replaced, and the first frame
# after that with the script not running.
WATCH_JS = """(chart) => {
  const plot = () => document.querySelector(chart + " .js-plotly-plot");
  const running = () => document.querySelector("[data-testid='stApp']").getAttribute("data-test-script-state")
                        !== "notRunning";
  const before = plot();
  const m = window.bnMove = {key: null, chart: null, idle: null, old: before && before.data};
  document.addEventListener("keydown", () => { if (m.key === null) m.key = performance.now(); },
                            {capture: true, once: true});
  const tick = () => {
    if (m.key !== null) {
      const p = plot();
      if (m.chart === null && p && p.data !== m.old) m.chart = performance.now();
      if (m.chart !== null && !running()) { m.idle = performance.now(); return; }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


@dataclass(frozen=True)
class Case:
    name: str
    page: Page
    slider: str  # widget key
    chart: str  # the chart's element key
    first_key: str  # ArrowRight or ArrowLeft: the first move stays in the slider's range


def cases():
    gamma = lesson_page(next(lesson for lesson in shell.LESSONS if lesson.url_path == "gamma_beta"))
    saturation = lesson_page(next(lesson for lesson in shell.LESSONS if lesson.url_path == "saturation"))
    return [Case("γ slider (γ/β page)", gamma, "gb_gamma", "gb_histograms", "ArrowRight"),
            Case("record-step slider (saturation)", saturation, "sat_step", "sat_hist", "ArrowLeft"),
            Case("record-step slider (Playground)", playground_page(), "pg_hist_step", "pg_hist", "ArrowLeft")]


class Frames:
    """Perf-counter times of the websocket frames a page sends, and of the ``script_finished`` messages it gets."""

    def __init__(self, tab):
        self.sent, self.finished = [], []
        tab.on("websocket", self._attach)

    def _attach(self, ws):
        ws.on("framesent", lambda _: self.sent.append(time.perf_counter()))
        ws.on("framereceived", self._received)

    def _received(self, payload):
        if isinstance(payload, bytes) and ForwardMsg.FromString(payload).WhichOneof("type") == "script_finished":
            self.finished.append(time.perf_counter())

    @staticmethod
    def first_after(times, t):
        return next((x for x in times if x >= t), None)


async def measure(browser, server, case, moves, timeout):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    try:
        tab = await context.new_page()
        frames = Frames(tab)
        await tab.goto(case.page.url(server.url), timeout=timeout * 1000)
        await tab.wait_for_function(FINISHED_JS, arg=case.page.marker, timeout=timeout * 1000, polling=100)
        chart = f".st-key-{case.chart}"
        await tab.wait_for_selector(f"{chart} .js-plotly-plot", timeout=timeout * 1000)
        slider = tab.locator(f".st-key-{case.slider} input[type='range']")
        other = "ArrowLeft" if case.first_key == "ArrowRight" else "ArrowRight"
        # Forward to values not shown before (their figures are built), then back over them (cached figures).
        keys = [case.first_key] * (moves + 1) + [other] * moves
        out = {"new": [], "seen": []}
        for i, key in enumerate(keys):  # the first move warms up (not counted)
            await tab.evaluate(WATCH_JS, chart)
            before, t0 = server.cpu(), time.perf_counter()
            await slider.press(key)
            await tab.wait_for_function("() => window.bnMove.idle !== null", timeout=60_000)
            m = await tab.evaluate("() => window.bnMove")
            await asyncio.sleep(SETTLE_S)
            spent = server.cpu() - before
            sent = Frames.first_after(frames.sent, t0)
            finished = None if sent is None else Frames.first_after(frames.finished, sent)
            if i:
                phase = "new" if key == case.first_key else "seen"
                out[phase].append({"cpu_ms": 1000 * spent.total, "cpu_own_ms": 1000 * spent.own,
                                   "chart_s": (m["chart"] - m["key"]) / 1000, "idle_s": (m["idle"] - m["key"]) / 1000,
                                   "to_request_s": None if sent is None else sent - t0,
                                   "request_to_finished_s": None if finished is None else finished - sent})
        return out
    finally:
        await context.close()


def medians(moves):
    keys = moves[0].keys()
    return {k: statistics.median(m[k] for m in moves if m[k] is not None) for k in keys} | {"moves": len(moves)}


async def run(moves, timeout, only=None):
    from playwright.async_api import async_playwright

    out = {"cores": os.cpu_count(), "load_before": os.getloadavg()}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with page_server(REFERENCE_PAGE) as ref, Server() as app:
                reference = Case("reference: one slider, one chart", Page("", "", "Reference page"), "ref_slider",
                                 "ref_chart", "ArrowRight")
                ref_moves = await measure(browser, ref, reference, moves, timeout)
                out["reference"] = medians(ref_moves["new"] + ref_moves["seen"])  # nothing is cached there
                out["reference"]["name"] = reference.name
                out["cases"] = []
                for case in (c for c in cases() if only is None or only in c.name):
                    measured = await measure(browser, app, case, moves, timeout)
                    for phase, words in (("new", "to a new value"), ("seen", "back to a value shown before")):
                        r = medians(measured[phase])
                        r.update(name=f"{case.name}, {words}", cpu_ratio=r["cpu_ms"] / out["reference"]["cpu_ms"],
                                 chart_ratio=r["chart_s"] / out["reference"]["chart_s"])
                        out["cases"].append(r)
                out["server_tracebacks"] = app.tracebacks()
        finally:
            await browser.close()
    out["load_after"] = os.getloadavg()
    return out


def table(r):
    rows = [("widget change (median of moves)", "server CPU", "to chart", "to finished rerun", "press→request",
             "request→finished", "ratio to reference (CPU, chart)", "target")]
    for c in [r["reference"], *r["cases"]]:
        ratios = "" if "cpu_ratio" not in c else f"{c['cpu_ratio']:.1f}×, {c['chart_ratio']:.1f}×"
        server = "ok" if c["cpu_ms"] < TARGET_SERVER_MS else f"MISSED (< {TARGET_SERVER_MS} ms)"
        browser = "ok" if c["chart_s"] < TARGET_CHART_S else f"MISSED (< {TARGET_CHART_S} s)"
        target = "" if "cpu_ratio" not in c else f"server {server}, chart {browser}"
        rows.append((c["name"], f"{c['cpu_ms']:.0f} ms", f"{c['chart_s']:.2f} s", f"{c['idle_s']:.2f} s",
                     f"{c['to_request_s']:.2f} s", f"{c['request_to_finished_s']:.2f} s", ratios, target))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for a page to finish (it may train)")
    parser.add_argument("--only", help="measure only the cases whose name contains this text (e.g. saturation)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", help="also write the results as JSON to this file")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    r = asyncio.run(run(args.moves, args.timeout, args.only))
    if args.out:
        Path(args.out).write_text(json.dumps(r, indent=1))
    if args.json:
        print(json.dumps(r))
        return
    load = ", ".join(f"{x:.1f}" for x in r["load_before"])
    print(f"{r['cores']} cores, load {load} before; {r['server_tracebacks']} tracebacks in the app server's log")
    print(table(r))


if __name__ == "__main__":
    main()
