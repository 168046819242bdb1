"""Predict, then run (lab/lessons/questions.py and shell.predict): each verdict function decides from the run's
numbers — two configurations that give different verdicts each — says when its margin is small, and every lesson
page shows its questions and, once an answer is picked, the verdict of the run on screen, in both languages."""
from types import SimpleNamespace

import numpy as np
import pytest
from apptest_util import no_exception, open_page
from conftest import in_language

from bn_core import RunRecord, TrainConfig
from bn_core.record import LayerSnapshot, Snapshot
from lab import runs
from lab.i18n import LANGS, translate
from lab.lessons import covariate_shift as ics
from lab.lessons import gamma_beta as gb
from lab.lessons import inference as li
from lab.lessons import questions as q
from lab.lessons import saturation as sat

NAMES = ["A", "B", "C", "D"]


def record(test_acc, every=10, gamma=None, beta=None, **per_layer):
    """A RunRecord of synthetic snapshots: ``test_acc`` per record; ``per_layer``: saturated, dead, grad_z or drift
    as (records, layers) arrays; ``gamma``/``beta``: (records, layers, units)."""
    n = len(test_acc)
    n_layers = next((np.shape(v)[1] for v in per_layer.values()), np.shape(gamma)[1] if gamma is not None else 2)
    value = {name: np.asarray(per_layer.get(name, np.full((n, n_layers), 0.5)), float)
             for name in ("saturated", "dead", "grad_z", "drift")}
    snaps = [Snapshot(step=i * every, train_loss=1.0, train_acc=a, test_loss=1.0, test_acc=a, unit_percentiles=None,
                      layers=[LayerSnapshot(None, None, value["saturated"][i, j], value["dead"][i, j], 1.0,
                                            value["grad_z"][i, j], value["drift"][i, j],
                                            None if gamma is None else np.asarray(gamma[i][j], float),
                                            None if beta is None else np.asarray(beta[i][j], float))
                              for j in range(n_layers)])
             for i, a in enumerate(test_acc)]
    steps = (n - 1) * every
    return RunRecord(config=TrainConfig(steps=steps, record_every=every), snapshots=snaps, status="finished",
                     steps_done=steps, record_every=every)


def finals(accs):
    return [record([0.1, a]) for a in accs]


# ---- the margin ------------------------------------------------------------------------------------------------

def test_a_margin_is_small_below_its_threshold_and_when_unknown():
    assert q.Margin(0.019, q.SMALL_ACC, "pp").small and not q.Margin(0.021, q.SMALL_ACC, "pp").small
    assert q.Margin(float("nan"), q.SMALL_RATIO, "ratio").small
    assert q.Margin(0.03, q.SMALL_ACC, "pp").text() == "3 percentage points"
    with in_language("zh"):
        assert q.Margin(1.5, q.SMALL_RATIO, "ratio").text() == "1.5 倍"


# ---- Inputs and initialization ---------------------------------------------------------------------------------

def test_best_without_bn_is_the_highest_final_accuracy():
    v = q.best_without_bn(NAMES, finals([0.5, 0.9, 0.7, 0.6]))
    assert v.answer == "1" and not v.small and "B" in v.why and "90.0%" in v.why and "C (70.0%)" in v.why
    v = q.best_without_bn(NAMES, finals([0.9, 0.5, 0.7, 0.89]))
    assert v.answer == "0" and v.small  # a 1-point lead: another seed may well reorder them
    assert q.best_without_bn(NAMES, [record([np.nan, np.nan])] * 4).answer is None  # no finite accuracy at all


def test_bn_narrows_the_spread_when_its_accuracies_lie_closer():
    close, far = [0.9, 0.91, 0.9, 0.92], [0.5, 0.9, 0.7, 0.6]
    v = q.bn_narrows_spread(finals(close), finals(far))
    assert v.answer == "yes" and "40" in v.why and "2" in v.why and not v.small
    assert q.bn_narrows_spread(finals(far), finals(close)).answer == "no"


