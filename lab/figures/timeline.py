"""Figures of the linked training timeline: histograms that play over training in the browser, and every unit's γ
and β at one step. Pure builders (numbers and translated labels in, a Plotly Figure out), no streamlit."""
import numpy as np
import plotly.graph_objects as go

from bn_core import HIST_EDGES
from lab.caches import figure_builder
from lab.figures.common import PALETTE, shares, style

FRAME_MS = 300  # how long each recorded step stays on screen while playing
LAYER_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "star", "hexagon")


@figure_builder
def with_play(fig, steps, hists, titles, labels, title):
    """A copy of a histogram figure of lab.figures.common.layer_histograms with one animation frame per step, Play
    and Pause buttons, and ``title`` (the step shown). The browser plays the frames itself: no request to the server
    while it plays.

    ``hists``: per frame, per run the per-layer counts on HIST_EDGES (None: the run has no record there, its bars
    are empty); ``titles``: per frame, the figure's title (the step); ``labels``: dict play, pause."""
    fig = go.Figure(fig)  # the figure handed in may be a cached one, shared by other sessions
    bars = [(i, trace.meta) for i, trace in enumerate(fig.data) if trace.type == "bar" and trace.meta]
    empty = np.zeros(len(HIST_EDGES) - 1)
    frames = []
    for step, runs, frame_title in zip(steps, hists, titles):
        data = []
        for _, meta in bars:
            h = runs[meta["run"]] if meta["run"] < len(runs) else None
            data.append(go.Bar(y=shares(h[meta["layer"]] if h is not None and meta["layer"] < len(h) else empty)))
        frames.append(go.Frame(data=data, traces=[i for i, _ in bars], name=str(step),
                               layout=dict(title=dict(text=frame_title))))
    fig.frames = frames
    play = dict(label=f"▶ {labels['play']}", method="animate",
                args=[None, dict(frame=dict(duration=FRAME_MS, redraw=True), transition=dict(duration=0),
                                 fromcurrent=True, mode="immediate")])
    pause = dict(label=f"■ {labels['pause']}", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                                    mode="immediate")])
    # The buttons and the title take 60 px more at the top: the figure grows by as much, so the plot keeps its size
    # and the legend below stays clear of the axis titles.
    fig.update_layout(updatemenus=[dict(type="buttons", direction="left", showactive=False, buttons=[play, pause],
                                        x=0, xanchor="left", y=1.02, yanchor="bottom", pad=dict(t=0, b=28))],
                      margin_t=(fig.layout.margin.t or 50) + 60, height=(fig.layout.height or 380) + 60,
                      title=dict(text=title, x=0.5, xanchor="center", y=0.97))
    return fig


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
