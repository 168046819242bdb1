"""Predict, then run: each lesson's questions, and the verdict functions that answer them from the run on screen.

One module for every lesson rather than a function in each lesson module: all verdicts have one shape (the answer
the run supports, one sentence of why with the run's numbers, and the margin by which it won), the thresholds that
call a margin "small" sit side by side here where they can be compared, and the tests walk every question of every
lesson in one place. A verdict is decided from the run's numbers by a condition of the same kind as the lesson's
takeaways — never from a stored answer — so another seed or setting can give another verdict. No streamlit.
"""
import math
from dataclasses import dataclass

import numpy as np

from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons import common
from lab.lessons import covariate_shift as ics
from lab.lessons import gamma_beta as gb
from lab.lessons import inference as li
from lab.lessons import saturation as sat

# When a verdict's margin is below its threshold, the page says that another seed or setting may change it.
SMALL_ACC = 0.02  # accuracies (and spreads of accuracy) closer than 2 percentage points
SMALL_SHARE = 0.02  # shares of values (saturated, in the linear region) closer than 2 percentage points
SMALL_RATIO = 1.25  # two positive numbers (gradients, drifts, steps to a target) less than 1.25× apart
SMALL_PARAM = 0.05  # a learned γ within 0.05 of the value the verdict compares it with


@dataclass(frozen=True)
class Margin:
    """By how much the run's deciding numbers are on the side of the verdict, and the threshold under which that
    margin is "small". ``unit``: "pp" (percentage points of a share), "ratio" (≥ 1) or "abs"."""

    value: float
    threshold: float
    unit: str

    @property
    def small(self):
        return not self.value >= self.threshold  # NaN is small too

    def text(self, value=None):
        """The margin (or another ``value`` in its unit) for a sentence."""
        v = self.value if value is None else value
        if self.unit == "pp":
            return pp(v)
        if self.unit == "ratio":
            return t("questions.unit_ratio", n=fmt_num(v, 3))
        return fmt_num(v, 2)


def pp(share):
    """A difference of two shares in percentage points."""
    return t("questions.unit_pp", n=fmt_num(100 * share, 2))


@dataclass(frozen=True)
class Verdict:
    answer: str | None  # the option the run supports; None when the run cannot decide (no finite numbers)
    why: str  # one sentence with the run's numbers
    margin: Margin | None = None

    @property
    def small(self):
        return self.margin is not None and self.margin.small


@dataclass(frozen=True)
class Question:
    key: str  # its widget's name; questions.<key> is its text
    text: str
    options: dict  # option id -> label, in the order shown
    verdict: Verdict


def undecided():
    return Verdict(None, t("questions.undecided"))


def finite(*values):
    return all(v is not None and math.isfinite(v) for v in values)


def _pct(x):
    return fmt_pct(x, 1)


def _runs():
    return {"bn": t("common.with_bn"), "no_bn": t("common.without_bn")}


def _yes_no():
    return {"yes": t("questions.yes"), "no": t("questions.no")}


def larger(values, threshold, unit):
    """The index of the largest value and its margin over the next one (difference, or ratio for "ratio")."""
    order = np.argsort(values)[::-1]
    top, second = float(values[order[0]]), float(values[order[1]])
    gap = top / second if unit == "ratio" else top - second
    return int(order[0]), Margin(gap, threshold, unit)


# ---- Inputs and initialization ---------------------------------------------------------------------------------

def best_without_bn(names, records_no_bn):
    """Which choice reaches the highest final test accuracy without BN; margin: its lead over the next one."""
    acc = np.array([common.last(r, "test_acc") for r in records_no_bn])
    if not np.isfinite(acc).all():
        return undecided()
    best, margin = larger(acc, SMALL_ACC, "pp")
    second = int(np.argsort(acc)[::-1][1])
    return Verdict(str(best), t("questions.inputs_best_why", best=names[best], acc=_pct(acc[best]),
                                second=names[second], acc2=_pct(acc[second]), gap=margin.text()), margin)


def spread_of(records):
    acc = np.array([common.last(r, "test_acc") for r in records])
    return float(acc.max() - acc.min())


def bn_narrows_spread(records_bn, records_no_bn):
    """Yes when the choices' final test accuracies lie closer together with BN than without."""
    s_bn, s_no = spread_of(records_bn), spread_of(records_no_bn)
    if not finite(s_bn, s_no):
        return undecided()
    return Verdict("yes" if s_bn < s_no else "no",
                   t("questions.inputs_spread_why", no=fmt_num(100 * s_no, 2), bn=fmt_num(100 * s_bn, 2)),
                   Margin(abs(s_no - s_bn), SMALL_ACC, "pp"))


