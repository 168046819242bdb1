"""Internal covariate shift (the paper's Figure 1): the page in both languages, its logic and its figures."""
import numpy as np
import pytest
import streamlit as st
from apptest_util import all_text, no_exception, open_page, takeaway_text

import bn_core as bc
from lab.figures.covariate_shift import accuracy_figure, band_range, drift_figure, layer_fans, unit_bands
from lab.i18n import LANGS, translate
from lab.lessons import covariate_shift as ics

PAGE = "pages/covariate_shift.py"
SMALL = {"ics_steps": 500}  # the page's smallest run, set before the page first draws


def open_ics(lang, **state):
    at = open_page(None, lang=lang)  # the entry point first (the shared sidebar), then the lesson
    for key, value in {**SMALL, **state}.items():
        at.session_state[key] = value
    at.switch_page(PAGE)
    return at.run()




@pytest.fixture(scope="module")
def runs():
    with_cfg, without_cfg = ics.configs(steps=500)
    return bc.train(with_cfg), bc.train(without_cfg)




# --- The page -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_page_draws_figure_1_and_says_what_the_run_shows(lang):
    st.session_state["lang"] = lang
    at = open_ics(lang)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 5  # accuracy, unit without / with BN, layer fans, drift
    assert at.title[0].value == translate(lang, "ics.title")
    box = takeaway_text(at)
    assert translate(lang, "ics.say_accuracy", steps=500, bn="X", no_bn="Y").split("X")[0] in box
    assert len(box.splitlines()) >= 5
    assert not at.error
    # The shared sidebar survived the page switch.
    assert at.sidebar.radio[0].value == lang


def test_takeaways_follow_the_run():
    at = open_ics("en")
    first = takeaway_text(at)
    at.select_slider(key="ics_sigma").set_value(0.5).run()
    no_exception(at)
    second = takeaway_text(at)
    assert first != second
    assert "After 500 steps" in second


def test_unit_is_preselected_from_the_numbers_and_can_be_changed():
    at = open_ics("en")
    with_cfg, without_cfg = ics.configs(steps=500)
    from lab.runs import cached
    best = ics.default_unit(cached(without_cfg))
    assert at.selectbox(key="ics_unit").value == best
    other = (best + 1) % 100
    before = takeaway_text(at)
    at.selectbox(key="ics_unit").set_value(other).run()
    no_exception(at)
    assert f"Unit {other}:" in takeaway_text(at) and takeaway_text(at) != before


def test_math_and_text_are_translated():
    st.session_state["lang"] = "zh"
    at = open_ics("zh")
    text = all_text(at)
    assert "内部协变量偏移" in text
    assert "What this run shows" not in text


# --- Logic --------------------------------------------------------------------------------------------------------

def test_configs_are_figure_1_and_differ_only_in_bn():
    with_cfg, without_cfg = ics.configs(steps=1000, sigma=0.1, lr=0.2, seed=3)
    assert with_cfg.batchnorm and not without_cfg.batchnorm
    assert with_cfg.replace(batchnorm=False) == without_cfg
    assert with_cfg.hidden == (100, 100, 100) and with_cfg.activation == "sigmoid" and with_cfg.batch_size == 60
    assert (with_cfg.init, with_cfg.init_sigma, with_cfg.lr, with_cfg.seed) == ("normal", 0.1, 0.2, 3)


def test_default_unit_is_the_one_that_moves_most_without_bn(runs):
    _, without_bn = runs
    movement = ics.median_movement(without_bn)
    assert movement.shape == (100,) and np.isfinite(movement).all() and (movement >= 0).all()
    unit = ics.default_unit(without_bn)
    assert movement[unit] == movement.max()
    med = ics.unit_percentiles(without_bn)[:, unit, ics.MEDIAN]
    kept = med[ics.settled(without_bn)]
    assert np.isclose(kept.max() - kept.min(), movement[unit])


