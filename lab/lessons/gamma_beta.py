"""γ and β: the BN inputs of a real batch through a trained network, and the numbers the lesson's sentences quote.

The slider path is pure NumPy on one cached batch (no training): x̂ → y = γx̂ + β → sigmoid(y).
"""
from dataclasses import dataclass

import numpy as np

from bn_core import SIGMOID_SATURATION_X, load_data, sigmoid
from lab.caches import memoized
from lab.i18n import fmt_num, fmt_pct, t, translate
from lab.lessons import covariate_shift as ics

BATCH = 250  # examples in the demo batch: enough for a readable histogram
LINEAR_Y = 1.0  # |y| below this is the sigmoid's "linear region"
UNDONE_TOL = 1e-9  # γ, β within this of σ_B, μ_B count as "BN undone"
MAX_CACHED = 16
SYMBOLS = {"mu_b": r"$\mu_\mathcal{B}$", "sigma_b": r"$\sigma_\mathcal{B}$",
           "sd_b": r"$\sqrt{\sigma_\mathcal{B}^2+\epsilon}$"}  # LaTeX for the sentences (kept out of the tables)


def tangent_gap(limit=LINEAR_Y):
    """The largest gap between the sigmoid and its tangent at 0 (½ + y/4) over |y| ≤ limit (at y = limit)."""
    return float(abs(sigmoid(np.float64(limit)) - (0.5 + limit / 4)))


def config(seed=0):
    """The network whose batch is shown: the internal-covariate-shift lesson's default run with BN (shared cache)."""
    return ics.configs(seed=seed)[0]  # the same config: its run is trained once for both lessons



def demo_batch(config, batch=BATCH):
    """(images, labels): the fixed batch of training examples the page shows, drawn by the config's seed."""
    data = load_data(config)
    rng = np.random.default_rng((config.seed, 2))
    idx = rng.choice(len(data.X_train), size=min(batch, len(data.X_train)), replace=False)
    return data.X_train[idx], data.y_train[idx]


@memoized(MAX_CACHED)
def bn_inputs(record, batch=BATCH):
    """Per hidden layer, the (batch, units) BN inputs x of a fixed batch of training images forwarded in train mode
    through a fresh model built from the record (memoized by the run: its config, status and length); float64."""
    model = record.build_model()
    model.forward(demo_batch(record.config, batch)[0], update_stats=False)
    return [np.array(h.bn.x, dtype=np.float64) for h in model.hidden]


@dataclass(frozen=True)
class Unit:
    """One unit's BN input over the batch and its batch statistics."""

    x: np.ndarray
    eps: float
    picked: bool = False  # the page preselected this unit (cherry-picked): the sentences say so

    @property
    def mu(self):
        return float(self.x.mean())

    @property
    def var(self):
        return float(self.x.var())  # biased, as BN normalizes with

    @property
    def sigma(self):
        """√(σ²_B + ε): what γ must be to undo the normalization."""
        return float(np.sqrt(self.var + self.eps))

    @property
    def x_hat(self):
        return (self.x - self.mu) / self.sigma


def transform(x_hat, gamma, beta):
    """BN's scale and shift, y = γx̂ + β, then the sigmoid: (y, sigmoid(y))."""
    y = gamma * x_hat + beta
    return y, sigmoid(y)


def linear_share(y, limit=LINEAR_Y):
    return float(np.mean(np.abs(y) < limit))


def saturated_share(y):
    return float(np.mean(np.abs(y) > SIGMOID_SATURATION_X))


def is_undone(unit, gamma, beta):
    return abs(gamma - unit.sigma) <= UNDONE_TOL * max(1.0, unit.sigma) and \
        abs(beta - unit.mu) <= UNDONE_TOL * max(1.0, abs(unit.mu))


def slider_ranges(xs, eps, learned):
    """(γ max, β bound) wide enough for every unit's undo values and the learned ones, at least (3, 3)."""
    sig = max(float(np.sqrt(x.var(axis=0) + eps).max()) for x in xs)
    mu = max(float(np.abs(x.mean(axis=0)).max()) for x in xs)
    g = max(float(np.abs(p).max()) for p, _ in learned)
    b = max(float(np.abs(q).max()) for _, q in learned)
    return float(max(3.0, np.ceil(max(sig, g) * 1.1))), float(max(3.0, np.ceil(max(mu, b) * 1.1)))


def keep_in_range(state, g_max, b_max):
    """The γ and β sliders' values (``state``: st.session_state or a dict) set to (1, 0) on a first visit and kept
    within the sliders' ranges (another layer or run may have narrower ones)."""
    state.setdefault("gb_gamma", 1.0)
    state.setdefault("gb_beta", 0.0)
    state["gb_gamma"] = min(max(float(state["gb_gamma"]), 0.0), g_max)
    state["gb_beta"] = min(max(float(state["gb_beta"]), -b_max), b_max)


