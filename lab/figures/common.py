"""Plotly figure builders shared by the pages: recorded data in, a Figure out. Pure functions, no streamlit.

Text on a figure comes in as arguments (the pages translate it); nothing non-finite is ever drawn as data.
"""
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import to_typed_array_spec
from plotly.subplots import make_subplots

from bn_core import HIST_EDGES, PERCENTILES, activation_derivative, activation_forward
from lab.caches import SentFigure, figure_builder, sendable

# Every figure of the app on plotly's white template, given when a figure is made: setting it afterwards (in style)
# copies the whole template once more, which was two thirds of styling a figure (measured: 37 ms against 13 ms).
pio.templates.default = "plotly_white"

# Okabe & Ito's colour-blind-safe palette. "With BN" is blue and "without BN" vermillion everywhere.
BN_COLOR = "#0072B2"
NO_BN_COLOR = "#D55E00"
RUN_COLOR = {"bn": BN_COLOR, "no_bn": NO_BN_COLOR}  # by run id
PALETTE = (BN_COLOR, NO_BN_COLOR, "#009E73", "#CC79A7", "#E69F00", "#56B4E9")  # further lines, in order
# Colour is never the only difference between the runs: with BN solid lines, round markers and filled bars; without
# BN dashed lines, crosses and hatched bars. A builder that gets a run's colour looks its style up with run_style.
RUN_DASH = {"bn": "solid", "no_bn": "dash"}
RUN_SYMBOL = {"bn": "circle", "no_bn": "x"}
RUN_PATTERN = {"bn": "", "no_bn": "/"}
RUN_OF_COLOR = {BN_COLOR: "bn", NO_BN_COLOR: "no_bn"}
FONT = dict(size=15)
HIST_CENTERS = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2


def run_style(color, what, default=None):
    """The dash ("dash"), marker symbol ("symbol") or bar pattern ("pattern") of the run drawn in ``color``;
    ``default`` for a colour that is not a run's (e.g. a third line in the Playground)."""
    table = {"dash": RUN_DASH, "symbol": RUN_SYMBOL, "pattern": RUN_PATTERN}[what]
    run = RUN_OF_COLOR.get(color)
    return table[run] if run is not None else default


