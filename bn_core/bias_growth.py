"""The paper's §2 warning, run: a bias before a normalization, trained by a gradient that ignores μ_B and σ_B.

Ioffe & Szegedy (§2): let a layer add a learned bias b, x = u + b, and normalize x over the batch. If the gradient
step treats the normalization's statistics as constants, it moves b, the batch mean moves with it, and the output —
so the loss — does not change: the next step moves b the same way again, and b grows without bound while the loss
stays put. The true gradient through μ_B knows b cannot change the output: ∂ℓ/∂b = Σ_i ∂ℓ/∂x_i = 0.

The experiment isolates exactly that: the paper's network (Linear -> BN -> activation per hidden layer) gets a bias
in every hidden linear layer, BN keeps γ = 1, β = 0 (plain normalization, as in §2), and gradient descent updates the
biases only — every weight stays at its random start. Once with BN's true backward pass, once with
layers.batchnorm_backward_ignoring_stats. Float64, so the "loss stays put" is measured far below float32 rounding.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from .layers import batchnorm_backward_ignoring_stats, softmax_cross_entropy
from .probe import PROBE_SIZE
from .train import build_model, check_config, load_data


@dataclass(frozen=True)
class BiasGrowth:
    """The live (and, with ``done``, final) record of one run; a value: every field is a tuple."""

    config: object  # the TrainConfig: data, network, lr, batch size, steps, seed, record_every
    ignore_stats: bool
    steps: tuple = ()  # record steps, 0 first
    bias: tuple = ()  # per record: mean |b| over the units of each hidden layer (a tuple per record)
    loss: tuple = ()  # per record: the loss on a fixed batch (the first PROBE_SIZE training examples, train mode)
    grad: tuple = ()  # per record: ‖∂ℓ/∂b‖ of the last step's mini-batch over all hidden layers (0 at step 0)
    steps_done: int = 0
    done: bool = False

    def add(self, step, bias, loss, grad):
        return dataclasses.replace(self, steps=self.steps + (step,), bias=self.bias + (tuple(bias),),
                                   loss=self.loss + (loss,), grad=self.grad + (grad,), steps_done=step)


def _model_with_biases(config, data, dtype):
    """The config's MLP with BN before each activation, and a zero bias put back in front of every BN."""
    model = build_model(config.replace(batchnorm=True, bn_position="before", norm="batch"), data.n_features,
                        data.n_classes, dtype)
    for h in model.hidden:
        h.linear.b = np.zeros(h.linear.W.shape[1], dtype)
        h.linear.db = np.zeros_like(h.linear.b)
    return model


def _backward(model, dlogits, ignore_stats):
    """Fill every hidden layer's ``linear.db``, with BN's true backward pass or the one that ignores μ_B, σ_B."""
    d = model.out.backward(dlogits)
    for i in reversed(range(len(model.hidden))):
        h = model.hidden[i]
        d = h.act.backward(d)
        d = batchnorm_backward_ignoring_stats(d, h.bn._cache)[0] if ignore_stats else h.bn.backward(d)
        d = h.linear.backward(d, input_grad=i > 0)


def bias_growth_steps(config, ignore_stats, dtype=np.float64):
    """Train the hidden layers' biases only (see the module's docstring), yielding a BiasGrowth after every record
    point; the last one has ``done=True``. Mini-batches as bn_core.train_steps draws them."""
    check_config(config)
    data = load_data(config, dtype)
    model = _model_with_biases(config, data, dtype)
    X, y = data.X_train, data.y_train
    probe_X, probe_y = X[:PROBE_SIZE], y[:PROBE_SIZE]
    batch_rng = np.random.default_rng((config.seed, 1))
    n, m = len(X), config.batch_size
    order, pos = batch_rng.permutation(n), 0

    def measure(value, step, grad):
        loss, _ = softmax_cross_entropy(model.forward(probe_X, update_stats=False), probe_y)
        bias = [float(np.abs(h.linear.b).mean()) for h in model.hidden]
        return value.add(step, bias, loss, grad)

    value = measure(BiasGrowth(config, ignore_stats), 0, 0.0)
    for step in range(1, config.steps + 1):
        if pos + m > n:
            order, pos = batch_rng.permutation(n), 0
        idx = order[pos:pos + m]
        pos += m
        _, dlogits = softmax_cross_entropy(model.forward(X[idx], update_stats=False), y[idx])
        _backward(model, dlogits, ignore_stats)
        for h in model.hidden:
            h.linear.b -= config.lr * h.linear.db
        if step % config.record_every == 0 or step == config.steps:
            grad = float(np.sqrt(sum(float(h.linear.db @ h.linear.db) for h in model.hidden)))
            value = measure(value, step, grad)
            if step < config.steps:
                yield value
    yield dataclasses.replace(value, done=True)
