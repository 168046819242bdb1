"""BN at inference: the paper's population statistics (Algorithm 2) and folding BN into fixed arithmetic."""
import copy

import numpy as np

from .layers import Linear


def population_statistics(model, X, batch_size):
    """Algorithm 2, steps 8-10: run the trained network over the training set in mini-batches of size m and average
    each BN layer's batch statistics: E[x] = mean of the batch means, Var[x] = m/(m−1) · mean of the batch variances.

    Returns one ``(mean, var)`` pair per BN layer. Running statistics are left untouched.
    """
    m = int(batch_size)
    n_batches = len(X) // m if m > 0 else 0  # whole batches only, so every batch has the same m
    if m < 2 or n_batches < 1:
        raise ValueError(f"population statistics need mini-batches of at least 2 examples (got m={m}, n={len(X)})")
    was_training = model.training
    model.train()
    bns = model.batchnorms()
    sums = [[np.zeros(bn.num_features, np.float64), np.zeros(bn.num_features, np.float64)] for bn in bns]
    for b in range(n_batches):
        model.forward(X[b * m:(b + 1) * m], update_stats=False)
        for (mean_sum, var_sum), bn in zip(sums, bns):
            mean_sum += bn.batch_mean
            var_sum += bn.batch_var  # biased
    if not was_training:
        model.eval()
    return [(ms / n_batches, m / (m - 1) * vs / n_batches) for ms, vs in sums]


def set_running_statistics(model, stats):
    """Replace each BN layer's running mean/var by the given ``(mean, var)`` pairs (e.g. population statistics)."""
    for bn, (mean, var) in zip(model.batchnorms(), stats):
        bn.running_mean[...] = mean
        bn.running_var[...] = var


def fold_into_linear(W, b, scale, shift):
    """Linear then eval-mode BN as one linear layer: (xW + b)·scale + shift = x(W·scale) + (b·scale + shift)."""
    bias = shift if b is None else b * scale + shift
    return W * scale, bias


def fold_batchnorm(model):
    """A copy of ``model`` with every BN folded into the linear layer before it: no BN left, same eval output."""
    if model.batchnorm and model.bn_position != "before":
        raise ValueError("folding into the preceding linear layer needs BN right after it (bn_position='before')")
    folded = copy.deepcopy(model)
    for h in folded.hidden:
        if h.bn is None:
            continue
        W, b = fold_into_linear(h.linear.W, h.linear.b, *h.bn.fold())
        new_linear = Linear(W.astype(model.dtype), b.astype(model.dtype))
        folded.layers[folded.layers.index(h.linear)] = new_linear
        i = folded.layers.index(h.bn)
        del folded.layers[i], folded._names[i]
        h.linear, h.bn = new_linear, None
    folded.batchnorm = False
    return folded.eval()


# Per unit and example, the elementwise operations of eval-mode BN. Normalizing step by step: subtract E[x], divide
# by √(Var[x] + ε), multiply by γ, add β (ε and the square root are computed once per unit, not per example).
OPS_BN_AS_WRITTEN = 4
OPS_BN_FOLDED_AFFINE = 2  # x·scale + shift (Algorithm 2, line 11): one multiply-add
# Folded into the linear layer before it: W' = W·diag(scale) costs nothing per example, but that layer had no bias
# (β took its place), and now adds one per unit.
OPS_BN_FOLDED_LINEAR = 1


def inference_cost(model):
    """Elementwise operations per example that BN costs at inference, three ways, plus the linear layers' multiply-adds
    for scale. The seed's closing point: precomputing the fixed values saves work in proportion to the BN width
    (while the linear layers' work grows with its square)."""
    features = sum(bn.num_features for bn in model.batchnorms())
    linear_madds = sum(a * b for a, b in zip(model.sizes[:-1], model.sizes[1:]))
    return {
        "bn_features": features,
        "as_written": OPS_BN_AS_WRITTEN * features,
        "folded_affine": OPS_BN_FOLDED_AFFINE * features,
        "folded_linear": OPS_BN_FOLDED_LINEAR * features,
        "linear_madds": linear_madds,
    }

