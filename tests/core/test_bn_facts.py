"""General statements the lessons make about BN and activations, checked on the engine (docs/CLAIMS.md cites them)."""
import numpy as np
import pytest

import bn_core as bc
from bn_core.layers import LEAKY_SLOPE

EPS = 1e-5


@pytest.fixture
def rng():
    return np.random.default_rng(8)


def bn_train(x, gamma=1.0, beta=0.0, eps=EPS):
    """Train-mode BN output (batch statistics) in float64."""
    n = x.shape[1]
    y, _ = bc.batchnorm_forward(x, np.full(n, gamma, float), np.full(n, beta, float), eps)
    return y


def test_population_gamma_beta_give_the_identity_in_eval_mode(rng):
    # The paper's §3 argument: γ = √(Var[x] + ε), β = E[x] with the fixed statistics give any input back.
    train = rng.normal([3.0, -1.0, 0.0, 10.0], [2.0, 0.5, 4.0, 0.1], (500, 4))
    bn = bc.BatchNorm1d(4, eps=EPS, dtype=np.float64)
    bn.running_mean[...] = train.mean(axis=0)
    bn.running_var[...] = train.var(axis=0, ddof=1)
    bn.gamma[...] = np.sqrt(bn.running_var + EPS)
    bn.beta[...] = bn.running_mean
    bn.eval()
    for x in (train[:7], rng.normal(0.0, 5.0, (3, 4)), train[:1]):  # any batch, even one example
        np.testing.assert_allclose(bn.forward(x), x, rtol=1e-12, atol=1e-12)


def test_undoing_one_batch_does_not_undo_another(rng):
    # γ = √(σ_B² + ε), β = μ_B is the identity for that batch only: another batch has other μ_B, σ_B.
    a, b = rng.normal(2.0, 3.0, (60, 5)), rng.normal(2.0, 3.0, (60, 5))
    gamma, beta = np.sqrt(a.var(axis=0) + EPS), a.mean(axis=0)
    y_a, _ = bc.batchnorm_forward(a, gamma, beta, EPS)
    y_b, _ = bc.batchnorm_forward(b, gamma, beta, EPS)
    np.testing.assert_allclose(y_a, a, rtol=1e-12, atol=1e-12)
    assert np.abs(y_b - b).max() > 0.1


def test_bn_keeps_the_shape_of_the_distribution(rng):
    # BN fixes mean 0 and variance 1, not the shape: a skewed input stays exactly as skewed (x̂ is affine in x).
    x = rng.exponential(1.0, (400, 3)) * [1.0, 5.0, 0.2] + [0.0, -3.0, 7.0]

    def skewness(v):
        c = v - v.mean(axis=0)
        return (c**3).mean(axis=0) / (c**2).mean(axis=0) ** 1.5

    x_hat = bn_train(x)
    np.testing.assert_allclose(x_hat.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x_hat.var(axis=0), 1, rtol=1e-3)
    np.testing.assert_allclose(skewness(x_hat), skewness(x), rtol=1e-9)
    assert (skewness(x_hat) > 1).all()  # far from a Gaussian's 0


@pytest.mark.parametrize("a", [0.1, 1.0, 100.0])
def test_bn_output_has_mean_beta_and_std_gamma(rng, a):
    # With BN before the activation, over the batch the activation input has mean β and std ≈ γ, whatever the scale
    # of the weights: the steadiness of its mean and spread is built in.
    u, W = rng.normal(size=(64, 20)), rng.normal(size=(20, 6))
    gamma, beta = rng.uniform(0.5, 3.0, 6), rng.normal(size=6)
    y, _ = bc.batchnorm_forward(u @ (a * W), gamma, beta, EPS)
    np.testing.assert_allclose(y.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=0), gamma, rtol=1e-2)


