"""Beyond the paper: the measurements that test *why* BN helps, the sweeps' configs, and the published numbers.

- ``gradient_ics``: covariate shift as the layers above feel it, measured through gradients (Santurkar et al. 2018,
  "How Does Batch Normalization Help Optimization?", §2.2): how much a layer's weight gradient changes when the
  layers below it take their SGD step on the same batch.
- ``landscape``: loss variation, gradient predictiveness and effective β-smoothness along the gradient (ibid. §3.1).
- ``train_measured``: a training run (train_steps, unchanged) that takes one of those measurements at every record.
- sweep helpers that build configs (the app runs them through its shared pool), the largest stable learning rate,
  and the spread of mini-batch statistics around the population's.
- The published numbers the lesson shows beside the student's own runs.

Every measurement leaves the model exactly as it found it (parameters, running statistics, noise), so measuring a
run does not change it. Forward passes use the batch's statistics (train mode) with ``update_stats=False``.
"""
from contextlib import closing
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .layers import Linear, softmax_cross_entropy
from .train import TrainConfig, check_config, load_data, train_steps

# --- covariate shift through gradients ------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientShift:
    """Per linear layer (forward order), G = ∂loss/∂W and G′ = the same after the layers below took their step."""

    layers: tuple  # layer names: fc1, ..., out
    diff: np.ndarray  # ‖G − G′‖ (Frobenius)
    cos: np.ndarray  # cos(G, G′)
    grad_norm: np.ndarray  # ‖G‖, to read diff relative to the gradient's size


def _loss_and_backward(model, X, y):
    """Loss on (X, y) with the batch's statistics, gradients filled; running statistics (and noise) untouched."""
    loss, dlogits = softmax_cross_entropy(model.forward(X, update_stats=False), y)
    model.backward(dlogits)
    return loss


def _cosine(a, b, diff):
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    if denom == 0:
        return 1.0 if diff == 0 else 0.0
    return float(np.clip(np.vdot(a, b) / denom, -1.0, 1.0))


def gradient_ics(model, X, y, lr):
    """For each linear layer i: G_i on the batch (X, y); then every trained parameter *below* layer i takes the SGD
    step ``p -= lr·∂loss/∂p`` from that same batch's gradient, the layers from i up keep their values, and G′_i is
    the gradient again. Returns a GradientShift; the model is restored bit for bit.

    The first layer has nothing below it, so its G′ = G. Only the parameters the optimizer trains move (an
    "affine_only" model's linear layers stay put, as in its training).
    """
    position = {name: i for i, name in enumerate(model._names)}
    linears = [(name, layer) for name, layer in zip(model._names, model.layers) if isinstance(layer, Linear)]
    params = model.parameters()
    saved = {k: p.copy() for k, p in params.items()}
    with np.errstate(all="ignore"):
        _loss_and_backward(model, X, y)
        steps = {k: lr * g for k, g in model.gradients().items()}  # the SGD step of every trained parameter
        G = [layer.dW.astype(np.float64) for _, layer in linears]
        moved = set()
        diff, cos = [], []
        try:
            for (name, layer), g in zip(linears, G):
                below = [k for k in params if position[k.split(".")[0]] < position[name] and k not in moved]
                for k in below:  # layers are visited bottom up, so each parameter takes its step once
                    params[k] -= steps[k]
                moved.update(below)
                _loss_and_backward(model, X, y)
                g_after = layer.dW.astype(np.float64)
                d = float(np.linalg.norm(g - g_after))
                diff.append(d)
                cos.append(_cosine(g, g_after, d))
        finally:
            for k, p in params.items():
                p[...] = saved[k]
    return GradientShift(tuple(name for name, _ in linears), np.array(diff), np.array(cos),
                         np.array([np.linalg.norm(g) for g in G]))


# --- loss landscape along the gradient ------------------------------------------------------------------------


@dataclass(frozen=True)
class Landscape:
    """The loss and its gradient at θ − η·∇L(θ), for each step size η."""

    step_sizes: np.ndarray
    losses: np.ndarray  # L(θ − η∇L); NaN where it is not finite (the step blew the network up)
    grad_changes: np.ndarray  # ‖∇L(θ) − ∇L(θ − η∇L)‖; NaN where not finite
    loss: float  # L(θ)
    grad_norm: float  # ‖∇L(θ)‖
    loss_variation: float  # max − min of the finite losses (the range of the loss along the step)
    grad_predictiveness: float  # the largest gradient change (smaller: the gradient predicts the next one better)
    beta_smoothness: float  # the largest gradient change per unit distance moved, ‖Δ∇L‖ / ‖η∇L‖


