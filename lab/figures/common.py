"""Plotly figure builders shared by the pages: recorded data in, a Figure out. Pure functions, no streamlit.

Text on a figure comes in as arguments (the pages translate it); nothing non-finite is ever drawn as data.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core import HIST_EDGES, PERCENTILES, activation_derivative, activation_forward

# Okabe & Ito's colour-blind-safe palette. "With BN" is blue and "without BN" vermillion everywhere.
BN_COLOR = "#0072B2"
NO_BN_COLOR = "#D55E00"
RUN_COLOR = {"bn": BN_COLOR, "no_bn": NO_BN_COLOR}  # by run id
PALETTE = (BN_COLOR, NO_BN_COLOR, "#009E73", "#CC79A7", "#E69F00", "#56B4E9")  # further lines, in order
FONT = dict(size=15)
HIST_CENTERS = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2


def finite(x, y):
    """Drop points where x or y is not finite, so a gap is a gap and not a NaN drawn as data."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def style(fig, height=380, legend_below=True):
    """Projector-friendly defaults: large fonts, white background, legend under the plot so it never hides data."""
    fig.update_layout(height=height, font=FONT, template="plotly_white", margin=dict(l=60, r=20, t=50, b=40),
                      hovermode="x unified", legend_font_size=14)
    # Streamlit's chart theme sets 12 px tick labels, which layout.font does not override: set them per axis.
    fig.update_xaxes(tickfont_size=14, title_font_size=15)
    fig.update_yaxes(tickfont_size=14, title_font_size=15)
    if legend_below:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="center", x=0.5))
    return fig


def projector(fig, scale):
    """A copy of a styled figure for a projector (presentation mode): text, lines and markers ``scale`` times
    larger, and the chart taller by as much as its text grew, so the plot area keeps its size."""
    fig = go.Figure(fig)
    base = fig.layout.font.size or 12

    def larger(value, default):  # an unset size is plotly's default
        return (default if value is None else value) * scale

    fig.update_layout(font_size=base * scale, legend_font_size=larger(fig.layout.legend.font.size, base),
                      height=(fig.layout.height or 450) + round(base * (scale - 1) * 6),
                      hoverlabel_font_size=larger(fig.layout.hoverlabel.font.size, base))
    for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
        axis.update(tickfont_size=larger(axis.tickfont.size, base), title_font_size=larger(axis.title.font.size, base))
    for note in fig.layout.annotations:  # subplot titles, divergence labels
        note.font.size = larger(note.font.size, base)
    for trace in fig.select_traces(selector=dict(type="scatter")):
        trace.line.width = larger(trace.line.width, 2)
        if trace.marker.size is None or np.isscalar(trace.marker.size):
            trace.marker.size = larger(trace.marker.size, 6)
    for shape in fig.layout.shapes:  # divergence markers
        shape.line.width = larger(shape.line.width, 2)
    return fig


def mark_divergence(fig, record, text, row=None, col=None):
    """A dashed red line at the step where ``record`` diverged, labelled ``text``."""
    if record.divergence is None:
        return
    kw = {} if row is None else dict(row=row, col=col)
    fig.add_vline(x=record.divergence.step, line=dict(color="#c92a2a", dash="dash", width=2),
                  annotation_text=text, annotation_position="top left", annotation_font_color="#c92a2a", **kw)


def metric_curves(records, names, titles, axis, divergence_text=None, colors=PALETTE):
    """Loss and accuracy vs step, one colour per run: train dashed, test solid.

    ``titles``: (loss title, accuracy title); ``axis``: dict of x/loss/accuracy axis titles and the
    "train"/"test" words; ``divergence_text(record)`` labels a diverged run's marker."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    for record, name, color in zip(records, names, colors):
        if record is None or not record.snapshots:
            continue
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "dash"), ("test", "solid")):
                x, y = finite(record.steps, record.metric(f"{split}_{metric}"))
                # A run that diverged at once has a point or two: draw markers so it is not invisible.
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines" if len(x) > 2 else "lines+markers",
                                         name=f"{name} · {axis[split]}",
                                         line=dict(color=color, dash=dash, width=2.5), legendgroup=name,
                                         showlegend=col == 1), row=1, col=col)
        if divergence_text is not None and record.divergence is not None:
            for col in (1, 2):
                mark_divergence(fig, record, divergence_text(record), row=1, col=col)
    fig.update_xaxes(title_text=axis["x"])
    fig.update_yaxes(title_text=axis["loss"], row=1, col=1)
    fig.update_yaxes(title_text=axis["accuracy"], range=[0, 1.02], row=1, col=2)
    return style(fig, height=400)


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
        for h, name, color in zip(hists, names, colors):
            if h is None or layer >= len(h):
                continue
            counts = np.asarray(h[layer], float)
            share = counts / counts.sum() if counts.sum() > 0 else counts
            fig.add_trace(go.Bar(x=HIST_CENTERS, y=share, name=name, marker_color=color, opacity=0.55,
                                 legendgroup=name, showlegend=layer == 0), row=1, col=col)
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
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width), name=label))
    fig.update_layout(title=title or name, xaxis_title=x_title, yaxis_title=y_title)
    return style(fig, height=340)


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
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line=dict(color=color, width=2.5),
                                     legendgroup=name, showlegend=layer == 0), row=1, col=layer + 1)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    if log_y:
        fig.update_yaxes(type="log")
    return style(fig, height=340)
