"""Figures of the lesson "Inputs and initialization". Pure builders: numbers and translated labels in, a Plotly
Figure out. With BN is blue (filled bars and markers), without BN orange (hatched bars, open markers), as everywhere;
the four choices differ by dash and marker shape."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, NO_BN_COLOR, PALETTE, RUN_PATTERN, finite, style

DASHES = ("solid", "dash", "dot", "dashdot")
MARKERS = ("circle", "square", "diamond", "triangle-up")
GUIDE_COLOR = "#2b8a3e"
N_BINS = 60


def histogram(values, limit, n_bins=N_BINS):
    """(bin centres, share per bin) of the finite values on [−limit, limit]; values beyond go to the end bins."""
    v = np.asarray(values, float)
    v = np.clip(v[np.isfinite(v)], -limit, limit)
    edges = np.linspace(-limit, limit, n_bins + 1)
    counts, _ = np.histogram(v, bins=edges)
    share = counts / counts.sum() if counts.sum() else counts.astype(float)
    return (edges[:-1] + edges[1:]) / 2, share


def x_limit(*arrays, floor=5.0):
    """A symmetric x range that holds 99.5% of every array's values, never narrower than ``floor``."""
    parts = [np.abs(np.asarray(a, float)) for a in arrays]
    parts = [p[np.isfinite(p)] for p in parts]
    widest = max((float(np.percentile(p, 99.5)) for p in parts if len(p)), default=floor)
    return max(floor, 1.05 * widest)


@figure_builder
def first_layer_histograms(pairs, titles, labels, sat_x):
    """One panel per choice: the first layer's activation input without BN (orange) and with BN (blue), and the
    band |x| < ``sat_x`` where the sigmoid is not saturated, shaded green.

    ``pairs``: per choice ``(values without BN, values with BN)``; ``labels``: without_bn, with_bn, x, share."""
    n = len(pairs)
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.05)
    for col, (without, with_bn) in enumerate(pairs, start=1):
        limit = x_limit(without, with_bn)
        for values, name, color, run in ((without, labels["without_bn"], NO_BN_COLOR, "no_bn"),
                                         (with_bn, labels["with_bn"], BN_COLOR, "bn")):
            x, share = histogram(values, limit)
            fig.add_trace(go.Bar(x=x, y=share, name=name, opacity=0.6, legendgroup=name,
                                 marker=dict(color=color, pattern_shape=RUN_PATTERN[run]),
                                 showlegend=col == 1, hovertemplate="%{x:.3g}: %{y:.1%}<extra></extra>"),
                          row=1, col=col)
        fig.add_vrect(x0=-sat_x, x1=sat_x, fillcolor=GUIDE_COLOR, opacity=0.10, line_width=0, row=1, col=col)
        fig.update_xaxes(range=[-limit, limit], row=1, col=col)
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title_text=labels["x"])
    fig.update_yaxes(tickformat=".0%")
    fig.update_yaxes(title_text=labels["share"], row=1, col=1)
    fig.update_annotations(font_size=14)
    fig = style(fig, height=400)
    fig.update_layout(legend_y=-0.25, margin_b=70, hovermode="closest")
    return fig


@figure_builder
def loss_curves(records_bn, records_no_bn, names, titles, labels):
    """Test loss vs step in two panels, without BN (orange) | with BN (blue), one line per choice (dash + marker).
    The legend shows the choices in grey, so it reads the same for both panels.

    ``titles``: (without BN title, with BN title); ``labels``: x, loss."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.05)
    for col, records, color, open_ in ((1, records_no_bn, NO_BN_COLOR, "-open"), (2, records_bn, BN_COLOR, "")):
        for i, (record, name) in enumerate(zip(records, names)):
            x, y = finite(record.steps, record.metric("test_loss"))
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, legendgroup=name, showlegend=False,
                                     line=dict(color=color, dash=DASHES[i % 4], width=2.5),
                                     marker=dict(symbol=MARKERS[i % 4] + open_, size=7, maxdisplayed=12)),
                          row=1, col=col)
    for i, name in enumerate(names):  # legend entries: the choice's dash and marker, in neutral grey
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color="#555", dash=DASHES[i % 4], width=2.5),
                                 marker=dict(symbol=MARKERS[i % 4], size=7)), row=1, col=1)
    fig.update_xaxes(title_text=labels["x"])
    fig.update_yaxes(title_text=labels["loss"], rangemode="tozero", row=1, col=1)
    fig = style(fig, height=430)
    fig.update_layout(legend_y=-0.25, margin_b=90)
    return fig


@figure_builder
def accuracy_bars(acc_bn, acc_no_bn, names, labels):
    """Final test accuracy per choice (one row each, so long names fit), with BN (blue) and without (orange) side by
    side, the values written at the bar ends. ``labels``: with_bn, without_bn, accuracy."""
    fig = go.Figure()
    for values, name, color, run in ((acc_bn, labels["with_bn"], BN_COLOR, "bn"),
                                     (acc_no_bn, labels["without_bn"], NO_BN_COLOR, "no_bn")):
        v = np.asarray(values, float)
        ok = np.isfinite(v)
        fig.add_trace(go.Bar(y=np.asarray(names, object)[ok], x=v[ok], name=name, orientation="h",
                             marker=dict(color=color, pattern_shape=RUN_PATTERN[run]),
                             text=[f"{a:.0%}" for a in v[ok]], textposition="outside", cliponaxis=False))
    fig.update_layout(barmode="group", xaxis=dict(title=labels["accuracy"], range=[0, 1.15], tickformat=".0%"),
                      yaxis=dict(autorange="reversed"))
    fig = style(fig, height=400)
    fig.update_layout(hovermode="closest", margin=dict(l=10, r=20, t=50, b=40))
    fig.update_yaxes(automargin=True)
    return fig


WS_COLORS = (PALETTE[2], PALETTE[4])  # weights as drawn, weights × a: both with BN, so not BN's blue and orange
WS_PATTERNS = ("", "/")


@figure_builder
def weight_scale_bars(grad, grad_scaled, weight, weight_scaled, labels):
    """Per hidden layer, ‖∇W‖ (left) and ‖∇W‖/‖W‖ (right) for the weights as drawn and multiplied by a factor,
    on log axes; each scaled bar is labelled with its ratio to the unscaled one. ``labels``: titles (2), names (2),
    layers."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=labels["titles"], horizontal_spacing=0.1)
    panels = ((np.asarray(grad, float), np.asarray(grad_scaled, float)),
              (np.asarray(grad, float) / np.asarray(weight, float),
               np.asarray(grad_scaled, float) / np.asarray(weight_scaled, float)))
    for col, (base, scaled) in enumerate(panels, start=1):
        for i, (values, name) in enumerate(zip((base, scaled), labels["names"])):
            text = None if i == 0 else [f"×{r:.3g}" for r in scaled / base]
            fig.add_trace(go.Bar(x=labels["layers"], y=values, name=name, legendgroup=name, showlegend=col == 1,
                                 marker=dict(color=WS_COLORS[i], pattern_shape=WS_PATTERNS[i]), text=text,
                                 textposition="outside", cliponaxis=False), row=1, col=col)
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")  # one tick per decade
    fig.update_layout(barmode="group")
    fig = style(fig, height=380)
    fig.update_layout(hovermode="closest")
    return fig
