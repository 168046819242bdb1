"""The backward pass through BN (a section of the γ and β lesson): the paper's §3 chain rule, checked live on the
page's batch against central differences, and the paper's §2 warning run — a gradient that ignores μ_B and σ_B lets
a bias before BN grow without bound while the loss stays put. No streamlit."""
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

import bn_core as bc
from lab.caches import memoized
from lab.i18n import fmt_num, t
from lab.lessons import gamma_beta as gb
from lab.lessons.common import PAPER_NET
from lab.runs import Task

# The paper's §3 back-propagation equations (ℓ the loss, m the batch size), the way bn_core.batchnorm_backward_terms
# computes them.
CHAIN_RULE = r"""\begin{aligned}
\frac{\partial \ell}{\partial \hat{x}_i} &= \frac{\partial \ell}{\partial y_i}\,\gamma \\
\frac{\partial \ell}{\partial \sigma_\mathcal{B}^2} &= \sum_{i=1}^{m} \frac{\partial \ell}{\partial \hat{x}_i}
  \,(x_i-\mu_\mathcal{B})\cdot\frac{-1}{2}\,(\sigma_\mathcal{B}^2+\epsilon)^{-3/2} \\
\frac{\partial \ell}{\partial \mu_\mathcal{B}} &= \sum_{i=1}^{m} \frac{\partial \ell}{\partial \hat{x}_i}
  \cdot\frac{-1}{\sqrt{\sigma_\mathcal{B}^2+\epsilon}}
  + \frac{\partial \ell}{\partial \sigma_\mathcal{B}^2}\cdot\frac{\sum_{i=1}^{m} -2\,(x_i-\mu_\mathcal{B})}{m} \\
\frac{\partial \ell}{\partial x_i} &= \underbrace{\frac{\partial \ell}{\partial \hat{x}_i}
  \cdot\frac{1}{\sqrt{\sigma_\mathcal{B}^2+\epsilon}}}_{\text{%s}}
  + \underbrace{\frac{\partial \ell}{\partial \sigma_\mathcal{B}^2}\cdot\frac{2\,(x_i-\mu_\mathcal{B})}{m}}_{\text{%s}}
  + \underbrace{\frac{\partial \ell}{\partial \mu_\mathcal{B}}\cdot\frac{1}{m}}_{\text{%s}} \\
\frac{\partial \ell}{\partial \gamma} &= \sum_{i=1}^{m} \frac{\partial \ell}{\partial y_i}\,\hat{x}_i, \qquad
\frac{\partial \ell}{\partial \beta} = \sum_{i=1}^{m} \frac{\partial \ell}{\partial y_i}
\end{aligned}"""

# The loss is a mean over the batch, so each ∂ℓ/∂x_i is small (~1e-5) and at bn_core's default step (1e-6) rounding,
# ~1e-16·ℓ/h, is a visible share of it; 1e-4 balances rounding and the O(h²) truncation error here (both ~1e-8).
NUMERICAL_STEP = 1e-4
GRADCHECK_TOL = 1e-6  # a float64 chain rule agrees with central differences to ~1e-9; a wrong one is off by ~1
IGNORING_WRONG = 1e-2  # from a 1% relative error on, the gradient that ignores μ_B, σ_B is called wrong
MAX_CACHED = 16

# The §2 demo: the paper's network, its hidden layers' biases trained alone (see bn_core.bias_growth).
BIAS_DEMO = PAPER_NET.replace(steps=1000, record_every=20)
BIAS_ZERO = 1e-10  # a bias gradient below this is rounding: zero
LOSS_STILL = 1e-9  # a change of the fixed batch's float64 loss below this is rounding: the loss did not move
GROWING = 1.5  # growing steadily: the mean |b| at the end is more than this times its value halfway (linear: 2×)


def float64_model(record):
    """The record's trained network, in float64 (a copy: change it freely)."""
    return bc.build_model(record.config, record.sizes[0], record.sizes[-1], np.float64).load_state_dict(
        record.weights)


