"""Figures of the internal-covariate-shift lesson (the paper's Figure 1). Pure: records in, Plotly figures out.

Text comes in as arguments (the page translates it); non-finite points are dropped (lab.figures.finite).
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core import PERCENTILES
from lab.caches import figure_builder
from lab.figures.common import finite, per_layer_lines, percentile_band, run_style, style


@figure_builder
def accuracy_figure(records, names, colors, title, x_title, y_title, target=None, target_text=""):
    """Figure 1 (a): test accuracy vs step, one line per run, and a dotted line at ``target``."""
    fig = go.Figure()
    for record, name, color in zip(records, names, colors):
        x, y = finite(record.steps, record.metric("test_acc"))
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name,
                                 line=dict(color=color, width=3, dash=run_style(color, "dash", "solid"))))
    if target is not None:
        fig.add_hline(y=target, line=dict(color="#666", dash="dot", width=1.5), annotation_text=target_text,
                      annotation_position="bottom right")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, yaxis_range=[0, 1.02],
                      yaxis_tickformat=".0%")  # accuracy is a percentage everywhere
    return style(fig, height=380)


def band_range(percentile_sets, pad=0.05):
    """A y range covering the 15th-85th percentiles of every set (records × PERCENTILES), for panels that compare."""
    cols = [PERCENTILES.index(15), PERCENTILES.index(85)]
    values = np.concatenate([np.asarray(p, float)[:, cols].ravel() for p in percentile_sets])
    values = values[np.isfinite(values)]
    if not len(values):
        return [-1.0, 1.0]
    lo, hi = float(values.min()), float(values.max())
    margin = max(hi - lo, 1e-6) * pad
    return [lo - margin, hi + margin]


@figure_builder
def unit_bands(steps, unit_pcts, names, colors, y_title, x_title, titles):
    """Figure 1 (b, c): one unit's {15, 50, 85}th percentiles over training, one figure per run, same y axis.

    ``unit_pcts``: per run, (records, PERCENTILES) of that unit."""
    y_range = band_range(unit_pcts)
    figs = []
    for run_steps, pct, name, color, title in zip(steps, unit_pcts, names, colors, titles):
        fig = percentile_band(run_steps, pct, name, color, y_title, x_title, title=title)
        fig.update_yaxes(range=y_range)
        fig.update_layout(height=380, legend=dict(y=-0.3), margin=dict(b=90))  # the legend below the axis title
        figs.append(fig)
    return figs


FANS = ((1, 99, 0.15), (15, 85, 0.35))  # nested bands (low, high percentile, opacity), as TensorBoard draws them


@figure_builder
def layer_fans(steps, dists, names, colors, layer_titles, y_title, x_title):
    """TensorBoard-like distributions: per run (row) and hidden layer (column), nested 1–99% and 15–85% bands of
    all units' sigmoid inputs and the median line over training. ``dists``: per run, a list of per-layer
    (records, PERCENTILES) arrays (record.dist_series)."""
    n_layers = max(len(d) for d in dists)
    titles = [f"{name} · {layer_titles[j]}" for name in names for j in range(n_layers)]
    fig = make_subplots(rows=len(dists), cols=n_layers, subplot_titles=titles, shared_xaxes=True,
                        shared_yaxes=True, vertical_spacing=0.14, horizontal_spacing=0.03)
    for r, (run_steps, layers, color) in enumerate(zip(steps, dists, colors), start=1):
        for j, pct in enumerate(layers, start=1):
            pct = np.asarray(pct, float)
            for lo_p, hi_p, opacity in FANS:
                x, hi = finite(run_steps, pct[:, PERCENTILES.index(hi_p)])
                _, lo = finite(run_steps, pct[:, PERCENTILES.index(lo_p)])
                fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                         fill="toself", fillcolor=color, opacity=opacity, line=dict(width=0),
                                         name=f"{lo_p}–{hi_p}%", legendgroup=f"{lo_p}", hoverinfo="skip",
                                         showlegend=r == 1 and j == 1), row=r, col=j)
            x, mid = finite(run_steps, pct[:, PERCENTILES.index(50)])
            fig.add_trace(go.Scatter(x=x, y=mid, mode="lines", name="50%",
                                     line=dict(color=color, width=2.5, dash=run_style(color, "dash", "solid")),
                                     legendgroup="50", showlegend=r == 1 and j == 1), row=r, col=j)
    fig.update_xaxes(title_text=x_title, row=len(dists))
    for r in range(1, len(dists) + 1):
        fig.update_yaxes(title_text=y_title, row=r, col=1)
    fig.update_yaxes(matches="y")  # one vertical axis for every panel, so the runs compare at a glance
    style(fig, height=300 * len(dists) + 80)
    fig.update_layout(hovermode="closest", legend=dict(y=-0.12))
    return fig


@figure_builder
def drift_figure(steps, drift, names, colors, layer_titles, y_title, x_title):
    """The drift per layer over training, one line per run, on a log axis (lab.figures.per_layer_lines).

    ``drift``: per run, (layers, records) from record.layer_series(i, "drift"), NaN at the first record."""
    fig = per_layer_lines(steps, drift, names, layer_titles, y_title, x_title, colors=colors, log_y=True)
    fig.update_yaxes(dtick=1)  # label the powers of ten only
    fig.update_layout(height=380, legend=dict(y=-0.3), margin=dict(b=90))
    return fig
