"""Logic of the lesson "Inputs and initialization": the grid of runs, the first layer's input under each choice,
and the takeaway sentences."""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bn_core import (
    INITS,
    PREPROCESSING,
    SATURATION_SHARE,
    SIGMOID_SATURATION_X,
    build_model,
    load_data,
    softmax_cross_entropy,
)
from lab.caches import memoized
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons import seeds
from lab.lessons.common import PAPER_NET, bn_pair, divergence_message, last

AXES = ("preprocessing", "init")  # which choice the page varies, the default first
SIGMAS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
STEPS = (100, 200, 400)
# The paper's digit setup, small and fast: 3 sigmoid layers of 100, batch 60, plain SGD. A record costs about as
# much as 8 training steps (probe and test passes): every 20 steps keeps the eight runs of a first load cheap.
BASE = PAPER_NET.replace(init="truncated_normal", steps=200, record_every=20)
SPREAD_TIE = 0.005  # spreads of accuracy below half a point count as "no spread"
SATURATED_SHARE = 0.05  # from 5% of saturated first-layer inputs on, the takeaways name the choice


def choices(axis):
    """The four values the page compares along ``axis``."""
    return INITS if axis == "init" else PREPROCESSING


def grid(axis, init, preprocessing, sigma, steps, seed):
    """``{choice: (config with BN, config without BN)}`` for the four choices along ``axis``; the other one fixed."""
    base = BASE.replace(init=init, preprocessing=preprocessing, init_sigma=sigma, steps=steps, seed=seed)
    out = {}
    for choice in choices(axis):
        out[choice] = bn_pair(base.replace(**{axis: choice}))
    return out


