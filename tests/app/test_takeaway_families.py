"""Every "What this run shows" sentence is chosen by a condition on the run's numbers, and the condition is what the
sentence says. For each family with a condition: two made-up sets of numbers, one on either side of it (issue 8 §2).
The lessons' ``t`` is replaced by one that returns the key, so each test reads which sentence was chosen."""
from types import SimpleNamespace

import numpy as np
import pytest

from bn_core import RunRecord
from lab.lessons import covariate_shift as ics
from lab.lessons import gamma_beta as gb
from lab.lessons import inference as li
from lab.lessons import inputs
from lab.lessons import playground as pg
from lab.lessons import saturation as sat


@pytest.fixture(autouse=True)
def keys_only(monkeypatch):
    for module in (inputs, sat, ics, gb, li, pg):
        monkeypatch.setattr(module, "t", lambda key, **p: key)


def fake_record(acc=(0.5, 0.9), loss=None, steps=None, status="finished", divergence=None, config=None):
    acc = np.asarray(acc, float)
    steps = np.arange(len(acc)) * 10 if steps is None else np.asarray(steps)
    metrics = {"test_acc": acc, "test_loss": np.asarray(loss if loss is not None else 1 - acc, float)}
    r = SimpleNamespace(snapshots=list(range(len(acc))), steps=steps, status=status, divergence=divergence,
                        steps_done=int(steps[-1]), done=status in ("finished", "diverged"),
                        config=config or SimpleNamespace(steps=int(steps[-1])), metric=lambda m: metrics[m])
    r.first_step_reaching = lambda target, metric="test_acc": RunRecord.first_step_reaching(r, target, metric)
    return r


# --- Inputs and initialization -------------------------------------------------------------------------------------

def first_layer(saturated_share):
    """A FirstLayer whose no-BN values have this share beyond the sigmoid's saturation point."""
    n_sat = int(round(1000 * saturated_share))
    without = np.concatenate([np.full(n_sat, 5.0), np.zeros(1000 - n_sat)])
    return inputs.FirstLayer(without, np.zeros(1000), 0.0, 1.0)


def inputs_keys(acc_bn, acc_no, saturated=0.0):
    names = ["a", "b", "c", "d"]
    layers = [first_layer(saturated)] + [first_layer(0.0)] * 3
    return inputs.takeaways("preprocessing", names, layers, [fake_record((0.1, a)) for a in acc_bn],
                            [fake_record((0.1, a)) for a in acc_no])


@pytest.mark.parametrize("share, key", [(0.06, "inputs.tk_saturated"), (0.04, "inputs.tk_not_saturated")])
def test_inputs_saturation_sentence(share, key):
    assert inputs.SATURATED_SHARE == 0.05
    assert inputs_keys([0.9] * 4, [0.9] * 4, saturated=share)[1] == key


@pytest.mark.parametrize("acc_bn, acc_no, key", [
    ([0.9, 0.9, 0.902, 0.9], [0.8, 0.8, 0.803, 0.8], "inputs.tk_ratio_both_flat"),
    ([0.9, 0.9, 0.902, 0.9], [0.5, 0.8, 0.7, 0.6], "inputs.tk_ratio_flat"),
    ([0.9, 0.8, 0.85, 0.9], [0.8, 0.8, 0.803, 0.8], "inputs.tk_ratio_only_bn"),
    ([0.9, 0.85, 0.88, 0.9], [0.5, 0.8, 0.7, 0.6], "inputs.tk_ratio"),  # 5 < 30 points
    ([0.9, 0.5, 0.7, 0.9], [0.6, 0.8, 0.7, 0.6], "inputs.tk_ratio_not"),  # 40 > 20 points
])
def test_inputs_sensitivity_sentence(acc_bn, acc_no, key):
    assert inputs_keys(acc_bn, acc_no)[4] == key


