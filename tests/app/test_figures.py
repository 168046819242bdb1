"""Figure builders without a running app: lab/figures/ (common.py shared by the lessons, one module per page).

Right traces, titled axes, and no non-finite number in the data, even for a run that diverged."""
import base64

import numpy as np
import plotly.graph_objects as go
import pytest

from bn_core import HIST_EDGES, PERCENTILES, TrainConfig, train
from lab.figures import common as figures
from lab.figures.common import BN_COLOR, NO_BN_COLOR, finite
from lab.figures.playground import decision_boundary, histograms

AXIS = {"x": "step", "loss": "loss", "accuracy": "accuracy", "train": "train", "test": "test"}
HIST_AXIS = {"x": "input", "share": "share", "activation": "act", "derivative": "der"}


def small(**changes):
    return TrainConfig(dataset="xor", hidden=(8, 8), steps=60, record_every=10, **changes)


@pytest.fixture(scope="module")
def runs():
    """A finished BN run, a finished no-BN run and a diverged run."""
    return train(small()), train(small(batchnorm=False)), train(small(lr=1000.0))


def data_numbers(fig):
    """Every number in x/y/z of every trace."""
    out = []
    for trace in fig.data:
        for axis in ("x", "y", "z"):
            v = getattr(trace, axis, None)
            if v is not None:
                out.append(np.asarray(v, float).ravel())
    return np.concatenate(out) if out else np.array([])


def assert_all_finite(fig):
    numbers = data_numbers(fig)
    assert numbers.size and np.all(np.isfinite(numbers))


def test_finite_drops_the_points_where_x_or_y_is_not_finite():
    x, y = finite([0, 1, 2, 3, np.inf], [1.0, np.nan, 3.0, -np.inf, 5.0])
    assert x.tolist() == [0.0, 2.0] and y.tolist() == [1.0, 3.0]


def test_metric_curves_traces_axes_and_colours(runs):
    bn, no_bn, _ = runs
    fig = figures.metric_curves([bn, no_bn], ["with", "without"], ("L", "A"), AXIS, colors=(BN_COLOR, NO_BN_COLOR))
    assert len(fig.data) == 8  # 2 runs × (loss, accuracy) × (train, test)
    names = {t.name for t in fig.data}
    assert names == {"with · train", "with · test", "without · train", "without · test"}
    assert {t.line.color for t in fig.data if t.name.startswith("with ·")} == {BN_COLOR}
    assert {t.line.color for t in fig.data if t.name.startswith("without")} == {NO_BN_COLOR}
    assert {t.line.dash for t in fig.data if t.name.endswith("train")} == {"dash"}
    assert fig.layout.xaxis.title.text == "step" and fig.layout.xaxis2.title.text == "step"
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.yaxis2.title.text == "accuracy"
    assert [a.text for a in fig.layout.annotations] == ["L", "A"]
    np.testing.assert_array_equal(fig.data[0].x, bn.steps)
    assert fig.layout.legend.y < 0  # below the plot, never over the data
    assert_all_finite(fig)


def test_metric_curves_mark_a_diverged_run_and_draw_nothing_after_it(runs):
    _, _, diverged = runs
    assert diverged.status == "diverged"
    fig = figures.metric_curves([diverged], ["run"], ("L", "A"), AXIS, divergence_text="boom at {step}")
    assert len(fig.layout.shapes) == 2  # the marker on both panels
    assert all(s.x0 == diverged.divergence.step for s in fig.layout.shapes)
    assert all(max(t.x) < diverged.divergence.step for t in fig.data if len(t.x))
    assert f"boom at {diverged.divergence.step}" in [a.text for a in fig.layout.annotations]
    assert np.all(np.isfinite(data_numbers(fig)))


def test_metric_curves_skip_missing_runs_and_nan_points(runs):
    bn, _, _ = runs
    fig = figures.metric_curves([None, bn], ["a", "b"], ("L", "A"), AXIS)
    assert {t.name.split(" · ")[0] for t in fig.data} == {"b"}

    class Holey:  # a record with a NaN in its metrics (as a record would be if it ever recorded one)
        snapshots = [0, 1, 2]
        steps = np.array([0, 10, 20])
        divergence = None

        def metric(self, name):
            return np.array([1.0, np.nan, 0.5])

    fig = figures.metric_curves([Holey()], ["h"], ("L", "A"), AXIS)
    assert all(len(t.x) == 2 for t in fig.data)
    assert np.all(np.isfinite(data_numbers(fig)))