def _nan_if_not_finite(a):
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


def _nan_extreme(fn, a):
    finite = a[np.isfinite(a)]
    return float(fn(finite)) if len(finite) else float("nan")


def landscape_along_gradient(loss_and_grad, theta, step_sizes):
    """The Landscape of any differentiable loss: ``loss_and_grad(θ) -> (loss, gradient)`` on flat float64 vectors.
    (``landscape`` applies it to a model; a quadratic loss checks it, its smoothness being its curvature.)"""
    theta = np.asarray(theta, dtype=np.float64)
    etas = np.asarray(step_sizes, dtype=np.float64)
    loss0, g0 = loss_and_grad(theta)
    g0 = np.asarray(g0, dtype=np.float64)
    losses, changes = [], []
    with np.errstate(all="ignore"):
        for eta in etas:
            loss, g = loss_and_grad(theta - eta * g0)
            losses.append(loss)
            changes.append(np.linalg.norm(g0 - np.asarray(g, dtype=np.float64)))
        losses, changes = _nan_if_not_finite(losses), _nan_if_not_finite(changes)
        grad_norm = float(np.linalg.norm(g0))
        distance = etas * grad_norm
        per_distance = np.where(distance > 0, changes / np.where(distance > 0, distance, 1.0), np.nan)
    return Landscape(etas, losses, changes, float(loss0), grad_norm,
                     _nan_extreme(np.max, losses) - _nan_extreme(np.min, losses),
                     _nan_extreme(np.max, changes), _nan_extreme(np.max, per_distance))


def landscape(model, X, y, step_sizes):
    """The Landscape of the model's loss on (X, y), over all its trained parameters as one vector. The model's
    parameters are restored afterwards."""
    params = model.parameters()
    grads = model.gradients()
    saved = {k: p.copy() for k, p in params.items()}
    sizes = [p.size for p in params.values()]
    splits = np.cumsum(sizes)[:-1]

    def loss_and_grad(theta):
        for p, part in zip(params.values(), np.split(theta, splits)):
            p[...] = part.reshape(p.shape)
        loss = _loss_and_backward(model, X, y)
        return loss, np.concatenate([g.ravel() for g in grads.values()]).astype(np.float64)

    theta = np.concatenate([p.ravel() for p in params.values()]).astype(np.float64)
    try:
        with np.errstate(all="ignore"):
            return landscape_along_gradient(loss_and_grad, theta, step_sizes)
    finally:
        for k, p in params.items():
            p[...] = saved[k]


# --- a training run measured at every record ------------------------------------------------------------------

# Step sizes of the landscape measurement, as multiples of the run's learning rate (around the step it takes).
LANDSCAPE_STEP_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
MEASURES = ("gradient_ics", "landscape")


def take_measurement(name, model, X, y, config):
    """One measurement of a model in training with ``config``: a GradientShift or a Landscape."""
    if name == "gradient_ics":
        return gradient_ics(model, X, y, config.lr)
    if name == "landscape":
        return landscape(model, X, y, config.lr * np.array(LANDSCAPE_STEP_FACTORS))
    raise ValueError(f"unknown measure {name!r}; use one of {MEASURES}")


@dataclass
class MeasuredSeries:
    """A measurement at each record of a run: ``values[i]`` was taken at ``steps[i]``."""

    name: str
    steps: list = field(default_factory=list)
    values: list = field(default_factory=list)

    def array(self, attribute):
        """One attribute over the records: (records,) for a number, (records, layers) for a per-layer array."""
        return np.array([getattr(v, attribute) for v in self.values], dtype=np.float64)

    def keep(self, steps):
        """Keep only the records at ``steps`` (follows the RunRecord when it thins its history)."""
        wanted = set(int(s) for s in steps)
        kept = [(s, v) for s, v in zip(self.steps, self.values) if s in wanted]
        self.steps, self.values = [s for s, _ in kept], [v for _, v in kept]


def measurement_batch(config, data):
    """The fixed training batch every measurement of a run uses: its first ``batch_size`` training examples."""
    return data.X_train[:config.batch_size], data.y_train[:config.batch_size]


