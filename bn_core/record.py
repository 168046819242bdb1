"""What a training run records every few steps: the per-layer distributions the lessons draw, and the metrics.

Memory stays bounded: past ``MAX_SNAPSHOTS`` records, every other one is dropped and the interval doubles.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PERCENTILES = (1, 15, 50, 85, 99)
HIST_EDGES = np.linspace(-10.0, 10.0, 81)  # fixed bins so histograms compare across steps and runs
MAX_SNAPSHOTS = 300
SATURATION_SHARE = 0.1  # "saturated": the derivative is below 10% of its maximum

# |x| beyond which sigmoid'(x) < 10% of sigmoid'(0) = 0.25, and tanh'(x) < 10% of tanh'(0) = 1.
SIGMOID_SATURATION_X = float(np.log((1 + np.sqrt(1 - SATURATION_SHARE)) / (1 - np.sqrt(1 - SATURATION_SHARE))))
TANH_SATURATION_X = float(np.arctanh(np.sqrt(1 - SATURATION_SHARE)))


def low_gradient_mask(activation, x):
    """True where the activation's derivative at x is below 10% of its maximum (saturated, or off for ReLU)."""
    if activation == "sigmoid":
        return np.abs(x) > SIGMOID_SATURATION_X
    if activation == "tanh":
        return np.abs(x) > TANH_SATURATION_X
    return x <= 0  # relu: derivative 0; leaky_relu: 0.01, i.e. 1% of its maximum


@dataclass
class DistSummary:
    """A distribution of values over (probe examples × units) of one layer."""

    percentiles: np.ndarray  # at PERCENTILES
    mean: float
    std: float
    hist: np.ndarray  # counts on HIST_EDGES, values outside the range counted in the end bins

    @classmethod
    def of(cls, values):
        s = np.sort(values, axis=None)  # one sort gives the percentiles and, by binary search, the histogram
        edges = np.searchsorted(s, HIST_EDGES[1:-1], side="right")
        return cls(
            percentiles=sorted_percentiles(s, PERCENTILES),
            mean=float(s.mean()),
            std=float(s.std()),
            hist=np.diff(np.concatenate(([0], edges, [len(s)]))),
        )


def sorted_percentiles(s, percentiles):
    """np.percentile's default (linear interpolation) for data already sorted along axis 0."""
    n = s.shape[0]
    pos = np.asarray(percentiles, dtype=float) / 100 * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).reshape((-1,) + (1,) * (s.ndim - 1))
    a, b = s[lo].astype(np.float64), s[hi].astype(np.float64)
    return a + (b - a) * frac


@dataclass
class LayerSnapshot:
    pre_activation: DistSummary  # the activation function's input
    bn_input: DistSummary | None  # BN's input (None without BN)
    saturated: float  # share of values where the activation's derivative is below 10% of its maximum
    dead: float  # share of units with a low gradient on every probe example
    grad_norm: float  # ‖∂loss/∂W‖ of the layer's weights on the probe batch
    drift: float | None  # change of the pre-activation distribution since the previous record (None at first)
    gamma: np.ndarray | None
    beta: np.ndarray | None


@dataclass
class Snapshot:
    step: int
    train_loss: float  # mean of the mini-batch losses since the previous record
    train_acc: float
    test_loss: float  # eval mode (running statistics), on the whole test split
    test_acc: float
    layers: list[LayerSnapshot]
    unit_percentiles: np.ndarray  # (units, len(PERCENTILES)) of the last hidden layer's pre-activation, per unit


@dataclass
class Divergence:
    step: int
    reason: str  # "nan_loss" | "exploding_loss" | "non_finite_activations"
    loss: float