def test_layer_histograms_traces_and_axes(runs):
    bn, no_bn, _ = runs
    hists = [[bn.dist_series(layer)[1][-1] for layer in range(bn.n_layers)],
             [no_bn.dist_series(layer)[1][-1] for layer in range(no_bn.n_layers)]]
    fig = figures.layer_histograms(hists, ["with", "without"], "sigmoid", ["L1", "L2", "L3"], HIST_AXIS,
                                   colors=(BN_COLOR, NO_BN_COLOR))
    bars = [t for t in fig.data if t.type == "bar"]
    curves = [t for t in fig.data if t.type == "scatter"]
    assert len(bars) == 4 and len(curves) == 4  # per layer: 2 runs + activation + derivative
    assert [a.text for a in fig.layout.annotations] == ["L1", "L2"]
    for bar in bars:
        np.testing.assert_allclose(bar.x, (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2)
        assert abs(sum(bar.y) - 1) < 1e-9  # shares
    assert {t.name for t in curves} == {"act", "der"}
    assert fig.layout.xaxis.title.text == "input" and fig.layout.yaxis.title.text == "share"
    # the curves live on their own right axes, which must not be tied to the histograms' axis
    right = [fig.layout[name] for name in fig.layout if name.startswith("yaxis") and fig.layout[name].overlaying]
    assert right and all(ax.matches is None and tuple(ax.range) == (-1.05, 1.05) for ax in right)
    assert fig.layout.barmode == "overlay"
    assert_all_finite(fig)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_layer_histograms_curves_fit_the_right_axis(activation):
    counts = np.ones(len(HIST_EDGES) - 1)
    fig = figures.layer_histograms([[counts], None], ["a", "b"], activation, ["L1"], HIST_AXIS)
    act = next(t for t in fig.data if t.name == "act")
    assert np.max(np.abs(act.y)) <= 1.0 + 1e-9
    assert len([t for t in fig.data if t.type == "bar"]) == 1  # the run without a histogram draws nothing


def test_percentile_band(runs):
    bn, _, _ = runs
    pct, _ = bn.dist_series(1)
    fig = figures.percentile_band(bn.steps, pct, "with BN", BN_COLOR, "input", "step", title="T")
    assert [t.name for t in fig.data] == ["15–85%", "15%", "50%", "85%"]
    np.testing.assert_allclose(fig.data[2].y, pct[:, PERCENTILES.index(50)])
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.title.text == "input"
    assert fig.layout.title.text == "T"
    assert_all_finite(fig)


def test_per_layer_lines_log_scale_drops_zeros_and_nan(runs):
    bn, no_bn, _ = runs
    series = [np.array([bn.layer_series(layer, "drift") for layer in range(2)]),
              np.array([[0.0, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0]] * 2)]
    fig = figures.per_layer_lines([bn.steps, no_bn.steps], series, ["with", "without"], ["L1", "L2"], "drift",
                                  "step", log_y=True)
    assert len(fig.data) == 4 and fig.layout.yaxis.type == "log"
    assert len(fig.data[0].x) == len(bn.steps) - 1  # drift is NaN at the first record
    assert list(fig.data[2].y) == [1.0, 2.0, 4.0, 5.0, 6.0]
    assert fig.layout.yaxis.title.text == "drift" and fig.layout.xaxis.title.text == "step"
    assert_all_finite(fig)


def test_mark_divergence_does_nothing_for_a_healthy_run(runs):
    bn, _, diverged = runs
    fig = figures.style(figures.go.Figure())
    figures.mark_divergence(fig, bn, "x")
    assert not fig.layout.shapes
    figures.mark_divergence(fig, diverged, "x")
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].line.color == "#c92a2a"


# ---- lab/figures_playground.py ----

