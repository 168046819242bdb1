"""What a training run records every few steps: the per-layer distributions the lessons draw, and the metrics.

Memory stays bounded: past ``MAX_SNAPSHOTS`` records, every other one is dropped and the interval doubles.
"""
import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PERCENTILES = (1, 15, 50, 85, 99)
HIST_EDGES = np.linspace(-10.0, 10.0, 81)  # fixed bins so histograms compare across steps and runs
N_BINS = len(HIST_EDGES) - 1
assert np.array_equal(HIST_EDGES, np.arange(-40, 41) / 4)  # the multiples of 1/4: see fine_bins
FINE_PER_UNIT = 64  # fine bins, 16 per histogram bin, to find percentiles without sorting every value
FINE_LIMIT = int(HIST_EDGES[-1]) * FINE_PER_UNIT
FINE_BINS = 2 * FINE_LIMIT + 2
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
        return cls.of_many([values])[0]

    @classmethod
    def of_many(cls, arrays):
        """The summary of each array, computed in one pass over all their values: a snapshot needs two per layer,
        and a few NumPy operations on many values cost less than many operations on few."""
        parts = len(arrays)
        sizes = np.array([np.size(a) for a in arrays])
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        v = np.concatenate([np.ravel(a) for a in arrays])
        # Each array gets a range of fine bins of its own, after the previous array's: the bins order the values
        # within each array and keep the arrays apart.
        bins = fine_bins(v)
        bins += np.repeat(np.arange(parts) * FINE_BINS, sizes)
        counts = np.bincount(bins, minlength=parts * FINE_BINS)
        per_array = counts.reshape(parts, FINE_BINS)
        hist = per_array[:, 1:-1].reshape(parts, N_BINS, -1).sum(axis=2)  # 16 fine bins make one histogram bin
        hist[:, 0] += per_array[:, 0]  # and the end bins take everything beyond ±10
        hist[:, -1] += per_array[:, -1]
        means = np.add.reduceat(v, starts, dtype=np.float64) / sizes  # float32 sums of large values could overflow
        centered = v - np.repeat(means, sizes)  # float64
        stds = np.sqrt(np.add.reduceat(centered * centered, starts) / sizes)
        percentiles = binned_percentiles(v, bins, counts, starts, sizes, PERCENTILES)
        return [cls(p, float(m), float(s), h) for p, m, s, h in zip(percentiles, means, stds, hist)]

    def is_finite(self):
        return bool(np.isfinite(self.percentiles).all() and np.isfinite(self.mean) and np.isfinite(self.std))


def fine_bins(v):
    """The fine bin of each value: bin i in 1..1280 holds ((i − 641)/64, (i − 640)/64], bin 0 everything ≤ −10 and
    bin 1281 everything > 10. Exact, edges included: 64·v is exact in binary floating point, and ⌈64·v⌉ names the
    1/64-interval that v lies in. As the histogram bins are (edge, next edge], so are these."""
    limit = (FINE_LIMIT + 1) / FINE_PER_UNIT  # beyond ±10 it is the end bins anyway: clamp, so nothing overflows
    t = np.minimum(v, limit)  # (a Python float keeps float32 as float32)
    np.maximum(t, -limit, out=t)
    t *= FINE_PER_UNIT
    np.ceil(t, out=t)
    bins = t.astype(np.intp)
    bins += FINE_LIMIT
    return np.maximum(bins, 0, out=bins)


def binned_percentiles(v, bins, counts, starts, sizes, percentiles):
    """np.percentile's default (linear interpolation) of each part ``v[start:start + size]``, given the bin of each
    value and the counts per bin (bins in value order, each part's after the previous part's). Only the values in
    the few bins holding the order statistics needed are sorted, not all of them: same result, less work."""
    per_part = [_interpolation(int(n), tuple(percentiles)) for n in sizes]
    offsets = np.repeat(starts, len(percentiles))
    lo = np.concatenate([p[0] for p in per_part]) + offsets
    hi = np.concatenate([p[1] for p in per_part]) + offsets
    frac = np.array([p[2] for p in per_part])
    ranks = np.concatenate([lo, hi])  # of each order statistic needed, among all values sorted by (part, value)
    where = np.searchsorted(np.cumsum(counts), ranks, side="right")  # the bin holding each
    needed = np.zeros(len(counts), dtype=bool)
    needed[where] = True
    if counts[needed].sum() > len(v) // 2:  # most values in those few bins (e.g. beyond ±10): sort them all
        ordered = np.concatenate([np.sort(v[s:s + n]) for s, n in zip(starts, sizes)])
        at = ordered[ranks]
    else:
        skipped = np.where(needed, 0, counts)
        skipped_below = np.cumsum(skipped) - skipped  # values in bins left out, below each bin
        keep = needed[bins]
        picked, picked_bins = v[keep], bins[keep]
        at = picked[np.lexsort((picked, picked_bins))][ranks - skipped_below[where]]  # by bin, then value
    at = at.astype(np.float64)
    a, b = at[:len(lo)].reshape(frac.shape), at[len(lo):].reshape(frac.shape)
    return a + (b - a) * frac