def test_default_settings_reproduce_the_papers_picture():
    """The default small-σ Gaussian init (the page's first load): without BN the last layer's medians move far more,
    and the drift is clearly larger in every layer (the paper's Figure 1 b vs c); BN reaches 90% sooner."""
    with_bn, without_bn = (bc.train(c) for c in ics.configs())
    assert np.nanmean(ics.median_movement(without_bn)) > 3 * np.nanmean(ics.median_movement(with_bn))
    assert [ics.comparison(n, b) for n, b in zip(ics.mean_drift(without_bn), ics.mean_drift(with_bn))] == ["less"] * 3
    assert with_bn.first_step_reaching(ics.ACC_TARGET) < without_bn.first_step_reaching(ics.ACC_TARGET)
    assert translate("en", "ics.say_claim_holds") in ics.sentences(with_bn, without_bn, 0)


def test_step_reaching(runs):
    with_bn, _ = runs
    step = with_bn.first_step_reaching(0.5)
    acc = with_bn.metric("test_acc")
    assert step is not None and acc[list(with_bn.steps).index(step)] >= 0.5
    assert with_bn.first_step_reaching(1.01) is None


def test_comparison_words():
    assert ics.comparison(2.0, 1.0) == "less"
    assert ics.comparison(1.0, 2.0) == "more"
    assert ics.comparison(1.0, 1.1) == "same"


@pytest.mark.parametrize("no_bn, bn, key", [
    ([0.4, 0.3, 0.2], [0.1, 0.1, 0.1], "ics.say_claim_holds"),
    ([0.1, 0.1, 0.1], [0.1, 0.2, 0.11], "ics.say_claim_fails"),
    ([0.4, 0.1, 0.1], [0.1, 0.1, 0.3], "ics.say_claim_mixed"),
])
def test_drift_verdict_is_chosen_by_the_numbers(runs, monkeypatch, no_bn, bn, key):
    with_bn, without_bn = runs
    drift = {id(with_bn): np.array(bn), id(without_bn): np.array(no_bn)}
    monkeypatch.setattr(ics, "mean_drift", lambda record: drift[id(record)])
    said = ics.shift_sentences(with_bn, without_bn, unit=0)
    expected = translate("en", key, k=1, n=3)
    assert said[-1] == expected
    assert said[-2] == translate("en", "ics.say_drift", no_bn=", ".join(ics.fmt_num(v, 2) for v in no_bn),
                                 bn=", ".join(ics.fmt_num(v, 2) for v in bn), every=with_bn.record_every)


def test_unit_verdict_follows_the_numbers(runs):
    with_bn, without_bn = runs
    unit = ics.default_unit(without_bn)
    forward = ics.shift_sentences(with_bn, without_bn, unit)[0]
    swapped = ics.shift_sentences(without_bn, with_bn, unit)[0]
    assert translate("en", "ics.verdict_unit_more") in swapped
    assert "steadier with BN" in forward and "steadier with BN" not in swapped


def test_accuracy_sentence_phrasing(runs):
    with_bn, without_bn = runs
    s = ics.accuracy_sentences(with_bn, without_bn, target=0.5)
    a, b = with_bn.first_step_reaching(0.5), without_bn.first_step_reaching(0.5)
    assert f"step {a}" in s[1]
    s = ics.accuracy_sentences(with_bn, without_bn, target=1.01)
    assert s[1] == translate("en", "ics.say_reach_neither", target="101%", steps=500)
    s = ics.accuracy_sentences(with_bn, with_bn, target=0.5)
    assert s[1] == translate("en", "ics.say_reach_same", target="50%", a=a)
    assert b is None or b >= a


def test_short_run_says_so():
    record = bc.RunRecord(config=ics.configs()[0])
    assert ics.sentences(record, record, 0) == [translate("en", "ics.say_too_short")]


# --- Figures ------------------------------------------------------------------------------------------------------

def _all_finite(fig):
    for tr in fig.data:
        for axis in ("x", "y"):
            values = getattr(tr, axis, None)
            if values is not None and len(values):
                assert np.isfinite(np.asarray(values, float)).all(), (tr.name, axis)