def test_decision_boundary_panels_and_points():
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-2, 2, 4)
    z = np.zeros((4, 5), int)
    z[:, 3:] = 1
    X_test = np.array([[0.0, 0.0], [0.5, 1.0], [-0.5, -1.0]])
    y_test = np.array([0, 1, 1])
    fig = decision_boundary(xs, ys, [z, z], X_test, y_test, ["with", "without"],
                            {"x": "x1", "y": "x2", "class": "class {k}"})
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    points = [t for t in fig.data if t.type == "scatter"]
    assert len(heatmaps) == 2 and len(points) == 4  # 2 panels × 2 classes
    assert {t.name for t in points} == {"class 0", "class 1"}
    assert sum(t.showlegend for t in points) == 2  # one legend entry per class
    assert [a.text for a in fig.layout.annotations] == ["with", "without"]
    assert fig.layout.xaxis.title.text == "x1" and fig.layout.yaxis.title.text == "x2"
    assert heatmaps[0].zmin == -0.5 and heatmaps[0].zmax == 1.5
    assert len(points[1].x) == 2 and points[1].x[0] == 0.5
    assert_all_finite(fig)


def test_decision_boundary_of_a_diverged_run_is_a_message_not_data():
    xs, ys = np.linspace(-1, 1, 3), np.linspace(-1, 1, 3)
    X_test = np.array([[0.0, np.nan], [0.2, 0.3], [1.0, 1.0]])  # a NaN point is dropped, not drawn
    fig = decision_boundary(xs, ys, [np.ones((3, 3), int), None], X_test, np.array([0, 1, 0]), ["a", "b"],
                            {"x": "x1", "y": "x2", "class": "c{k}"}, empty_text="diverged")
    assert len([t for t in fig.data if t.type == "heatmap"]) == 1
    assert "diverged" in [a.text for a in fig.layout.annotations]
    assert_all_finite(fig)


def test_playground_histograms_keep_one_x_title_when_crowded():
    counts = [np.ones(len(HIST_EDGES) - 1)] * 5
    fig = histograms([counts, None], ["a", "b"], "tanh", [f"L{i}" for i in range(5)], HIST_AXIS, (BN_COLOR,) * 2)
    titles = [fig.layout[name].title.text for name in sorted(fig.layout) if name.startswith("xaxis")]
    assert titles.count("input") == 1 and fig.layout.xaxis.title.text == "input"
    fig = histograms([counts[:2], None], ["a", "b"], "tanh", ["L1", "L2"], HIST_AXIS, (BN_COLOR,) * 2)
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == "input"
    assert_all_finite(fig)


# ---- runs told apart by more than colour (issue 11, §5) ----

from lab.figures import covariate_shift as fig_ics  # noqa: E402
from lab.figures import gamma_beta as fig_gb  # noqa: E402
from lab.figures import inference as fig_inference  # noqa: E402
from lab.figures import inputs as fig_inputs  # noqa: E402
from lab.figures import playground as fig_playground  # noqa: E402
from lab.figures import saturation as fig_saturation  # noqa: E402
from lab.figures import timeline as fig_timeline  # noqa: E402

FIGURE_MODULES = (figures, fig_ics, fig_gb, fig_inference, fig_inputs, fig_playground, fig_saturation, fig_timeline)
NAMES2 = ("with", "without")


def _hists(r):
    return [r.dist_series(layer)[1][-1] for layer in range(r.n_layers)]


def _layers(r, name):
    return [r.layer_series(layer, name) for layer in range(r.n_layers)]


