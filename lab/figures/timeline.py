"""Figures of the linked training timeline: histograms that play over training in the browser, and every unit's γ
and β at one step. Pure builders (numbers and translated labels in, a Plotly Figure out), no streamlit."""
import numpy as np
import plotly.graph_objects as go

from bn_core import HIST_EDGES
from lab.caches import MAX_FIGURES, SentFigure, figure_builder, memoized, sendable
from lab.figures.common import PALETTE, packed, shares, style, with_data

FRAME_MS = 300  # how long each recorded step stays on screen while playing
LAYER_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "star", "hexagon")


def with_play(fig, steps, hists, titles, labels, title, shown=None, source=None):
    """A histogram figure of lab.figures.common.layer_histograms (a cached one: ``@figure_builder``) with one
    animation frame per step, Play and Pause buttons, and ``title`` (the step shown). The browser plays the frames
    itself: no request to the server while it plays.

    ``hists``: per frame, per run the per-layer counts on HIST_EDGES (None: the run has no record there, its bars
    are empty); ``titles``: per frame, the figure's title (the step); ``labels``: dict play, pause; ``shown``: per
    run the per-layer counts of the step shown, drawn in place of ``fig``'s own (so that ``fig`` may be the figure
    at any step: one cached figure serves every step); ``source``: the figure at the step shown, or a function that
    builds it, for the chart's data table (default ``fig``).

    The frames do not depend on the step shown, only on the runs: they are made once (``play_parts``) and joined
    to the figure in the plain form Streamlit sends (lab/caches.py), so that moving the step slider builds nothing
    but the counts of the new step."""
    cached = sendable(fig).to_dict()  # read in plain form: a Figure's own traces are slower to read, at every view
    bars = tuple((i, trace["meta"]["run"], trace["meta"]["layer"]) for i, trace in enumerate(cached["data"])
                 if trace["type"] == "bar" and trace.get("meta"))
    parts = play_parts(bars, steps, hists, titles, labels, cached["layout"].get("margin", {}).get("t") or 50,
                       cached["layout"].get("height") or 380)
    replaced = {} if shown is None else {i: {"y": _bar_shares(shown, run, layer)} for i, run, layer in bars}
    plain = with_data(fig, replaced, title, source or fig).to_dict()
    layout = dict(plain["layout"])
    for name, value in parts["layout"].items():  # one level deep: margin.t leaves margin.l as it is
        layout[name] = {**layout[name], **value} if isinstance(layout.get(name), dict) else value
    return SentFigure({**plain, "layout": layout, "frames": parts["frames"]}, source=source or fig)


def _bar_shares(hists, run, layer):
    """The bar heights of one run's layer in ``hists`` (per run, per-layer counts; empty where there are none)."""
    h = hists[run] if run < len(hists) else None
    return shares(h[layer] if h is not None and layer < len(h) else np.zeros(len(HIST_EDGES) - 1))


@memoized(MAX_FIGURES)
def play_parts(bars, steps, hists, titles, labels, margin_top, height):
    """The frames and the layout additions of with_play, in plain form: ``bars`` = (trace index, run, layer) of
    each histogram bar trace of the figure."""
    frames = []
    for step, runs, frame_title in zip(steps, hists, titles):
        data = [{"type": "bar", "y": packed(_bar_shares(runs, run, layer))} for _, run, layer in bars]
        frames.append({"data": data, "traces": [i for i, _, _ in bars], "name": str(step),
                       "layout": {"title": {"text": frame_title}}})
    play = dict(label=f"▶ {labels['play']}", method="animate",
                args=[None, dict(frame=dict(duration=FRAME_MS, redraw=True), transition=dict(duration=0),
                                 fromcurrent=True, mode="immediate")])
    pause = dict(label=f"■ {labels['pause']}", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                                    mode="immediate")])
    # The buttons and the title take 60 px more at the top: the figure grows by as much, so the plot keeps its size
    # and the legend below stays clear of the axis titles.
    return {"frames": frames,
            "layout": {"updatemenus": [dict(type="buttons", direction="left", showactive=False, buttons=[play, pause],
                                            x=0, xanchor="left", y=1.02, yanchor="bottom", pad=dict(t=0, b=28))],
                       "margin": {"t": margin_top + 60}, "height": height + 60,
                       "title": dict(x=0.5, xanchor="center", y=0.97)}}


@figure_builder
def gamma_beta_at_step(params, ranges, layer_titles, labels):
    """Every unit of every hidden layer as a point (γ, β) at one step, on axes fixed over the whole run (``ranges``:
    ((γ low, γ high), (β low, β high))), and the start (1, 0) marked: training moves the points away from it.

    ``params``: per layer (γ array, β array); ``labels``: dict title, start, gamma, beta."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[1.0], y=[0.0], mode="markers", name=labels["start"], hoverinfo="skip",
                             marker=dict(symbol="x-thin", size=18, line=dict(color="#222", width=3))))
    for i, ((gamma, beta), title) in enumerate(zip(params, layer_titles)):
        fig.add_trace(go.Scatter(x=gamma, y=beta, mode="markers", name=title,
                                 marker=dict(color=PALETTE[2 + i % (len(PALETTE) - 2)], size=8, opacity=0.75,
                                             symbol=LAYER_SYMBOLS[i % len(LAYER_SYMBOLS)])))
    fig.update_layout(title=labels["title"], xaxis=dict(title=labels["gamma"], range=list(ranges[0])),
                      yaxis=dict(title=labels["beta"], range=list(ranges[1])))
    style(fig, height=380)
    fig.update_layout(hovermode="closest")
    return fig
