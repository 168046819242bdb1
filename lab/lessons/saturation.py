"""Logic of the lesson "Sigmoid saturation": the pair of runs, what is read off them at a chosen step, and the
takeaway sentences."""
import numpy as np

from bn_core import LEAKY_SLOPE, SIGMOID_SATURATION_X, TANH_SATURATION_X
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons.common import PAPER_NET, bn_pair, last, record_index

# Without BN a large initial σ drives most sigmoid inputs far past ±3.64 at once; with BN none get there.
BASE = PAPER_NET.replace(init_sigma=1.5, steps=300, record_every=10)
# A σ per activation that shows its story without diverging at once (ReLU without BN explodes from σ ≈ 0.2 on).
DEFAULT_SIGMA = {"sigmoid": 1.5, "tanh": 1.0, "relu": 0.1, "leaky_relu": 0.1}
SIGMAS = (0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0)
STEPS = (100, 300, 600)
MORE = 1.5  # "clearly more": a ratio past this picks the stronger phrasing
FLOOR = 0.01  # a share below 1% counts as none
NOTABLE = 0.05  # from 5% on, a share is worth comparing
SAME_SHARE = 0.05  # two shares within 5 percentage points are "about the same" (more_low)


def configs(activation, sigma, steps, seed):
    """(with BN, without BN): the same network, weights and mini-batches."""
    return bn_pair(BASE.replace(activation=activation, init_sigma=sigma, steps=steps, seed=seed))


def threshold(activation):
    """|x| beyond which the derivative is below 10% of its maximum; ReLU-like: 0 (x ≤ 0 is the flat side)."""
    return {"sigmoid": SIGMOID_SATURATION_X, "tanh": TANH_SATURATION_X}.get(activation, 0.0)


# What "little gradient gets through" means for each activation: the record's series, and its string keys.
# Sigmoid and tanh saturate; a ReLU unit whose input is ≤ 0 on every example is dead (no gradient at all); a leaky
# ReLU never is (slope LEAKY_SLOPE below 0), so for it the page shows the share of inputs ≤ 0 under that name.
LOW_GRADIENT = {
    "sigmoid": ("saturated", "saturation.saturated_title", "saturation.y_saturated", "saturation.tk_saturated"),
    "tanh": ("saturated", "saturation.saturated_title", "saturation.y_saturated", "saturation.tk_saturated"),
    "relu": ("dead", "saturation.dead_title", "saturation.y_dead", "saturation.tk_dead"),
    "leaky_relu": ("saturated", "saturation.below_zero_title", "saturation.y_below_zero", "saturation.tk_below_zero"),
}


def low_gradient_measure(activation):
    """The per-layer series the page plots: ``saturated`` share of values (for leaky ReLU: of values ≤ 0), or
    ``dead`` share of units (ReLU)."""
    return LOW_GRADIENT[activation][0]


def series(record, name):
    """(layers, records) array of a per-layer scalar: saturated, dead or grad_norm."""
    return np.array([record.layer_series(layer, name) for layer in range(record.n_layers)])


def at(record, name, step):
    """Per layer, the value of ``name`` at ``step`` (or the last record before it)."""
    return series(record, name)[:, record_index(record, step)]




def grad_phrase(r_no, r_bn):
    """Which sentence fits the ratios (layer-1 over last-layer gradient norm) without and with BN."""
    if r_no < 1 and r_bn > MORE * r_no:
        return "saturation.tk_grad_vanish"  # without BN the gradient shrinks on its way back, much more than with
    if r_no > 1 and r_no > MORE * r_bn:
        return "saturation.tk_grad_grow"  # without BN it grows on its way back, much more than with
    if max(r_no, r_bn) < MORE * min(r_no, r_bn):
        return "saturation.tk_grad_similar"
    return "saturation.tk_grad_plain"


def more_low(worst_no, worst_bn):
    """Which network has the larger share of low-gradient values (saturated, dead or ≤ 0) in its worst layer:
    "no_bn", "bn", or "same" when the two are within SAME_SHARE. The one rule of the takeaway and of the
    predict-then-run question (lab/lessons/questions.py), so that the two never disagree."""
    diff = worst_no - worst_bn
    return "same" if abs(diff) < SAME_SHARE else "no_bn" if diff > 0 else "bn"


def low_sentence(worst_no, worst_bn):
    """The worst layers' shares (saturated, dead or ≤ 0) without and with BN, compared: the phrase fits the numbers."""
    no, bn = _share(worst_no), _share(worst_bn)
    if max(worst_no, worst_bn) < NOTABLE:
        return t("saturation.tk_low_both_low", no=no, bn=bn, low=_share(NOTABLE))
    which = more_low(worst_no, worst_bn)
    if which == "same":
        return t("saturation.tk_low_similar", no=no, bn=bn, tie=fmt_num(100 * SAME_SHARE))
    if which == "bn":
        return t("saturation.tk_low_more_bn", no=no, bn=bn)
    if worst_bn < FLOOR:
        return t("saturation.tk_low_none", no=no, floor=_share(FLOOR))
    return t("saturation.tk_low_more", factor=fmt_num(worst_no / worst_bn, 2), no=no, bn=bn)


def _share(v):  # small shares keep a decimal, so "0.6%" is not shown as "1%" next to "under 1%"
    return fmt_pct(v, 1 if v < 0.1 else 0)


def takeaways(activation, step, record_bn, record_no_bn):
    """The "What this run shows" sentences for the step on screen, built from the two runs' numbers."""
    out = []
    n = record_bn.n_layers

    def shares(values):
        return t("saturation.list_sep").join(_share(v) for v in values)

    # 1. Saturated values (sigmoid, tanh) or dead units (ReLU-like) per layer at this step.
    measure, _, _, key = LOW_GRADIENT[activation]
    low_bn, low_no = at(record_bn, measure, step), at(record_no_bn, measure, step)
    out.append(t(key, step=step, n=n, no=shares(low_no), bn=shares(low_bn), x=fmt_num(threshold(activation), 3),
                 slope=fmt_num(LEAKY_SLOPE)))
    out.append(low_sentence(float(low_no.max()), float(low_bn.max())))

    # 2. Vanishing gradients: how much of the last hidden layer's gradient norm is left at the first.
    g_bn, g_no = at(record_bn, "grad_z", step), at(record_no_bn, "grad_z", step)
    r_bn, r_no = g_bn[0] / g_bn[-1], g_no[0] / g_no[-1]
    params = dict(n=n, step=step, no=fmt_num(r_no, 2), bn=fmt_num(r_bn, 2))
    if n >= 2 and np.isfinite(r_bn) and np.isfinite(r_no) and r_bn > 0 and r_no > 0:
        out.append(t(grad_phrase(r_no, r_bn), **params))

    # 3. What it does to learning: "after {steps} steps" holds only for runs that trained them all (a diverged run
    # is reported, with its step, above the charts).
    if not record_bn.status == record_no_bn.status == "finished":
        return out
    acc_bn, acc_no = last(record_bn, "test_acc"), last(record_no_bn, "test_acc")
    params = dict(steps=record_bn.config.steps, bn=fmt_pct(acc_bn, 1), no=fmt_pct(acc_no, 1),
                  gap=fmt_num(100 * abs(acc_bn - acc_no), 2))
    if abs(acc_bn - acc_no) < 0.005:
        out.append(t("saturation.tk_acc_tie", **params))
    elif acc_bn > acc_no:
        out.append(t("saturation.tk_acc_bn_ahead", **params))
    else:
        out.append(t("saturation.tk_acc_no_bn_ahead", **params))
    return out