def worst_bn_beats_best_no_bn(names, records_bn, records_no_bn):
    """Yes when the worst choice with BN ends above the best choice without BN."""
    acc_bn = np.array([common.last(r, "test_acc") for r in records_bn])
    acc_no = np.array([common.last(r, "test_acc") for r in records_no_bn])
    if not (np.isfinite(acc_bn).all() and np.isfinite(acc_no).all()):
        return undecided()
    worst, best = int(np.argmin(acc_bn)), int(np.argmax(acc_no))
    return Verdict("yes" if acc_bn[worst] > acc_no[best] else "no",
                   t("questions.inputs_worst_why", worst=_pct(acc_bn[worst]), worst_name=names[worst],
                     best=_pct(acc_no[best]), best_name=names[best]),
                   Margin(abs(float(acc_bn[worst] - acc_no[best])), SMALL_ACC, "pp"))


def inputs(axis, names, records_bn, records_no_bn):
    """The questions of "Inputs and initialization" (``names``: the four choices' labels, in order)."""
    axis_word = t("inputs.axis_word_init") if axis == "init" else t("inputs.axis_word_preprocessing")
    steps = records_no_bn[0].config.steps
    return [
        Question("inputs_best", t("questions.inputs_best", axis=axis_word, steps=steps),
                 {str(i): n for i, n in enumerate(names)}, best_without_bn(names, records_no_bn)),
        Question("inputs_spread", t("questions.inputs_spread"), _yes_no(),
                 bn_narrows_spread(records_bn, records_no_bn)),
        Question("inputs_worst", t("questions.inputs_worst"), _yes_no(),
                 worst_bn_beats_best_no_bn(names, records_bn, records_no_bn)),
    ]


# ---- Sigmoid saturation ----------------------------------------------------------------------------------------

WHAT_KEYS = {"saturated": "questions.what_saturated", "dead": "questions.what_dead",
             "below_zero": "questions.what_below_zero"}


def _what(activation):
    return "below_zero" if activation == "leaky_relu" else sat.low_gradient_measure(activation)


def more_low_gradient_at_start(activation, record_bn, record_no_bn):
    """Which network has the larger share of saturated inputs (dead units for ReLU, inputs ≤ 0 for leaky ReLU) in
    its worst layer at step 0, or "same" (the takeaway's rule: lab.lessons.saturation.more_low); margin: how far
    the difference is from the "same" band."""
    measure = sat.low_gradient_measure(activation)
    no, bn = (float(sat.at(r, measure, 0).max()) for r in (record_no_bn, record_bn))
    if not finite(no, bn):
        return undecided()
    return Verdict(sat.more_low(no, bn), t("questions.sat_start_why", what=t(WHAT_KEYS[_what(activation)]),
                                          no=_pct(no), bn=_pct(bn)),
                   Margin(abs(abs(no - bn) - sat.SAME_SHARE), SMALL_SHARE, "pp"))


def more_gradient_reaches_layer_one(record_bn, record_no_bn):
    """At the last step both runs recorded: in which network ‖∂L/∂z‖ per unit in layer 1, relative to the last
    hidden layer, is larger; margin: the ratio of the two ratios."""
    step = min(int(record_bn.steps[-1]), int(record_no_bn.steps[-1]))
    ratios = {}
    for run, record in (("bn", record_bn), ("no_bn", record_no_bn)):
        g = sat.at(record, "grad_z", step)
        ratios[run] = float(g[0] / g[-1]) if len(g) >= 2 and g[-1] > 0 else math.nan
    if not (finite(*ratios.values()) and min(ratios.values()) > 0):
        return undecided()
    answer = max(ratios, key=ratios.get)
    return Verdict(answer, t("questions.sat_gradient_why", step=step, n=record_bn.n_layers,
                             no=fmt_num(ratios["no_bn"], 2), bn=fmt_num(ratios["bn"], 2)),
                   Margin(max(ratios.values()) / min(ratios.values()), SMALL_RATIO, "ratio"))


def higher_accuracy(record_bn, record_no_bn):
    """Which network ends with the higher test accuracy; margin: the difference."""
    bn, no = common.last(record_bn, "test_acc"), common.last(record_no_bn, "test_acc")
    if not finite(bn, no):
        return undecided()
    return Verdict("bn" if bn > no else "no_bn", t("questions.accuracy_why", bn=_pct(bn), no=_pct(no)),
                   Margin(abs(bn - no), SMALL_ACC, "pp"))


