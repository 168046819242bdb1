"""Weight initializers, all seeded through a NumPy Generator."""
import numpy as np

INITS = ("truncated_normal", "normal", "xavier", "he")


def truncated_normal(rng, shape, sigma):
    """Normal(0, σ²), every draw beyond 2σ drawn again (TensorFlow's truncated_normal; the seed article's choice)."""
    w = rng.normal(0.0, sigma, size=shape)
    bad = np.abs(w) > 2 * sigma
    while bad.any():
        w[bad] = rng.normal(0.0, sigma, size=int(bad.sum()))
        bad = np.abs(w) > 2 * sigma
    return w


def init_weight(rng, fan_in, fan_out, method="xavier", sigma=0.1):
    """A (fan_in, fan_out) weight matrix. ``sigma`` is used by the normal and truncated-normal methods only."""
    if method == "truncated_normal":
        return truncated_normal(rng, (fan_in, fan_out), sigma)
    if method == "normal":
        return rng.normal(0.0, sigma, size=(fan_in, fan_out))
    if method == "xavier":  # Glorot & Bengio 2010, uniform: keeps the variance of activations and gradients
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))
    if method == "he":  # He et al. 2015: variance 2/fan_in, for ReLU
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    raise ValueError(f"unknown init {method!r}; use one of {INITS}")