# Every builder that draws a run with BN and a run without it, drawn from the two runs.
TWO_RUNS = {
    "common.metric_curves": lambda bn, no: [figures.metric_curves([bn, no], NAMES2, ("L", "A"), AXIS,
                                                                  colors=(BN_COLOR, NO_BN_COLOR))],
    "common.mark_step": lambda bn, no: [go.Figure(figures.mark_step(
        figures.metric_curves([bn, no], NAMES2, ("L", "A"), AXIS, colors=(BN_COLOR, NO_BN_COLOR)), [bn, no], NAMES2,
        (BN_COLOR, NO_BN_COLOR), 30, "test").to_dict())],
    "common.layer_histograms": lambda bn, no: [figures.layer_histograms([_hists(bn), _hists(no)], NAMES2, "sigmoid",
                                                                        ["L1", "L2"], HIST_AXIS,
                                                                        colors=(BN_COLOR, NO_BN_COLOR))],
    "common.per_layer_lines": lambda bn, no: [figures.per_layer_lines(
        [bn.steps, no.steps], [_layers(bn, "grad_z"), _layers(no, "grad_z")], NAMES2, ["L1", "L2"], "g", "s",
        colors=(BN_COLOR, NO_BN_COLOR))],
    "covariate_shift.accuracy_figure": lambda bn, no: [fig_ics.accuracy_figure([no, bn], NAMES2[::-1],
                                                                               (NO_BN_COLOR, BN_COLOR), "t", "s", "a")],
    "covariate_shift.drift_figure": lambda bn, no: [fig_ics.drift_figure(
        [no.steps, bn.steps], [_layers(no, "drift"), _layers(bn, "drift")], NAMES2[::-1], (NO_BN_COLOR, BN_COLOR),
        ["L1", "L2"], "d", "s")],
    "covariate_shift.layer_fans": lambda bn, no: [fig_ics.layer_fans(
        [no.steps, bn.steps], [[r.dist_series(i)[0] for i in range(2)] for r in (no, bn)], NAMES2[::-1],
        (NO_BN_COLOR, BN_COLOR), ["L1", "L2"], "x", "s")],
    "covariate_shift.unit_bands": lambda bn, no: fig_ics.unit_bands(
        [no.steps, bn.steps], [r.dist_series(1)[0] for r in (no, bn)], NAMES2[::-1], (NO_BN_COLOR, BN_COLOR), "x",
        "s", ["b", "c"]),
    "inputs.first_layer_histograms": lambda bn, no: [fig_inputs.first_layer_histograms(
        [(no.dist_series(0)[0].ravel(), bn.dist_series(0)[0].ravel())], ["t"],
        dict(without_bn="without", with_bn="with", x="x", share="s"), 3.6)],
    "inputs.loss_curves": lambda bn, no: [fig_inputs.loss_curves([bn, bn], [no, no], ["a", "b"], ("w/o", "w"),
                                                                 dict(x="s", loss="l"))],
    "inputs.accuracy_bars": lambda bn, no: [fig_inputs.accuracy_bars([0.9, 0.8], [0.7, 0.6], ["a", "b"],
                                                                     dict(with_bn="with", without_bn="without",
                                                                          accuracy="acc"))],
    "playground.histograms": lambda bn, no: [fig_playground.histograms(
        [_hists(bn), _hists(no)], NAMES2, "tanh", ["L1", "L2"], HIST_AXIS, (BN_COLOR, NO_BN_COLOR))],
    "saturation.histograms_at_step": lambda bn, no: [fig_saturation.histograms_at_step(
        _hists(bn), _hists(no), NAMES2, "sigmoid", 3.6, ["L1", "L2"], HIST_AXIS)],
    "saturation.low_gradient_lines": lambda bn, no: [fig_saturation.low_gradient_lines((bn, no), NAMES2, "saturated",
                                                                                       ["L1", "L2"], "y", "s")],
    "saturation.grad_norm_lines": lambda bn, no: [fig_saturation.grad_norm_lines((bn, no), NAMES2, ["L1", "L2"],
                                                                                 "y", "s")],
}
# Builders that draw one run, or compare things that are not runs with and without BN (say why).
NOT_TWO_RUNS = {
    "common.percentile_band": "one run per figure (covariate_shift.unit_bands puts two side by side)",
    "gamma_beta.transform_histograms": "one unit of the BN run: x̂, y and sigmoid(y)",
    "gamma_beta.learned_params": "γ and β exist in the BN run only",
    "inference.mode_probabilities": "three ways to run one BN network",
    "inference.ema_trace": "statistics of one BN network",
    "inference.momentum_sweep": "momenta of one BN network",
    "inference.cost_bars": "three ways to compute BN",
    "playground.decision_boundary": "one titled panel per run; colours are classes",
    "timeline.gamma_beta_at_step": "γ and β exist in the BN run only",
    "timeline.with_play": "adds frames to a layer_histograms figure, whose styles it keeps",
    "inputs.weight_scale_bars": "one network's gradient and weight at two initial scales",
}
HELPERS = {"common.figure_data", "common.finite", "common.projector", "common.mark_divergence", "common.run_style",
           "common.shares",
           "common.style", "covariate_shift.band_range", "gamma_beta.edges_for", "gamma_beta.shares",
           "inputs.histogram", "inputs.x_limit", "saturation.legend_clear_of_axis_titles",
           "saturation.low_gradient_zones", "timeline.play_parts", "common.with_data",
           "common.step_line", "common.panels", "common.packed"}