@dataclass
class RunRecord:
    config: object  # the TrainConfig that produced it
    snapshots: list[Snapshot] = field(default_factory=list)
    status: str = "running"  # running | finished | diverged | stopped
    divergence: Divergence | None = None
    steps_done: int = 0
    record_every: int = 1
    model: object = None  # the MLP as it is now
    _sorted_prev: list = field(default_factory=list, repr=False)  # per layer, last record's sorted pre-activations

    @property
    def steps(self):
        return np.array([s.step for s in self.snapshots])

    @property
    def n_layers(self):
        return len(self.snapshots[0].layers) if self.snapshots else 0

    def metric(self, name):
        """One of train_loss, train_acc, test_loss, test_acc, over the records."""
        return np.array([getattr(s, name) for s in self.snapshots], dtype=float)

    def layer_series(self, layer, name):
        """A per-layer scalar (saturated, dead, grad_norm, drift) over the records; drift is NaN at the first."""
        return np.array([np.nan if (v := getattr(s.layers[layer], name)) is None else v for s in self.snapshots])

    def dist_series(self, layer, which="pre_activation"):
        """(records, PERCENTILES) and (records, bins) arrays for one layer's pre-activation or BN input."""
        dists = [getattr(s.layers[layer], which) for s in self.snapshots]
        return np.array([d.percentiles for d in dists]), np.array([d.hist for d in dists])

    def metrics_frame(self):
        return pd.DataFrame({"step": self.steps, **{m: self.metric(m) for m in
                             ("train_loss", "train_acc", "test_loss", "test_acc")}})

    def layers_frame(self):
        """One row per (record, hidden layer): the summaries a page plots, ready for a table or CSV."""
        rows = []
        for s in self.snapshots:
            for i, ls in enumerate(s.layers, start=1):
                d = ls.pre_activation
                row = {"step": s.step, "layer": i, "pre_mean": d.mean, "pre_std": d.std,
                       **{f"pre_p{p}": v for p, v in zip(PERCENTILES, d.percentiles)},
                       "saturated": ls.saturated, "dead": ls.dead, "grad_norm": ls.grad_norm, "drift": ls.drift}
                if ls.gamma is not None:
                    row.update(gamma_mean=float(ls.gamma.mean()), gamma_std=float(ls.gamma.std()),
                               beta_mean=float(ls.beta.mean()), beta_std=float(ls.beta.std()))
                rows.append(row)
        return pd.DataFrame(rows)

    def to_csv(self):
        """Metrics and per-layer summaries joined on the step, as CSV text."""
        if not self.snapshots:
            return ""
        return self.metrics_frame().merge(self.layers_frame(), on="step").to_csv(index=False)

    def add(self, snapshot):
        self.snapshots.append(snapshot)
        if len(self.snapshots) > MAX_SNAPSHOTS:
            # Keep records at multiples of twice the interval (index 0 is step 0), and record half as often.
            last = self.snapshots[-1]
            self.snapshots = self.snapshots[::2]
            self.record_every *= 2
            if self.snapshots[-1] is not last and last.step % self.record_every == 0:
                self.snapshots.append(last)


def take_snapshot(record, model, step, probe_X, probe_y, test_X, test_y, train_loss, train_acc, loss_fn):
    """Probe the model on a fixed training batch (batch statistics, running statistics untouched) and on the test
    split (eval mode). Returns the Snapshot, or None when a value is not finite (the caller reports divergence)."""
    logits = model.forward(probe_X, update_stats=False)
    probe_loss, dlogits = loss_fn(logits, probe_y)
    model.backward(dlogits)  # gradients on the probe batch: a steadier per-layer gradient norm than one mini-batch
    if train_loss is None:  # step 0: nothing trained yet, report the probe batch
        train_loss, train_acc = probe_loss, float((logits.argmax(1) == probe_y).mean())
    layers = []
    sorted_now = []
    for i, h in enumerate(model.hidden):
        pre = h.pre_activation
        if not np.all(np.isfinite(pre)):
            return None
        s = np.sort(pre, axis=0)
        sorted_now.append(s)
        drift = None
        if record._sorted_prev:
            prev = record._sorted_prev[i]
            # Per unit, the 1-D Wasserstein distance between the two empirical distributions of the same probe
            # examples (mean gap of sorted values), averaged over units, in units of the earlier layer spread.
            drift = float(np.abs(s - prev).mean() / (prev.std() + 1e-8))
        low = low_gradient_mask(model.activation, pre)
        layers.append(LayerSnapshot(
            pre_activation=DistSummary.of(pre),
            bn_input=None if h.bn is None else DistSummary.of(h.bn_input),
            saturated=float(low.mean()),
            dead=float(low.all(axis=0).mean()),
            grad_norm=float(np.linalg.norm(h.linear.dW)),
            drift=drift,
            gamma=None if h.bn is None else h.bn.gamma.copy(),
            beta=None if h.bn is None else h.bn.beta.copy(),
        ))
    unit_percentiles = sorted_percentiles(s, PERCENTILES).T  # last hidden layer, per unit: (units, percentiles)
    model.eval()
    test_loss, _ = loss_fn(test_logits := model.forward(test_X), test_y)
    model.train()
    if not (np.isfinite(test_loss) and np.isfinite(train_loss)):
        return None
    record._sorted_prev = sorted_now
    return Snapshot(step, float(train_loss), float(train_acc), float(test_loss),
                    float((test_logits.argmax(1) == test_y).mean()), layers, unit_percentiles)
