"""γ and β: the page in both languages (sliders, "undo BN"), its logic and its figures."""

import numpy as np
import pytest
import streamlit as st
from apptest_util import no_exception, open_page, takeaway_text

import bn_core as bc
from lab import runs
from lab.figures.gamma_beta import edges_for, learned_params, shares, transform_histograms
from lab.i18n import LANGS, translate
from lab.lessons import gamma_beta as gb
from lab.runs import cached

PAGE = "pages/gamma_beta.py"




def shown_unit(at):
    """The page's record, layer and unit, as the page chose them."""
    record = cached(gb.config(0))
    layer, unit = at.selectbox(key="gb_layer").value, at.selectbox(key="gb_unit").value
    return record, layer, unit, gb.Unit(gb.bn_inputs(record)[layer][:, unit], record.config.bn_eps)


@pytest.fixture(scope="module")
def record():
    return bc.train(gb.config(0).replace(steps=300))




# --- The page -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_page_draws_and_sliders_change_the_sentences(lang):
    st.session_state["lang"] = lang
    at = open_page(PAGE, lang=lang)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 4  # the three histograms, the learned γ/β, the gradient check, the biases
    assert at.title[0].value == translate(lang, "gamma_beta.title")
    assert at.slider(key="gb_gamma").value == 1.0 and at.slider(key="gb_beta").value == 0.0
    first = takeaway_text(at, 0).splitlines()[0]
    at.slider(key="gb_gamma").set_value(2.5).run()
    no_exception(at)
    second = takeaway_text(at, 0).splitlines()[0]
    assert first != second
    record, layer, unit_index, unit = shown_unit(at)
    y, _ = gb.transform(unit.x_hat, 2.5, 0.0)
    assert gb.fmt_pct(gb.linear_share(y)) in second


def test_undo_bn_gives_x_back_and_redraws_without_training(monkeypatch):
    at = open_page(PAGE, lang="en")
    record, layer, unit_index, unit = shown_unit(at)
    at.button(key="gb_undo").click().run()
    no_exception(at)
    gamma, beta = at.slider(key="gb_gamma").value, at.slider(key="gb_beta").value
    assert gamma == pytest.approx(unit.sigma, abs=1e-12) and beta == pytest.approx(unit.mu, abs=1e-12)
    y, _ = gb.transform(unit.x_hat, gamma, beta)
    np.testing.assert_allclose(y, unit.x, rtol=0, atol=1e-12)  # the paper's identity: y == x
    box = takeaway_text(at, 0)
    assert "y equals x up to" in box
    # Back to the learned values, then to plain normalization: a slider redraw without any training.
    at.button(key="gb_learned").click().run()
    gamma_l, beta_l = (float(p[unit_index]) for p in gb.learned(record, layer))
    assert at.slider(key="gb_gamma").value == pytest.approx(gamma_l)
    assert "y equals x up to" not in takeaway_text(at, 0)
    def no_training():
        raise AssertionError("a slider redraw asked the training pool for a run")

    monkeypatch.setattr(runs, "training_pool", no_training)
    at.button(key="gb_plain").click().run()
    no_exception(at)
    assert (at.slider(key="gb_gamma").value, at.slider(key="gb_beta").value) == (1.0, 0.0)


def test_layer_choice_preselects_its_own_unit():
    st.session_state["lang"] = "zh"
    at = open_page(PAGE, lang="zh")
    record = cached(gb.config(0))
    assert at.selectbox(key="gb_unit").value == gb.default_unit(record, 2)
    at.selectbox(key="gb_layer").set_value(0).run()
    no_exception(at)
    assert at.selectbox(key="gb_unit").value == gb.default_unit(record, 0)
    assert "What this run shows" not in takeaway_text(at, 0)


# --- Logic --------------------------------------------------------------------------------------------------------

def test_bn_inputs_leave_the_record_as_it_is(record):
    gamma_before = record.weights["bn1.gamma"].copy()
    mean_before = record.weights["bn1.running_mean"].copy()
    xs = gb.bn_inputs(record)
    assert len(xs) == 3 and all(x.shape == (gb.BATCH, 100) and x.dtype == np.float64 for x in xs)
    assert gb.bn_inputs(record) is xs  # cached by config
    np.testing.assert_array_equal(record.weights["bn1.gamma"], gamma_before)
    np.testing.assert_array_equal(record.weights["bn1.running_mean"], mean_before)  # running stats untouched


def test_unit_normalization_and_identity(record):
    unit = gb.Unit(gb.bn_inputs(record)[2][:, 7], record.config.bn_eps)
    assert abs(unit.x_hat.mean()) < 1e-9 and unit.x_hat.std() == pytest.approx(1, abs=1e-3)
    y, s = gb.transform(unit.x_hat, unit.sigma, unit.mu)
    np.testing.assert_allclose(y, unit.x, atol=1e-12)
    assert ((s > 0) & (s < 1)).all()
    assert gb.is_undone(unit, unit.sigma, unit.mu) and not gb.is_undone(unit, unit.sigma * 1.01, unit.mu)