def test_worst_with_bn_against_best_without():
    v = q.worst_bn_beats_best_no_bn(NAMES, finals([0.9, 0.95, 0.92, 0.91]), finals([0.5, 0.8, 0.7, 0.6]))
    assert v.answer == "yes" and "A" in v.why and "B" in v.why
    v = q.worst_bn_beats_best_no_bn(NAMES, finals([0.6, 0.95, 0.92, 0.91]), finals([0.5, 0.8, 0.7, 0.6]))
    assert v.answer == "no" and not v.small


# ---- Sigmoid saturation ----------------------------------------------------------------------------------------

def saturated(at_start, last=0.0):
    return record([0.1, 0.5], saturated=[at_start, [last] * len(at_start)])


def test_more_saturated_at_start_both_ways_and_about_the_same():
    v = q.more_low_gradient_at_start("sigmoid", saturated([0.0, 0.01]), saturated([0.6, 0.7]))
    assert v.answer == "no_bn" and "70.0%" in v.why and "1.0%" in v.why and not v.small
    assert q.more_low_gradient_at_start("sigmoid", saturated([0.8, 0.9]), saturated([0.1, 0.2])).answer == "bn"
    v = q.more_low_gradient_at_start("tanh", saturated([0.10, 0.10]), saturated([0.10, 0.11]))
    assert v.answer == "same" and not v.small  # 1 point apart: 4 points inside the band of 5
    v = q.more_low_gradient_at_start("tanh", saturated([0.10, 0.10]), saturated([0.10, 0.14]))
    assert v.answer == "same" and v.small  # 4 points apart: 1 point from "more without BN"


def test_relu_asks_about_dead_units():
    dead_bn = record([0.1, 0.5], dead=[[0.0, 0.0], [0.0, 0.0]])
    dead_no = record([0.1, 0.5], dead=[[0.3, 0.5], [0.3, 0.5]])
    v = q.more_low_gradient_at_start("relu", dead_bn, dead_no)
    assert v.answer == "no_bn" and translate("en", "questions.what_dead") in v.why
    questions = q.saturation("relu", dead_bn, dead_no)
    assert translate("en", "questions.what_dead") in questions[0].text


def test_more_gradient_reaches_layer_one():
    flat, fading = [[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.01, 1.0]]
    v = q.more_gradient_reaches_layer_one(record([0.1, 0.5], grad_z=flat), record([0.1, 0.5], grad_z=fading))
    assert v.answer == "bn" and "0.01×" in v.why and not v.small
    v = q.more_gradient_reaches_layer_one(record([0.1, 0.5], grad_z=fading), record([0.1, 0.5], grad_z=flat))
    assert v.answer == "no_bn"
    near = [[1.0, 1.0], [0.9, 1.0]]
    assert q.more_gradient_reaches_layer_one(record([0.1, 0.5], grad_z=flat), record([0.1, 0.5], grad_z=near)).small


def test_higher_accuracy():
    v = q.higher_accuracy(record([0.1, 0.9]), record([0.1, 0.7]))
    assert v.answer == "bn" and "90.0%" in v.why and "70.0%" in v.why
    assert q.higher_accuracy(record([0.1, 0.7]), record([0.1, 0.9])).answer == "no_bn"


# ---- Internal covariate shift ----------------------------------------------------------------------------------

FAST, SLOW, NEVER = [0.1, 0.5, 0.92, 0.95, 0.96], [0.1, 0.3, 0.5, 0.8, 0.91], [0.1, 0.3, 0.5, 0.6, 0.7]


def test_first_to_the_target():
    v = q.first_to_target(record(FAST), record(SLOW))
    assert v.answer == "bn" and "step 20" in v.why and "step 40" in v.why and v.margin.value == 2
    assert q.first_to_target(record(SLOW), record(FAST)).answer == "no_bn"
    v = q.first_to_target(record(NEVER), record(FAST))
    assert v.answer == "no_bn" and "70.0%" in v.why and v.margin.unit == "pp"
    v = q.first_to_target(record(NEVER), record([0.1, 0.89]))
    assert v.answer == "neither" and v.small  # 89% is one point short of 90%
    assert q.first_to_target(record(FAST), record(FAST)).answer is None  # a tie says so instead