def saturation(activation, record_bn, record_no_bn):
    """The questions of "Sigmoid saturation"."""
    steps = record_bn.config.steps
    return [
        Question("sat_start", t("questions.sat_start", what=t(WHAT_KEYS[_what(activation)])),
                 {**_runs(), "same": t("questions.same", tie=pp(sat.SAME_SHARE))},
                 more_low_gradient_at_start(activation, record_bn, record_no_bn)),
        Question("sat_gradient", t("questions.sat_gradient"), _runs(),
                 more_gradient_reaches_layer_one(record_bn, record_no_bn)),
        Question("sat_accuracy", t("questions.accuracy", steps=steps), _runs(),
                 higher_accuracy(record_bn, record_no_bn)),
    ]


# ---- Internal covariate shift ----------------------------------------------------------------------------------

def first_to_target(with_bn, without_bn, target=ics.ACC_TARGET):
    """Which network's test accuracy reaches ``target`` first (or neither). Margin: the ratio of the steps when
    both reach it; otherwise how far the best accuracy of a run that did not reach it stayed below it."""
    steps = {"bn": with_bn.first_step_reaching(target), "no_bn": without_bn.first_step_reaching(target)}
    best = {run: float(np.nanmax(r.metric("test_acc"))) for run, r in (("bn", with_bn), ("no_bn", without_bn))}
    goal = fmt_pct(target)
    reached = [r for r in ("bn", "no_bn") if steps[r] is not None]
    if len(reached) == 2:
        if steps["bn"] == steps["no_bn"]:
            return Verdict(None, t("questions.ics_target_tie", target=goal, step=steps["bn"]))
        first = min(reached, key=steps.get)
        other = "no_bn" if first == "bn" else "bn"
        margin = Margin(steps[other] / max(steps[first], 1), SMALL_RATIO, "ratio")
        return Verdict(first, t("questions.ics_target_both_why", target=goal, bn=steps["bn"], no=steps["no_bn"]),
                       margin)
    if len(reached) == 1:
        first = reached[0]
        other = "no_bn" if first == "bn" else "bn"
        return Verdict(first, t("questions.ics_target_one_why", target=goal, name=_runs()[first], step=steps[first],
                                other=_runs()[other], best=_pct(best[other])),
                       Margin(target - best[other], SMALL_ACC, "pp"))
    if not finite(*best.values()):
        return undecided()
    return Verdict("neither", t("questions.ics_target_neither_why", target=goal, bn=_pct(best["bn"]),
                                no=_pct(best["no_bn"])), Margin(target - max(best.values()), SMALL_ACC, "pp"))


def drift_smaller_in_every_layer(with_bn, without_bn):
    """Yes when the mean drift per record is smaller with BN in every hidden layer. Margin: the ratio (≥ 1) of the
    layer closest to flipping the verdict."""
    d_bn, d_no = ics.mean_drift(with_bn), ics.mean_drift(without_bn)
    if not (len(d_bn) and np.isfinite(d_bn).all() and np.isfinite(d_no).all() and (d_bn > 0).all()
            and (d_no > 0).all()):
        return undecided()
    ratios = d_no / d_bn  # > 1: smaller with BN
    yes = bool((ratios > 1).all())
    closest = float(ratios.min()) if yes else float(max(1 / ratios.min(), 1.0))
    return Verdict("yes" if yes else "no",
                   t("questions.ics_drift_why", no=", ".join(fmt_num(v, 2) for v in d_no),
                     bn=", ".join(fmt_num(v, 2) for v in d_bn)), Margin(closest, SMALL_RATIO, "ratio"))


def covariate_shift(with_bn, without_bn):
    """The questions of "Internal covariate shift"."""
    return [
        Question("ics_target", t("questions.ics_target", target=fmt_pct(ics.ACC_TARGET)),
                 {**_runs(), "neither": t("questions.neither")}, first_to_target(with_bn, without_bn)),
        Question("ics_drift", t("questions.ics_drift"), _yes_no(), drift_smaller_in_every_layer(with_bn, without_bn)),
    ]


# ---- γ and β ---------------------------------------------------------------------------------------------------

def median_gammas(record):
    """Per hidden layer, the median γ over its units at the last record."""
    return np.array([float(np.median(ls.gamma)) for ls in record.snapshots[-1].layers])


def gamma_above_one(record):
    """Above or below 1 (where every γ starts): the median γ of the last hidden layer after training."""
    g = median_gammas(record)[-1]
    if not finite(g):
        return undecided()
    return Verdict("above" if g > 1 else "below", t("questions.gb_gamma_why", gamma=fmt_num(g, 3),
                                                     steps=record.steps_done), Margin(abs(g - 1), SMALL_PARAM, "abs"))


def linear_shares(record, bn_inputs, eps):
    """(share with plain normalization, share with the learned γ and β) of the last hidden layer's sigmoid inputs
    in the linear region |y| < LINEAR_Y, over the batch ``bn_inputs`` (batch, units)."""
    x = np.asarray(bn_inputs, float)
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    gamma, beta = gb.learned(record, record.n_layers - 1)
    return gb.linear_share(x_hat), gb.linear_share(gamma * x_hat + beta)


