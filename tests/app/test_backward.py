"""The backward-pass section of the γ and β lesson: the live gradient check, the §2 bias demo, their sentences (each
family on both sides of its condition), figures, and the page section in both languages."""
import dataclasses

import numpy as np
import pytest
import streamlit as st
from apptest_util import all_text, no_exception, open_page, takeaway_text

import bn_core as bc
from lab.figures import backward as fig
from lab.figures.common import BN_COLOR
from lab.i18n import LANGS, translate
from lab.lessons import backward as bw
from lab.lessons import gamma_beta as gb
from lab.runs import run_tasks

PAGE = "pages/gamma_beta.py"


@pytest.fixture(scope="module")
def record():
    return bc.train(gb.config(0).replace(hidden=(20, 20), steps=60, record_every=30))


def test_the_loss_from_a_bn_input_is_the_networks_loss(record):
    X, y = gb.demo_batch(record.config)
    model = bw.float64_model(record)
    loss, _ = bc.softmax_cross_entropy(model.forward(X.astype(np.float64), update_stats=False), y)
    x = np.array(model.hidden[1].bn.x)
    assert bw.loss_from_bn_input(model, 1, x, y) == pytest.approx(loss, rel=1e-12)
    assert bw.loss_from_bn_input(model, 1, x * 1.1 + 0.3, y) != pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("layer, unit", [(0, 3), (1, 17)])
def test_the_live_check_agrees_with_central_differences(record, layer, unit):
    check = bw.gradient_check(record, layer, unit)
    assert check.m == gb.BATCH and check.analytic.shape == check.numerical.shape == (gb.BATCH,)
    assert max(check.error, check.gamma_error, check.beta_error) < bw.GRADCHECK_TOL
    np.testing.assert_allclose(check.ignoring + check.via_var + check.via_mu, check.analytic, rtol=1e-10, atol=1e-18)
    assert check.ignoring_error > 100 * check.error  # ignoring μ_B and σ_B is visibly wrong
    assert np.linalg.norm(check.analytic) > 0
    assert bw.gradient_check(record, layer, unit) is check  # cached


def fake_check(error=1e-9, ignoring_error=0.3):
    """A GradCheck whose relative errors are the given ones (numerical = 1; the others set to match)."""
    numerical = np.ones(4)
    return bw.GradCheck(0, 2, 4, numerical * (1 + error), numerical, numerical * (1 + ignoring_error),
                        np.zeros(4), np.zeros(4), (1.0, 1.0), (2.0, 2.0))


@pytest.mark.parametrize("error, key", [(1e-9, "backward.say_check_ok"), (1e-3, "backward.say_check_off")])
def test_the_check_sentence_follows_the_measured_error(monkeypatch, error, key):
    monkeypatch.setattr(bw, "t", lambda k, **p: k)
    assert bw.check_sentences(fake_check(error=error))[0] == key


@pytest.mark.parametrize("ignoring_error, key", [(0.3, "backward.say_paths_wrong"),
                                                  (1e-3, "backward.say_paths_close")])
def test_the_paths_sentence_follows_the_ignoring_error(monkeypatch, ignoring_error, key):
    monkeypatch.setattr(bw, "t", lambda k, **p: k)
    assert bw.check_sentences(fake_check(ignoring_error=ignoring_error))[1] == key


def test_check_sentences_quote_the_numbers(record):
    check = bw.gradient_check(record, 0, 3)
    ok, paths = bw.check_sentences(check)
    worst = max(check.error, check.gamma_error, check.beta_error)
    assert f"{worst:.1e}" in ok and "unit 3 of layer 1" in ok
    assert f"{check.ignoring_error:.1e}" in paths and bw.fmt_num(np.linalg.norm(check.via_mu), 3) in paths
    table = bw.check_rows(check)
    assert list(table.iloc[:, 3]) == [f"{e:.1e}" for e in (check.error, check.gamma_error, check.beta_error,
                                                          check.ignoring_error)]


# --- The §2 demo --------------------------------------------------------------------------------------------------

SMALL = bw.BIAS_DEMO.replace(hidden=(16, 16), steps=100, record_every=10)


@pytest.fixture(scope="module")
def bias_runs():
    tasks = [bc.bias_growth_steps(SMALL, ignore) for ignore in (False, True)]
    return [list(task)[-1] for task in tasks]


def test_bias_tasks_run_through_lab_runs_and_are_cached(monkeypatch):
    monkeypatch.setattr(bw, "BIAS_DEMO", SMALL)
    tasks = bw.bias_tasks(seed=3)
    assert tasks[0].key != tasks[1].key and tasks[0].total == SMALL.steps
    seen = []
    true_bn, ignoring = run_tasks(tasks, on_progress=lambda p: seen.append(p.fraction))
    assert true_bn.done and not true_bn.ignore_stats and ignoring.ignore_stats and true_bn.config.seed == 3
    assert seen and all(0 <= f <= 1 for f in seen)  # progress while the pool trained
    again = []
    assert run_tasks(tasks, on_progress=again.append)[1] is ignoring and not again  # cached: no training


