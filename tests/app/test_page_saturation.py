"""The lesson "Sigmoid saturation": its logic, its figure builders, and the page under AppTest."""
from functools import partial

import numpy as np
import pytest
from apptest_util import no_exception, open_page, takeaway_text
from conftest import in_language

from bn_core import ACTIVATIONS, HIST_EDGES, SIGMOID_SATURATION_X, TANH_SATURATION_X, activation_derivative, train
from lab.figures import saturation as fig
from lab.figures.common import BN_COLOR, NO_BN_COLOR, step_line
from lab.i18n import LANGS, fmt_num, fmt_pct, translate
from lab.lessons import common
from lab.lessons import saturation as lesson

PAGE = "pages/saturation.py"
EN = partial(translate, "en")


@pytest.fixture(scope="module")
def pair():
    """The page's default experiment, shortened: σ = 1.5 sigmoid, with and without BN."""
    bn, no = lesson.configs("sigmoid", lesson.DEFAULT_SIGMA["sigmoid"], 60, 0)
    return train(bn.replace(record_every=20)), train(no.replace(record_every=20))


def test_defaults_make_saturation_plain(pair):
    """Without BN most sigmoid inputs saturate at once; with BN almost none do."""
    record_bn, record_no_bn = pair
    assert lesson.at(record_no_bn, "saturated", 0).min() > 0.5
    assert lesson.at(record_bn, "saturated", 0).max() < 0.05


def test_every_activation_has_a_default_sigma_on_the_slider():
    assert set(lesson.DEFAULT_SIGMA) == set(ACTIVATIONS) and set(lesson.DEFAULT_SIGMA.values()) <= set(lesson.SIGMAS)
    assert lesson.BASE.init_sigma == lesson.DEFAULT_SIGMA[lesson.BASE.activation]


def test_thresholds_are_where_the_derivative_falls_to_a_tenth():
    assert lesson.threshold("sigmoid") == SIGMOID_SATURATION_X and lesson.threshold("tanh") == TANH_SATURATION_X
    for act, peak in (("sigmoid", 0.25), ("tanh", 1.0)):
        x = np.array([lesson.threshold(act)])
        assert activation_derivative(act, x)[0] == pytest.approx(0.1 * peak, rel=1e-6)
    assert lesson.low_gradient_measure("relu") == "dead"
    # a leaky ReLU unit is never dead (slope 0.01 below 0): its share of inputs ≤ 0 is shown under its own name
    assert lesson.low_gradient_measure("leaky_relu") == "saturated"
    assert lesson.LOW_GRADIENT["leaky_relu"][3] == "saturation.tk_below_zero"
    assert lesson.low_gradient_measure("tanh") == "saturated"


def test_configs_differ_in_bn_only():
    bn, no = lesson.configs("tanh", 0.5, 100, 3)
    assert bn.batchnorm and not no.batchnorm and bn.replace(batchnorm=False) == no
    assert (bn.activation, bn.init_sigma, bn.steps, bn.seed) == ("tanh", 0.5, 100, 3)


def test_reading_a_step(pair):
    record_bn, _ = pair
    assert list(record_bn.steps) == [0, 20, 40, 60] == common.recorded_steps(*pair)
    assert common.record_index(record_bn, 0) == 0 and common.record_index(record_bn, 39) == 1
    assert common.record_index(record_bn, 10_000) == 3 and common.record_index(None, 0) is None
    assert common.reached(record_bn, 60) and not common.reached(record_bn, 61)
    hists = common.hists_at(record_bn, 40)
    assert len(hists) == 3 and all(len(h) == len(HIST_EDGES) - 1 for h in hists)
    assert np.array_equal(hists[1], record_bn.dist_series(1)[1][2])
    assert lesson.series(record_bn, "grad_norm").shape == (3, 4)


def test_takeaways_follow_the_numbers_and_the_step(pair):
    record_bn, record_no_bn = pair
    at0 = lesson.takeaways("sigmoid", 0, record_bn, record_no_bn)
    at60 = lesson.takeaways("sigmoid", 60, record_bn, record_no_bn)
    assert at0 != at60 and "step 0" in at0[0] and "step 60" in at60[0]
    sat = lesson.at(record_no_bn, "saturated", 0)
    assert all(fmt_pct(v, 0) in at0[0] for v in sat)
    assert fmt_num(SIGMOID_SATURATION_X, 3) in at0[0]
    g = lesson.at(record_no_bn, "grad_norm", 60)
    assert fmt_num(g[0] / g[-1], 2) in at60[2]
    acc = common.last(record_bn, "test_acc")
    assert fmt_pct(acc, 1) in at60[-1]
    assert all("{" not in s for s in at0 + at60)
    with in_language("zh"):
        zh = lesson.takeaways("sigmoid", 0, record_bn, record_no_bn)
    assert len(zh) == len(at0) and zh != at0


@pytest.mark.parametrize("r_no, r_bn, key", [(0.3, 1.0, "vanish"), (3.5, 1.2, "grow"), (1.0, 1.2, "similar"),
                                              (0.5, 0.6, "similar"), (0.3, 0.6, "vanish"), (1.2, 3.0, "plain")])
def test_gradient_sentence_fits_the_ratios(r_no, r_bn, key):
    assert lesson.grad_phrase(r_no, r_bn) == f"saturation.tk_grad_{key}"


def test_divergence_message():
    bn, no = lesson.configs("relu", 3.0, 20, 0)
    record = train(no.replace(record_every=10))
    assert record.divergence is not None
    (message,) = common.divergence_messages(["without BN"], [record])
    assert f"step {record.divergence.step}" in message and EN("common.diverged_fix") in message