@pytest.mark.parametrize("acc_bn, acc_no, key", [
    ([0.9, 0.85, 0.88, 0.9], [0.5, 0.8, 0.7, 0.6], "inputs.tk_worst_bn_beats"),  # 85% > 80%
    ([0.9, 0.8, 0.88, 0.9], [0.5, 0.8, 0.7, 0.6], "inputs.tk_worst_bn_trails"),  # 80% = 80%: matches
])
def test_inputs_worst_with_bn_against_best_without(acc_bn, acc_no, key):
    assert inputs_keys(acc_bn, acc_no)[5] == key


# --- Sigmoid saturation --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("no, bn, key", [
    (0.04, 0.001, "saturation.tk_low_both_low"),  # both under 5%, however far apart: not "alike"
    (0.30, 0.005, "saturation.tk_low_none"),
    (0.30, 0.10, "saturation.tk_low_more"),
    (0.10, 0.30, "saturation.tk_low_more_bn"),
    (0.30, 0.26, "saturation.tk_low_similar"),  # within 5 percentage points
    (0.30, 0.24, "saturation.tk_low_more"),
    (0.24, 0.30, "saturation.tk_low_more_bn"),
])
def test_saturation_worst_layer_sentence(no, bn, key):
    assert sat.low_sentence(no, bn) == key


def test_saturation_sentence_thresholds_are_the_stated_ones():
    assert (sat.NOTABLE, sat.FLOOR, sat.SAME_SHARE) == (0.05, 0.01, 0.05)
    assert sat.low_sentence(0.30, 0.2501) == "saturation.tk_low_similar"  # just within 5 points
    assert sat.low_sentence(0.30, 0.2499) == "saturation.tk_low_more"


@pytest.mark.parametrize("no, bn", [(0.30, 0.26), (0.30, 0.24), (0.24, 0.30), (0.30, 0.005), (0.9, 0.5),
                                    (0.5, 0.52)])
def test_the_saturation_takeaway_and_question_use_one_rule(no, bn):
    """The question "which has more at the start" and the takeaway's comparison never disagree."""
    sentence = {"same": "saturation.tk_low_similar", "bn": "saturation.tk_low_more_bn",
                "no_bn": ("saturation.tk_low_more", "saturation.tk_low_none")}[sat.more_low(no, bn)]
    assert sat.low_sentence(no, bn) in ((sentence,) if isinstance(sentence, str) else sentence)


@pytest.mark.parametrize("acc_bn, acc_no, key", [
    (0.903, 0.90, "saturation.tk_acc_tie"), (0.92, 0.90, "saturation.tk_acc_bn_ahead"),
    (0.88, 0.90, "saturation.tk_acc_no_bn_ahead"),
])
def test_saturation_accuracy_sentence(monkeypatch, acc_bn, acc_no, key):
    layers = {"saturated": np.array([0.3, 0.2]), "grad_z": np.array([1.0, 1.0])}
    monkeypatch.setattr(sat, "at", lambda record, name, step: layers[name])
    bn, no = (fake_record((0.1, a)) for a in (acc_bn, acc_no))
    bn.n_layers = 2
    assert sat.takeaways("sigmoid", 10, bn, no)[-1] == key


# --- Internal covariate shift ------------------------------------------------------------------------------------

@pytest.mark.parametrize("acc_bn, acc_no, key", [
    ((0.5, 0.95, 0.97), (0.5, 0.6, 0.95), "ics.say_reach_bn_sooner"),
    ((0.5, 0.6, 0.95), (0.5, 0.95, 0.97), "ics.say_reach_no_bn_sooner"),
    ((0.5, 0.95, 0.97), (0.5, 0.92, 0.97), "ics.say_reach_same"),
    ((0.5, 0.95, 0.97), (0.5, 0.6, 0.7), "ics.say_reach_only_bn"),
    ((0.5, 0.6, 0.7), (0.5, 0.95, 0.97), "ics.say_reach_only_no_bn"),
    ((0.5, 0.6, 0.7), (0.5, 0.6, 0.8), "ics.say_reach_neither"),
])
def test_ics_reaching_the_target(acc_bn, acc_no, key):
    assert ics.accuracy_sentences(fake_record(acc_bn), fake_record(acc_no), target=0.9)[1] == key