def finite(x, y):
    """Drop points where x or y is not finite, so a gap is a gap and not a NaN drawn as data."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def style(fig, height=380, legend_below=True):
    """Projector-friendly defaults: large fonts, white background, legend under the plot so it never hides data."""
    fig.update_layout(height=height, font=FONT, margin=dict(l=60, r=20, t=50, b=40),
                      hovermode="x unified", legend_font_size=14)
    # Streamlit's chart theme sets 12 px tick labels, which layout.font does not override: set them per axis.
    fig.update_xaxes(tickfont_size=14, title_font_size=15)
    fig.update_yaxes(tickfont_size=14, title_font_size=15)
    if legend_below:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="center", x=0.5))
    return fig


def projector(plain, scale):
    """A styled figure's plain form (``fig.to_dict()``) for a projector (presentation mode): text, lines and markers
    ``scale`` times larger, the chart taller by as much as its text grew (the plot area keeps its size), a legend
    below moved clear of the larger axis titles. A new plain form: what it changes is copied, the rest (the data
    arrays, the frames) shared with ``plain``, which stays as it was (other sessions read it)."""
    layout = dict(plain.get("layout", {}))
    base = layout.get("font", {}).get("size") or 12

    def larger(part, key, default, path=("font", "size")):  # a copy of layout[key] with its size scaled
        out = dict(part.get(key) or {})
        inner, last = out, path[-1]
        for name in path[:-1]:
            inner[name] = dict(inner.get(name) or {})
            inner = inner[name]
        inner[last] = (default if inner.get(last) is None else inner[last]) * scale  # unset: plotly's default
        return out

    layout["font"] = {**layout.get("font", {}), "size": base * scale}
    layout["legend"] = larger(layout, "legend", base)
    legend_y = layout["legend"].get("y")
    if legend_y is not None and legend_y < 0:
        layout["legend"]["y"] = legend_y * scale
    layout["hoverlabel"] = larger(layout, "hoverlabel", base)
    layout["height"] = (layout.get("height") or 450) + round(base * (scale - 1) * 6)
    for name in [k for k in layout if AXIS_KEY.match(k)] or ["xaxis", "yaxis"]:
        axis = larger(layout, name, base, ("tickfont", "size"))
        layout[name] = larger({"a": axis}, "a", base, ("title", "font", "size"))
    layout["annotations"] = [larger({"a": a}, "a", base) for a in layout.get("annotations", ())]  # subplot titles
    layout["shapes"] = [larger({"s": s}, "s", 2, ("line", "width")) for s in layout.get("shapes", ())]
    data = []
    for trace in plain.get("data", ()):
        if trace.get("type", "scatter") == "scatter":
            trace = larger({"t": trace}, "t", 2, ("line", "width"))
            size = trace.get("marker", {}).get("size")
            if size is None or np.isscalar(size):
                trace = larger({"t": trace}, "t", 6, ("marker", "size"))
        data.append(trace)
    return {**plain, "data": data, "layout": layout}


AXIS_KEY = re.compile(r"^[xy]axis\d*$")


def mark_divergence(fig, record, text, row=None, col=None):
    """A dashed red line at the step where ``record`` diverged, labelled ``text``."""
    if record.divergence is None:
        return
    kw = {} if row is None else dict(row=row, col=col)
    fig.add_vline(x=record.divergence.step, line=dict(color="#c92a2a", dash="dash", width=2),
                  annotation_text=text, annotation_position="top left", annotation_font_color="#c92a2a", **kw)


OTHER_SYMBOLS = ("square", "triangle-up", "diamond", "star")  # runs beyond with/without BN, in order
STEP_LINE = dict(color="#555", dash="dot", width=1.5)


@figure_builder
def metric_curves(records, names, titles, axis, divergence_text=None, colors=PALETTE):
    """Loss and accuracy vs step, one colour and marker symbol per run: train dashed, test solid.

    ``titles``: (loss title, accuracy title); ``axis``: dict of x/loss/accuracy axis titles and the
    "train"/"test" words; ``divergence_text`` labels a diverged run's marker, its ``{step}`` filled in. A step is
    marked on it by ``mark_step``."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    for i, (record, name, color) in enumerate(zip(records, names, colors)):
        if record is None or not record.snapshots:
            continue
        symbol = run_style(color, "symbol", OTHER_SYMBOLS[i % len(OTHER_SYMBOLS)])
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "dash"), ("test", "solid")):
                x, y = finite(record.steps, record.metric(f"{split}_{metric}"))
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{name} · {axis[split]}",
                                         line=dict(color=color, dash=dash, width=2.5),
                                         marker=dict(symbol=symbol, size=8, maxdisplayed=12), legendgroup=name,
                                         showlegend=col == 1), row=1, col=col)
        if divergence_text is not None and record.divergence is not None:
            for col in (1, 2):
                mark_divergence(fig, record, divergence_text.format(step=record.divergence.step), row=1, col=col)
    fig.update_xaxes(title_text=axis["x"])
    fig.update_yaxes(title_text=axis["loss"], row=1, col=1)
    fig.update_yaxes(title_text=axis["accuracy"], range=[0, 1.02], tickformat=".0%", row=1, col=2)
    return style(fig, height=400)


def mark_step(fig, records, names, colors, step, test_word):
    """A metric_curves figure (a cached one, of the same ``records``, ``names`` and ``colors``) with ``step``
    marked: a dotted line on both panels, and each run's test value at its last record up to that step."""
    marks = []
    for i, (record, name, color) in enumerate(zip(records, names, colors)):
        if record is None or not record.snapshots:
            continue
        symbol = run_style(color, "symbol", OTHER_SYMBOLS[i % len(OTHER_SYMBOLS)])
        for axis, metric in (("", "loss"), ("2", "acc")):
            x, y = finite(record.steps, record.metric(f"test_{metric}"))
            at = np.flatnonzero(x <= step)
            if len(at):
                marks.append(dict(type="scatter", x=[x[at[-1]]], y=[y[at[-1]]], mode="markers", showlegend=False,
                                  name=f"{name} · {test_word}", hoverinfo="skip", xaxis=f"x{axis}", yaxis=f"y{axis}",
                                  marker=dict(symbol=symbol, size=15, color=color,
                                              line=dict(color="#222", width=1.5))))
    return step_line(fig, step, marks)


def step_line(fig, step, traces=()):
    """A figure (a cached one) with a dotted line at ``step`` on every panel (and ``traces`` added, as plain
    dicts). Joined in the plain form Streamlit sends (lab/caches.py): moving the step rebuilds nothing."""
    plain = sendable(fig).to_dict()
    lines = [dict(type="line", x0=step, x1=step, xref=x, y0=0, y1=1, yref=f"{y} domain", line=STEP_LINE)
             for x, y in panels(plain)]
    layout = {**plain["layout"], "shapes": [*plain["layout"].get("shapes", ()), *lines]}
    return SentFigure({**plain, "data": [*plain["data"], *traces], "layout": layout}, source=fig)


