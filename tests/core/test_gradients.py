"""Every backward pass against central finite differences, in float64."""
import warnings

import numpy as np
import pytest

import bn_core as bc
from bn_core.gradcheck import STEP as H  # central-difference step
from bn_core.gradcheck import numerical_gradient

TOL = 1e-6


def rel_error(analytic, numeric):
    """max |a − n| relative to the larger of the two gradients' magnitudes (0 when both vanish)."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = max(np.abs(analytic).max(), np.abs(numeric).max())
    return 0.0 if scale == 0 else float(np.abs(analytic - numeric).max() / scale)


def numeric_grad(f, x, h=H):
    """∂f/∂x by central differences (bn_core.gradcheck, which the γ/β lesson's live check uses too)."""
    return numerical_gradient(f, x, h=h)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --- batch normalization -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (7, 5), (16, 4)])
def test_batchnorm_backward_matches_numeric(rng, shape):
    x = rng.normal(1.5, 2.0, shape)
    gamma = rng.normal(1.0, 0.5, shape[1])
    beta = rng.normal(0.0, 0.5, shape[1])
    w = rng.normal(size=shape)  # loss = Σ w·y, so ∂loss/∂y = w
    loss = lambda: float(np.sum(w * bc.batchnorm_forward(x, gamma, beta)[0]))

    _, cache = bc.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = bc.batchnorm_backward(w, cache)

    assert rel_error(dx, numeric_grad(loss, x)) < TOL
    assert rel_error(dgamma, numeric_grad(loss, gamma)) < TOL
    assert rel_error(dbeta, numeric_grad(loss, beta)) < TOL


def test_batchnorm_batch_of_two_normalizes_to_plus_minus_one(rng):
    # With two examples x̂ = ±1 whatever x is (up to ε), so dx is ~0: finite differences are all noise there,
    # which is why the numeric check above starts at batches of three.
    x = rng.normal(size=(2, 4)) * 3
    y, _ = bc.batchnorm_forward(x, np.ones(4), np.zeros(4), eps=1e-12)
    np.testing.assert_allclose(np.abs(y), 1.0, rtol=1e-9)
    np.testing.assert_allclose(y[0], -y[1], rtol=1e-12)


def test_batchnorm_dx_is_not_trivially_zero(rng):
    # Guards the check above: with a loss that is not a constant of x, dx must carry signal.
    x = rng.normal(size=(8, 3))
    _, cache = bc.batchnorm_forward(x, np.ones(3), np.zeros(3))
    dx, _, _ = bc.batchnorm_backward(rng.normal(size=(8, 3)), cache)
    assert np.abs(dx).max() > 1e-3


@pytest.mark.parametrize("eps", [1e-5, 1e-3, 0.5])
def test_batchnorm_backward_equals_paper_steps(rng, eps):
    x = rng.normal(-0.5, 3.0, (9, 6))
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    dy = rng.normal(size=(9, 6))
    _, cache = bc.batchnorm_forward(x, gamma, beta, eps=eps)
    for compact, steps in zip(bc.batchnorm_backward(dy, cache), bc.batchnorm_backward_steps(dy, cache)):
        np.testing.assert_allclose(compact, steps, rtol=1e-10, atol=1e-12)


def test_batchnorm_module_backward_matches_numeric(rng):
    bn = bc.BatchNorm1d(4, dtype=np.float64)
    bn.gamma[...] = rng.normal(1.0, 0.3, 4)
    bn.beta[...] = rng.normal(size=4)
    x = rng.normal(size=(6, 4))
    w = rng.normal(size=(6, 4))
    loss = lambda: float(np.sum(w * bn.forward(x, update_stats=False)))
    bn.forward(x, update_stats=False)
    dx = bn.backward(w).copy()
    dgamma, dbeta = bn.dgamma.copy(), bn.dbeta.copy()
    assert rel_error(dx, numeric_grad(loss, x)) < TOL
    assert rel_error(dgamma, numeric_grad(loss, bn.gamma)) < TOL
    assert rel_error(dbeta, numeric_grad(loss, bn.beta)) < TOL


def test_batch_of_one_in_train_mode_raises():
    bn = bc.BatchNorm1d(3, dtype=np.float64)
    with pytest.raises(ValueError, match="more than 1 example"):
        bn.forward(np.ones((1, 3)))
    with pytest.raises(ValueError):
        bc.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))


def test_batch_of_one_in_eval_mode_works():
    bn = bc.BatchNorm1d(3, dtype=np.float64).eval()
    y = bn.forward(np.array([[1.0, 2.0, 3.0]]))
    assert y.shape == (1, 3) and np.all(np.isfinite(y))


# --- activations ---------------------------------------------------------------------------------------------


def activation_points(rng, name):
    x = rng.normal(0.0, 2.0, 50)
    if name in ("relu", "leaky_relu"):
        x = x[np.abs(x) > 1e-3]  # stay away from the kink at 0, where the derivative is undefined
        assert (x > 0).any() and (x < 0).any()
    return x


@pytest.mark.parametrize("name", bc.ACTIVATIONS)
def test_activation_derivative_matches_numeric(rng, name):
    x = activation_points(rng, name)
    numeric = (bc.activation_forward(name, x + H) - bc.activation_forward(name, x - H)) / (2 * H)
    assert rel_error(bc.activation_derivative(name, x), numeric) < TOL
    # The shortcut through the forward output (sigmoid, tanh) gives the same derivative.
    y = bc.activation_forward(name, x)
    assert rel_error(bc.activation_derivative(name, x, y), numeric) < TOL