def test_accuracy_figure(runs):
    fig = accuracy_figure(runs, ["with", "without"], ["blue", "orange"], "(a)", "step", "acc", target=0.9,
                          target_text="90%")
    assert len(fig.data) == 2 and [tr.name for tr in fig.data] == ["with", "without"]
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.title.text == "acc"
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].y0 == 0.9
    _all_finite(fig)


def test_unit_bands_share_one_y_axis(runs):
    pcts = [ics.unit_percentiles(r)[:, 5, :] for r in runs]
    figs = unit_bands([r.steps for r in runs], pcts, ["a", "b"], ["blue", "orange"], "input", "step", ["(b)", "(c)"])
    assert len(figs) == 2
    assert tuple(figs[0].layout.yaxis.range) == tuple(figs[1].layout.yaxis.range) == tuple(band_range(pcts))
    lo, hi = band_range(pcts)
    for pct in pcts:
        assert lo <= pct[:, 1].min() and pct[:, 3].max() <= hi
    for fig, title in zip(figs, ["(b)", "(c)"]):
        assert fig.layout.title.text == title and len(fig.data) == 4  # band + 15/50/85 lines
        _all_finite(fig)


def test_band_range_ignores_non_finite():
    pct = np.array([[0, -1, 0, 1, 2], [0, np.nan, 0, np.inf, 2]], float)
    lo, hi = band_range([pct])
    assert np.isfinite([lo, hi]).all() and lo < -1 and hi > 1


def test_layer_fans(runs):
    dists = [[r.dist_series(i)[0] for i in range(r.n_layers)] for r in runs]
    fig = layer_fans([r.steps for r in runs], dists, ["no BN", "BN"], ["orange", "blue"],
                     ["L1", "L2", "L3"], "input", "step")
    assert len(fig.data) == 2 * 3 * 3  # two nested bands and a median, per run and layer
    assert [a.text for a in fig.layout.annotations][:3] == ["no BN · L1", "no BN · L2", "no BN · L3"]
    assert fig.layout.yaxis.title.text == "input"
    assert all(fig.layout[f"yaxis{i}"].matches == "y" for i in range(2, 7))  # one vertical axis for all panels
    _all_finite(fig)


def test_drift_figure_drops_the_first_nan(runs):
    drift = [[r.layer_series(i, "drift") for i in range(r.n_layers)] for r in runs]
    assert np.isnan(drift[0][0][0])
    fig = drift_figure([r.steps for r in runs], drift, ["BN", "no BN"], ["blue", "orange"], ["L1", "L2", "L3"],
                       "drift", "step")
    assert len(fig.data) == 6
    assert fig.layout.yaxis.type == "log"
    for tr in fig.data:
        assert len(tr.x) == len(runs[0].steps) - 1
    _all_finite(fig)


def test_a_diverged_run_says_where_and_why_and_offers_the_fix(runs):
    """A run that diverged (planted in the run cache under the settings the page will ask for) is reported with its
    step, its reason and the fix; the page still draws what was recorded, without an exception."""
    import copy

    from lab import runs as run_cache
    with_bn, without_bn = runs
    settings = {"ics_steps": 500, "ics_sigma": 0.5, "ics_lr": 5.0}
    with_cfg, without_cfg = ics.configs(steps=500, sigma=0.5, lr=5.0)
    diverged = copy.copy(without_bn)
    diverged.snapshots = without_bn.snapshots[:10]
    diverged.status, diverged.divergence = "diverged", bc.record.Divergence(120, "exploding_loss", 123.0)
    run_cache.finished_runs.put(without_cfg, diverged)  # the shared cache train_runs reads first
    run_cache.finished_runs.put(with_cfg, with_bn)
    at = open_ics("en", **settings)
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "diverged at step 120" in message and translate("en", "divergence.exploding_loss") in message
    assert translate("en", "common.diverged_fix") in message
    assert len(at.get("plotly_chart")) == 5
