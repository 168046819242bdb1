"""Figures of the γ and β lesson. Pure: arrays in, Plotly figures out (text comes in as arguments)."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core import sigmoid
from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, finite, style

X_COLOR = "#555"  # the original BN input x, drawn as an outline over y
LINEAR_FILL = "rgba(43, 138, 62, 0.15)"  # the sigmoid's linear region


def shares(values, edges):
    """Share of the finite values in each bin of ``edges`` (values outside are clipped into the end bins)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    counts, _ = np.histogram(np.clip(v, edges[0], edges[-1]), bins=edges)
    return counts / max(len(v), 1)


def edges_for(*arrays, bins=40):
    v = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (-1.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.02
    return np.linspace(lo - pad, hi + pad, bins + 1)


def _bars(fig, values, edges, name, color, col, outline=False):
    centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    y = shares(values, edges)
    if outline:  # a step outline, so the bars under it stay visible
        xs = np.repeat(edges, 2)[1:-1]
        fig.add_trace(go.Scatter(x=xs, y=np.repeat(y, 2), mode="lines", name=name,
                                 line=dict(color=color, width=2.5, dash="dot")), row=1, col=col)
    else:
        fig.add_trace(go.Bar(x=centers, y=y, width=width, name=name, marker_color=color, opacity=0.75),
                      row=1, col=col)


@figure_builder
def transform_histograms(x_hat, y, s, x, titles, names, axis, linear_y=1.0):
    """Three panels: x̂, then y = γx̂ + β with the original x outlined over it and the linear region |y| < linear_y
    shaded, then sigmoid(y) with the sigmoid's linear region shaded.

    ``titles``: 3 panel titles; ``names``: dict of legend names x_hat, y, x, s, linear;
    ``axis``: dict of axis titles share, x_hat, y, s."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)
    _bars(fig, x_hat, edges_for(x_hat), names["x_hat"], "#868e96", 1)
    e = edges_for(y, x, [-linear_y, linear_y])
    _bars(fig, y, e, names["y"], BN_COLOR, 2)
    _bars(fig, x, e, names["x"], X_COLOR, 2, outline=True)
    _bars(fig, s, np.linspace(0, 1, 41), names["s"], "#2b8a3e", 3)
    # Shaded after the traces: plotly skips shapes on subplots that have no data yet.
    lo, hi = float(sigmoid(np.float64(-linear_y))), float(sigmoid(np.float64(linear_y)))
    for col, (x0, x1) in ((2, (-linear_y, linear_y)), (3, (lo, hi))):
        fig.add_vrect(x0=x0, x1=x1, fillcolor=LINEAR_FILL, line_width=0, layer="below", row=1, col=col)
    # A legend entry for the shaded region
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=names["linear"],
                             marker=dict(symbol="square", size=14, color="rgba(43, 138, 62, 0.35)")), row=1, col=3)
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title_text=axis["x_hat"], row=1, col=1)
    fig.update_xaxes(title_text=axis["y"], row=1, col=2)
    fig.update_xaxes(title_text=axis["s"], range=[0, 1], row=1, col=3)
    fig.update_yaxes(title_text=axis["share"], row=1, col=1)
    style(fig, height=380)
    fig.update_layout(hovermode="closest", legend=dict(y=-0.25))
    return fig


@figure_builder
def learned_params(steps, gammas, betas, unit_layer, unit, names, layer_titles, axis, low=10, high=90):
    """Rows γ and β, a column per hidden layer: the median over units and the ``low``–``high`` percentile band over
    training, the picked unit's own line (in its layer), and the plain-normalization value (γ = 1, β = 0) dotted.

    ``gammas``/``betas``: per layer, (records, units); ``names``: dict median, band, unit, plain;
    ``axis``: dict x, gamma, beta."""
    n_layers = len(gammas)
    fig = make_subplots(rows=2, cols=n_layers, subplot_titles=layer_titles[:n_layers], shared_xaxes=True,
                        vertical_spacing=0.1, horizontal_spacing=0.05)
    for r, (series, ref) in enumerate(((gammas, 1.0), (betas, 0.0)), start=1):
        for j, p in enumerate(series, start=1):
            p = np.asarray(p, float)
            first = r == 1 and j == 1
            x, hi = finite(steps, np.percentile(p, high, axis=1))
            _, lo = finite(steps, np.percentile(p, low, axis=1))
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                                     fillcolor=BN_COLOR, opacity=0.2, line=dict(width=0), name=names["band"],
                                     legendgroup="band", showlegend=first, hoverinfo="skip"), row=r, col=j)
            x, mid = finite(steps, np.median(p, axis=1))
            fig.add_trace(go.Scatter(x=x, y=mid, mode="lines", line=dict(color=BN_COLOR, width=2.5),
                                     name=names["median"], legendgroup="median", showlegend=first), row=r, col=j)
            if j - 1 == unit_layer:
                x, u = finite(steps, p[:, unit])
                fig.add_trace(go.Scatter(x=x, y=u, mode="lines", line=dict(color="#d9480f", width=2, dash="dash"),
                                         name=names["unit"], legendgroup="unit", showlegend=r == 1), row=r, col=j)
            fig.add_hline(y=ref, line=dict(color="#444", dash="dot", width=1.2), row=r, col=j)
    fig.update_xaxes(title_text=axis["x"], row=2)
    fig.update_yaxes(title_text=axis["gamma"], row=1, col=1)
    fig.update_yaxes(title_text=axis["beta"], row=2, col=1)
    style(fig, height=560)
    fig.update_layout(legend=dict(y=-0.14))
    return fig