def panels(plain):
    """The (x axis, y axis) of each panel of a figure in plain form (``fig.to_dict()``: read at every view, and
    reading a Figure's own traces is slower), in order of its traces; a secondary y axis is not a panel."""
    out = []
    for trace in plain["data"]:
        x, y = trace.get("xaxis", "x"), trace.get("yaxis", "y")
        if plain["layout"].get(f"yaxis{y[1:]}", {}).get("overlaying") or (x, y) in out:
            continue
        out.append((x, y))
    return out


def with_data(fig, traces, title, source):
    """A figure (a cached one) in the plain form Streamlit sends, with the data of some traces (``traces``: {index:
    {"x": ..., "y": ...}}, arrays) and its title text replaced: the same chart at another step, without building it
    again. ``source``: the figure it now shows, or a function that builds it (for the data table)."""
    plain = sendable(fig).to_dict()
    data = [{**trace, **{k: packed(v) for k, v in traces[i].items()}} if i in traces else trace
            for i, trace in enumerate(plain["data"])]
    layout = {**plain["layout"], "title": {**plain["layout"].get("title", {}), "text": title}}
    return SentFigure({**plain, "data": data, "layout": layout}, source=source)


def packed(values):
    """An array of numbers in the form plotly's own Figure sends arrays in (base64 of the raw values, in float32:
    what a chart can show), for data joined into a plain figure. As a list, every number would be written out as
    text on every view: slower to send and to read than the rest of the chart."""
    return to_typed_array_spec(np.asarray(values, np.float32))


@figure_builder
def layer_histograms(hists, names, activation, layer_titles, axis, colors=PALETTE):
    """Per hidden layer, the activation-input histogram of each run on shared axes, the activation function and
    its derivative drawn over it (right axis).

    ``hists``: per run, a list of per-layer count arrays on HIST_EDGES (None for a run that has none);
    ``axis``: x, share, activation, derivative titles."""
    n_layers = max(len(h) for h in hists if h is not None)
    fig = make_subplots(rows=1, cols=n_layers, subplot_titles=layer_titles[:n_layers], shared_yaxes=True,
                        specs=[[{"secondary_y": True}] * n_layers], horizontal_spacing=0.04)
    xs = np.linspace(HIST_EDGES[0], HIST_EDGES[-1], 241)
    curve, slope = activation_forward(activation, xs), activation_derivative(activation, xs)
    scale = 1.0 / max(1.0, float(np.abs(curve).max()))  # ReLU grows with x: scale it into the [−1, 1] band
    for layer in range(n_layers):
        col = layer + 1
        for run, (h, name, color) in enumerate(zip(hists, names, colors)):
            if h is None or layer >= len(h):
                continue
            # meta names the run and layer of each bar trace, so an animation can find it (lab/figures/timeline.py)
            fig.add_trace(go.Bar(x=HIST_CENTERS, y=shares(h[layer]), name=name, opacity=0.55, legendgroup=name,
                                 marker=dict(color=color, pattern_shape=run_style(color, "pattern", "")),
                                 meta={"run": run, "layer": layer}, showlegend=layer == 0), row=1, col=col)
        fig.add_trace(go.Scatter(x=xs, y=curve * scale, name=axis["activation"], line=dict(color="#222", width=2),
                                 legendgroup="act", showlegend=layer == 0), row=1, col=col, secondary_y=True)
        fig.add_trace(go.Scatter(x=xs, y=slope, name=axis["derivative"],
                                 line=dict(color="#222", width=2, dash="dot"), legendgroup="der",
                                 showlegend=layer == 0), row=1, col=col, secondary_y=True)
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title_text=axis["x"])
    fig.update_yaxes(title_text=axis["share"], row=1, col=1, secondary_y=False)
    # matches=None: shared_yaxes links the right axes too, and plotly.js then squeezes the histograms' own axis.
    fig.update_yaxes(range=[-1.05, 1.05], showgrid=False, secondary_y=True,
                     showticklabels=False, matches=None)
    return style(fig, height=380)


def shares(counts):
    """Histogram counts as shares of their total (all zeros stay zeros)."""
    counts = np.asarray(counts, float)
    return counts / counts.sum() if counts.sum() > 0 else counts


@figure_builder
def percentile_band(steps, percentiles, name, color, y_title, x_title, title=None):
    """The paper's Figure 1 (b, c) style: the median as a line, the 15th-85th percentile band around it."""
    pct = np.asarray(percentiles, float)
    lo, mid, hi = (pct[:, PERCENTILES.index(p)] for p in (15, 50, 85))
    fig = go.Figure()
    x, y_hi = finite(steps, hi)
    _, y_lo = finite(steps, lo)
    fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([y_hi, y_lo[::-1]]), fill="toself",
                             fillcolor=color, opacity=0.25, line=dict(width=0), name="15–85%", hoverinfo="skip"))
    for series, width, label in ((lo, 1, "15%"), (mid, 3, "50%"), (hi, 1, "85%")):
        xs, ys = finite(steps, series)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=label,
                                 line=dict(color=color, width=width, dash=run_style(color, "dash", "solid"))))
    fig.update_layout(title=title or name, xaxis_title=x_title, yaxis_title=y_title)
    return style(fig, height=340)