def test_drift_smaller_in_every_layer():
    small, large = [[np.nan, np.nan], [0.1, 0.2], [0.1, 0.2]], [[np.nan, np.nan], [0.5, 0.4], [0.5, 0.4]]
    v = q.drift_smaller_in_every_layer(record([0.1, 0.5, 0.9], drift=small), record([0.1, 0.5, 0.9], drift=large))
    assert v.answer == "yes" and v.margin.value == pytest.approx(2.0) and "0.5, 0.4" in v.why
    mixed = [[np.nan, np.nan], [0.1, 0.8], [0.1, 0.8]]
    v = q.drift_smaller_in_every_layer(record([0.1, 0.5, 0.9], drift=mixed), record([0.1, 0.5, 0.9], drift=large))
    assert v.answer == "no" and v.margin.value == pytest.approx(2.0)


# ---- γ and β ---------------------------------------------------------------------------------------------------

def learned(gammas, betas=None, units=6):
    """A BN run whose last record has these γ (and β) per layer, the same for every unit."""
    betas = betas or [0.0] * len(gammas)
    start = [[np.ones(units), np.zeros(units)] for _ in gammas]
    end = [[np.full(units, g), np.full(units, b)] for g, b in zip(gammas, betas)]
    return record([0.1, 0.9], gamma=[[p[0] for p in start], [p[0] for p in end]],
                  beta=[[p[1] for p in start], [p[1] for p in end]])


def test_gamma_above_or_below_one():
    v = q.gamma_above_one(learned([1.0, 1.5]))
    assert v.answer == "above" and "1.5" in v.why and not v.small
    assert q.gamma_above_one(learned([1.0, 0.7])).answer == "below"
    assert q.gamma_above_one(learned([1.0, 1.02])).small


def test_learned_gamma_beta_and_the_linear_region():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(250, 6))  # any BN input: it is normalized first
    v = q.learned_widens_linear_region(learned([1.0, 0.1]), x)
    plain, narrow = q.linear_shares(learned([1.0, 0.1]), x, 1e-5)
    assert v.answer == "more" and narrow == 1.0 and plain == pytest.approx(gb.linear_share((x - x.mean(0)) / x.std(0)))
    assert q.learned_widens_linear_region(learned([1.0, 3.0], [0.0, 2.0]), x).answer == "fewer"


def test_layer_whose_gamma_moves_most():
    v = q.layer_moving_gamma_most(learned([1.1, 2.0, 0.9]))
    assert v.answer == "1" and "layer 2" in v.why and not v.small
    assert q.layer_moving_gamma_most(learned([3.0, 1.2, 1.0])).answer == "0"


# ---- BN at inference -------------------------------------------------------------------------------------------

def test_best_way_to_run_the_network():
    v = q.best_mode(SimpleNamespace(acc_train_random=0.9, acc_train_same=0.3, acc_eval=0.95))
    assert v.answer == "eval" and "95.0%" in v.why and "30.0%" in v.why and not v.small
    v = q.best_mode(SimpleNamespace(acc_train_random=0.955, acc_train_same=0.3, acc_eval=0.95))
    assert v.answer == "train_random" and v.small


def test_closest_momentum_group():
    assert {q.momentum_group(m) for m in li.MOMENTA} == set(q.MOMENTUM_GROUPS)  # every momentum has its group
    gaps = np.array([0.8, 0.6, 0.4, 0.1, 0.05, 0.09, 0.2, 0.4])  # best at 0.1
    v = q.closest_momentum(SimpleNamespace(momenta=li.MOMENTA, mean_gap=gaps))
    assert v.answer == "middle" and "α = 0.1" in v.why and v.margin.value == pytest.approx(0.2 / 0.05)
    v = q.closest_momentum(SimpleNamespace(momenta=li.MOMENTA, mean_gap=[0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.1, 0.2]))
    assert v.answer == "large" and v.margin.value == pytest.approx(3.0)
    v = q.closest_momentum(SimpleNamespace(momenta=li.MOMENTA, mean_gap=np.linspace(0.1, 0.9, 8)))
    assert v.answer == "small"