def test_bias_sentences_say_what_the_runs_show(bias_runs):
    true_bn, ignoring = bias_runs
    zero, grows, still = bw.bias_sentences(true_bn, ignoring)
    assert zero.startswith("With BN's true gradient, ∂ℓ/∂b is") and "drops it" in zero
    b = bw.mean_bias(ignoring)
    assert bw.fmt_num(b[-1], 3) in grows and "growing steadily" in grows
    assert "did not move" in still and bw.fmt_num(ignoring.loss[0], 3) in still


def test_mean_bias_weights_layers_by_width():
    run = bc.BiasGrowth(SMALL.replace(hidden=(10, 30)), True, steps=(0,), bias=((1.0, 3.0),))
    assert bw.mean_bias(run) == pytest.approx([2.5])


def fake_runs(true_grad=1e-17, late=2.0, loss_change=0.0):
    """(true BN, ignoring) values: the ignoring run's mean |b| is 1 halfway and ``late`` at the end."""
    steps = (0, 50, 100)
    true_bn = bc.BiasGrowth(SMALL, False, steps, ((0.0, 0.0),) * 3, (2.3,) * 3, (0.0, true_grad, true_grad),
                            100, True)
    ignoring = bc.BiasGrowth(SMALL, True, steps, ((0.0, 0.0), (1.0, 1.0), (late, late)),
                             (2.3, 2.3, 2.3 + loss_change), (0.0, 0.5, 0.5), 100, True)
    return true_bn, ignoring


@pytest.mark.parametrize("kwargs, index, key", [
    (dict(true_grad=1e-17), 0, "backward.say_true_zero"), (dict(true_grad=1e-6), 0, "backward.say_true_moves"),
    (dict(late=2.0), 1, "backward.say_ignoring_grows"), (dict(late=1.2), 1, "backward.say_ignoring_stalls"),
    (dict(loss_change=1e-13), 2, "backward.say_loss_still"), (dict(loss_change=1e-3), 2, "backward.say_loss_moves"),
])
def test_each_bias_sentence_is_chosen_by_its_condition(monkeypatch, kwargs, index, key):
    monkeypatch.setattr(bw, "t", lambda k, **p: k)
    assert bw.bias_sentences(*fake_runs(**kwargs))[index] == key


# --- Figures ------------------------------------------------------------------------------------------------------

def test_gradient_check_figure(record):
    check = bw.gradient_check(record, 0, 3)
    f = fig.gradient_check(check.numerical, check.analytic, check.ignoring,
                           dict(x="n", y="a", analytic="rule", ignoring="ign", diagonal="diag"))
    diagonal, analytic, ignoring = f.data
    assert analytic.marker.color == BN_COLOR and ignoring.marker.color != BN_COLOR
    assert analytic.marker.symbol != ignoring.marker.symbol
    assert list(analytic.x) == list(check.numerical) and f.layout.xaxis.title.text == "n"


def test_bias_figure_tells_runs_apart_and_keeps_a_flat_loss_flat(bias_runs):
    f = fig.bias_growth([r.steps for r in bias_runs], [bw.mean_bias(r) for r in bias_runs],
                        [r.loss for r in bias_runs], ["true", "ignoring"],
                        dict(titles=("b", "loss"), x="step", bias="|b|", loss="loss"))
    assert len(f.data) == 4
    true_line, ignoring_line = f.data[0], f.data[2]
    assert true_line.line.color != ignoring_line.line.color and true_line.line.dash != ignoring_line.line.dash
    assert f.layout.yaxis2.range[0] == 0 and f.layout.yaxis2.range[1] > max(bias_runs[0].loss)


# --- The page -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_the_page_shows_the_backward_pass(monkeypatch, lang):
    monkeypatch.setattr(bw, "BIAS_DEMO", SMALL)
    st.session_state["lang"] = lang  # AppTest formats the unit selectbox's options in the test process
    at = open_page(PAGE, lang=lang)
    no_exception(at)
    text = all_text(at)
    for key in ("backward.title", "backward.check_title", "backward.bias_title"):
        assert translate(lang, key) in text
    assert any(r"\frac{\partial \ell}{\partial \mu_\mathcal{B}}" in str(el.value) for el in at.latex)
    assert len(at.table) == 1 and len(at.get("plotly_chart")) == 4
    check_box, bias_box = takeaway_text(at, -2), takeaway_text(at, -1)
    assert translate(lang, "backward.say_check_ok").split("{")[0] in check_box
    assert translate(lang, "backward.say_true_zero").split("{")[0] in bias_box
    # another unit: the check follows the page's choice
    at.selectbox(key="gb_unit").set_value(0).run()
    no_exception(at)
    assert takeaway_text(at, -2) != check_box


def test_no_placeholder_is_left_in_the_sentences(record, bias_runs):
    sentences = bw.check_sentences(bw.gradient_check(record, 0, 3)) + bw.bias_sentences(*bias_runs)
    assert all("{" not in s for s in sentences)
    replaced = dataclasses.replace(bias_runs[1], grad=(0.0,) * len(bias_runs[1].grad))
    assert all("{" not in s for s in bw.bias_sentences(bias_runs[0], replaced))