@figure_builder
def per_layer_lines(steps, series, names, layer_titles, y_title, x_title, colors=PALETTE, log_y=False):
    """One subplot per hidden layer, one line per run: e.g. saturated share or gradient norm vs step.

    ``series``: per run, an array (layers, records) or None."""
    n_layers = max(len(s) for s in series if s is not None)
    fig = make_subplots(rows=1, cols=n_layers, subplot_titles=layer_titles[:n_layers], shared_yaxes=True,
                        horizontal_spacing=0.04)
    for run_steps, s, name, color in zip(steps, series, names, colors):
        if s is None:
            continue
        for layer in range(len(s)):
            x, y = finite(run_steps, s[layer])
            if log_y:
                x, y = x[y > 0], y[y > 0]
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, legendgroup=name, showlegend=layer == 0,
                                     line=dict(color=color, width=2.5, dash=run_style(color, "dash", "solid"))),
                          row=1, col=layer + 1)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    if log_y:
        fig.update_yaxes(type="log")
    return style(fig, height=340)


def _panel_titles(fig):
    """Subplot title per (x axis, y axis) name pair of the traces, read from make_subplots' title annotations
    (centred over their subplot's x domain, at the top of its y domain)."""
    layout = fig.layout
    titles = {}
    for trace in fig.data:
        xa, ya = getattr(trace, "xaxis", None) or "x", getattr(trace, "yaxis", None) or "y"
        x_axis, y_axis = layout[f"xaxis{xa[1:]}"], layout[f"yaxis{ya[1:]}"]
        if y_axis.overlaying:  # a secondary y axis: the subplot is the one it overlays
            y_axis = layout[f"yaxis{y_axis.overlaying[1:]}"]
        xd, yd = x_axis.domain or (0, 1), y_axis.domain or (0, 1)
        for a in layout.annotations:
            if a.xref == "paper" and a.yref == "paper" and a.x is not None and a.y is not None and \
                    abs(a.x - (xd[0] + xd[1]) / 2) < 1e-6 and abs(a.y - yd[1]) < 1e-6:
                titles[(xa, ya)] = a.text
                break
    return titles


def _is_band(x):
    """A filled band drawn as a polygon: the x values forward, then the same values backward."""
    n = len(x)
    return n >= 2 and n % 2 == 0 and list(x[:n // 2]) == list(x[n // 2:][::-1])


def figure_data(fig, edge_names=("high", "low")):
    """The numbers a figure draws, as a long table: one row per point with its panel (the subplot's or the
    figure's title), its series (the trace's name), x and y, and z for a heatmap's cells. Traces that draw nothing
    (legend entries) are left out, and so are points that are not finite; a filled band gives its upper and lower
    edge as two series named "<name> · <edge_names[i]>". Animation frames are not read (the table is the step
    shown)."""
    titles = _panel_titles(fig)
    figure_title = fig.layout.title.text or ""
    rows = []
    for trace in fig.data:
        panel = titles.get((getattr(trace, "xaxis", None) or "x", getattr(trace, "yaxis", None) or "y"),
                           figure_title)
        name = trace.name or ""
        if trace.type == "heatmap":
            z = np.asarray(trace.z, float)
            for j, y in enumerate(trace.y):
                for i, x in enumerate(trace.x):
                    if np.isfinite(z[j, i]):
                        rows.append((panel, name, x, y, z[j, i]))
            continue
        if trace.x is None or trace.y is None:
            continue
        x, y = list(trace.x), list(trace.y)
        series = [(name, x, y)]
        if getattr(trace, "fill", None) == "toself" and _is_band(x):
            n = len(x) // 2
            series = [(f"{name} · {edge_names[0]}", x[:n], y[:n]), (f"{name} · {edge_names[1]}", x[:n], y[n:][::-1])]
        for series_name, xs, ys in series:
            for xv, yv in zip(xs, ys):
                if _drawn(xv) and _drawn(yv):
                    rows.append((panel, series_name, xv, yv, None))
    frame = pd.DataFrame(rows, columns=["panel", "series", "x", "y", "z"])
    return frame if frame["z"].notna().any() else frame.drop(columns="z")


def _drawn(v):
    """True for a finite number or a category label (a bar's name): a value drawn. None and NaN are not."""
    if v is None:
        return False
    if isinstance(v, str):
        return True
    try:
        return bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False