def test_a_verdict_speaks_the_users_language():
    with in_language("zh"):
        v = q.higher_accuracy(record([0.1, 0.9]), record([0.1, 0.7]))
        questions = q.saturation("sigmoid", saturated([0.0, 0.0]), saturated([0.5, 0.5]))
    assert v.why == translate("zh", "questions.accuracy_why", bn="90.0%", no="70.0%")
    assert questions[2].text == translate("zh", "questions.accuracy", steps=10)
    assert questions[0].options["bn"] == translate("zh", "common.with_bn")


# ---- the pages -------------------------------------------------------------------------------------------------

def page_questions(page, at, lang):
    """The questions the page asks, built by the test from the same (cached) runs the page trained."""
    with in_language(lang):
        if page == "saturation":
            base = sat.BASE
            return q.saturation(base.activation, *runs.train_runs(sat.configs(base.activation, base.init_sigma,
                                                                              base.steps, 0)))
        if page == "covariate_shift":
            return q.covariate_shift(*runs.train_runs(ics.configs(seed=0)))
        if page == "gamma_beta":
            (rec,) = runs.train_runs([gb.config(0)])
            return q.gamma_beta(rec, gb.bn_inputs(rec)[-1])
        if page == "inference":
            (run,) = runs.run_tasks([li.stats_task(li.DEFAULT_CONFIG)])
            return q.inference(run, li.TRAIN_MOMENTUM, li.momentum_sweep(run))
        from lab.lessons import inputs as lesson

        b = lesson.BASE
        grid = lesson.grid("preprocessing", b.init, b.preprocessing, b.init_sigma, b.steps, 0)
        recs = runs.train_runs([c for pair in grid.values() for c in pair])
        names = at.radio(key=f"predict_inputs_best@{lang}").options  # the choices' labels, as the page shows them
        return q.inputs("preprocessing", names, recs[0::2], recs[1::2])


def boxes(at):
    return [str(e.value) for e in (*at.success, *at.info)]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", ["inputs", "saturation", "covariate_shift", "gamma_beta", "inference"])
def test_a_lesson_page_asks_first_and_answers_from_its_run(page, lang):
    at = open_page(f"pages/{page}.py", lang=lang)
    no_exception(at)
    asked = page_questions(page, at, lang)
    assert 2 <= len(asked) <= 3
    supports = translate(lang, "questions.supports", answer="").split("**")[0]
    assert not any(supports in b for b in boxes(at))  # nothing is said before an answer is picked
    for i, question in enumerate(asked):
        radio = at.radio(key=f"predict_{question.key}@{lang}")
        assert radio.label == question.text and radio.value is None
        assert radio.options == list(question.options.values())
        verdict = question.verdict
        # the run's own answer for the first question, another one for the rest
        pick = verdict.answer if i == 0 and verdict.answer is not None else next(
            o for o in question.options if o != verdict.answer)
        radio.set_value(pick)
    at.run()
    no_exception(at)
    shown = boxes(at)
    for i, question in enumerate(asked):
        verdict = question.verdict
        box = next(b for b in shown if verdict.why in b)
        if verdict.answer is None:
            continue
        answer = question.options[verdict.answer]
        assert translate(lang, "questions.supports", answer=answer) in box
        agreed = i == 0
        assert (translate(lang, "questions.you_agree") in box) == agreed
        small = translate(lang, "questions.small_margin", margin="", threshold="").split("（")[0].split("(")[0]
        assert (small in box) == verdict.small
