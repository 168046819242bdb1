"""The lesson "Inputs and initialization": its logic, its figure builders, and the page under AppTest."""

import numpy as np
import pytest
from apptest_util import no_exception, open_page, takeaway_text
from conftest import in_language

from bn_core import SIGMOID_SATURATION_X, TrainConfig, train, truncated_normal
from lab.figures import inputs as fig
from lab.figures.common import BN_COLOR, NO_BN_COLOR
from lab.i18n import LANGS, fmt_num, fmt_pct, translate
from lab.lessons import inputs as lesson
from lab.lessons.common import last

PAGE = "pages/inputs.py"
TINY = dict(steps=20, record_every=10)


def tiny_grid(axis="preprocessing", sigma=0.1, seed=0):
    return {c: (bn.replace(**TINY), no.replace(**TINY))
            for c, (bn, no) in lesson.grid(axis, "truncated_normal", "standardize", sigma, 200, seed).items()}


@pytest.fixture(scope="module")
def runs():
    grid = tiny_grid()
    records = {c: (train(bn), train(no)) for c, (bn, no) in grid.items()}
    firsts = {c: lesson.first_layer(*grid[c]) for c in grid}
    return grid, records, firsts


def test_grid_varies_one_knob_and_bn_only():
    for axis in lesson.AXES:
        grid = lesson.grid(axis, "he", "unit", 0.3, 100, 7)
        assert list(grid) == list(lesson.choices(axis)) and len(grid) == 4
        for choice, (bn, no) in grid.items():
            assert bn.batchnorm and not no.batchnorm and bn.replace(batchnorm=False) == no
            assert getattr(bn, axis) == choice and bn.init_sigma == 0.3 and bn.steps == 100 and bn.seed == 7
            other = "preprocessing" if axis == "init" else "init"
            assert getattr(bn, other) == {"init": "he", "preprocessing": "unit"}[other]


def test_truncated_variance_factor_matches_sampling():
    w = truncated_normal(np.random.default_rng(0), (400_000,), 1.0)
    assert abs(w.var() - lesson.truncated_variance_factor()) < 0.005
    assert 0.77 < lesson.truncated_variance_factor() < 0.78


def test_first_layer_scale_follows_sigma_without_bn_and_not_with_it():
    small = lesson.first_layer(*lesson.grid("init", "normal", "standardize", 0.1, 100, 0)["normal"])
    large = lesson.first_layer(*lesson.grid("init", "normal", "standardize", 1.0, 100, 0)["normal"])
    assert large.std_without == pytest.approx(10 * small.std_without, rel=1e-3)  # the same draws, ×10
    assert small.std_with == pytest.approx(1.0, abs=0.01) and large.std_with == pytest.approx(1.0, abs=0.01)
    assert large.saturated(large.without_bn) > 0.3 > small.saturated(small.without_bn)
    raw = lesson.first_layer(*lesson.grid("preprocessing", "normal", "raw", 0.1, 100, 0)["raw"])
    assert (raw.input_min, raw.input_max) == (0.0, 16.0)


def test_takeaways_are_built_from_the_runs(runs):
    grid, records, firsts = runs
    names = list(grid)
    rb, rn = [records[c][0] for c in names], [records[c][1] for c in names]
    sentences = lesson.takeaways("preprocessing", names, [firsts[c] for c in names], rb, rn)
    text = " ".join(sentences)
    acc_no = [last(r, "test_acc") for r in rn]
    assert fmt_pct(max(acc_no), 1) in text and fmt_pct(min(acc_no), 1) in text
    stds = [firsts[c].std_without for c in names]
    assert fmt_num(max(stds)) in text and names[int(np.argmax(stds))] in text
    assert fmt_num(SIGMOID_SATURATION_X, 3) in text
    assert all("{" not in s for s in sentences)
    with in_language("zh"):
        zh = lesson.takeaways("preprocessing", names, [firsts[c] for c in names], rb, rn)
    assert len(zh) == len(sentences) and zh != sentences


def test_spread_phrasing_depends_on_the_numbers():
    assert lesson.spread([0.5, 0.9, 0.7]) == pytest.approx((0.4, 0, 1))


def test_divergence_messages_name_the_step_and_the_fix():
    diverged = train(TrainConfig(batchnorm=False, init="normal", init_sigma=3.0, activation="relu", lr=5.0, **TINY))
    assert diverged.divergence is not None
    ok = train(TrainConfig(**TINY))
    messages = lesson.divergences(["raw"], [ok], [diverged])
    assert len(messages) == 1 and f"step {diverged.divergence.step}" in messages[0]
    assert translate("en", "common.diverged_fix") in messages[0]


