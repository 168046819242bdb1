"""The paper's §3.3: with BN, a layer is invariant to the scale of its weights, BN(a·W·u) = BN(W·u), and
∂BN((aW)u)/∂u = ∂BN(Wu)/∂u, ∂BN((aW)u)/∂(aW) = (1/a)·∂BN(Wu)/∂W: larger weights get smaller gradients, which
stabilizes the growth of the parameters.

BN's ε breaks the invariance slightly (a² in front of Var against a fixed ε), so ε is set tiny here and the
exact identity with ε scaled by a² is checked as well.
"""
import numpy as np
import pytest

import bn_core as bc

EPS = 1e-16  # far below a²·Var for every a below: its effect stays under 1e-9
SCALES = [1e-3, 0.5, 3.0, 250.0]


def layer(u, W, gamma, beta, dy, eps=EPS):
    """Linear without bias then BN: returns the output, ∂/∂W and ∂/∂u of the loss Σ dy·y."""
    y, cache = bc.batchnorm_forward(u @ W, gamma, beta, eps)
    dz, _, _ = bc.batchnorm_backward(dy, cache)
    return y, u.T @ dz, dz @ W.T


@pytest.fixture
def setup():
    rng = np.random.default_rng(33)
    u = rng.normal(0.5, 1.5, (24, 6))
    W = rng.normal(size=(6, 5))
    gamma, beta = rng.normal(1.0, 0.3, 5), rng.normal(size=5)
    dy = rng.normal(size=(24, 5))
    return u, W, gamma, beta, dy


@pytest.mark.parametrize("a", SCALES)
def test_output_is_scale_invariant(setup, a):
    u, W, gamma, beta, dy = setup
    y, _, _ = layer(u, W, gamma, beta, dy)
    y_scaled, _, _ = layer(u, a * W, gamma, beta, dy)
    np.testing.assert_allclose(y_scaled, y, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("a", SCALES)
def test_gradients_scale_as_the_paper_says(setup, a):
    u, W, gamma, beta, dy = setup
    _, dW, du = layer(u, W, gamma, beta, dy)
    _, dW_scaled, du_scaled = layer(u, a * W, gamma, beta, dy)
    assert np.abs(dW).max() > 1e-3  # a real gradient, not a vanishing one
    np.testing.assert_allclose(du_scaled, du, rtol=1e-8, atol=1e-9)  # the layer's Jacobian is unchanged
    np.testing.assert_allclose(dW_scaled, dW / a, rtol=1e-8, atol=1e-9 / a)  # gradient w.r.t. aW is 1/a of it


@pytest.mark.parametrize("a", SCALES)
def test_invariance_is_exact_when_eps_scales_with_a_squared(setup, a):
    # With a real ε the identity is BN_ε(aWu) = BN_{ε/a²}(Wu): Var(aWu) = a²·Var(Wu).
    u, W, gamma, beta, dy = setup
    eps = 1e-2
    y_scaled, dW_scaled, _ = layer(u, a * W, gamma, beta, dy, eps=eps)
    y, dW, _ = layer(u, W, gamma, beta, dy, eps=eps / a**2)
    np.testing.assert_allclose(y_scaled, y, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dW_scaled, dW / a, rtol=1e-8, atol=1e-9 / a)


def test_without_bn_scale_matters(setup):
    # The control: a plain linear layer's output and gradient do change with the weights' scale.
    u, W, _, _, dy = setup
    np.testing.assert_allclose(u @ (3 * W), 3 * (u @ W))
    assert not np.allclose(u @ (3 * W), u @ W)


def test_large_eps_breaks_invariance(setup):
    # So the tests above are sensitive: with ε comparable to the variance, scaling W changes the output.
    u, W, gamma, beta, dy = setup
    y, _, _ = layer(u, 1e-3 * W, gamma, beta, dy, eps=1e-5)
    y_ref, _, _ = layer(u, W, gamma, beta, dy, eps=1e-5)
    assert np.abs(y - y_ref).max() > 1e-2
