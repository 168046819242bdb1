"""The backward pass through BN path by path, the gradient that ignores μ_B and σ_B, and the paper's §2 warning run
on the engine (bn_core.bias_growth): every gradient against central differences in float64."""
from collections import deque

import numpy as np
import pytest

import bn_core as bc
from bn_core.bias_growth import _model_with_biases

TOL = 1e-7


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    x = rng.normal(1.5, 2.0, (12, 4))
    gamma, beta = rng.normal(1.0, 0.5, 4), rng.normal(0.0, 0.5, 4)
    w = rng.normal(size=(12, 4))  # loss = Σ w·y: ∂loss/∂y = w
    return x, gamma, beta, w


def test_the_three_paths_add_up_to_the_numerical_gradient(batch):
    x, gamma, beta, w = batch
    _, cache = bc.batchnorm_forward(x, gamma, beta)
    terms = bc.batchnorm_backward_terms(w, cache)
    np.testing.assert_allclose(terms.dx_direct + terms.dx_via_var + terms.dx_via_mu, terms.dx, rtol=1e-12)
    loss = lambda: float(np.sum(w * bc.batchnorm_forward(x, gamma, beta)[0]))
    assert bc.relative_error(terms.dx, bc.numerical_gradient(loss, x)) < TOL
    assert bc.relative_error(terms.dgamma, bc.numerical_gradient(loss, gamma)) < TOL
    assert bc.relative_error(terms.dbeta, bc.numerical_gradient(loss, beta)) < TOL
    compact = bc.batchnorm_backward(w, cache)
    for a, b in zip(compact, bc.batchnorm_backward_steps(w, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # the paths through μ_B and σ²_B carry a real share of the gradient here
    assert np.linalg.norm(terms.dx_via_mu + terms.dx_via_var) > 0.1 * np.linalg.norm(terms.dx)


def test_the_true_gradient_sums_to_zero_over_the_batch(batch):
    """Σ_i ∂ℓ/∂x_i = 0: a constant added to every x_i (a bias before BN) gets no gradient."""
    x, gamma, beta, w = batch
    _, cache = bc.batchnorm_forward(x, gamma, beta)
    dx, _, _ = bc.batchnorm_backward(w, cache)
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
    ignoring, _, _ = bc.batchnorm_backward_ignoring_stats(w, cache)
    assert np.abs(ignoring.sum(axis=0)).min() > 1e-3


def test_the_ignoring_gradient_is_the_gradient_of_a_frozen_normalization(batch):
    """It is exact for y = γ(x − c)/s + β with c, s frozen at μ_B, √(σ²_B + ε) — and wrong for BN."""
    x, gamma, beta, w = batch
    _, cache = bc.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = bc.batchnorm_backward_ignoring_stats(w, cache)
    c, s = x.mean(axis=0), np.sqrt(x.var(axis=0) + 1e-5)
    frozen = lambda: float(np.sum(w * (gamma * (x - c) / s + beta)))
    assert bc.relative_error(dx, bc.numerical_gradient(frozen, x)) < TOL
    true_loss = lambda: float(np.sum(w * bc.batchnorm_forward(x, gamma, beta)[0]))
    assert bc.relative_error(dx, bc.numerical_gradient(true_loss, x)) > 0.1
    # γ and β enter after the normalization: their gradients are BN's own
    _, dgamma_true, dbeta_true = bc.batchnorm_backward(w, cache)
    np.testing.assert_allclose(dgamma, dgamma_true, rtol=1e-12)
    np.testing.assert_allclose(dbeta, dbeta_true, rtol=1e-12)


def test_numerical_gradient_restores_x_and_relative_error_can_fail():
    x = np.array([1.0, -2.0, 3.0])
    g = bc.numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    assert x.tolist() == [1.0, -2.0, 3.0]
    only = bc.numerical_gradient(lambda: float(np.sum(x ** 3)), x, indices=[(1,)])
    assert only[0] == 0 and only[1] == pytest.approx(12.0)
    assert bc.relative_error([1.0, 2.0], [1.0, 2.0]) == 0 and bc.relative_error([0.0], [0.0]) == 0
    assert bc.relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2))


SMALL = bc.TrainConfig(hidden=(16, 16), steps=200, record_every=20, lr=0.5, init_sigma=0.1, init="normal")


def run(config, ignore_stats):
    return deque(bc.bias_growth_steps(config, ignore_stats), maxlen=1)[0]


@pytest.fixture(scope="module")
def runs():
    return run(SMALL, False), run(SMALL, True)


def test_the_model_has_a_bias_before_every_bn_and_the_gradient_reaches_it():
    data = bc.load_data(SMALL, np.float64)
    model = _model_with_biases(SMALL, data, np.float64)
    X, y = data.X_train[:30], data.y_train[:30]
    b = model.hidden[0].linear.b
    b[:] = np.random.default_rng(0).normal(size=b.shape)
    loss = lambda: bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[0]
    numerical = bc.numerical_gradient(loss, b)
    assert np.abs(numerical).max() < 1e-8  # BN cancels the bias: the loss does not depend on it
    model.backward(bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[1])
    assert np.abs(model.hidden[0].linear.db).max() < 1e-12


def test_true_bn_leaves_the_bias_alone_and_the_ignoring_gradient_grows_it_without_bound(runs):
    true_bn, ignoring = runs
    assert true_bn.done and ignoring.done and true_bn.steps == ignoring.steps
    assert true_bn.steps[0] == 0 and true_bn.steps[-1] == SMALL.steps
    assert max(max(b) for b in true_bn.bias) < 1e-12 and max(true_bn.grad) < 1e-12
    grown = np.array(ignoring.bias)  # (records, layers)
    assert grown[-1].min() > 0.05 and min(ignoring.grad[1:]) > 1e-3
    half = len(grown) // 2
    ratio = grown[-1] / grown[half]  # steadily growing: about linear in the steps
    assert np.all(ratio > 1.5) and np.all(ratio < 2.6)


def test_the_loss_stays_put_in_both(runs):
    for value in runs:
        assert np.ptp(value.loss) < 1e-12  # only the biases move, and BN cancels them
    assert runs[0].loss[0] == pytest.approx(runs[1].loss[0], abs=1e-15)


def test_live_values_are_values():
    values = list(bc.bias_growth_steps(SMALL.replace(steps=40), True))
    assert [v.steps_done for v in values] == [20, 40] and [v.done for v in values] == [False, True]
    assert values[0].steps == (0, 20) and values[1].steps == (0, 20, 40)  # an earlier value is not changed later


def test_a_bad_config_is_refused():
    with pytest.raises(bc.ConfigError):
        run(SMALL.replace(lr=-1.0), True)