def test_histogram_and_x_limit_ignore_non_finite_values():
    x, share = fig.histogram([0.0, 1.0, np.nan, np.inf, 100.0], limit=5.0)
    assert len(x) == fig.N_BINS and share.sum() == pytest.approx(1.0) and np.isfinite(share).all()
    assert share[-1] == pytest.approx(1 / 3)  # 100 clipped into the last bin; NaN and inf dropped
    assert fig.x_limit(np.array([0.1, -0.2])) == 5.0
    assert fig.x_limit(np.linspace(-40, 40, 1001)) > 39


def test_first_layer_histograms_figure(runs):
    grid, _, firsts = runs
    pairs = [(firsts[c].without_bn, firsts[c].with_bn) for c in grid]
    labels = dict(without_bn="no", with_bn="yes", x="x", share="share")
    f = fig.first_layer_histograms(pairs, list(grid), labels, SIGMOID_SATURATION_X)
    bars = [tr for tr in f.data if tr.type == "bar"]
    assert len(bars) == 8
    assert {tr.marker.color for tr in bars} == {BN_COLOR, NO_BN_COLOR}
    assert all(np.isfinite(np.asarray(tr.y, float)).all() for tr in bars)
    assert len(f.layout.shapes) == 4  # one "not saturated" band per panel
    assert f.layout.xaxis.title.text == "x" and f.layout.yaxis.title.text == "share"


class FakeRecord:
    def __init__(self, loss, acc):
        self.steps = np.arange(len(loss)) * 10
        self._m = dict(test_loss=np.asarray(loss, float), test_acc=np.asarray(acc, float))

    def metric(self, name):
        return self._m[name]


def test_loss_curves_drop_nan_and_keep_colours():
    good, bad = FakeRecord([2.3, 1.0, 0.5], [0.1, 0.5, 0.9]), FakeRecord([2.3, np.nan, np.inf], [0.1, 0.1, 0.1])
    f = fig.loss_curves([good, good], [bad, good], ["a", "b"], ("without", "with"), dict(x="step", loss="loss"))
    lines = [tr for tr in f.data if tr.showlegend is False]
    assert len(lines) == 4 and all(np.isfinite(np.asarray(tr.y, float)).all() for tr in lines)
    assert [len(tr.y) for tr in lines] == [1, 3, 3, 3]
    assert {tr.line.color for tr in lines[:2]} == {NO_BN_COLOR} and {tr.line.color for tr in lines[2:]} == {BN_COLOR}
    assert len({tr.line.dash for tr in lines[:2]}) == 2  # the choices differ by dash
    assert f.layout.xaxis.title.text == "step" and f.layout.yaxis.title.text == "loss"


def test_accuracy_bars_drop_nan():
    f = fig.accuracy_bars([0.9, 0.95], [np.nan, 0.5], ["a", "b"], dict(with_bn="w", without_bn="wo", accuracy="acc"))
    assert [list(tr.y) for tr in f.data] == [["a", "b"], ["b"]]
    assert [tr.marker.color for tr in f.data] == [BN_COLOR, NO_BN_COLOR]




@pytest.mark.parametrize("lang", LANGS)
def test_page_runs_draws_and_its_takeaways_follow_the_run(lang):
    at = open_page(PAGE, lang=lang)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 4
    assert translate(lang, "inputs.hist_title") in "\n".join(m.value for m in at.markdown)
    first = takeaway_text(at)
    assert first.count("\n- ") >= 5
    at.select_slider(key="inputs_steps").set_value(100).run()
    no_exception(at)
    at.select_slider(key="inputs_sigma").set_value(1.0).run()
    no_exception(at)
    second = takeaway_text(at)
    assert second and second != first
    assert len(at.get("plotly_chart")) == 4 and not at.error
    assert at.radio(key="inputs_axis").options == [translate(lang, "inputs.vary_preprocessing"),
                                                   translate(lang, "inputs.vary_init")]


# --- Scale invariance (§3.3) ---------------------------------------------------------------------------------------

def test_common_input_scalings_train_identically_with_bn_and_standardizing_does_not(runs):
    grid, records, firsts = runs
    names = list(grid)
    inv = lesson.input_invariance(names, [firsts[c] for c in names], [records[c][0] for c in names],
                                  [records[c][1] for c in names])
    gap_bn, gap_no = dict(zip(inv.choices, inv.gap_bn)), dict(zip(inv.choices, inv.gap_no_bn))
    assert gap_bn["raw"] == 0 and inv.steps == TINY["steps"]
    for choice in ("unit", "symmetric"):
        assert gap_bn[choice] <= lesson.ROUNDING_LOSS < gap_no[choice]
    assert gap_bn["standardize"] > lesson.ROUNDING_LOSS
    assert 0 < inv.eps_share < 1e-3
    table = lesson.invariance_table(inv)
    assert len(table) == 3 and "raw" not in list(table.iloc[:, 0])
    said = lesson.invariance_sentences(inv)
    assert said[0].startswith("With BN, raw pixels, [0, 1] and [−1, 1] trained identically")
    assert "differently" in said[1]


