"""Layers with a forward and a backward pass: linear, batch normalization, activations, the loss.

Shapes: a batch is (N, features). Linear weights are (in, out), so a layer is ``x @ W + b``.
"""
import functools
from typing import NamedTuple

import numpy as np


@functools.lru_cache(maxsize=64)
def _ones(n, dtype):
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def column_sums(a, out=None):
    """``a.sum(axis=0)`` as a vector-matrix product: on small batches BLAS does it several times faster."""
    return np.matmul(_ones(a.shape[0], a.dtype), a, out=out)


# --- Batch normalization, functional form (Ioffe & Szegedy 2015, Algorithm 1) ---------------------------


def _check_batch(x):
    if x.ndim != 2:
        raise ValueError(f"BatchNorm expects a (batch, features) array, got shape {x.shape}")
    if x.shape[0] < 2:
        # The variance of a single value is 0: every normalized output would be 0 and carry no information.
        raise ValueError(
            "BatchNorm in training mode needs more than 1 example per batch: the variance of a single "
            "value is 0, so every output would be 0. Use a larger batch, or eval mode (running statistics)."
        )


class BatchNormCache(NamedTuple):
    """What the backward pass needs from a train-mode forward pass; ``mu`` and ``var`` are the batch's statistics."""

    x_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray  # 1/√(var + ε)
    mu: np.ndarray  # batch mean
    var: np.ndarray  # biased batch variance (what normalization uses)
    eps: float