@pytest.fixture
def shift(monkeypatch):
    """Set the measured movements: shift(unit_no, unit_bn, mean_no, mean_bn, picked)."""
    def set_(unit_no, unit_bn, mean_no, mean_bn, picked_unit=0):
        bn, no = fake_record(), fake_record()
        movement = {id(no): np.array([unit_no, 2 * mean_no - unit_no]),
                    id(bn): np.array([unit_bn, 2 * mean_bn - unit_bn])}
        monkeypatch.setattr(ics, "median_movement", lambda r: movement[id(r)])
        monkeypatch.setattr(ics, "mean_drift", lambda r: np.array([np.nan]))
        monkeypatch.setattr(ics, "default_unit", lambda r: picked_unit)
        return ics.shift_sentences(bn, no, unit=0)
    return set_


@pytest.mark.parametrize("unit_no, unit_bn, verdict", [
    (2.0, 1.0, "ics.verdict_unit_less"), (1.0, 2.0, "ics.verdict_unit_more"), (1.0, 1.2, "ics.verdict_same"),
])
def test_ics_unit_verdict(shift, unit_no, unit_bn, verdict):
    assert shift(unit_no, unit_bn, 1.0, 1.0)[0] == "ics.say_unit" + verdict


@pytest.mark.parametrize("mean_no, mean_bn, verdict", [
    (2.0, 1.0, "ics.verdict_units_less"), (1.0, 2.0, "ics.verdict_units_more"), (1.0, 1.2, "ics.verdict_same"),
])
def test_ics_all_units_verdict(shift, mean_no, mean_bn, verdict):
    assert shift(1.0, 1.0, mean_no, mean_bn, picked_unit=5)[1] == "ics.say_all_units" + verdict


def test_ics_says_when_the_unit_is_the_cherry_picked_one(shift):
    assert shift(2.0, 1.0, 1.0, 1.0, picked_unit=0)[1] == "ics.say_unit_picked"
    assert "ics.say_unit_picked" not in shift(2.0, 1.0, 1.0, 1.0, picked_unit=3)


# --- γ and β -----------------------------------------------------------------------------------------------------

@pytest.fixture
def unit():
    x = np.random.default_rng(0).normal(2.0, 3.0, 200)
    return gb.Unit(x, 1e-5)


def test_gamma_beta_undone_or_not(unit):
    assert gb.sentences(unit, unit.sigma, unit.mu, 1.0, 0.0)[2] == "gamma_beta.say_undone"
    assert gb.sentences(unit, unit.sigma * 1.01, unit.mu, 1.0, 0.0)[2] == "gamma_beta.say_not_undone"


@pytest.mark.parametrize("gamma_factor, beta_off, key", [
    (1.05, 0.05, "gamma_beta.say_learned_near"),  # both within 10% of σ_B
    (1.3, 0.05, "gamma_beta.say_learned_far"),  # γ off: a scale of its own
    (1.05, 0.5, "gamma_beta.say_learned_far_beta"),  # γ close, β off: a shift of its own
])
def test_gamma_beta_learned_values_against_the_batch(unit, gamma_factor, beta_off, key):
    said = gb.sentences(unit, 1.0, 0.0, gamma_factor * unit.sigma, unit.mu + beta_off * unit.sigma)
    assert said[3] == "gamma_beta.say_learned" + key


def test_gamma_beta_says_when_the_unit_is_cherry_picked(unit):
    picked = gb.Unit(unit.x, unit.eps, picked=True)
    assert "gamma_beta.say_picked" in gb.sentences(picked, 1.0, 0.0, 1.0, 0.0)
    assert "gamma_beta.say_picked" not in gb.sentences(unit, 1.0, 0.0, 1.0, 0.0)


