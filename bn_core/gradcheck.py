"""Gradient checking: central differences and the relative error of an analytic gradient against them."""
import numpy as np

STEP = 1e-6  # in float64: truncation error O(h²) ~ 1e-12, rounding error ~ 1e-16/h ~ 1e-10


def numerical_gradient(f, x, indices=None, h=STEP):
    """∂f/∂x[i] = (f(x + h·e_i) − f(x − h·e_i)) / 2h for every index of ``x`` (or those in ``indices``), as an
    array shaped like ``x`` (0 where not computed). ``f()`` reads ``x``, which is perturbed in place and restored."""
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape) if indices is None else indices:
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic, numerical):
    """‖a − n‖ / max(‖a‖, ‖n‖) (Euclidean norms; 0 when both vanish): about 1e-10 for a right float64 gradient,
    of order 1 for a wrong one."""
    a, n = np.asarray(analytic, np.float64).ravel(), np.asarray(numerical, np.float64).ravel()
    scale = max(np.linalg.norm(a), np.linalg.norm(n))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - n) / scale)