@pytest.mark.parametrize("name", bc.ACTIVATIONS)
def test_activation_layer_backward_matches_numeric(rng, name):
    layer = bc.Activation(name)
    x = activation_points(rng, name).reshape(5, -1)
    w = rng.normal(size=x.shape)
    loss = lambda: float(np.sum(w * layer.forward(x)))
    layer.forward(x)
    assert rel_error(layer.backward(w), numeric_grad(loss, x)) < TOL


def test_sigmoid_reference_values():
    # Accurate to the float64 resolution of values near 1 (the tanh form is not relatively exact in the far tail).
    x = np.array([-30.0, -2.0, 0.0, 0.5, 3.0, 40.0])
    np.testing.assert_allclose(bc.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=2 * np.finfo(np.float64).eps)


def test_sigmoid_huge_inputs_give_no_warning():
    x = np.array([-1e308, -1e5, -800.0, 800.0, 1e5, 1e308, np.finfo(np.float64).max, -np.finfo(np.float64).max])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        s = bc.sigmoid(x)
        d = bc.activation_derivative("sigmoid", x)
    np.testing.assert_array_equal(s, [0, 0, 0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(d, 0)
    x32 = np.array([-3e38, 3e38], np.float32)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        np.testing.assert_array_equal(bc.sigmoid(x32), [0, 1])


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        bc.Activation("swish")


# --- loss ----------------------------------------------------------------------------------------------------


def test_softmax_cross_entropy_gradient_matches_numeric(rng):
    logits = rng.normal(0.0, 3.0, (7, 4))
    labels = rng.integers(0, 4, 7)
    _, dlogits = bc.softmax_cross_entropy(logits, labels)
    numeric = numeric_grad(lambda: bc.softmax_cross_entropy(logits, labels)[0], logits)
    assert rel_error(dlogits, numeric) < TOL


def test_softmax_cross_entropy_value_and_stability():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    labels = np.array([2, 0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.mean(np.log(p[[0, 1], labels]))
    loss, _ = bc.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(expected, rel=1e-14)
    # Underflow of exp(−2000) to 0 is the intended outcome (numpy ignores underflow by default); the rest raises.
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        loss, d = bc.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(d))


# --- the whole network ---------------------------------------------------------------------------------------


MODEL_CASES = [
    pytest.param(dict(activation="sigmoid", batchnorm=False), id="sigmoid-noBN"),
    pytest.param(dict(activation="sigmoid", batchnorm=True), id="sigmoid-BN-before"),
    pytest.param(dict(activation="sigmoid", batchnorm=True, bn_position="after"), id="sigmoid-BN-after"),
    pytest.param(dict(activation="tanh", batchnorm=True), id="tanh-BN-before"),
    pytest.param(dict(activation="tanh", batchnorm=True, bn_position="after"), id="tanh-BN-after"),
    pytest.param(dict(activation="relu", batchnorm=False, init="he"), id="relu-noBN"),
    pytest.param(dict(activation="relu", batchnorm=True), id="relu-BN-before"),
    pytest.param(dict(activation="leaky_relu", batchnorm=True, bn_position="after"), id="leaky-BN-after"),
]


@pytest.mark.parametrize("kwargs", MODEL_CASES)
def test_mlp_gradients_match_numeric(rng, kwargs):
    model = bc.MLP([3, 5, 4, 3], seed=7, dtype=np.float64, **kwargs)
    for p in model.parameters().values():  # move γ, β and the biases off their trivial initial values
        p += rng.normal(0.0, 0.3, p.shape)
    X = rng.normal(size=(8, 3))
    y = rng.integers(0, 3, 8)
    loss = lambda: bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[0]

    _, dlogits = bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)
    model.backward(dlogits)
    if kwargs["activation"] in ("relu", "leaky_relu"):
        kinks = [np.abs(h.pre_activation).min() for h in model.hidden]
        assert min(kinks) > 1e-4, "a pre-activation sits on the kink; pick another seed"

    params, grads = model.parameters(), model.gradients()
    assert list(params) == list(grads)
    expected_keys = {"W", "b", "gamma", "beta"}
    assert {k.rsplit(".", 1)[1] for k in params} <= expected_keys
    assert any(k.endswith(".gamma") for k in params) == kwargs["batchnorm"]
    analytic = {k: g.copy() for k, g in grads.items()}
    for name, p in params.items():
        assert rel_error(analytic[name], numeric_grad(loss, p)) < TOL, name


def test_mlp_parameter_order_follows_forward_order():
    before = bc.MLP([2, 3, 3, 2], batchnorm=True, dtype=np.float64)
    assert list(before.parameters()) == ["fc1.W", "bn1.gamma", "bn1.beta", "fc2.W", "bn2.gamma", "bn2.beta",
                                         "out.W", "out.b"]
    after = bc.MLP([2, 3, 2], batchnorm=True, bn_position="after", dtype=np.float64)
    assert list(after.parameters()) == ["fc1.W", "fc1.b", "bn1.gamma", "bn1.beta", "out.W", "out.b"]
    assert after.parameters()["fc1.W"].shape == (2, 3)  # (in, out)


@pytest.mark.parametrize("kwargs", MODEL_CASES[:3])
def test_mlp_input_gradient_only_on_request(rng, kwargs):
    model = bc.MLP([3, 5, 4, 3], seed=2, dtype=np.float64, **kwargs)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, 6)
    _, dlogits = bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)
    assert model.backward(dlogits) is None  # training never needs ∂loss/∂X: not computed by default
    dX = model.backward(dlogits, input_grad=True)
    numeric = numeric_grad(lambda: bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[0], X)
    assert rel_error(dX, numeric) < TOL