def test_shares_and_tangent_gap():
    y = np.array([-5.0, -0.5, 0.0, 0.99, 1.0, 3.0, 4.0])
    assert gb.linear_share(y) == pytest.approx(3 / 7)
    assert gb.saturated_share(y) == pytest.approx(2 / 7)  # |y| > 3.64
    assert 0.015 < gb.tangent_gap() < 0.02


def test_sentences_follow_the_sliders(record):
    unit = gb.Unit(gb.bn_inputs(record)[2][:, 3], record.config.bn_eps)
    a = gb.sentences(unit, 1.0, 0.0, 1.2, 0.1)
    b = gb.sentences(unit, 3.0, 0.0, 1.2, 0.1)
    assert a[0] != b[0] and a[1:] == b[1:]
    undone = gb.sentences(unit, unit.sigma, unit.mu, 1.2, 0.1)
    assert "y equals x up to" in undone[2] and "y equals x up to" not in a[2]
    near = gb.sentences(unit, 1.0, 0.0, unit.sigma, unit.mu)
    assert translate("en", "gamma_beta.say_learned_near") in near[-2]
    far = gb.sentences(unit, 1.0, 0.0, 3 * unit.sigma, unit.mu)
    assert translate("en", "gamma_beta.say_learned_near") not in far[-2] and "is not undone" in far[-2]
    # either way, the caveat that σ_B follows the weights' scale is said
    assert near[-1] == far[-1] and "‖W‖" in near[-1]


def test_slider_ranges_hold_every_undo_and_learned_value(record):
    xs = gb.bn_inputs(record)
    learned = [gb.learned(record, i) for i in range(3)]
    g_max, b_max = gb.slider_ranges(xs, record.config.bn_eps, learned)
    assert g_max >= 3 and b_max >= 3
    for x, (g, b) in zip(xs, learned):
        assert np.sqrt(x.var(axis=0) + record.config.bn_eps).max() <= g_max and np.abs(x.mean(axis=0)).max() <= b_max
        assert np.abs(g).max() <= g_max and np.abs(b).max() <= b_max


def test_param_series_and_default_unit(record):
    gammas = gb.param_series(record, 1, "gamma")
    assert gammas.shape == (len(record.snapshots), 100)
    np.testing.assert_array_equal(gammas[0], np.ones(100))  # every run starts at γ = 1
    g, b = gb.learned(record, 1)
    u = gb.default_unit(record, 1)
    score = np.abs(np.log(np.abs(g))) + np.abs(b)
    assert score[u] == score.max()


# --- Figures ------------------------------------------------------------------------------------------------------

NAMES = {"x_hat": "x̂", "y": "y", "x": "x", "s": "s", "linear": "lin"}
AXIS = {"share": "share", "x_hat": "x̂", "y": "y axis", "s": "s axis"}


def test_transform_histograms(record):
    unit = gb.Unit(gb.bn_inputs(record)[2][:, 0], record.config.bn_eps)
    y, s = gb.transform(unit.x_hat, 2.0, 0.5)
    fig = transform_histograms(unit.x_hat, y, s, unit.x, ["a", "b", "c"], NAMES, AXIS)
    assert [tr.name for tr in fig.data] == ["x̂", "y", "x", "s", "lin"]
    assert [a.text for a in fig.layout.annotations][:3] == ["a", "b", "c"]
    assert len(fig.layout.shapes) == 2  # the linear region, shaded in panels 2 and 3
    assert fig.layout.xaxis2.title.text == "y axis" and fig.layout.yaxis.title.text == "share"
    for tr in fig.data[:4]:
        assert np.isfinite(np.asarray(tr.y, float)).all()
    assert sum(fig.data[1].y) == pytest.approx(1.0)


def test_histogram_helpers_drop_non_finite():
    edges = edges_for([0.0, 1.0, np.nan, np.inf])
    assert np.isfinite(edges).all() and edges[0] < 0 < 1 < edges[-1]
    assert shares([0.0, 1.0, np.nan], edges).sum() == pytest.approx(1.0)
    assert np.isfinite(edges_for([2.0, 2.0])).all()


def test_learned_params(record):
    gammas = [gb.param_series(record, i, "gamma") for i in range(3)]
    betas = [gb.param_series(record, i, "beta") for i in range(3)]
    fig = learned_params(record.steps, gammas, betas, 2, 5, {"median": "m", "band": "b", "unit": "u"},
                         ["L1", "L2", "L3"], {"x": "step", "gamma": "γ", "beta": "β"})
    assert len(fig.data) == 2 * 3 * 2 + 2  # band + median per panel, the unit's line in layer 3 (γ and β)
    assert [tr.name for tr in fig.data if tr.showlegend] == ["b", "m", "u"]
    assert fig.layout.yaxis.title.text == "γ" and fig.layout.yaxis4.title.text == "β"
    for tr in fig.data:
        assert np.isfinite(np.asarray(tr.y, float)).all()