def loss_from_bn_input(model, layer, x, labels):
    """The batch's loss as a function of hidden layer ``layer``'s BN input ``x``: BN in train mode (batch statistics,
    running ones untouched), then every later layer of ``model``."""
    z = x
    for piece in model.layers[model.layers.index(model.hidden[layer].bn):]:
        z = piece.forward(z, update_stats=False)
    return bc.softmax_cross_entropy(z, labels)[0]


@dataclass(frozen=True)
class GradCheck:
    """One unit's gradients on the batch: ∂ℓ/∂x by the chain rule, by central differences, and ignoring μ_B, σ_B."""

    layer: int
    unit: int
    m: int  # examples in the batch
    analytic: np.ndarray  # (m,) ∂ℓ/∂x_i by the chain rule (batchnorm_backward_terms)
    numerical: np.ndarray  # (m,) by central differences of the loss
    ignoring: np.ndarray  # (m,) the direct path only: μ_B and σ_B treated as constants
    via_var: np.ndarray  # (m,) the path through σ²_B
    via_mu: np.ndarray  # (m,) the path through μ_B
    dgamma: tuple  # (analytic, numerical)
    dbeta: tuple

    @property
    def error(self):
        return bc.relative_error(self.analytic, self.numerical)

    @property
    def ignoring_error(self):
        return bc.relative_error(self.ignoring, self.numerical)

    @property
    def gamma_error(self):
        return bc.relative_error(*self.dgamma)

    @property
    def beta_error(self):
        return bc.relative_error(*self.dbeta)



@memoized(MAX_CACHED)
def gradient_check(record, layer, unit):
    """The check for one unit of a hidden layer on the page's batch (gamma_beta.demo_batch), in float64. Memoized by
    the run (its config, status and length), the layer and the unit."""
    X, labels = gb.demo_batch(record.config)
    model = float64_model(record)
    h = model.hidden[layer]
    _, dlogits = bc.softmax_cross_entropy(model.forward(X.astype(np.float64), update_stats=False), labels)
    model.backward(dlogits)
    x, dy = np.array(h.bn.x), np.array(h.act.dx)  # BN input; ∂ℓ/∂y at BN's output (BN is before the activation)
    _, cache = bc.batchnorm_forward(x.copy(), h.bn.gamma, h.bn.beta, h.bn.eps)
    terms = bc.batchnorm_backward_terms(dy, cache)
    f, step = partial(loss_from_bn_input, model, layer, x, labels), NUMERICAL_STEP
    numerical = bc.numerical_gradient(f, x, indices=[(i, unit) for i in range(len(x))], h=step)[:, unit]
    gamma_num = bc.numerical_gradient(f, h.bn.gamma, indices=[(unit,)], h=step)[unit]
    beta_num = bc.numerical_gradient(f, h.bn.beta, indices=[(unit,)], h=step)[unit]
    return GradCheck(layer, unit, len(x), terms.dx[:, unit], numerical, terms.dx_direct[:, unit],
                     terms.dx_via_var[:, unit], np.array(terms.dx_via_mu[:, unit]),
                     (float(terms.dgamma[unit]), float(gamma_num)), (float(terms.dbeta[unit]), float(beta_num)))


def check_rows(check):
    """The table beside the equations, one row per gradient: what, chain rule, numerical, relative error."""
    norm = np.linalg.norm
    rows = [(t("backward.row_dx"), norm(check.analytic), norm(check.numerical), check.error),
            (t("backward.row_dgamma"), check.dgamma[0], check.dgamma[1], check.gamma_error),
            (t("backward.row_dbeta"), check.dbeta[0], check.dbeta[1], check.beta_error),
            (t("backward.row_ignoring"), norm(check.ignoring), norm(check.numerical), check.ignoring_error)]
    columns = [t("backward.col_what"), t("backward.col_analytic"), t("backward.col_numerical"),
               t("backward.col_error")]
    return pd.DataFrame([(what, fmt_num(a, 3), fmt_num(n, 3), f"{err:.1e}") for what, a, n, err in rows],
                        columns=columns)