def learned_widens_linear_region(record, bn_inputs):
    """More or fewer of the last hidden layer's sigmoid inputs in the linear region with the learned γ, β than with
    plain normalization (γ = 1, β = 0)."""
    plain, learned = linear_shares(record, bn_inputs, record.config.bn_eps)
    if not finite(plain, learned):
        return undecided()
    return Verdict("more" if learned > plain else "fewer",
                   t("questions.gb_linear_why", plain=_pct(plain), learned=_pct(learned)),
                   Margin(abs(learned - plain), SMALL_SHARE, "pp"))


def layer_moving_gamma_most(record):
    """The hidden layer whose median γ ends furthest from 1; margin: its lead over the next layer."""
    g = median_gammas(record)
    if len(g) < 2 or not np.isfinite(g).all():
        return undecided()
    layer, margin = larger(np.abs(g - 1), SMALL_PARAM, "abs")
    return Verdict(str(layer), t("questions.gb_layer_why", gammas=", ".join(fmt_num(v, 3) for v in g),
                                 layer=common.layer_title(layer)), margin)


def gamma_beta(record, bn_inputs):
    """The questions of "γ and β" (``bn_inputs``: the last hidden layer's BN inputs on the page's batch)."""
    n = record.n_layers
    return [
        Question("gb_gamma", t("questions.gb_gamma"),
                 {"above": t("questions.above_one"), "below": t("questions.below_one")}, gamma_above_one(record)),
        Question("gb_linear", t("questions.gb_linear"),
                 {"more": t("questions.more"), "fewer": t("questions.fewer")},
                 learned_widens_linear_region(record, bn_inputs)),
        Question("gb_layer", t("questions.gb_layer"), {str(i): common.layer_title(i) for i in range(n)},
                 layer_moving_gamma_most(record)),
    ]


# ---- BN at inference -------------------------------------------------------------------------------------------

MODES = ("train_random", "train_same", "eval")
MOMENTUM_GROUPS = {"small": (0.0, 0.01), "middle": (0.01, 0.3), "large": (0.3, 1.0)}  # (above, at most)


def best_mode(modes):
    """Which way of running the network classifies the test set best; margin: its lead over the next way."""
    acc = np.array([modes.acc_train_random, modes.acc_train_same, modes.acc_eval])
    if not np.isfinite(acc).all():
        return undecided()
    best, margin = larger(acc, SMALL_ACC, "pp")
    return Verdict(MODES[best], t("questions.inf_mode_why", random=_pct(acc[0]), same=_pct(acc[1]),
                                  eval=_pct(acc[2])), margin)


def momentum_group(momentum):
    return next(g for g, (lo, hi) in MOMENTUM_GROUPS.items() if lo < momentum <= hi)


def closest_momentum(sweep):
    """Which group of BN momenta ends with running means closest to the population means (the gap the takeaways
    compare); margin: how many times larger the best gap of any other group is."""
    gaps = np.asarray(sweep.mean_gap, float)
    if not np.isfinite(gaps).all() or not (gaps > 0).all():
        return undecided()
    best = int(np.argmin(gaps))
    group = momentum_group(sweep.momenta[best])
    others = [g for m, g in zip(sweep.momenta, gaps) if momentum_group(m) != group]
    return Verdict(group, t("questions.inf_momentum_why", best=fmt_num(sweep.momenta[best]),
                            gap=fmt_num(gaps[best], 2), other=fmt_num(min(others), 2)),
                   Margin(min(others) / gaps[best], li.NEAR_BEST, "ratio"))


def inference(run, momentum, sweep):
    """The questions of "BN at inference": ``run`` a lab.lessons.inference.StatsRun, ``momentum`` the page's BN
    momentum (its eval-mode model uses those running statistics), ``sweep`` its momentum sweep. The accuracies of
    the three ways to run the network do not depend on the example the page shows: example 0 stands for any."""
    modes = li.modes_at(run, momentum, 0)
    (_, small), (_, large) = MOMENTUM_GROUPS["small"], MOMENTUM_GROUPS["middle"]
    labels = {"small": t("questions.momentum_small", hi=fmt_num(small)),
              "middle": t("questions.momentum_middle", lo=fmt_num(small), hi=fmt_num(large)),
              "large": t("questions.momentum_large", lo=fmt_num(large))}
    return [
        Question("inf_mode", t("questions.inf_mode"),
                 {"train_random": t("inference.train_random"), "train_same": t("inference.train_same"),
                  "eval": t("inference.eval_mode")}, best_mode(modes)),
        Question("inf_momentum", t("questions.inf_momentum"), labels, closest_momentum(sweep)),
    ]
