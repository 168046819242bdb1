"""What a training run records: per record point a Snapshot (metrics and per-layer summaries), and the RunRecord
that holds them with its status and the model's frozen weights. Queries and pandas export live here too.

Memory stays bounded: past ``MAX_SNAPSHOTS`` records, every other one is dropped and the interval doubles.
A finished RunRecord is a value: its arrays are read-only, and ``build_model()`` gives a fresh model to change.
"""
import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .stats import PERCENTILES, DistSummary

MAX_SNAPSHOTS = 300


@dataclass
class LayerSnapshot:
    pre_activation: DistSummary  # the activation function's input
    bn_input: DistSummary | None  # BN's input (None without BN)
    saturated: float  # share of values where the activation's derivative is below 10% of its maximum
    dead: float  # share of units with a low gradient on every probe example
    grad_norm: float  # ‖∂loss/∂W‖ of the layer's weights on the probe batch
    grad_z: float  # ‖∂loss/∂Z‖_F / √units, Z the activation input on the probe batch: comparable across widths
    drift: float | None  # change of the pre-activation distribution since the previous record (None at first)
    gamma: np.ndarray | None
    beta: np.ndarray | None

    def is_finite(self):
        """True when every number is finite (drift may be None, γ/β absent)."""
        dists = [d for d in (self.pre_activation, self.bn_input) if d is not None]
        params = [p for p in (self.gamma, self.beta) if p is not None]
        return bool(all(d.is_finite() for d in dists) and all(np.isfinite(p).all() for p in params)
                    and np.isfinite([self.saturated, self.dead, self.grad_norm, self.grad_z,
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
    weights: dict | None = None  # MLP.state_dict() at this record, read-only; only for small networks (train.py)


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
    sizes: tuple = ()  # the MLP's layer sizes (inputs, hidden..., classes)
    dtype: object = np.float32
    weights: dict | None = None  # MLP.state_dict() at the last record point, read-only arrays

    # ---- status: changed only through these ----

    def finish(self):
        if self.status == "running":
            self.status = "finished"

    def stop(self):
        if self.status == "running":
            self.status = "stopped"

    def diverge(self, step, reason, loss=float("nan")):
        self.status, self.divergence = "diverged", Divergence(step, reason, loss)

    @property
    def done(self):
        """Finished or diverged: the record will not change any more."""
        return self.status in ("finished", "diverged")

    # ---- the model as a value ----

    def keep_weights(self, model, snapshot=None):
        """Freeze a copy of the model's parameters and running statistics (called at each record point). Given the
        record point's ``snapshot``, it keeps the same frozen copy, so a timeline can rebuild the model at that
        record (thinning the snapshots thins these copies with them)."""
        state = model.state_dict()
        for v in state.values():
            v.flags.writeable = False
        self.weights = state
        if snapshot is not None:
            snapshot.weights = state

    @property
    def has_weights_per_record(self):
        """True when every record keeps the model as it was then (small networks only: bn_core/train.py)."""
        return bool(self.snapshots) and all(s.weights is not None for s in self.snapshots)

    def build_model(self, index=None):
        """A fresh MLP with the recorded weights (in train mode): change it freely, the record stays as it is.
        ``index``: the model at that record (None: at the last one); None when that record kept no weights."""
        weights = self.weights if index is None else self.snapshots[index].weights
        if weights is None:
            return None
        from .train import build_model  # the trainer builds models from configs; it imports this module
        return build_model(self.config, self.sizes[0], self.sizes[-1], self.dtype).load_state_dict(weights)

    def view(self):
        """A copy that later record points do not change (the snapshot list is copied; snapshots never change)."""
        return dataclasses.replace(self, snapshots=list(self.snapshots))

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
                       "saturated": ls.saturated, "dead": ls.dead, "grad_norm": ls.grad_norm, "grad_z": ls.grad_z,
                       "drift": ls.drift}
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
