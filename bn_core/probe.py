"""The recorder's probe: at each record point, the network is run on a fixed batch of training examples (batch
statistics, running statistics untouched) and on the test split (eval mode), and a Snapshot is taken."""
import numpy as np

from .layers import softmax_cross_entropy
from .record import LayerSnapshot, Snapshot
from .stats import PERCENTILES, DistSummary, low_gradient_mask, sorted_percentiles, wasserstein_drift

PROBE_SIZE = 64  # fixed training examples whose distributions are recorded


class Probe:
    """Takes the snapshots of one run. Keeps the last record's sorted pre-activations for the drift."""

    def __init__(self, X_train, y_train, X_test, y_test, size=PROBE_SIZE):
        self.X, self.y = X_train[:size], y_train[:size]
        self.X_test, self.y_test = X_test, y_test
        self._sorted_prev = None  # per hidden layer: (pre-activations sorted per unit, their std)

    def snapshot(self, model, step, train_loss, train_acc):
        """The Snapshot at ``step``, or None when a value is not finite (the caller reports divergence).
        ``train_loss`` None (step 0: nothing trained yet) reports the probe batch's loss and accuracy."""
        logits = model.forward(self.X, update_stats=False)
        probe_loss, dlogits = softmax_cross_entropy(logits, self.y)
        model.backward(dlogits)  # gradients on the probe batch: the same examples at every record
        if train_loss is None:
            train_loss, train_acc = probe_loss, float((logits.argmax(1) == self.y).mean())
        pres = [h.pre_activation for h in model.hidden]
        if not all(np.isfinite(pre).all() for pre in pres):
            return None
        summaries = DistSummary.of_many(pres + [h.bn_input for h in model.hidden if h.bn is not None])
        bn_summaries = iter(summaries[len(pres):])
        layers, sorted_now = [], []
        for i, (h, pre, pre_summary) in enumerate(zip(model.hidden, pres, summaries)):
            s = np.sort(pre, axis=0)
            drift = None if self._sorted_prev is None else wasserstein_drift(s, *self._sorted_prev[i])
            low = low_gradient_mask(model.activation, pre)
            sorted_now.append((s, pre_summary.std))
            layers.append(LayerSnapshot(
                pre_activation=pre_summary,
                bn_input=None if h.bn is None else next(bn_summaries),
                saturated=np.count_nonzero(low) / low.size,
                dead=np.count_nonzero(low.all(axis=0)) / low.shape[1],
                grad_norm=float(np.linalg.norm(h.linear.dW.astype(np.float64, copy=False))),  # float32 may overflow
                grad_z=float(np.linalg.norm(h.act.dx.astype(np.float64, copy=False)) / np.sqrt(pre.shape[1])),
                drift=drift,
                gamma=None if h.bn is None else h.bn.gamma.copy(),
                beta=None if h.bn is None else h.bn.beta.copy(),
            ))
            if not layers[-1].is_finite():  # finite activations whose statistics or gradients overflow
                return None
        unit_percentiles = sorted_percentiles(s, PERCENTILES).T  # last hidden layer, per unit: (units, percentiles)
        model.eval()
        test_logits = model.forward(self.X_test)
        test_loss, _ = softmax_cross_entropy(test_logits, self.y_test)
        model.train()
        if not (np.isfinite(test_loss) and np.isfinite(train_loss)):
            return None
        self._sorted_prev = sorted_now
        return Snapshot(step, float(train_loss), float(train_acc), float(test_loss),
                        float((test_logits.argmax(1) == self.y_test).mean()), layers, unit_percentiles)