def unit_labels(lang, n_units, best):
    """{unit: its label in ``lang``}, the preselected unit ``best`` marked as such."""
    return {u: translate(lang, "gamma_beta.unit_default" if u == best else "gamma_beta.unit_n", u=u)
            for u in range(n_units)}


def transform_text():
    """The translated titles, names and axis titles of lab.figures.gamma_beta.transform_histograms."""
    return dict(
        titles=["x̂ = (x − μ<sub>B</sub>) / σ<sub>B</sub>", t("gamma_beta.panel_y"), t("gamma_beta.panel_s")],
        names={"x_hat": "x̂", "y": "y = γx̂ + β", "x": t("gamma_beta.name_x"), "s": "sigmoid(y)",
               "linear": t("gamma_beta.name_linear")},
        axis={"share": t("common.share"), "x_hat": "x̂", "y": t("gamma_beta.axis_y"), "s": "sigmoid(y)"})


def learned_text(unit_index):
    """The translated names and axis titles of lab.figures.gamma_beta.learned_params."""
    return dict(names={"median": t("gamma_beta.name_median"), "band": t("gamma_beta.name_band"),
                       "unit": t("gamma_beta.unit_n", u=unit_index)},
                axis={"x": t("common.step"), "gamma": "γ", "beta": "β"})


def learned(record, layer):
    """(γ, β) of a hidden layer at the last record (the end of training)."""
    last = record.snapshots[-1].layers[layer]
    return last.gamma.astype(np.float64), last.beta.astype(np.float64)


def param_series(record, layer, name):
    """(records, units) of γ or β of a layer over training."""
    return np.array([getattr(s.layers[layer], name) for s in record.snapshots], dtype=np.float64)


def default_unit(record, layer):
    """The unit whose learned (γ, β) moved furthest from plain normalization (1, 0)."""
    gamma, beta = learned(record, layer)
    return int(np.argmax(np.abs(np.log(np.abs(gamma) + 1e-12)) + np.abs(beta)))


NEAR = 0.1  # learned γ, β within 10% of σ_B (β: of σ_B from μ_B) count as "close" to undoing BN


def learned_phrase(unit, learned_gamma, learned_beta):
    """How the learned γ, β stand to this batch's σ_B, μ_B: both close (near), γ off (far), or β off (far_beta)."""
    gamma_near = abs(learned_gamma - unit.sigma) < NEAR * unit.sigma
    beta_near = abs(learned_beta - unit.mu) < NEAR * unit.sigma
    if gamma_near and beta_near:
        return t("gamma_beta.say_learned_near")
    if not gamma_near:
        return t("gamma_beta.say_learned_far", ratio=fmt_num(learned_gamma / unit.sigma, 2), **SYMBOLS)
    return t("gamma_beta.say_learned_far_beta", ratio=fmt_num(learned_gamma / unit.sigma, 2),
             off=fmt_num(abs(learned_beta - unit.mu) / unit.sigma, 2), **SYMBOLS)


def sentences(unit, gamma, beta, learned_gamma, learned_beta):
    """The "What this run shows" box for the sliders' γ, β on this unit's batch; a preselected unit
    (``unit.picked``) is said to be cherry-picked."""
    y, _ = transform(unit.x_hat, gamma, beta)
    out = [t("gamma_beta.say_now", gamma=fmt_num(gamma), beta=fmt_num(beta), linear=fmt_pct(linear_share(y)),
             saturated=fmt_pct(saturated_share(y)), sat_x=fmt_num(SIGMOID_SATURATION_X, 2))]
    out.append(t("gamma_beta.say_compare", plain=fmt_pct(linear_share(unit.x_hat)), raw=fmt_pct(linear_share(unit.x))))
    if is_undone(unit, gamma, beta):
        out.append(t("gamma_beta.say_undone", err=f"{float(np.abs(y - unit.x).max()):.1e}", **SYMBOLS))
    else:
        out.append(t("gamma_beta.say_not_undone", mu=fmt_num(unit.mu), sigma=fmt_num(unit.sigma), **SYMBOLS))
    y_l, _ = transform(unit.x_hat, learned_gamma, learned_beta)
    out.append(t("gamma_beta.say_learned", gamma=fmt_num(learned_gamma), beta=fmt_num(learned_beta),
                 linear=fmt_pct(linear_share(y_l))) + learned_phrase(unit, learned_gamma, learned_beta))
    if unit.picked:
        out.append(t("gamma_beta.say_picked"))
    out.append(t("gamma_beta.say_learned_scale", **SYMBOLS))
    return out


def layer_sentence(record):
    """Where training took γ and β, layer by layer (median over units at the last record)."""
    last = record.snapshots[-1].layers
    gammas = ", ".join(fmt_num(float(np.median(ls.gamma)), 3) for ls in last)
    betas = ", ".join(fmt_num(float(np.median(ls.beta)), 2) for ls in last)
    spread = ", ".join("–".join(fmt_num(float(np.percentile(ls.gamma, q)), 3) for q in (10, 90)) for ls in last)
    return t("gamma_beta.say_layers", steps=record.steps_done, gammas=gammas, betas=betas, spread=spread)