def public_functions():
    import inspect

    return {f"{m.__name__.rsplit('.', 1)[1]}.{name}" for m in FIGURE_MODULES
            for name, f in inspect.getmembers(m, inspect.isfunction) if f.__module__ == m.__name__ and name[0] != "_"}


def test_every_figure_function_is_classified():
    """A new builder must say whether it draws two runs (and then get a style check below) or not."""
    classified = set(TWO_RUNS) | set(NOT_TWO_RUNS) | HELPERS
    assert public_functions() == classified, {"unclassified": public_functions() - classified,
                                              "gone": classified - public_functions()}


def run_of(trace):
    """"bn" / "no_bn" by the trace's colour (its line's, else its markers'); None for anything else."""
    colors = {getattr(getattr(trace, "line", None), "color", None), getattr(trace.marker, "color", None)}
    runs = {figures.RUN_OF_COLOR.get(c) for c in colors if isinstance(c, str)} - {None}
    return runs.pop() if len(runs) == 1 else None


def look(trace):
    """Everything but colour that tells a trace apart: kind, dash, marker symbol (when markers show), bar pattern."""
    if trace.type == "bar":
        return ("bar", trace.marker.pattern.shape or "")
    markers = "markers" in (trace.mode or "")
    return ("scatter", trace.line.dash or "solid", trace.marker.symbol if markers else None)


@pytest.mark.parametrize("builder", sorted(TWO_RUNS))
def test_two_runs_differ_by_more_than_colour(runs, builder):
    bn, no_bn, _ = runs
    looks = {"bn": set(), "no_bn": set()}
    for fig in TWO_RUNS[builder](bn, no_bn):
        for trace in fig.data:
            if (run := run_of(trace)) is not None and trace.x is not None and len(trace.x):
                looks[run].add(look(trace))
    assert looks["bn"] and looks["no_bn"], looks
    assert not looks["bn"] & looks["no_bn"], f"{builder}: the runs look alike but for colour: {looks}"


def test_run_style_for_run_colours_and_others():
    assert figures.run_style(BN_COLOR, "dash") == "solid" and figures.run_style(NO_BN_COLOR, "dash") == "dash"
    assert figures.run_style(NO_BN_COLOR, "pattern") == "/" and figures.run_style(BN_COLOR, "symbol") == "circle"
    assert figures.run_style("#009E73", "dash", "dot") == "dot"


# ---- the numbers behind a chart (shell.chart's data expander) ----

def test_figure_data_of_metric_curves_reads_every_point_by_panel(runs):
    bn, no_bn, _ = runs
    fig = figures.metric_curves([bn, no_bn], NAMES2, ("Loss", "Acc"), AXIS, colors=(BN_COLOR, NO_BN_COLOR))
    table = figures.figure_data(fig)
    assert list(table.columns) == ["panel", "series", "x", "y"]
    acc = table[(table.panel == "Acc") & (table.series == "without · test")]
    np.testing.assert_array_equal(acc.x, no_bn.steps)
    np.testing.assert_allclose(acc.y, no_bn.metric("test_acc"))
    assert set(table.panel) == {"Loss", "Acc"} and len(table) == 8 * len(bn.steps)