def affine(x, scale, shift):
    """x·scale + shift per feature, in one new array."""
    y = x * scale
    y += shift
    return y


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Train-mode BN: normalize with the batch mean and the biased batch variance, then scale and shift.

    Returns ``(y, cache)``, cache a BatchNormCache. (Means are sums times 1/N and arrays are updated in place: fewer
    passes over the batch.)
    """
    _check_batch(x)
    inv_n = 1.0 / x.shape[0]
    mu = column_sums(x) * inv_n
    x_hat = x - mu  # centered here, normalized in place below
    var = column_sums(x_hat * x_hat) * inv_n
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    y = x_hat * gamma
    y += beta
    return y, BatchNormCache(x_hat, gamma, inv_std, mu, var, eps)


def batchnorm_backward(dy, cache, out=None):
    """Compact backward pass: dx = γ/(Nσ) · (N·dy − Σdy − x̂·Σ(dy·x̂)).

    ``out=(dgamma, dbeta)`` writes those two gradients into existing arrays (the layer's own buffers).
    """
    x_hat, gamma, inv_std = cache.x_hat, cache.gamma, cache.inv_std
    inv_n = 1.0 / dy.shape[0]
    dgamma_out, dbeta_out = (None, None) if out is None else out
    dbeta = column_sums(dy, out=dbeta_out)
    dgamma = column_sums(dy * x_hat, out=dgamma_out)
    scale = gamma * inv_std  # γ/σ
    dx = dy * scale
    dx -= x_hat * (scale * dgamma * inv_n)
    dx -= scale * dbeta * inv_n
    return dx, dgamma, dbeta


class BackwardTerms(NamedTuple):
    """Every quantity of the paper's §3 chain rule, per example (N, features) or per feature (features,)."""

    dx_hat: np.ndarray  # ∂ℓ/∂x̂ = ∂ℓ/∂y · γ
    dvar: np.ndarray  # ∂ℓ/∂σ²_B
    dmu: np.ndarray  # ∂ℓ/∂μ_B
    dx_direct: np.ndarray  # ∂ℓ/∂x̂ · 1/√(σ²_B + ε): the path that treats μ_B and σ²_B as constants
    dx_via_var: np.ndarray  # ∂ℓ/∂σ²_B · 2(x − μ_B)/m: the path through the batch variance
    dx_via_mu: np.ndarray  # ∂ℓ/∂μ_B · 1/m: the path through the batch mean
    dx: np.ndarray  # the sum of the three paths
    dgamma: np.ndarray
    dbeta: np.ndarray


def batchnorm_backward_terms(dy, cache):
    """The paper's chain rule written out step by step (its §3 equations), every intermediate kept."""
    x_hat, gamma, inv_std, mu, var, eps = cache
    n = dy.shape[0]
    xc = x_hat / inv_std
    dx_hat = dy * gamma
    dvar = np.sum(dx_hat * xc, axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(dx_hat * -inv_std, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
    direct, via_var, via_mu = dx_hat * inv_std, dvar * 2.0 * xc / n, np.broadcast_to(dmu / n, dy.shape)
    return BackwardTerms(dx_hat, dvar, dmu, direct, via_var, via_mu, direct + via_var + via_mu,
                         np.sum(dy * x_hat, axis=0), dy.sum(axis=0))


def batchnorm_backward_steps(dy, cache):
    """The paper's chain rule step by step (batchnorm_backward_terms); slower, kept to check the compact form."""
    terms = batchnorm_backward_terms(dy, cache)
    return terms.dx, terms.dgamma, terms.dbeta


def batchnorm_backward_ignoring_stats(dy, cache):
    """The gradient the paper's §2 warns about: μ_B and σ_B treated as constants, as if the normalization were
    computed outside gradient descent, so dx = ∂ℓ/∂y · γ/√(σ²_B + ε) only (the first of the three paths). It is the
    exact gradient of y = γ(x − c)/s + β with c, s frozen at the batch's μ_B, √(σ²_B + ε) — not of BN."""
    x_hat, gamma, inv_std = cache.x_hat, cache.gamma, cache.inv_std
    return dy * (gamma * inv_std), np.sum(dy * x_hat, axis=0), dy.sum(axis=0)


class _Normalization:
    """What batch and layer normalization share: the learned scale γ and shift β per feature with their gradients,
    the train/eval mode, and the last input (kept for the recorder)."""

    def __init__(self, num_features, eps, dtype):
        self.num_features, self.eps, self.dtype = num_features, eps, dtype
        self.gamma = np.ones(num_features, dtype)
        self.beta = np.zeros(num_features, dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self.training = True
        self.x = None
        self._cache = None  # what the last forward pass keeps for the backward one

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def params(self):
        return {"gamma": self.gamma, "beta": self.beta}

    def grads(self):
        return {"gamma": self.dgamma, "beta": self.dbeta}


class BatchNorm1d(_Normalization):
    """Batch normalization over features, with PyTorch's names and conventions.

    Running statistics are an exponential moving average: ``r = (1 - momentum)·r + momentum·batch``, where the
    running variance takes the *unbiased* batch variance while normalization uses the biased one (as PyTorch).
    """

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__(num_features, eps, dtype)
        self.momentum = momentum
        self.running_mean = np.zeros(num_features, dtype)
        self.running_var = np.ones(num_features, dtype)

    @property
    def batch_mean(self):
        """The last train-mode batch's mean (None before one, or after an eval-mode pass)."""
        return None if self._cache is None else self._cache.mu

    @property
    def batch_var(self):
        """The last train-mode batch's biased variance, the one normalization used."""
        return None if self._cache is None else self._cache.var

    def forward(self, x, update_stats=True):
        """``update_stats=False`` normalizes with batch statistics but leaves the running ones untouched (probing)."""
        self.x = x
        if not self.training:
            self._cache = None
            return affine(x, *self.fold())
        y, self._cache = self._normalize(x)
        if update_stats:
            self._update_running(self._cache, x.shape[0])
        return y

    # The three steps a variant of BN changes (bn_core/norms.py): normalize a batch, update the running statistics
    # from what it cached, and the backward pass through it (which also sets dgamma and dbeta).

    def _normalize(self, x):
        return batchnorm_forward(x, self.gamma, self.beta, self.eps)

    def _update_running(self, cache, n):
        self.update_running(cache.mu, cache.var, n)

    def _backward(self, dy, cache):
        return batchnorm_backward(dy, cache, out=(self.dgamma, self.dbeta))[0]

    def update_running(self, mean=None, var=None, n=None):
        """The exponential moving average of the statistics given: ``var`` is a biased batch variance of ``n``
        examples, and the running variance takes it unbiased (× n/(n−1)), as PyTorch does."""
        m = self.momentum
        if mean is not None:
            self.running_mean *= 1 - m
            self.running_mean += m * mean
        if var is not None:
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError("backward needs a train-mode forward pass first")
        return self._backward(dy, self._cache)

    def fold(self):
        """Eval-mode BN as one fixed affine map per feature: ``y = x·scale + shift``."""
        scale = self.gamma / np.sqrt(self.running_var + self.eps)
        shift = self.beta - self.running_mean * scale
        return scale, shift


class Linear:
    """``y = x @ W + b``; ``b`` is None when a BN layer follows (its β does the bias's job)."""

    def __init__(self, W, b=None):
        self.W, self.b = W, b
        self.dW = np.zeros_like(W)
        self.db = None if b is None else np.zeros_like(b)
        self.x = None

    def forward(self, x, update_stats=True):
        self.x = x
        y = x @ self.W
        if self.b is not None:
            y += self.b
        return y

    def backward(self, dy, input_grad=True):
        """Fills dW (and db); returns ∂loss/∂x, or None with ``input_grad=False`` (the network's input needs none)."""
        np.matmul(self.x.T, dy, out=self.dW)
        if self.b is not None:
            column_sums(dy, out=self.db)
        return dy @ self.W.T if input_grad else None

    def params(self):
        return {"W": self.W} if self.b is None else {"W": self.W, "b": self.b}

    def grads(self):
        return {"W": self.dW} if self.b is None else {"W": self.dW, "b": self.db}


# --- Layer normalization (Ba, Kiros & Hinton 2016): BN's arithmetic across the features of each example -------


def row_sums(a):
    """``a.sum(axis=1, keepdims=True)`` as a matrix-vector product (as column_sums: faster on small arrays)."""
    return (a @ _ones(a.shape[1], a.dtype))[:, None]


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Normalize each example (row) over its features with its own mean and biased variance, then scale and shift.

    No batch statistics: the same in training and inference, and a batch of one works. ``cache`` is
    ``(x_hat, gamma, inv_std)``, ``inv_std`` one value per example, shaped (N, 1).
    """
    if x.ndim != 2:
        raise ValueError(f"LayerNorm expects a (batch, features) array, got shape {x.shape}")
    inv_d = 1.0 / x.shape[1]
    mu = row_sums(x) * inv_d
    x_hat = x - mu
    var = row_sums(x_hat * x_hat) * inv_d
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    y = x_hat * gamma
    y += beta
    return y, (x_hat, gamma, inv_std)


def layernorm_backward(dy, cache):
    """BN's compact backward pass with the roles of the axes swapped: per example, over its D features,
    dx = (1/(Dσ)) · (D·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)) with dx̂ = dy·γ; γ and β still collect their gradient over the batch."""
    x_hat, gamma, inv_std = cache
    dx_hat = dy * gamma
    inv_d = 1.0 / dy.shape[1]
    dx = dx_hat - row_sums(dx_hat) * inv_d
    dx -= x_hat * (row_sums(dx_hat * x_hat) * inv_d)
    dx *= inv_std
    return dx, column_sums(dy * x_hat), column_sums(dy)


class LayerNorm1d(_Normalization):
    """Layer normalization over the features of each example, with torch.nn.LayerNorm's names (``gamma`` is its
    ``weight``, ``beta`` its ``bias``). It keeps no running statistics: ``train()``/``eval()`` change nothing, and
    ``update_stats`` is accepted (the MLP passes it to every layer) and ignored."""

    def __init__(self, num_features, eps=1e-5, dtype=np.float32):
        super().__init__(num_features, eps, dtype)

    def forward(self, x, update_stats=True):
        self.x = x
        y, self._cache = layernorm_forward(x, self.gamma, self.beta, self.eps)
        return y

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError("backward needs a forward pass first")
        dx, self.dgamma[...], self.dbeta[...] = layernorm_backward(dy, self._cache)
        return dx


# --- Activations --------------------------------------------------------------------------------------------

LEAKY_SLOPE = 0.01


def sigmoid(x):
    # Written through tanh: no overflow warning for any finite input (exp(-x) overflows for x < -709), accurate
    # to the resolution of values near 1; the arithmetic is done in place on one new array.
    s = np.tanh(np.multiply(x, 0.5))
    s *= 0.5
    s += 0.5
    return s


def activation_forward(name, x):
    if name == "sigmoid":
        return sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        return np.where(x > 0, x, LEAKY_SLOPE * x)
    raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


def activation_derivative(name, x, y=None):
    """d activation / dx at x; ``y`` (the forward output) saves recomputing it for sigmoid and tanh."""
    if name == "sigmoid":
        s = sigmoid(x) if y is None else y
        d = np.subtract(1, s)
        d *= s
        return d
    if name == "tanh":
        t = np.tanh(x) if y is None else y
        d = np.multiply(t, t)
        np.subtract(1, d, out=d)
        return d
    if name == "relu":
        return (x > 0).astype(x.dtype)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, LEAKY_SLOPE).astype(x.dtype)
    raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


class Activation:
    def __init__(self, name):
        activation_forward(name, np.zeros(1))  # fail early on an unknown name
        self.name = name
        self.x = self.y = self.dx = None

    def forward(self, x, update_stats=True):
        self.x = x
        self.y = activation_forward(self.name, x)
        return self.y

    def backward(self, dy):
        """∂loss/∂x, kept as ``dx`` too: the recorder reads the gradient at each layer's activation input."""
        if self.name == "relu":
            self.dx = dy * (self.x > 0)
            return self.dx
        d = activation_derivative(self.name, self.x, self.y)
        d *= dy
        self.dx = d
        return d

    def params(self):
        return {}

    def grads(self):
        return {}


# --- Loss ---------------------------------------------------------------------------------------------------


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient w.r.t. the logits.

    (Row-wise max and sum and 2-D fancy indexing are slow on small arrays: argmax, a matrix-vector product and
    flat indices do the same work faster.)
    """
    n, k = logits.shape
    rows = np.arange(n) * k  # flat index of each row's first entry
    label_at = rows + labels
    shifted = logits - logits.ravel()[rows + logits.argmax(axis=1)][:, None]  # log-sum-exp trick: no overflow
    dlogits = np.exp(shifted)
    z = dlogits @ _ones(k, dlogits.dtype)  # Σ exp per row
    loss = float(np.log(z).sum() - shifted.ravel()[label_at].sum()) / n  # mean of log Σexp − logit of the label
    dlogits /= (z * n)[:, None]  # softmax / N
    dlogits.ravel()[label_at] -= 1.0 / n
    return loss, dlogits