def check_figure_labels():
    return dict(x=t("backward.fig_x"), y=t("backward.fig_y"), analytic=t("backward.name_analytic"),
                ignoring=t("backward.name_ignoring"), diagonal=t("backward.name_diagonal"))


def check_sentences(check):
    """Whether the chain rule agrees with central differences, and how much of ∂ℓ/∂x flows through μ_B and σ²_B."""
    worst = max(check.error, check.gamma_error, check.beta_error)
    params = dict(m=check.m, unit=check.unit, layer=check.layer + 1, err=f"{worst:.1e}",
                  tol=f"{GRADCHECK_TOL:.0e}")
    out = [t("backward.say_check_ok" if worst < GRADCHECK_TOL else "backward.say_check_off", **params)]
    norm = np.linalg.norm
    paths = dict(total=fmt_num(norm(check.analytic), 3), direct=fmt_num(norm(check.ignoring), 3),
                 var=fmt_num(norm(check.via_var), 3), mu=fmt_num(norm(check.via_mu), 3),
                 err=f"{check.ignoring_error:.1e}")
    wrong = check.ignoring_error >= IGNORING_WRONG
    out.append(t("backward.say_paths_wrong" if wrong else "backward.say_paths_close", **paths))
    return out


# --- The paper's §2 warning ---------------------------------------------------------------------------------------


def bias_config(seed):
    return BIAS_DEMO.replace(seed=seed)


def bias_tasks(seed):
    """(true BN, ignoring μ_B and σ_B) as lab.runs Tasks: trained once per config, cached like every run."""
    config = bias_config(seed)
    return [Task(("bias_growth", config, ignore), partial(bc.bias_growth_steps, config, ignore), config.steps)
            for ignore in (False, True)]


def run_names():
    return [t("backward.name_true"), t("backward.name_ignoring")]


def bias_figure_labels():
    return dict(titles=(t("backward.fig_bias_title"), t("backward.fig_loss_title")), x=t("common.step"),
                bias=t("backward.fig_bias_axis"), loss=t("backward.fig_loss_axis"))


def mean_bias(run):
    """Per record, the mean |b| over every hidden unit (layers weighted by their width)."""
    widths = np.array(run.config.hidden, float)
    return np.array(run.bias) @ widths / widths.sum()


def bias_sentences(true_bn, ignoring):
    """What the two runs show, each sentence chosen by the measured numbers."""
    out = []
    grad = max(true_bn.grad)
    b_true = float(np.max(true_bn.bias))
    key = "backward.say_true_zero" if grad < BIAS_ZERO else "backward.say_true_moves"
    out.append(t(key, grad=f"{grad:.0e}" if grad > 0 else "0", bias=f"{b_true:.0e}" if b_true > 0 else "0"))
    b = mean_bias(ignoring)
    half = int(np.searchsorted(ignoring.steps, ignoring.steps[-1] // 2))
    params = dict(half=ignoring.steps[half], steps=ignoring.steps[-1], b_half=fmt_num(b[half], 3),
                  b_end=fmt_num(b[-1], 3), grad=fmt_num(float(np.mean(ignoring.grad[1:])), 2))
    growing = b[half] > 0 and b[-1] > GROWING * b[half]
    out.append(t("backward.say_ignoring_grows" if growing else "backward.say_ignoring_stalls", **params))
    change = max(float(np.ptp(true_bn.loss)), float(np.ptp(ignoring.loss)))
    key = "backward.say_loss_still" if change < LOSS_STILL else "backward.say_loss_moves"
    out.append(t(key, change=f"{change:.0e}" if change > 0 else "0", loss=fmt_num(ignoring.loss[0], 3)))
    return out