def test_histograms_at_step_figure(pair):
    record_bn, record_no_bn = pair
    axis = dict(x="input", share="share", activation="act", derivative="der")
    f = fig.histograms_at_step(common.hists_at(record_bn, 0), common.hists_at(record_no_bn, 0), ("BN", "no BN"),
                               "sigmoid", SIGMOID_SATURATION_X, ["l1", "l2", "l3"], axis)
    bars = [tr for tr in f.data if tr.type == "bar"]
    assert len(bars) == 6 and {tr.marker.color for tr in bars} == {BN_COLOR, NO_BN_COLOR}
    assert all(np.isfinite(np.asarray(tr.y, float)).all() for tr in bars)
    assert len([tr for tr in f.data if tr.type == "scatter"]) == 6  # activation + derivative per layer
    assert len(f.layout.shapes) == 6  # two saturated zones per layer
    assert f.layout.xaxis.title.text == "input" and f.layout.yaxis.title.text == "share"
    relu = fig.histograms_at_step(common.hists_at(record_bn, 0), common.hists_at(record_no_bn, 0), ("BN", "no BN"),
                                  "relu", 0.0, ["l1", "l2", "l3"], axis)
    assert len(relu.layout.shapes) == 3 and relu.layout.shapes[0].x1 == 0.0


def test_line_figures(pair):
    f = fig.low_gradient_lines(pair, ("BN", "no BN"), "saturated", ["l1", "l2", "l3"], "sat", "step")
    lines = [tr for tr in f.data if tr.type == "scatter"]
    assert len(lines) == 6 and all(np.isfinite(np.asarray(tr.y, float)).all() for tr in lines)
    assert [tr.line.color for tr in lines[::3]] == [BN_COLOR, NO_BN_COLOR]
    marked = step_line(f, 40).to_dict()["layout"]["shapes"]  # the step on screen, on every layer's panel
    assert [(s["x0"], s["xref"], s["yref"]) for s in marked] == [(40, "x", "y domain"), (40, "x2", "y2 domain"),
                                                                 (40, "x3", "y3 domain")]
    assert not f.layout.shapes  # the cached lines are left alone
    g = fig.grad_norm_lines(pair, ("BN", "no BN"), ["l1", "l2", "l3"], "norm", "step")
    assert g.layout.yaxis.type == "log" and g.layout.yaxis.title.text == "norm"
    assert all((np.asarray(tr.y, float) > 0).all() for tr in g.data)




@pytest.mark.parametrize("lang", LANGS)
def test_page_runs_draws_and_its_takeaways_follow_the_run(lang):
    at = open_page(PAGE, lang=lang)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 5 and not at.warning and not at.error  # + γ and β at the step
    first = takeaway_text(at)
    assert translate(lang, "saturation.tk_saturated").split("{")[0] in first
    at.select_slider(key="sat_steps").set_value(100).run()  # fewer steps keep the test fast
    no_exception(at)
    at.select_slider(key="sat_sigma").set_value(0.5).run()
    no_exception(at)
    second = takeaway_text(at)
    assert second and second != first and len(at.get("plotly_chart")) == 5
    at.select_slider[-1].set_value(0).run()  # the step slider: the sentences describe the step on screen
    no_exception(at)
    assert takeaway_text(at) != second


def test_switching_to_relu_counts_dead_units_and_resets_sigma():
    at = open_page(PAGE, lang="en")
    at.select_slider(key="sat_steps").set_value(100).run()
    at.selectbox(key="sat_activation").set_value("relu").run()
    no_exception(at)
    assert at.select_slider(key="sat_sigma").value == lesson.DEFAULT_SIGMA["relu"]
    text = takeaway_text(at)
    assert "dead ReLU units" in text and "saturated" not in text
    assert EN("saturation.dead_title").split("(")[0] in "\n".join(m.value for m in at.markdown)
    at.selectbox(key="sat_activation").set_value("leaky_relu").run()  # never "dead": inputs ≤ 0 by their name
    no_exception(at)
    text = takeaway_text(at)
    assert "dead" not in text and "at or below 0" in text
    assert EN("saturation.below_zero_title").split("(")[0] in "\n".join(m.value for m in at.markdown)


def test_a_diverged_run_is_reported_with_its_step_and_fix():
    at = open_page(PAGE, lang="en")
    at.select_slider(key="sat_steps").set_value(100).run()
    at.selectbox(key="sat_activation").set_value("relu").run()
    at.select_slider(key="sat_sigma").set_value(3.0).run()
    no_exception(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "diverged at step" in warnings and EN("common.diverged_fix") in warnings
    assert len(at.get("plotly_chart")) == 5


def test_the_accuracy_sentence_needs_two_runs_that_trained_every_step():
    """"After N steps ... reaches X%" is false for a run that diverged earlier: then it is not said."""
    bn, no = lesson.configs("relu", 3.0, 20, 0)
    record_bn, record_no = train(bn.replace(record_every=10)), train(no.replace(record_every=10))
    assert record_no.divergence is not None and record_bn.status == "finished"
    said = lesson.takeaways("relu", 0, record_bn, record_no)
    fine = lesson.takeaways("relu", 0, record_bn, record_bn)  # two finished runs: the accuracy sentence comes last
    assert len(fine) == len(said) + 1 and fine[:-1] != [] and fine[-1] not in said
    assert str(bn.steps) in fine[-1] and "%" in fine[-1]
