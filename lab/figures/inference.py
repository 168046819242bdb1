"""Figures of the lesson "BN at inference": pure builders (numbers in, a Plotly Figure out, no streamlit).

Every text on a figure comes in as an argument (the page translates it); non-finite points are never drawn.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, NO_BN_COLOR, finite, style

BATCH_COLOR = "#868e96"  # what one mini-batch said: grey dots
POPULATION_COLOR = "#2b8a3e"  # the paper's population statistics: green
EVAL_COLOR = BN_COLOR  # eval mode / running statistics: blue
GAP_COLOR = "#862e9c"  # distance between two estimates: purple, so it is not read as the running statistics
TRAIN_RANDOM_COLOR = "#f59f00"
TRAIN_SAME_COLOR = NO_BN_COLOR


@figure_builder
def mode_probabilities(probs, names, x_title, y_title, colors=(TRAIN_RANDOM_COLOR, TRAIN_SAME_COLOR, EVAL_COLOR)):
    """One test example's softmax probability per class, one group of bars per way of running it
    (train mode with random companions, train mode with same-digit companions, eval mode)."""
    fig = go.Figure()
    for p, name, color in zip(probs, names, colors):
        classes, values = finite(np.arange(len(p)), p)
        fig.add_trace(go.Bar(x=classes.astype(int), y=values, name=name, marker_color=color))
    fig.update_layout(barmode="group", xaxis=dict(title=x_title, dtick=1), yaxis=dict(title=y_title, range=[0, 1.02]))
    return style(fig, height=380)


@figure_builder
def ema_trace(trace, titles, names, x_title):
    """One unit over training, for its mean (left) and variance (right): each mini-batch's value (grey dots), the
    running average (blue line) and the population statistics of the network at that step (green markers).

    ``trace``: lab.inference.unit_trace; ``titles``: (mean, variance); ``names``: (batch, running, population)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    for col, stat in ((1, "mean"), (2, "var")):
        show = col == 1
        x, y = finite(trace["steps"], trace[f"batch_{stat}"])
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", marker=dict(color=BATCH_COLOR, size=3, opacity=0.45),
                                   name=names[0], legendgroup="batch", showlegend=show), row=1, col=col)
        x, y = finite(trace["ema_steps"], trace[f"ema_{stat}"])
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(color=EVAL_COLOR, width=3), name=names[1],
                                 legendgroup="ema", showlegend=show), row=1, col=col)
        x, y = finite(trace["pop_steps"], trace[f"pop_{stat}"])
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers+lines", name=names[2], legendgroup="pop", showlegend=show,
                                 line=dict(color=POPULATION_COLOR, width=1.5, dash="dot"),
                                 marker=dict(color=POPULATION_COLOR, size=9, symbol="diamond")), row=1, col=col)
    for col, stat in ((1, "mean"), (2, "var")):
        lo, hi = _y_range(trace, stat)
        if lo is not None:
            fig.update_yaxes(range=[lo, hi], row=1, col=col)
    fig.update_xaxes(title_text=x_title)
    fig.update_layout(legend_itemsizing="constant")  # the tiny batch dots get a readable legend marker
    return style(fig, height=400)


def _y_range(trace, stat, pad=0.12):
    """Zoom on where the statistics live (the 1st-99th percentile of the batch values, the population values and
    where the running average ends), so the running average's start at 0 or 1 does not flatten everything."""
    batch = np.asarray(trace[f"batch_{stat}"], float)
    batch = batch[np.isfinite(batch)]
    parts = [np.percentile(batch, [1, 99])] if len(batch) else []
    parts += [np.asarray(trace[f"pop_{stat}"], float), np.asarray(trace[f"ema_{stat}"], float)[-1:]]
    values = np.concatenate(parts)
    values = values[np.isfinite(values)]
    if not len(values):
        return None, None
    lo, hi = float(values.min()), float(values.max())
    span = max(hi - lo, 1e-6 * max(1.0, abs(hi)))
    return lo - pad * span, hi + pad * span


@figure_builder
def momentum_sweep(sweep, chosen, titles, names, x_title, gap_title, acc_title):
    """Left: how far the final running statistics are from the population statistics, per BN momentum (log axes).
    Right: the test accuracy each momentum's statistics give in eval mode, and the population statistics' line.
    The momentum on screen is ringed. ``names``: (mean gap, variance gap, running stats, population stats)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.12)
    momenta = np.asarray(sweep.momenta, float)
    for values, name, dash in ((sweep.mean_gap, names[0], "solid"), (sweep.var_gap, names[1], "dash")):
        x, y = finite(momenta, values)
        keep = y > 0  # a log axis cannot show 0
        fig.add_trace(go.Scatter(x=x[keep], y=y[keep], mode="lines+markers", name=name,
                                 line=dict(color=GAP_COLOR, width=2.5, dash=dash), marker=dict(size=8)), row=1, col=1)
    x, y = finite(momenta, sweep.ema_acc)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=names[2], line=dict(color=EVAL_COLOR, width=2.5),
                             marker=dict(size=8)), row=1, col=2)
    if np.isfinite(sweep.population_acc):
        fig.add_trace(go.Scatter(x=[momenta.min(), momenta.max()], y=[sweep.population_acc] * 2, mode="lines",
                                 name=names[3], line=dict(color=POPULATION_COLOR, width=2.5, dash="dash")),
                      row=1, col=2)
    if chosen in sweep.momenta:
        i = sweep.momenta.index(chosen)
        for col, values in ((1, sweep.mean_gap), (1, sweep.var_gap), (2, sweep.ema_acc)):
            if np.isfinite(values[i]) and (col == 2 or values[i] > 0):
                fig.add_trace(go.Scatter(x=[chosen], y=[values[i]], mode="markers", showlegend=False, hoverinfo="skip",
                                         marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="#c92a2a",
                                                                                                width=3))),
                              row=1, col=col)
    fig.update_xaxes(type="log", title_text=x_title, tickvals=list(momenta), ticktext=[f"{a:g}" for a in momenta])
    fig.update_yaxes(type="log", title_text=gap_title, dtick=1, row=1, col=1)
    fig.update_yaxes(title_text=acc_title, tickformat=".0%", row=1, col=2)
    return style(fig, height=400)


@figure_builder
def cost_bars(costs, labels, y_title, title):
    """Operations per example that BN costs at inference, three ways (Algorithm 2 as written, a fixed scale and
    shift, folded into the linear layer), with the count on each bar. ``costs``: bn_core.inference_cost."""
    keys = ("as_written", "folded_affine", "folded_linear")
    values = [costs[k] for k in keys]
    fig = go.Figure(go.Bar(x=[labels[k] for k in keys], y=values, text=[f"{v:,}" for v in values],
                           textposition="outside", marker_color=[NO_BN_COLOR, EVAL_COLOR, POPULATION_COLOR],
                           cliponaxis=False))
    fig.update_layout(title=title, yaxis=dict(title=y_title, range=[0, max(values + [1]) * 1.18]), showlegend=False)
    return style(fig, height=380, legend_below=False)