# --- BN at inference ---------------------------------------------------------------------------------------------

def modes(pred_random, pred_same, acc_same):
    probs = lambda k: np.eye(10)[k] * 0.9 + 0.01  # noqa: E731
    return li.ModeComparison(0, 3, probs(pred_random), probs(pred_same), probs(3), 0.0, 1.0, 0.95, 0.93, acc_same, 50)


@pytest.mark.parametrize("pred_same, key", [(5, "inference.tk_modes_flip"), (3, "inference.tk_modes_move")])
def test_inference_modes_sentence(pred_same, key):
    assert li.modes_sentences(modes(3, pred_same, 0.9), 60)[0] == key


@pytest.mark.parametrize("acc_same, key", [(0.80, "inference.tk_acc_collapse"), (0.90, "inference.tk_acc_similar")])
def test_inference_collapse_when_batches_hold_one_digit(acc_same, key):
    assert li.modes_sentences(modes(3, 3, acc_same), 60)[1] == key  # eval mode: 95%; collapse below 85%


@pytest.mark.parametrize("momentum, key", [
    (0.01, "inference.tk_ema_lag"), (0.03, "inference.tk_ema_near"), (0.1, "inference.tk_ema_best"),
    (0.5, "inference.tk_ema_noisy"),
])
def test_inference_running_statistics_sentence(momentum, key):
    sweep = li.MomentumSweep((0.01, 0.03, 0.1, 0.5), np.array([0.5, 0.14, 0.1, 0.3]), np.zeros(4), np.zeros(4), 0.0)
    assert li.stats_sentences(sweep, momentum, 1000)[0] == key


@pytest.mark.parametrize("one_gap, pred_batch, key", [(0.0, 3, "inference.tk_one_same"),
                                                      (0.5, 4, "inference.tk_one_differs")])
def test_inference_batch_of_one_sentence(one_gap, pred_batch, key):
    logits = np.eye(10)[3]
    one = li.BatchOfOne("batch_of_one", logits, np.eye(10)[pred_batch], one_gap, 0)
    assert li.one_sentence(one, 0) == key


@pytest.mark.parametrize("gap, key", [(1e-6, "inference.tk_fold_equal"), (1e-2, "inference.tk_fold_differ")])
def test_inference_fold_sentence(gap, key):
    check = li.FoldCheck({}, {("as_written", "folded_affine"): gap}, 5.0, 100, 100)
    assert li.fold_sentence(check, np.float32) == key  # float32: rounding up to 1e-4 × the largest logit


# --- Playground ----------------------------------------------------------------------------------------------------

def test_playground_run_status_sentences():
    diverged = fake_record((0.5, 0.6), status="diverged", divergence=SimpleNamespace(step=20, reason="nan_loss"))
    stopped = fake_record((0.5, 0.6), status="stopped")
    said = [s.lower() for s in pg.takeaways([diverged, stopped], ["bn", "no_bn"], chance=0.5)]
    assert "playground.tk_diverged" in said and "playground.tk_stopped" in said
    said = [s.lower() for s in pg.takeaways([fake_record((0.5, 0.9)), None], ["bn", "no_bn"], chance=0.5)]
    assert "playground.not_started" in said and "playground.tk_diverged" not in said


@pytest.mark.parametrize("final_no_bn, key", [(0.96, "playground.tk_final_same"), (0.90, "playground.tk_final_better")])
def test_playground_final_accuracy_sentence(final_no_bn, key):
    said = [s.lower() for s in pg.takeaways([fake_record((0.5, 0.95, 0.963)), fake_record((0.5, 0.95, final_no_bn))],
                                            ["bn", "no_bn"], chance=0.5)]
    assert said[-1] == key
