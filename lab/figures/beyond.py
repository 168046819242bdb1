"""Figures of the "beyond the paper" lesson: pure Plotly builders over the lesson's Runs (lab.lessons.beyond.Run:
series, config, status, steps, test_acc, final_acc, arrays).

Every series has its own colour AND its own line style and marker (STYLE), so BN and no BN are told apart without
colour too. Text comes in as arguments; accuracies and errors are drawn as percentages; nothing non-finite is drawn.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, NO_BN_COLOR, PALETTE, finite, style

# series -> (colour, dash, marker symbol, bar pattern)
STYLE = {
    "batch": (BN_COLOR, "solid", "circle", ""),
    "none": (NO_BN_COLOR, "dash", "square", "/"),
    "layer": (PALETTE[2], "dot", "diamond", "."),
    "noisy": (PALETTE[3], "dashdot", "triangle-up", "x"),
    "mean_only": (PALETTE[2], "dot", "diamond", "."),
    "var_only": (PALETTE[4], "longdash", "triangle-down", "-"),
    "frozen_affine": (PALETTE[5], "dashdot", "cross", "|"),
    "affine_only": (PALETTE[3], "longdashdot", "star", "+"),
}
DIVERGED_SYMBOL = "x-thin-open"  # a run that diverged; BN's is a "+" so that both show where they coincide


def line(x, y, series, name, mode="lines+markers", **kwargs):
    """A Scatter in the series' colour, dash and marker; non-finite points dropped."""
    color, dash, symbol, _ = STYLE[series]
    x, y = finite(x, y)
    return go.Scatter(x=x, y=y, mode=mode, name=name, line=dict(color=color, dash=dash, width=2.5),
                      marker=dict(symbol=symbol, size=8, color=color), **kwargs)


def crosses(x, y, series, name):
    """Runs that diverged: an ✕ each, at height ``y``, in the series' colour."""
    color = STYLE[series][0]
    symbol = "cross-thin-open" if series == "batch" else DIVERGED_SYMBOL
    return go.Scatter(x=x, y=[y] * len(x), mode="markers", name=name, legendgroup=series,
                      marker=dict(symbol=symbol, size=13, color=color, line=dict(width=2, color=color)))


def _percent_axis(fig, **kwargs):
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], **kwargs)


@figure_builder
def lr_figure(runs, names, text):
    """Final test accuracy against the learning rate (log axis), one line per series over its finished runs; a
    diverged run is an ✕ at 0, and a dotted vertical line in the series' colour marks its largest stable rate.
    ``names``: series -> display name; ``text``: lab.lessons.beyond.figure_text(result)."""
    fig = go.Figure()
    for series in dict.fromkeys(r.series for r in runs):
        mine = sorted((r for r in runs if r.series == series), key=lambda r: r.config.lr)
        done = [r for r in mine if r.ok]
        fig.add_trace(line([r.config.lr for r in done], [r.final_acc for r in done], series, names[series],
                           legendgroup=series))
        diverged = [r for r in mine if r.status == "diverged"]
        if diverged:
            fig.add_trace(crosses([r.config.lr for r in diverged], 0.0, series, text["diverged"][series]))
        stable = [r.config.lr for r in mine if r.stable]
        if stable and series in text["stable"]:  # a dotted vertical line, named in the legend
            fig.add_trace(go.Scatter(x=[max(stable)] * 2, y=[0, 1.02], mode="lines", name=text["stable"][series],
                                     legendgroup=series, hoverinfo="skip",
                                     line=dict(color=STYLE[series][0], dash="dot", width=1.5)))
    lrs = sorted({r.config.lr for r in runs})
    fig.update_xaxes(type="log", title_text=text["lr"], tickvals=lrs, ticktext=[f"{lr:g}" for lr in lrs])
    fig.update_yaxes(title_text=text["accuracy"])
    _percent_axis(fig)
    style(fig, height=480)
    fig.update_layout(legend=dict(y=-0.25), margin=dict(b=150))  # six legend entries below the axis title
    return fig