def test_sigma_b_follows_the_weight_norm(rng):
    # Scaling the weights into a unit by a > 0 scales its σ_B by a and leaves BN's output unchanged (ε aside).
    u, W = rng.normal(size=(64, 20)), rng.normal(size=(20, 6))
    for a in (0.5, 4.0, 50.0):
        np.testing.assert_allclose((u @ (a * W)).std(axis=0), a * (u @ W).std(axis=0), rtol=1e-12)
        np.testing.assert_allclose(bn_train(u @ (a * W), eps=1e-12), bn_train(u @ W, eps=1e-12), atol=1e-9)


def test_a_constant_added_before_bn_is_cancelled(rng):
    # Why the linear layer before BN needs no bias: the mean subtraction removes it (β takes its place).
    z = rng.normal(size=(32, 5))
    c = rng.normal(0.0, 10.0, 5)
    np.testing.assert_allclose(bn_train(z + c), bn_train(z), atol=1e-12)


def test_eps_keeps_a_constant_unit_finite():
    x = np.column_stack([np.full(10, 3.0), np.arange(10.0)])
    y = bn_train(x, gamma=2.0, beta=0.5)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[:, 0], 0.5)  # x̂ = 0/√ε = 0: the unit outputs β


def _first_layer_grads(activation, dead_unit):
    """Gradients of the first linear layer of a small MLP whose unit ``dead_unit`` gets a hugely negative input."""
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    model = bc.MLP([4, 6, 3], activation=activation, batchnorm=False, seed=0, dtype=np.float64)
    model.hidden[0].linear.b[dead_unit] = -1e3  # below 0 for every example
    _, dlogits = bc.softmax_cross_entropy(model.forward(X), labels)
    model.backward(dlogits)
    grads = model.gradients()
    first = next(k for k in grads if k.endswith(".W"))
    return grads[first], grads[first[:-2] + ".b"]


def test_a_dead_relu_unit_gets_no_gradient():
    dW, db = _first_layer_grads("relu", 2)
    assert np.all(dW[:, 2] == 0) and db[2] == 0
    assert np.abs(dW[:, [0, 1, 3, 4, 5]]).max() > 0  # the others learn


def test_leaky_relu_passes_gradient_below_zero():
    # Leaky ReLU's slope below 0 is small, not 0: its units are never dead.
    assert bc.activation_derivative("leaky_relu", np.array([-1.0]))[0] == LEAKY_SLOPE > 0
    assert bc.activation_derivative("relu", np.array([-1.0]))[0] == 0
    dW, db = _first_layer_grads("leaky_relu", 2)
    assert np.abs(dW[:, 2]).max() > 0 and db[2] != 0


def test_sigmoid_slope_peaks_at_a_quarter_and_vanishes_in_the_tails():
    x = np.linspace(-30, 30, 60001)
    d = bc.activation_derivative("sigmoid", x)
    assert d.max() == pytest.approx(0.25) and x[d.argmax()] == pytest.approx(0, abs=1e-9)
    assert bc.activation_derivative("sigmoid", np.array([20.0]))[0] < 1e-8  # a sigmoid fed ±20 is flat
    assert abs(bc.sigmoid(np.array([1e-3]))[0] - 0.5) < 1e-3  # a tiny input sits at 0.5


def test_the_seeds_pixel_scaling_lands_in_half_unit_range():
    x = np.arange(256.0)
    assert (x / 255 - 0.5).min() == -0.5 and (x / 255 - 0.5).max() == 0.5
    assert (x / 127.5 - 1).min() == -1 and (x / 127.5 - 1).max() == 1


def test_predictions_use_eval_mode(rng):
    # The decision boundary and the test accuracy are read in eval mode (running statistics), never batch statistics.
    model = bc.MLP([4, 8, 3], batchnorm=True, seed=1, dtype=np.float64)
    model.batchnorms()[0].running_mean[...] = rng.normal(size=8)  # running statistics far from any batch's
    X = rng.normal(size=(5, 4))
    model.eval()
    eval_pred = model.forward(X).argmax(axis=1)
    model.train()
    assert np.array_equal(model.predict(X), eval_pred) and model.training
    assert not np.allclose(model.forward(X, update_stats=False), model.eval().forward(X))