def truncated_variance_factor(cut=2.0):
    """Var of a normal truncated at ±cut·σ, in units of σ² (≈ 0.774 for the 2σ cut of truncated_normal)."""
    pdf = math.exp(-cut * cut / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(cut / math.sqrt(2))
    return 1 - 2 * cut * pdf / mass


@dataclass(frozen=True)
class FirstLayer:
    """The first hidden layer's activation input over the training set at initialization, without and with BN."""

    without_bn: np.ndarray  # all values (examples × units), flattened
    with_bn: np.ndarray
    input_min: float  # range of the preprocessed inputs
    input_max: float

    @staticmethod
    def saturated(values):
        return float(np.mean(np.abs(values) > SIGMOID_SATURATION_X))

    @property
    def std_without(self):
        return float(np.std(self.without_bn))

    @property
    def std_with(self):
        return float(np.std(self.with_bn))


@memoized(16)
def first_layer(config_bn, config_no_bn):
    """Build both models exactly as training does (same seed, same weights) and run the training inputs through
    them once, BN with the statistics of the whole training set. No training. Shared by every session: read-only."""
    data = load_data(config_no_bn)
    values = []
    for config in (config_no_bn, config_bn):
        model = build_model(config, data.n_features, data.n_classes)
        with np.errstate(all="ignore"):
            model.forward(data.X_train, update_stats=False)
        values.append(np.asarray(model.hidden[0].pre_activation, float).ravel().copy())
        values[-1].flags.writeable = False  # a value: its digest is kept (lab/caches.py)
    return FirstLayer(values[0], values[1], float(data.X_train.min()), float(data.X_train.max()))




def spread(values):
    """(max − min, index of min, index of max) of finite values."""
    v = np.asarray(values, float)
    lo, hi = int(np.nanargmin(v)), int(np.nanargmax(v))
    return float(v[hi] - v[lo]), lo, hi


def takeaways(axis, names, first_layers, records_bn, records_no_bn):
    """The "What this run shows" sentences, built from the runs on screen.

    ``names``: the four choices' display names; ``first_layers``: a FirstLayer per choice; ``records_*``: the
    finished RunRecords per choice."""
    out = []

    def pct(share):
        return fmt_pct(share, 1)

    axis_word = t("inputs.axis_word_init") if axis == "init" else t("inputs.axis_word_preprocessing")

    # 1. The first layer's input: its scale follows the choice without BN, and is fixed with BN.
    stds = [f.std_without for f in first_layers]
    lo, hi = int(np.argmin(stds)), int(np.argmax(stds))
    bn_lo, bn_hi = (fmt_num(f([f_.std_with for f_ in first_layers]), 2) for f in (min, max))
    out.append(t("inputs.tk_scale", lo=fmt_num(stds[lo]), lo_name=names[lo], hi=fmt_num(stds[hi]),
                 hi_name=names[hi], ratio=fmt_num(stds[hi] / max(stds[lo], 1e-12)),
                 bn=bn_lo if bn_lo == bn_hi else f"{bn_lo}–{bn_hi}"))
    sat = [f.saturated(f.without_bn) for f in first_layers]
    worst = int(np.argmax(sat))
    bn_sat = max(f.saturated(f.with_bn) for f in first_layers)
    x, low = fmt_num(SIGMOID_SATURATION_X, 3), fmt_pct(SATURATION_SHARE)
    if sat[worst] >= SATURATED_SHARE:
        out.append(t("inputs.tk_saturated", share=pct(sat[worst]), name=names[worst], x=x,
                     bn_share=pct(bn_sat), low=low))
    else:
        out.append(t("inputs.tk_not_saturated", share=pct(sat[worst]), x=x, low=low,
                     sat_share=fmt_pct(SATURATED_SHARE)))

    # 2. Final test accuracy across the choices: the spread with and without BN, and its ratio.
    acc_bn = [last(r, "test_acc") for r in records_bn]
    acc_no = [last(r, "test_acc") for r in records_no_bn]
    s_bn, lo_bn, hi_bn = spread(acc_bn)
    s_no, lo_no, hi_no = spread(acc_no)
    out.append(t("inputs.tk_acc_no_bn", steps=records_bn[0].config.steps, lo=pct(acc_no[lo_no]),
                 lo_name=names[lo_no], hi=pct(acc_no[hi_no]), hi_name=names[hi_no],
                 spread=fmt_num(100 * s_no, 2)))
    out.append(t("inputs.tk_acc_bn", lo=pct(acc_bn[lo_bn]), hi=pct(acc_bn[hi_bn]),
                 spread=fmt_num(100 * s_bn, 2)))
    if s_bn < SPREAD_TIE and s_no < SPREAD_TIE:
        out.append(t("inputs.tk_ratio_both_flat"))
    elif s_bn < SPREAD_TIE:
        out.append(t("inputs.tk_ratio_flat", axis=axis_word))
    elif s_no < SPREAD_TIE:
        out.append(t("inputs.tk_ratio_only_bn", axis=axis_word, spread=fmt_num(100 * s_bn, 2)))
    elif s_no > s_bn:
        out.append(t("inputs.tk_ratio", ratio=fmt_num(s_no / s_bn), axis=axis_word))
    else:
        out.append(t("inputs.tk_ratio_not", ratio=fmt_num(s_bn / s_no), axis=axis_word))

    # 3. The worst choice with BN against the best without it.
    worst_bn, best_no = min(acc_bn), max(acc_no)
    params = dict(worst_bn=pct(worst_bn), best_no=pct(best_no), best_name=names[hi_no])
    if worst_bn > best_no:
        out.append(t("inputs.tk_worst_bn_beats", **params))
    else:
        out.append(t("inputs.tk_worst_bn_trails", **params))

    # 4. Test loss: the same story in the loss the network minimizes.
    loss_bn = [last(r, "test_loss") for r in records_bn]
    loss_no = [last(r, "test_loss") for r in records_no_bn]
    out.append(t("inputs.tk_loss", no_lo=fmt_num(min(loss_no)), no_hi=fmt_num(max(loss_no)),
                 bn_lo=fmt_num(min(loss_bn)), bn_hi=fmt_num(max(loss_bn))))
    return out


def divergences(names, records_bn, records_no_bn):
    """A message for each run that diverged, named by its choice and BN or not."""
    return [m for name, r_bn, r_no in zip(names, records_bn, records_no_bn)
            for r, which in ((r_no, "common.without_bn"), (r_bn, "common.with_bn"))
            if (m := divergence_message(f"{name} · {t(which)}", r)) is not None]


# --- Scale invariance (the paper's §3.3) ---------------------------------------------------------------------------

# raw, [0, 1] and [−1, 1] differ by one common factor and one common shift of every pixel (x/16, x/8 − 1): with BN
# the first layer cancels both, so these train identically. Standardizing scales each pixel by its own factor.
COMMON_SCALING = ("raw", "unit", "symmetric")
ROUNDING_LOSS = 1e-4  # a training-loss difference below this is float32 rounding, amplified over the steps
WEIGHT_FACTOR = 10.0  # the weight-scale demo multiplies the hidden layers' weights by this
RATIO_TOL = 0.01  # a measured gradient ratio within 1% of 1/a (or 1/a²) is "as the paper says"


def loss_gap(a, b):
    """max |Δ training loss| between two runs over the records both reached with a finite loss; NaN if none."""
    n = min(len(a.snapshots), len(b.snapshots))
    gap = np.abs(a.metric("train_loss")[:n] - b.metric("train_loss")[:n])
    gap = gap[np.isfinite(gap)]
    return float(gap.max()) if len(gap) else float("nan")


@dataclass(frozen=True)
class InputInvariance:
    """Each input scaling's training against raw pixels', with and without BN (choices in PREPROCESSING order)."""

    choices: tuple
    names: tuple
    gap_bn: tuple  # per choice, loss_gap to raw pixels with BN (0 for raw itself)
    gap_no_bn: tuple
    steps: int
    eps_share: float  # ε over the smallest variance of a first-layer unit's input at initialization, over the
    # common-scaling choices: where BN(az) = BN(z) stops being exact


def input_invariance(names, first_layers, records_bn, records_no_bn):
    """The comparison for the "input scalings" axis (four choices, raw pixels first)."""
    choices = tuple(PREPROCESSING)
    raw = choices.index("raw")
    width = records_bn[raw].config.hidden[0]
    variances = [first_layers[choices.index(c)].without_bn.reshape(-1, width).var(axis=0).min()
                 for c in COMMON_SCALING]
    return InputInvariance(choices, tuple(names), tuple(loss_gap(r, records_bn[raw]) for r in records_bn),
                           tuple(loss_gap(r, records_no_bn[raw]) for r in records_no_bn),
                           records_bn[raw].config.steps, records_bn[raw].config.bn_eps / float(min(variances)))


def _gap_text(gap):
    """A loss difference: significant digits from 0.01 on, scientific notation below (rounding-size gaps)."""
    if not np.isfinite(gap):
        return "—"
    return fmt_num(gap, 2) if gap >= 0.01 else f"{gap:.1e}"


def invariance_table(inv):
    """One row per input scaling other than raw pixels: max |Δ training loss| against raw pixels, with and without
    BN."""
    rows = [(name, _gap_text(g_bn), _gap_text(g_no)) for c, name, g_bn, g_no in
            zip(inv.choices, inv.names, inv.gap_bn, inv.gap_no_bn) if c != "raw"]
    return pd.DataFrame(rows, columns=[t("inputs.inv_col_choice"), t("inputs.inv_col_bn"), t("inputs.inv_col_no_bn")])


def invariance_sentences(inv):
    """Whether the common scalings trained identically with BN (by the measured gap), and standardization."""
    common = [g for c, g in zip(inv.choices, inv.gap_bn) if c in COMMON_SCALING and c != "raw"]
    common_no = [g for c, g in zip(inv.choices, inv.gap_no_bn) if c in COMMON_SCALING and c != "raw"]
    if not all(np.isfinite(common)):
        return [t("inputs.inv_incomplete")]
    gap, gap_no = max(common), max(common_no) if all(np.isfinite(common_no)) else float("nan")
    params = dict(gap=_gap_text(gap), no_bn=_gap_text(gap_no), steps=inv.steps, tol=f"{ROUNDING_LOSS:.0e}",
                  eps_share=f"{inv.eps_share:.0e}")
    out = [t("inputs.inv_identical" if gap <= ROUNDING_LOSS else "inputs.inv_eps", **params)]
    standardized = inv.gap_bn[inv.choices.index("standardize")]
    if np.isfinite(standardized):
        key = "inputs.inv_standardize_differs" if standardized > ROUNDING_LOSS else "inputs.inv_standardize_same"
        out.append(t(key, gap=_gap_text(standardized)))
    return out


@dataclass(frozen=True)
class WeightScale:
    """One batch through the same network at initialization, its hidden layers' weights as drawn and multiplied by
    ``factor`` (the output layer, with no BN after it, as drawn). Per hidden layer: ‖∇W‖ and ‖W‖."""

    factor: float
    output_gap: float  # max |Δ logit| between the two
    logit_scale: float  # max |logit|
    grad: np.ndarray
    grad_scaled: np.ndarray
    weight: np.ndarray
    weight_scaled: np.ndarray

    @property
    def grad_ratio(self):
        """‖∇W‖ scaled / as drawn, per layer: 1/a by §3.3."""
        return self.grad_scaled / self.grad

    @property
    def relative_ratio(self):
        """(‖∇W‖/‖W‖) scaled / as drawn, per layer: 1/a² — the effective learning rate's factor."""
        return (self.grad_scaled / self.weight_scaled) / (self.grad / self.weight)


def weight_scale(init, preprocessing, sigma, seed, factor=WEIGHT_FACTOR):
    """The §3.3 measurement for the lesson's network with BN (these fixed settings) on one mini-batch of training
    images, in float64."""
    config = BASE.replace(init=init, preprocessing=preprocessing, init_sigma=sigma, seed=seed)
    data = load_data(config)
    X, y = data.X_train[:config.batch_size].astype(np.float64), data.y_train[:config.batch_size]
    out = []
    for a in (1.0, factor):
        model = build_model(config.replace(batchnorm=True), data.n_features, data.n_classes, np.float64)
        for h in model.hidden:
            h.linear.W *= a
        logits = model.forward(X, update_stats=False)
        model.backward(softmax_cross_entropy(logits, y)[1])
        out.append((logits, np.array([np.linalg.norm(h.linear.dW) for h in model.hidden]),
                    np.array([np.linalg.norm(h.linear.W) for h in model.hidden])))
    (logits, g, w), (logits_a, g_a, w_a) = out
    return WeightScale(factor, float(np.abs(logits_a - logits).max()), float(np.abs(logits).max()), g, g_a, w, w_a)


def _span(values, digits=3):
    lo, hi = fmt_num(float(np.min(values)), digits), fmt_num(float(np.max(values)), digits)
    return lo if lo == hi else f"{lo}–{hi}"


def weight_scale_sentence(ws):
    """§3.3 as measured: chosen by whether the gradient ratios are 1/a and 1/a² within RATIO_TOL."""
    a = ws.factor
    as_paper = (np.all(np.abs(ws.grad_ratio * a - 1) < RATIO_TOL) and
                np.all(np.abs(ws.relative_ratio * a * a - 1) < RATIO_TOL))
    params = dict(a=fmt_num(a), a2=fmt_num(a * a), grad=_span(ws.grad_ratio),
                  rel=_span(ws.relative_ratio), gap=f"{ws.output_gap:.0e}", scale=fmt_num(ws.logit_scale, 2))
    return t("inputs.ws_as_paper" if as_paper else "inputs.ws_eps", **params)


def weight_scale_labels(ws):
    return dict(titles=(t("inputs.ws_grad_title"), t("inputs.ws_relative_title")),
                names=(t("inputs.ws_name"), t("inputs.ws_name_scaled", a=fmt_num(ws.factor))),
                layers=[t("common.layer", n=i + 1) for i in range(len(ws.grad))])


# --- The comparison over seeds -------------------------------------------------------------------------------------


def seed_comparisons(names, groups):
    """lab.lessons.seeds Comparisons (without BN, with BN) for the repeat: the spread of test accuracy across the
    four choices, then each choice's test accuracy. ``groups``: per seed, the records in the page's order (each
    choice with BN, then without)."""
    acc = np.array([[seeds.final(r, "test_acc") for r in group] for group in groups])
    bn, no = acc[:, 0::2], acc[:, 1::2]
    out = [seeds.compare(t("inputs.seed_spread"), "pp", np.ptp(no, axis=1), np.ptp(bn, axis=1))]
    out += [seeds.compare(t("inputs.seed_acc", name=name), "pct", no[:, i], bn[:, i]) for i, name in enumerate(names)]
    return out