def sorted_percentiles(s, percentiles):
    """np.percentile's default (linear interpolation) for data already sorted along axis 0."""
    lo, hi, frac = _interpolation(s.shape[0], tuple(percentiles))
    a, b = s[lo].astype(np.float64), s[hi].astype(np.float64)
    return a + (b - a) * frac.reshape((-1,) + (1,) * (s.ndim - 1))


@functools.lru_cache(maxsize=32)
def _interpolation(n, percentiles):
    """Indices of the two order statistics around each percentile of n sorted values, and the weight between."""
    pos = np.asarray(percentiles, dtype=float) / 100 * (n - 1)
    lo = np.floor(pos).astype(int)
    return lo, np.minimum(lo + 1, n - 1), pos - lo


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

    def is_finite(self):
        """True when every number is finite (drift may be None, γ/β absent)."""
        dists = [d for d in (self.pre_activation, self.bn_input) if d is not None]
        params = [p for p in (self.gamma, self.beta) if p is not None]
        return bool(all(d.is_finite() for d in dists) and all(np.isfinite(p).all() for p in params)
                    and np.isfinite([self.saturated, self.dead, self.grad_norm,
                                     0.0 if self.drift is None else self.drift]).all())


@dataclass
class Snapshot:
    step: int
    train_loss: float  # mean of the mini-batch losses since the previous record
    train_acc: float
    test_loss: float  # eval mode (running statistics), on the whole test split
    test_acc: float
    layers: list[LayerSnapshot]
    unit_percentiles: np.ndarray  # (units, len(PERCENTILES)) of the last hidden layer's pre-activation, per unit


DIVERGENCE_REASONS = ("nan_loss", "exploding_loss", "non_finite_activations")


@dataclass
class Divergence:
    step: int
    reason: str  # one of DIVERGENCE_REASONS
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
    # per hidden layer, the last record's pre-activations sorted per unit, and their std (for the drift)
    _sorted_prev: list = field(default_factory=list, repr=False)

    @property
    def steps(self):
        return np.array([s.step for s in self.snapshots])

    @property
    def n_layers(self):
        return len(self.snapshots[0].layers) if self.snapshots else 0

    def metric(self, name):
        """One of train_loss, train_acc, test_loss, test_acc, over the records."""
        return np.array([getattr(s, name) for s in self.snapshots], dtype=float)

    def first_step_reaching(self, target, metric="test_acc"):
        """The first recorded step at which ``metric`` is at least ``target``, or None."""
        values = self.metric(metric)
        hit = np.flatnonzero(np.isfinite(values) & (values >= target))
        return int(self.steps[hit[0]]) if len(hit) else None

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
    model.backward(dlogits)  # gradients on the probe batch: the same examples at every record
    if train_loss is None:  # step 0: nothing trained yet, report the probe batch
        train_loss, train_acc = probe_loss, float((logits.argmax(1) == probe_y).mean())
    pres = [h.pre_activation for h in model.hidden]
    if not all(np.isfinite(pre).all() for pre in pres):
        return None
    summaries = DistSummary.of_many(pres + [h.bn_input for h in model.hidden if h.bn is not None])
    bn_summaries = iter(summaries[len(pres):])
    layers = []
    sorted_now = []
    for i, (h, pre, pre_summary) in enumerate(zip(model.hidden, pres, summaries)):
        s = np.sort(pre, axis=0)
        drift = None
        if record._sorted_prev:
            prev, prev_std = record._sorted_prev[i]
            # Per unit, the 1-D Wasserstein distance between the two empirical distributions of the same probe
            # examples (mean gap of sorted values), averaged over units, in units of the earlier layer spread.
            gap = s - prev
            drift = float(np.abs(gap, out=gap).mean(dtype=np.float64) / (prev_std + 1e-8))
        low = low_gradient_mask(model.activation, pre)
        sorted_now.append((s, pre_summary.std))
        layers.append(LayerSnapshot(
            pre_activation=pre_summary,
            bn_input=None if h.bn is None else next(bn_summaries),
            saturated=np.count_nonzero(low) / low.size,
            dead=np.count_nonzero(low.all(axis=0)) / low.shape[1],
            grad_norm=float(np.linalg.norm(h.linear.dW.astype(np.float64, copy=False))),  # float32 could overflow
            drift=drift,
            gamma=None if h.bn is None else h.bn.gamma.copy(),
            beta=None if h.bn is None else h.bn.beta.copy(),
        ))
        if not layers[-1].is_finite():  # finite activations whose statistics or gradients overflow
            return None
    unit_percentiles = sorted_percentiles(s, PERCENTILES).T  # last hidden layer, per unit: (units, percentiles)
    model.eval()
    test_loss, _ = loss_fn(test_logits := model.forward(test_X), test_y)
    model.train()
    if not (np.isfinite(test_loss) and np.isfinite(train_loss)):
        return None
    record._sorted_prev = sorted_now
    return Snapshot(step, float(train_loss), float(train_acc), float(test_loss),
                    float((test_logits.argmax(1) == test_y).mean()), layers, unit_percentiles)
