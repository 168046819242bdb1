"""The normalization layers an MLP can put where BN goes, for the "beyond the paper" experiments.

``NORMS`` names them; ``make_norm`` builds one. All share BatchNorm1d's interface (gamma, beta, train/eval,
forward(x, update_stats), backward(dy), params/grads), so the MLP, the trainer and the recorder treat them alike.

- batch          standard BN (layers.BatchNorm1d)
- layer          LayerNorm in BN's place (layers.LayerNorm1d): per-example statistics, no batch dependence
- mean_only      subtract the batch mean only (y = γ(x − μ_B) + β); the running mean serves in eval mode
- var_only       divide by the batch standard deviation only, no centring (y = γx/σ_B + β)
- noisy          BN, then a per-unit shift and scale redrawn at every training step (Santurkar et al. 2018, §2.1):
                 covariate shift injected on purpose
- frozen_affine  BN with γ = 1 and β = 0 fixed: not trained (the MLP leaves them out of its parameters)
- affine_only    BN where γ and β are the only trained weights: every other weight stays at its random start
                 (Frankle, Schwab & Morcos 2021); the MLP leaves the linear layers out of its parameters
"""
import numpy as np

from .layers import BatchNorm1d, LayerNorm1d, _check_batch, affine, column_sums

NORMS = ("batch", "layer", "mean_only", "var_only", "noisy", "frozen_affine", "affine_only")
# These subtract the batch mean, which cancels the bias of a linear layer right before them (the MLP drops it).
REMOVES_BATCH_MEAN = ("batch", "mean_only", "noisy", "frozen_affine", "affine_only")

# Santurkar et al. 2018 ("How Does Batch Normalization Help Optimization?", §2.1 and Appendix A): after BN, each
# unit's activations get a shift drawn from U(−0.5, 0.5) and a scale drawn from U(1, 1.25), redrawn every step.
NOISE_SHIFT = (-0.5, 0.5)
NOISE_SCALE = (1.0, 1.25)



# --- mean-only BN ---------------------------------------------------------------------------------------------


def mean_only_forward(x, gamma, beta):
    """y = γ(x − μ_B) + β: the batch mean removed, the spread left as it is. ``cache`` is ``(xc, gamma, mu)``."""
    _check_batch(x)
    mu = column_sums(x) * (1.0 / x.shape[0])
    xc = x - mu
    return affine(xc, gamma, beta), (xc, gamma, mu)


def mean_only_backward(dy, cache):
    """μ_B moves with every example, so dx = γ(dy − mean(dy)); dγ = Σ dy·(x − μ_B), dβ = Σ dy."""
    xc, gamma, _ = cache
    dbeta = column_sums(dy)
    dx = dy - dbeta * (1.0 / dy.shape[0])
    dx *= gamma
    return dx, column_sums(dy * xc), dbeta


class MeanOnlyBatchNorm1d(BatchNorm1d):
    """Mean-only BN; eval mode subtracts the running mean. ``running_var`` stays at 1 (unused)."""

    def _normalize(self, x):
        return mean_only_forward(x, self.gamma, self.beta)

    def _update_running(self, cache, n):
        self.update_running(mean=cache[2])

    def _backward(self, dy, cache):
        dx, self.dgamma[...], self.dbeta[...] = mean_only_backward(dy, cache)
        return dx

    def fold(self):
        return self.gamma.copy(), self.beta - self.running_mean * self.gamma


# --- variance-only BN -----------------------------------------------------------------------------------------


def var_only_forward(x, gamma, beta, eps=1e-5):
    """y = γ·x/√(σ²_B + ε) + β, σ²_B the biased batch variance: the spread normalized, the mean not removed.
    ``cache`` is ``(x_hat, gamma, inv_std, xc, var)`` with ``xc = x − μ_B`` (the variance depends on it)."""
    _check_batch(x)
    inv_n = 1.0 / x.shape[0]
    xc = x - column_sums(x) * inv_n
    var = column_sums(xc * xc) * inv_n
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = x * inv_std
    return affine(x_hat, gamma, beta), (x_hat, gamma, inv_std, xc, var)


def var_only_backward(dy, cache):
    """x̂ = x·σ⁻¹ with ∂σ²/∂x_i = 2(x_i − μ)/N, so dx = γσ⁻¹·dy − γσ⁻³·Σ(dy·x)·(x − μ)/N."""
    x_hat, gamma, inv_std, xc, _ = cache
    dgamma = column_sums(dy * x_hat)
    scale = gamma * inv_std
    dx = dy * scale
    # Σ(dy·x)·γσ⁻³ = dγ·γσ⁻², since x̂ = x/σ
    dx -= xc * (dgamma * scale * inv_std * (1.0 / dy.shape[0]))
    return dx, dgamma, column_sums(dy)


class VarianceOnlyBatchNorm1d(BatchNorm1d):
    """Variance-only BN; eval mode divides by the running standard deviation. ``running_mean`` stays 0 (unused)."""

    def _normalize(self, x):
        return var_only_forward(x, self.gamma, self.beta, self.eps)

    def _update_running(self, cache, n):
        self.update_running(var=cache[4], n=n)

    def _backward(self, dy, cache):
        dx, self.dgamma[...], self.dbeta[...] = var_only_backward(dy, cache)
        return dx

    # fold(): BatchNorm1d's, with running_mean at 0 (never updated): γ/√(running_var + ε), β


# --- noisy BN -------------------------------------------------------------------------------------------------


class NoisyBatchNorm1d(BatchNorm1d):
    """BN followed by ``y·noise_scale + noise_shift``, one scale and shift per unit, redrawn at every training step.

    Only in train mode; eval mode is plain BN. A training forward (``update_stats=True``) draws new noise; a probe
    (``update_stats=False``) reuses the last step's, so measuring a model leaves its noise and its RNG alone.
    ``seed`` makes the noise a function of the run's seed.
    """

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=np.float32, seed=0):
        super().__init__(num_features, momentum, eps, dtype)
        self.rng = np.random.default_rng(seed)
        self.resample()

    def resample(self):
        self.noise_scale = self.rng.uniform(*NOISE_SCALE, self.num_features).astype(self.dtype)
        self.noise_shift = self.rng.uniform(*NOISE_SHIFT, self.num_features).astype(self.dtype)

    def forward(self, x, update_stats=True):
        y = super().forward(x, update_stats)
        if not self.training:
            return y
        if update_stats:
            self.resample()
        y *= self.noise_scale
        y += self.noise_shift
        return y

    def backward(self, dy):
        return super().backward(dy * self.noise_scale)


def make_norm(norm, num_features, momentum=0.1, eps=1e-5, dtype=np.float32, seed=0):
    """The normalization layer named ``norm`` (one of NORMS). frozen_affine and affine_only are plain BN layers:
    what they freeze is the MLP's business (which parameters it hands to the optimizer)."""
    if norm in ("batch", "frozen_affine", "affine_only"):
        return BatchNorm1d(num_features, momentum, eps, dtype)
    if norm == "layer":
        return LayerNorm1d(num_features, eps, dtype)
    if norm == "mean_only":
        return MeanOnlyBatchNorm1d(num_features, momentum, eps, dtype)
    if norm == "var_only":
        return VarianceOnlyBatchNorm1d(num_features, momentum, eps, dtype)
    if norm == "noisy":
        return NoisyBatchNorm1d(num_features, momentum, eps, dtype, seed)
    raise ValueError(f"unknown norm {norm!r}; use one of {NORMS}")
