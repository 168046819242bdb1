"""Figures of the backward-pass section (γ and β lesson). Pure builders: numbers and translated labels in, a Plotly
Figure out. True BN is blue with solid lines and circles; the gradient that ignores μ_B and σ_B is purple, dashed,
with crosses."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, PALETTE, finite, style

IGNORING_COLOR = PALETTE[3]


@figure_builder
def gradient_check(numerical, analytic, ignoring, labels):
    """∂ℓ/∂x_i per example: the chain rule's and the ignoring gradient's against the numerical one. A right gradient
    lies on the diagonal. ``labels``: x, y, analytic, ignoring, diagonal."""
    fig = go.Figure()
    x = np.asarray(numerical, float)
    lo, hi = (float(v) for v in (np.nanmin([x, analytic, ignoring]), np.nanmax([x, analytic, ignoring])))
    pad = 0.05 * (hi - lo or 1.0)
    fig.add_trace(go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name=labels["diagonal"],
                             line=dict(color="#888", width=1.5, dash="dot"), hoverinfo="skip"))
    for y, name, color, symbol in ((analytic, labels["analytic"], BN_COLOR, "circle"),
                                   (ignoring, labels["ignoring"], IGNORING_COLOR, "x")):  # the crosses on top
        xs, ys = finite(x, y)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=name,
                                 marker=dict(color=color, symbol=symbol, size=7, opacity=0.8)))
    fig.update_layout(xaxis_title=labels["x"], yaxis_title=labels["y"], hovermode="closest")
    fig.update_xaxes(exponentformat="e")
    fig.update_yaxes(exponentformat="e", scaleanchor="x")
    return style(fig, height=420)


@figure_builder
def bias_growth(steps, biases, losses, names, labels):
    """Two panels over the training steps: the mean |b| over the hidden units, and the loss on a fixed batch — one
    line per run (true BN first, then the ignoring gradient). The loss axis starts at 0, so rounding-level wiggles
    of a flat line are not blown up. ``labels``: titles (2), x, bias, loss."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=labels["titles"], horizontal_spacing=0.1)
    styles = ((BN_COLOR, "solid", "circle"), (IGNORING_COLOR, "dash", "x"))
    top = 0.0
    for run_steps, bias, loss, name, (color, dash, symbol) in zip(steps, biases, losses, names, styles):
        for col, values in ((1, bias), (2, loss)):
            x, y = finite(run_steps, values)
            top = max(top, float(y.max())) if col == 2 and len(y) else top
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, legendgroup=name,
                                     showlegend=col == 1, line=dict(color=color, dash=dash, width=2.5),
                                     marker=dict(symbol=symbol, size=8, maxdisplayed=15)), row=1, col=col)
    fig.update_xaxes(title_text=labels["x"])
    fig.update_yaxes(title_text=labels["bias"], rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=labels["loss"], range=[0, 1.15 * top or 1.0], row=1, col=2)
    fig = style(fig, height=400)
    fig.update_layout(hovermode="closest")
    return fig