def test_figure_data_splits_a_band_into_its_edges_and_skips_legend_entries(runs):
    bn, _, _ = runs
    pct, _ = bn.dist_series(1)
    table = figures.figure_data(figures.percentile_band(bn.steps, pct, "with", BN_COLOR, "in", "s", title="T"),
                                edge_names=("hi", "lo"))
    high, low = table[table.series == "15–85% · hi"], table[table.series == "15–85% · lo"]
    np.testing.assert_allclose(high.y, pct[:, PERCENTILES.index(85)])
    np.testing.assert_allclose(low.y, pct[:, PERCENTILES.index(15)])
    np.testing.assert_array_equal(low.x, bn.steps)
    assert set(table.panel) == {"T"}
    legend_only = fig_inputs.loss_curves([bn], [bn], ["a"], ("w/o", "w"), dict(x="s", loss="l"))
    assert len(figures.figure_data(legend_only)) == 2 * len(bn.steps)  # the grey legend entry draws nothing


def test_figure_data_of_histograms_keeps_each_curve_in_its_layer(runs):
    bn, no_bn, _ = runs
    fig = figures.layer_histograms([_hists(bn), _hists(no_bn)], NAMES2, "sigmoid", ["L1", "L2"], HIST_AXIS)
    table = figures.figure_data(fig)
    assert set(table.panel) == {"L1", "L2"}
    for layer, panel in enumerate(("L1", "L2")):
        bars = table[(table.panel == panel) & (table.series == "with")]
        np.testing.assert_allclose(bars.y, figures.shares(_hists(bn)[layer]))
        assert len(table[(table.panel == panel) & (table.series == "act")]) == 241  # the curve on the right axis


def test_figure_data_of_a_heatmap_and_of_bars_with_names():
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-2, 2, 4)
    z = np.arange(20).reshape(4, 5) % 2
    fig = decision_boundary(xs, ys, [z, None], np.array([[0.0, 0.0]]), np.array([1]), ["P", "Q"],
                            {"x": "x1", "y": "x2", "class": "c{k}"})
    table = figures.figure_data(fig)
    cells = table[table.z.notna()]
    assert len(cells) == 20 and set(cells.panel) == {"P"}
    assert cells[(cells.x == xs[3]) & (cells.y == ys[2])].z.item() == z[2, 3]
    assert set(table[table.z.isna()].series) == {"c1"}  # the test point, in both panels
    bars = figures.figure_data(fig_inputs.accuracy_bars([0.9, np.nan], [0.7, 0.6], ["a", "b"],
                                                        dict(with_bn="with", without_bn="without", accuracy="acc")))
    assert bars[bars.series == "with"].y.tolist() == ["a"] and bars[bars.series == "without"].x.tolist() == [0.7, 0.6]


def test_a_step_line_is_what_plotly_draws_for_a_vertical_line_on_each_panel(runs):
    """step_line joins its lines in plain form: they must be the shapes add_vline makes, panel by panel."""
    bn, no_bn, _ = runs
    for fig in (figures.metric_curves([bn, no_bn], NAMES2, ("L", "A"), AXIS),
                fig_saturation.grad_norm_lines((bn, no_bn), NAMES2, ["L1", "L2"], "y", "s")):
        expected = go.Figure(fig)
        for col in range(1, len(figures.panels(fig.to_dict())) + 1):
            expected.add_vline(x=30, line=figures.STEP_LINE, row=1, col=col)
        assert figures.step_line(fig, 30).to_dict()["layout"]["shapes"] == expected.to_dict()["layout"]["shapes"]


def test_packed_arrays_hold_the_numbers_in_float32_and_plotly_takes_them():
    values = np.array([0.0, 0.00015625, 1 / 3, np.nan, -2.5e-9, 1.0])
    spec = figures.packed(values)
    assert set(spec) >= {"dtype", "bdata"} and spec["dtype"] == "f4"
    decoded = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
    np.testing.assert_array_equal(decoded, values.astype(np.float32))  # NaN too: a gap, as in a list
    fig = go.Figure({"data": [{"type": "bar", "y": spec}]})  # a valid figure part
    assert '"bdata"' in fig.to_json() and "0.00015625" not in fig.to_json()


def test_a_log_axis_within_a_decade_gets_one_two_five_ticks_written_out_whole():
    from lab.figures.beyond import one_two_five

    assert one_two_five(np.array([0.06, 0.45])) == [0.05, 0.1, 0.2, 0.5]
    assert one_two_five(np.array([0.3, 3.0])) == [0.2, 0.5, 1.0, 2.0]
    assert one_two_five(np.array([])) == []