@figure_builder
def batch_figure(runs, spread, names, text):
    """Left: test error against the batch size (log axis), one line per series, a diverged run an ✕ at 100%.
    Right (when ``spread`` is given): how far the batch mean and variance of BN's input miss the population's
    (bn_core.batch_stat_spread), with 1/√m for reference."""
    cols = 2 if spread is not None else 1
    fig = make_subplots(rows=1, cols=cols, horizontal_spacing=0.12,
                        subplot_titles=(text["error_title"], text["spread_title"])[:cols])
    for series in dict.fromkeys(r.series for r in runs):
        mine = sorted((r for r in runs if r.series == series), key=lambda r: r.config.batch_size)
        done = [r for r in mine if r.ok]
        fig.add_trace(line([r.config.batch_size for r in done], [1 - r.final_acc for r in done], series,
                           names[series], legendgroup=series), row=1, col=1)
        failed = [r for r in mine if not r.ok]
        if failed:
            fig.add_trace(crosses([r.config.batch_size for r in failed], 1.0, series, text["diverged"][series]),
                          row=1, col=1)
    sizes = sorted({r.config.batch_size for r in runs})
    fig.update_xaxes(type="log", title_text=text["batch"], tickvals=sizes, ticktext=[str(m) for m in sizes])
    fig.update_yaxes(title_text=text["error"], row=1, col=1)
    _percent_axis(fig, row=1, col=1)
    if spread is not None:
        m = spread["batch_size"].to_numpy(float)
        for column, label, dash in (("mean_spread", text["spread_mean"], "solid"),
                                    ("var_spread", text["spread_var"], "dash")):
            x, y = finite(m, spread[column])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=label,
                                     line=dict(color="#444", dash=dash, width=2.5)), row=1, col=2)
        fig.add_trace(go.Scatter(x=m, y=1 / np.sqrt(m), mode="lines", name=text["sqrt_m"],
                                 line=dict(color=PALETTE[4], dash="dot", width=2.5)), row=1, col=2)
        shown = np.concatenate([spread["mean_spread"], spread["var_spread"], 1 / np.sqrt(m)])
        ticks = one_two_five(shown[np.isfinite(shown) & (shown > 0)])
        fig.update_yaxes(type="log", title_text=text["spread"], tickvals=ticks, ticktext=[f"{v:g}" for v in ticks],
                         row=1, col=2)  # less than a decade: 1-2-5 ticks, each written out whole
    return style(fig, height=440)


def one_two_five(values):
    """Ticks 1, 2, 5 × 10^k over the range of ``values`` (positive), for a log axis spanning about a decade."""
    if len(values) == 0:
        return []
    lo, hi = float(np.min(values)), float(np.max(values))
    decades = range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
    return [float(f"{k}e{e}") for e in decades for k in (1, 2, 5) if lo / 1.6 <= k * 10.0 ** e <= hi * 1.6]


@figure_builder
def accuracy_figure(runs, names, title, x_title, y_title):
    """Test accuracy against the step, one line per run in its series' style."""
    fig = go.Figure()
    for run in runs:
        fig.add_trace(line(run.steps, run.test_acc, run.series, names[run.series]))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
    _percent_axis(fig)
    return style(fig, height=380)


@figure_builder
def panel_lines(runs, key, panel_titles, y_title, x_title, names, log_y=False, x_key=None, columns=None):
    """One subplot per panel, one line per run in its series' style: ``run.arrays[key]`` is (records, panels), or
    ``key`` is a tuple of array names, one (records,) array per panel.
    ``x_key`` names the steps array in run.arrays (default: run.steps); ``columns`` picks panels of a 2-D array."""
    n = len(panel_titles)
    fig = make_subplots(rows=1, cols=n, subplot_titles=panel_titles, horizontal_spacing=0.06 if n > 2 else 0.1)
    for run in runs:
        x = run.arrays[x_key] if x_key else run.steps
        for j in range(n):
            if isinstance(key, tuple):
                y = run.arrays.get(key[j], np.array([]))
            else:
                values = np.asarray(run.arrays.get(key, np.empty((0, 0))), float)
                col = columns[j] if columns is not None else j
                y = values[:, col] if values.ndim == 2 and values.shape[1] > col else np.array([])
            xs, ys = finite(x[:len(y)], y)
            if log_y:
                xs, ys = xs[ys > 0], ys[ys > 0]
            fig.add_trace(line(xs, ys, run.series, names[run.series], mode="lines", legendgroup=run.series,
                               showlegend=j == 0), row=1, col=j + 1)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    if log_y:
        fig.update_yaxes(type="log", dtick=1, exponentformat="power")  # powers of ten only, as 10⁻⁴ (not 100µ)
    return style(fig, height=360)


@figure_builder
def ablation_bars(runs, names, x_title):
    """Final test accuracy per variant, one bar each in its series' colour and hatching; a run that did not finish
    gets no bar."""
    fig = go.Figure()
    for run in runs:
        color, _, _, pattern = STYLE[run.series]
        value = [run.final_acc] if run.ok else []
        fig.add_trace(go.Bar(x=value, y=[names[run.series]] * len(value), orientation="h", name=names[run.series],
                             marker=dict(color=color, pattern=dict(shape=pattern)), texttemplate="%{x:.1%}",
                             textposition="outside", showlegend=False))
    fig.update_xaxes(title_text=x_title, tickformat=".0%", range=[0, 1.12])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    return style(fig, height=80 + 45 * len(runs))