def train_measured(config, measure, data=None, dtype=np.float32):
    """``train_steps`` unchanged, plus a measurement (one of MEASURES) at every record point: yields
    ``(record, series)``, the live RunRecord and the MeasuredSeries, after each record. The measurement runs
    between records on ``measurement_batch`` and restores the model, so the run is the same as without it."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {MEASURES}")
    check_config(config)
    data = load_data(config, dtype) if data is None else data
    X, y = measurement_batch(config, data)
    series = MeasuredSeries(measure)
    with closing(train_steps(config, data, dtype)) as live:
        for record in live:
            step = int(record.snapshots[-1].step) if record.snapshots else None
            new = step is not None and (not series.steps or step > series.steps[-1])
            if new and record.status != "diverged":  # a diverged run's model holds non-finite values
                series.steps.append(step)
                series.values.append(take_measurement(measure, record.build_model(), X, y, config))
            series.keep(record.steps)
            yield record, series


# --- sweeps: configs only (the app runs them through its pool) ------------------------------------------------


def lr_sweep_configs(base, lrs):
    """``base`` at each learning rate (call once with BN, once without: same seed, same initial weights)."""
    return [base.replace(lr=float(lr)) for lr in lrs]


def batch_sweep_configs(base, batch_sizes):
    """``base`` at each batch size m, learning rate scaled linearly, lr·m/m_base (Wu & He 2018, as Goyal et al.),
    and the same number of epochs: steps (and the record interval) scaled by m_base/m."""
    configs = []
    for m in batch_sizes:
        m = int(m)
        configs.append(base.replace(
            batch_size=m, lr=base.lr * m / base.batch_size,
            steps=max(1, round(base.steps * base.batch_size / m)),
            record_every=max(1, round(base.record_every * base.batch_size / m))))
    return configs


STABLE_LOSS_SHARE = 0.5  # a stable run ends below this share of its starting training loss


def is_stable(record):
    """A run is stable when it finished (no divergence) and at least halved its training loss: a run that neither
    diverges nor learns (saturated units, loss stuck near chance) does not count."""
    if record.status != "finished" or len(record.snapshots) < 2:
        return False
    loss = record.metric("train_loss")
    return bool(np.isfinite(loss[-1]) and loss[-1] < STABLE_LOSS_SHARE * loss[0])


def largest_stable_lr(records):
    """The largest learning rate among the stable runs (``is_stable``), or None when none is."""
    stable = [r.config.lr for r in records if is_stable(r)]
    return max(stable) if stable else None


def norm_inputs(model, X):
    """Per hidden layer, what its normalization layer takes in (BN's input; without BN the linear layer's output,
    what BN would take) over all of X, in eval mode (so no batch shapes the values below). Mode restored."""
    was_training = model.training
    model.eval()
    try:
        model.forward(X)
        return [np.array(h.pre_activation if h.bn is None else h.bn.x, dtype=np.float64) for h in model.hidden]
    finally:
        if was_training:
            model.train()


BATCH_SPREAD_DRAWS = 200  # mini-batches drawn per batch size


def batch_stat_spread(Z, batch_sizes, n_batches=BATCH_SPREAD_DRAWS, seed=0):
    """How far a mini-batch's statistics fall from the population's, per batch size m. ``Z`` is (N, units): one
    layer's values over the data (the population). For each m, ``n_batches`` batches of m distinct rows are drawn;
    per unit, with the population mean μ and variance σ², returns the root mean square over batches and units of
    (μ_B − μ)/σ (``mean_spread``, ≈ 1/√m) and (σ²_B − σ²)/σ² (``var_spread``, σ²_B biased as BN uses it; for
    Gaussian values ≈ √(2m − 1)/m). Units that do not vary are left out."""
    Z = np.asarray(Z, dtype=np.float64)
    mu, var = Z.mean(axis=0), Z.var(axis=0)
    varying = var > 0
    Z, mu, var = Z[:, varying], mu[varying], var[varying]
    rng = np.random.default_rng(seed)
    rows = []
    for m in batch_sizes:
        m = int(m)
        if not 1 <= m <= len(Z) or not varying.any():
            rows.append((m, np.nan, np.nan))
            continue
        idx = np.stack([rng.choice(len(Z), m, replace=False) for _ in range(n_batches)])
        batches = Z[idx]  # (n_batches, m, units)
        mean_err = (batches.mean(axis=1) - mu) / np.sqrt(var)
        var_err = (batches.var(axis=1) - var) / var
        rows.append((m, float(np.sqrt(np.mean(mean_err ** 2))), float(np.sqrt(np.mean(var_err ** 2)))))
    return pd.DataFrame(rows, columns=["batch_size", "mean_spread", "var_spread"])


# --- the six experiments at their default size ---------------------------------------------------------------
# Sized so that each trains in under 20 s on a 2-core machine with two runs at a time (benchmarks/beyond_sweeps.py
# measures it; the README has the figures). Every experiment compares variants of one base config: same seed, same
# initial weights, same mini-batches.

BASE = TrainConfig()  # the covariate-shift lesson's network: digits, 3×100 sigmoid, batch 60, lr 0.5
EXPERIMENTS = ("lr_headroom", "batch_size", "noisy", "gradient_ics", "landscape", "ablations")
NO_NORM = "none"  # the series name of a run without normalization (batchnorm=False)

LR_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # half-decade steps
LR_SWEEP_STEPS = 1000
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)
# The reference point of the linear scaling: batch 64 at lr 1.0 for 200 steps, i.e. ~9.5 epochs of digits per run.
BATCH_SWEEP_BATCH, BATCH_SWEEP_LR, BATCH_SWEEP_STEPS = 64, 1.0, 200
RUN_STEPS = 2000  # noisy BN, the two measured runs and the ablations
RECORD_EVERY = 50
EXPERIMENT_SERIES = {
    "lr_headroom": ("batch", NO_NORM),
    "batch_size": ("batch", "layer", NO_NORM),
    "noisy": (NO_NORM, "batch", "noisy"),
    "gradient_ics": ("batch", NO_NORM),
    "landscape": ("batch", NO_NORM),
    "ablations": ("batch", NO_NORM, "mean_only", "var_only", "frozen_affine", "affine_only"),
}
EXPERIMENT_MEASURE = {"gradient_ics": "gradient_ics", "landscape": "landscape"}  # run with train_measured


def with_norm(base, series):
    """``base`` with the normalization named ``series``: one of norms.NORMS, or NO_NORM."""
    return base.replace(batchnorm=False) if series == NO_NORM else base.replace(batchnorm=True, norm=series)


def experiment_configs(name, base=BASE):
    """The runs of one experiment at its default size, as ``(series, config)`` pairs in a fixed order. ``base``
    carries everything the experiment does not set (the seed above all). The experiments in EXPERIMENT_MEASURE are
    run with ``train_measured(config, EXPERIMENT_MEASURE[name])``, the others with ``train_steps``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; use one of {EXPERIMENTS}")
    base = base.replace(record_every=RECORD_EVERY)
    runs = []
    for series in EXPERIMENT_SERIES[name]:
        config = with_norm(base, series)
        if name == "lr_headroom":
            configs = lr_sweep_configs(config.replace(steps=LR_SWEEP_STEPS), LR_GRID)
        elif name == "batch_size":
            reference = config.replace(batch_size=BATCH_SWEEP_BATCH, lr=BATCH_SWEEP_LR, steps=BATCH_SWEEP_STEPS,
                                       record_every=BATCH_SWEEP_STEPS // 10)
            configs = batch_sweep_configs(reference, BATCH_SIZES)
        else:
            configs = [config.replace(steps=RUN_STEPS)]
        runs += [(series, c) for c in configs]
    return runs


# --- the published numbers ------------------------------------------------------------------------------------

class IoffeSzegedyRow(NamedTuple):
    model: str
    lr_multiple: int  # initial learning rate, as a multiple of Inception's
    steps_to_72_2: float  # training steps to reach Inception's best accuracy, 72.2% (None: never reached)
    max_accuracy: float


# Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate
# Shift", §4.2 and Figure 3 (the table): Inception on ImageNet (LSVRC2012), single-crop validation accuracy.
# BN-Baseline is Inception with BN; BN-x5 and BN-x30 also start from a 5× and a 30× larger learning rate.
IOFFE_SZEGEDY_2015 = (
    IoffeSzegedyRow("Inception", 1, 31.0e6, 0.722),
    IoffeSzegedyRow("BN-Baseline", 1, 13.3e6, 0.727),
    IoffeSzegedyRow("BN-x5", 5, 2.1e6, 0.730),
    IoffeSzegedyRow("BN-x30", 30, 2.7e6, 0.748),
)


class WuHeRow(NamedTuple):
    batch_per_gpu: int
    bn_error: float  # top-1 validation error, %
    gn_error: float


# Wu & He 2018, "Group Normalization" (ECCV), Table 3 and Figure 1: ResNet-50 on ImageNet, validation error (%)
# against the batch size per GPU, with BN and with GN (Group Normalization: like LayerNorm, no batch statistics).
WU_HE_2018 = (
    WuHeRow(32, 23.6, 24.1),
    WuHeRow(16, 23.7, 24.2),
    WuHeRow(8, 24.8, 24.0),
    WuHeRow(4, 27.3, 24.2),
    WuHeRow(2, 34.7, 24.1),
)
