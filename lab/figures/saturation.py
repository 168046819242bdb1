"""Figures of the lesson "Sigmoid saturation". Pure builders around the shared ones in lab.figures: numbers and
translated labels in, a Plotly Figure out. With BN blue, without BN orange; the low-gradient zone shaded red."""
from bn_core import HIST_EDGES
from lab.caches import figure_builder
from lab.figures.common import BN_COLOR, NO_BN_COLOR, layer_histograms, per_layer_lines

ZONE_COLOR = "#c92a2a"
COLORS = (BN_COLOR, NO_BN_COLOR)


def low_gradient_zones(activation, threshold):
    """The x intervals (within the histogram range) where the derivative is below 10% of its maximum."""
    lo, hi = float(HIST_EDGES[0]), float(HIST_EDGES[-1])
    if activation in ("relu", "leaky_relu"):
        return [(lo, 0.0)]
    return [(lo, -threshold), (threshold, hi)]


@figure_builder
def histograms_at_step(hists_bn, hists_no_bn, names, activation, threshold, layer_titles, axis):
    """Per hidden layer, both runs' activation-input histograms on shared axes, the activation and its derivative
    over them (lab.figures.layer_histograms), and the low-gradient zone shaded.

    ``hists_*``: per layer, counts on HIST_EDGES; ``names``: (with BN, without BN)."""
    fig = layer_histograms([hists_bn, hists_no_bn], names, activation, layer_titles, axis, colors=COLORS)
    n_layers = max(len(hists_bn), len(hists_no_bn))
    for col in range(1, n_layers + 1):
        for x0, x1 in low_gradient_zones(activation, threshold):
            fig.add_vrect(x0=x0, x1=x1, fillcolor=ZONE_COLOR, opacity=0.08, line_width=0, row=1, col=col)
    fig.update_yaxes(tickformat=".0%", secondary_y=False)
    fig.update_layout(hovermode="closest")
    return legend_clear_of_axis_titles(fig)


def legend_clear_of_axis_titles(fig):
    """The shared style puts the legend under the plot; move it below the x-axis titles so it covers none."""
    fig.update_layout(legend_y=-0.28, margin_b=80, height=(fig.layout.height or 380) + 30)
    return fig


@figure_builder
def low_gradient_lines(records, names, measure, layer_titles, y_title, x_title):
    """Per layer, the share of saturated values (or dead units) over training, one line per run (the step shown
    is marked by lab.figures.common.step_line). ``records``: (with BN, without BN)."""
    steps = [r.steps for r in records]
    series = [[r.layer_series(i, measure) for i in range(r.n_layers)] for r in records]
    fig = per_layer_lines(steps, series, names, layer_titles, y_title, x_title, colors=COLORS)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return legend_clear_of_axis_titles(fig)


@figure_builder
def grad_norm_lines(records, names, layer_titles, y_title, x_title):
    """Per layer, ‖∂loss/∂W‖ over training on a log axis, one line per run (the step shown is marked by
    lab.figures.common.step_line)."""
    steps = [r.steps for r in records]
    series = [[r.layer_series(i, "grad_z") for i in range(r.n_layers)] for r in records]
    fig = per_layer_lines(steps, series, names, layer_titles, y_title, x_title, colors=COLORS, log_y=True)
    fig.update_yaxes(dtick=1)  # a tick per decade: 0.01, 0.1, 1
    return legend_clear_of_axis_titles(fig)