def test_loss_gap_compares_common_finite_records():
    a, b = FakeRecord([2.0, 1.0, 0.5], [0, 0, 0]), FakeRecord([2.0, 1.1], [0, 0])
    for r, loss in ((a, [2.0, 1.0, 0.5]), (b, [2.0, 1.1])):
        r._m["train_loss"] = np.asarray(loss)
        r.snapshots = loss
    assert lesson.loss_gap(a, b) == pytest.approx(0.1)
    b._m["train_loss"] = np.array([np.nan, np.nan])
    assert np.isnan(lesson.loss_gap(a, b))


def fake_invariance(common=1e-6, standardize=0.05, no_bn=1.0):
    return lesson.InputInvariance(tuple(lesson.PREPROCESSING), tuple(lesson.PREPROCESSING),
                                  tuple(0.0 if c == "raw" else standardize if c == "standardize" else common
                                        for c in lesson.PREPROCESSING),
                                  tuple(0.0 if c == "raw" else no_bn for c in lesson.PREPROCESSING), 200, 1e-4)


@pytest.mark.parametrize("kwargs, expected", [
    (dict(common=1e-6), ["inputs.inv_identical", "inputs.inv_standardize_differs"]),
    (dict(common=1e-3), ["inputs.inv_eps", "inputs.inv_standardize_differs"]),
    (dict(standardize=1e-6), ["inputs.inv_identical", "inputs.inv_standardize_same"]),
    (dict(common=np.nan), ["inputs.inv_incomplete"]),
])
def test_invariance_sentences_are_chosen_by_the_measured_gap(monkeypatch, kwargs, expected):
    monkeypatch.setattr(lesson, "t", lambda key, **p: key)
    assert lesson.invariance_sentences(fake_invariance(**kwargs)) == expected


def test_weights_times_a_keep_the_output_and_divide_the_gradient_by_a():
    ws = lesson.weight_scale("truncated_normal", "standardize", 0.1, 0)
    a = lesson.WEIGHT_FACTOR
    assert ws.output_gap < 1e-3 * ws.logit_scale
    np.testing.assert_allclose(ws.grad_ratio, 1 / a, rtol=1e-3)
    np.testing.assert_allclose(ws.relative_ratio, 1 / a**2, rtol=1e-3)
    np.testing.assert_allclose(ws.weight_scaled, a * ws.weight, rtol=1e-12)
    said = lesson.weight_scale_sentence(ws)
    assert "as §3.3 says" in said and "1/100" in said


def test_with_a_tiny_weight_scale_eps_breaks_the_invariance():
    ws = lesson.weight_scale("normal", "unit", 0.001, 0)
    assert np.abs(ws.grad_ratio * lesson.WEIGHT_FACTOR - 1).max() > lesson.RATIO_TOL
    assert "not quite" in lesson.weight_scale_sentence(ws)


@pytest.mark.parametrize("ratio, key", [(0.1, "inputs.ws_as_paper"), (0.105, "inputs.ws_eps")])
def test_weight_scale_sentence_is_chosen_by_the_measured_ratio(monkeypatch, ratio, key):
    monkeypatch.setattr(lesson, "t", lambda k, **p: k)
    ones = np.ones(3)
    ws = lesson.WeightScale(10.0, 0.0, 1.0, ones, ratio * ones, ones, 10 * ones)
    assert lesson.weight_scale_sentence(ws) == key


def test_weight_scale_figure():
    f = fig.weight_scale_bars([1.0, 2.0], [0.1, 0.2], [3.0, 3.0], [30.0, 30.0],
                              dict(titles=("g", "r"), names=("drawn", "scaled"), layers=["l1", "l2"]))
    assert len(f.data) == 4 and f.layout.yaxis.type == "log" and f.layout.yaxis2.type == "log"
    drawn, scaled = f.data[0], f.data[1]
    assert drawn.marker.color != scaled.marker.color and drawn.marker.pattern.shape != scaled.marker.pattern.shape
    assert list(scaled.text) == ["×0.1", "×0.1"] and list(f.data[3].text) == ["×0.01", "×0.01"]


def test_the_page_measures_scale_invariance_on_the_input_axis_only():
    at = open_page(PAGE, lang="zh")
    no_exception(at)
    assert len(at.table) == 1 and translate("zh", "inputs.inv_title") in [h.value for h in at.subheader]
    at.radio(key="inputs_axis").set_value("init").run()
    no_exception(at)
    assert len(at.table) == 0 and any(i.value == translate("zh", "inputs.inv_switch") for i in at.info)
    assert len(at.get("plotly_chart")) == 4  # the weight-scale chart is shown on both axes
