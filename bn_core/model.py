"""A multilayer perceptron with optional batch normalization in every hidden layer, and plain SGD."""
from dataclasses import dataclass

import numpy as np

from .init import init_weight
from .layers import Activation, BatchNorm1d, Linear
from .norms import NORMS, REMOVES_BATCH_MEAN, make_norm

BN_POSITIONS = ("before", "after")


@dataclass
class HiddenLayer:
    """The pieces of one hidden layer, so the recorder can read each one's input."""

    linear: Linear
    bn: BatchNorm1d | None  # the normalization layer: BN or, with MLP(norm=...), one of norms.NORMS
    act: Activation

    @property
    def pre_activation(self):
        """The activation function's input for the last forward pass (the paper's "sigmoid input")."""
        return self.act.x

    @property
    def bn_input(self):
        return None if self.bn is None else self.bn.x


class MLP:
    """``sizes = [inputs, hidden..., classes]``. Each hidden layer is Linear -> BN -> activation (the paper's
    placement, ``bn_position="before"``) or Linear -> activation -> BN (``"after"``); the last layer is Linear.

    ``norm`` (used when ``batchnorm=True``) puts another normalization where BN goes, one of norms.NORMS: "layer"
    for LayerNorm, or a BN variant. "frozen_affine" and "affine_only" freeze weights by leaving them out of
    ``parameters()`` (so the optimizer never sees them).
    """

    def __init__(self, sizes, activation="sigmoid", batchnorm=True, seed=0, dtype=np.float32,
                 bn_position="before", init="xavier", init_sigma=0.1, bn_momentum=0.1, bn_eps=1e-5, norm="batch"):
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least an input size and an output size")
        if bn_position not in BN_POSITIONS:
            raise ValueError(f"unknown bn_position {bn_position!r}; use one of {BN_POSITIONS}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; use one of {NORMS}")
        self.sizes, self.activation, self.batchnorm = list(sizes), activation, batchnorm
        self.bn_position, self.dtype, self.norm = bn_position, dtype, norm
        self._frozen = set()  # names of the layers whose weights are not trained (left out of parameters())
        rng = np.random.default_rng(seed)
        self.hidden, self.layers, self._names = [], [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1]), start=1):
            W = init_weight(rng, fan_in, fan_out, init, init_sigma).astype(dtype)
            # The paper drops the bias of a linear layer that feeds BN: BN subtracts the mean, so a bias would
            # cancel out, and β takes its role. BN after the activation does not cancel it, so it stays.
            # (LayerNorm and variance-only BN do not subtract the batch mean: there the bias stays.)
            has_bias = not (batchnorm and bn_position == "before" and norm in REMOVES_BATCH_MEAN)
            linear = Linear(W, np.zeros(fan_out, dtype) if has_bias else None)
            # the noisy variant's noise has an RNG of its own: the weights stay those of the same seed without it
            bn = make_norm(norm, fan_out, bn_momentum, bn_eps, dtype, seed=(seed, 2, i)) if batchnorm else None
            if batchnorm and norm == "frozen_affine":
                self._frozen.add(f"bn{i}")
            if batchnorm and norm == "affine_only":
                self._frozen.add(f"fc{i}")
            act = Activation(activation)
            self.hidden.append(HiddenLayer(linear, bn, act))
            order = [("fc", linear), ("bn", bn), ("act", act)]
            if bn_position == "after":
                order = [order[0], order[2], order[1]]
            for kind, layer in order:
                if layer is not None:
                    self.layers.append(layer)
                    self._names.append(f"{kind}{i}")
        W = init_weight(rng, sizes[-2], sizes[-1], init, init_sigma).astype(dtype)
        self.out = Linear(W, np.zeros(sizes[-1], dtype))
        if batchnorm and norm == "affine_only":
            self._frozen.add("out")
        self.layers.append(self.out)
        self._names.append("out")
        self.training = True

    def train(self):
        self.training = True
        for h in self.hidden:
            if h.bn is not None:
                h.bn.train()
        return self

    def eval(self):
        self.training = False
        for h in self.hidden:
            if h.bn is not None:
                h.bn.eval()
        return self

    def forward(self, X, update_stats=True):
        """Logits for a batch. ``update_stats=False`` leaves BN running statistics untouched (for probing)."""
        x = X
        for layer in self.layers:
            x = layer.forward(x, update_stats)
        return x

    def backward(self, dlogits, input_grad=False):
        """Fill ``gradients()``. The gradient w.r.t. the network's input is only computed (and returned) when
        asked for with ``input_grad=True``: training never needs it, and it costs a matrix product."""
        d = dlogits
        for layer in reversed(self.layers[1:]):
            d = layer.backward(d)
        return self.layers[0].backward(d, input_grad=input_grad)

    def parameters(self):
        """name -> live parameter array, in forward order (``fc1.W``, ``bn1.gamma``, ..., ``out.b``): the trained
        ones (frozen layers, see ``norm``, are left out)."""
        return {f"{n}.{k}": v for n, layer in self._trained() for k, v in layer.params().items()}

    def gradients(self):
        """Same keys as ``parameters()``, filled by ``backward``."""
        return {f"{n}.{k}": v for n, layer in self._trained() for k, v in layer.grads().items()}

    def _trained(self):
        return [(n, layer) for n, layer in zip(self._names, self.layers) if n not in self._frozen]

    def batchnorms(self):
        return [h.bn for h in self.hidden if h.bn is not None]

    def state_dict(self):
        """Copies of every parameter and BN running statistic (PyTorch's name): ``fc1.W``, ...,
        ``bn1.running_mean``, ``bn1.running_var``. A finished run keeps these, frozen, instead of the live model."""
        state = {k: v.copy() for k, v in self.parameters().items()}
        for name, layer in zip(self._names, self.layers):
            if isinstance(layer, BatchNorm1d):
                state[f"{name}.running_mean"] = layer.running_mean.copy()
                state[f"{name}.running_var"] = layer.running_var.copy()
        return state

    def load_state_dict(self, state):
        """Copy ``state`` (as ``state_dict()`` returns it) into this model's arrays; the keys must match exactly."""
        targets = dict(self.parameters())
        for name, layer in zip(self._names, self.layers):
            if isinstance(layer, BatchNorm1d):
                targets[f"{name}.running_mean"] = layer.running_mean
                targets[f"{name}.running_var"] = layer.running_var
        if set(targets) != set(state):
            raise ValueError(f"state keys {sorted(state)} do not match the model's {sorted(targets)}")
        for k, target in targets.items():
            target[...] = state[k]
        return self

    def predict(self, X):
        """Class predictions in eval mode (running statistics); the mode is restored afterwards."""
        was_training = self.training
        self.eval()
        try:
            return self.forward(X).argmax(axis=1)
        finally:
            if was_training:
                self.train()


class SGD:
    """Stochastic gradient descent with optional momentum, PyTorch's form: v = μ·v + g; p -= lr·v."""

    def __init__(self, params, grads, lr=0.1, momentum=0.0):
        self.params, self.grads = params, grads
        self.lr, self.momentum = lr, momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()} if momentum else None

    def step(self):
        for k, p in self.params.items():
            g = self.grads[k]
            if self.velocity is not None:
                v = self.velocity[k]
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g
