"""bn_core against PyTorch in float64: BN forward/backward, running statistics, eval mode, the loss, and a whole
SGD trajectory of an MLP built from the same initial weights.

PyTorch is not a runtime requirement: without it these tests skip, except under CI=true where they fail (see
conftest.require). bn_core's Linear weights are (in, out); torch's are (out, in), hence the transposes.
"""
import numpy as np
import pytest
from conftest import require

import bn_core as bc

RTOL, ATOL = 1e-12, 1e-13  # one BN layer or the loss: a few float64 roundings apart
# 200 SGD steps: measured ~1e-15 apart; a real difference (a missed n/(n−1), a momentum form) shows as >1e-4.
TRAJ_RTOL, TRAJ_ATOL = 1e-11, 1e-12


def t(torch, a, grad=False):
    return torch.tensor(np.asarray(a, np.float64), dtype=torch.float64, requires_grad=grad)


def n(tensor):
    return tensor.detach().numpy()


# --- the skip-or-fail helper ---------------------------------------------------------------------------------


def test_missing_optional_dependency_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require("no_such_module_bn_lab", "test of the helper")


def test_missing_optional_dependency_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        require("no_such_module_bn_lab", "test of the helper")


# --- one BN layer --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3), (5, 4), (60, 100)])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_batchnorm_forward_backward(torch, shape, eps):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, shape)
    gamma, beta = rng.normal(1.0, 0.5, shape[1]), rng.normal(size=shape[1])
    dy = rng.normal(size=shape)

    ref = torch.nn.BatchNorm1d(shape[1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(t(torch, gamma))
        ref.bias.copy_(t(torch, beta))
    xt = t(torch, x, grad=True)
    yt = ref(xt)
    yt.backward(t(torch, dy))

    bn = bc.BatchNorm1d(shape[1], eps=eps, dtype=np.float64)
    bn.gamma[...], bn.beta[...] = gamma, beta
    y = bn.forward(x)
    dx = bn.backward(dy)

    np.testing.assert_allclose(y, n(yt), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.dgamma, n(ref.weight.grad), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(bn.dbeta, n(ref.bias.grad), rtol=RTOL, atol=ATOL)
    # the functional form agrees with the module
    y2, cache = bc.batchnorm_forward(x, gamma, beta, eps)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(bc.batchnorm_backward(dy, cache)[0], dx)


@pytest.mark.parametrize("momentum", [0.1, 0.37, 1.0])
def test_running_statistics_and_eval_mode(torch, momentum):
    rng = np.random.default_rng(1)
    features = 6
    ref = torch.nn.BatchNorm1d(features, momentum=momentum, dtype=torch.float64)
    bn = bc.BatchNorm1d(features, momentum=momentum, dtype=np.float64)
    with torch.no_grad():
        gamma, beta = rng.normal(size=features), rng.normal(size=features)
        ref.weight.copy_(t(torch, gamma))
        ref.bias.copy_(t(torch, beta))
        bn.gamma[...], bn.beta[...] = gamma, beta
        for size in (2, 7, 16, 3, 50):  # batch sizes vary, so the n/(n−1) correction differs per batch
            x = rng.normal(rng.normal(size=features), rng.uniform(0.5, 4, features), (size, features))
            np.testing.assert_allclose(bn.forward(x), n(ref(t(torch, x))), rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(bn.running_mean, n(ref.running_mean), rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(bn.running_var, n(ref.running_var), rtol=RTOL, atol=ATOL)

        bn.eval()
        ref.eval()
        for size in (1, 4):  # a batch of one is fine in eval mode: running statistics, no batch statistics
            x = rng.normal(size=(size, features))
            y = bn.forward(x)
            np.testing.assert_allclose(y, n(ref(t(torch, x))), rtol=RTOL, atol=ATOL)
            scale, shift = bn.fold()
            np.testing.assert_allclose(y, x * scale + shift, rtol=RTOL, atol=ATOL)


def test_probe_forward_leaves_running_statistics(torch):
    bn = bc.BatchNorm1d(3, dtype=np.float64)
    x = np.random.default_rng(2).normal(size=(8, 3))
    bn.forward(x, update_stats=False)
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    bn.forward(x)
    ref = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    ref(t(torch, x))
    np.testing.assert_allclose(bn.running_var, n(ref.running_var), rtol=RTOL)


# --- the loss ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3])
def test_softmax_cross_entropy(torch, scale):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, scale, (13, 5))
    labels = rng.integers(0, 5, 13)
    lt = t(torch, logits, grad=True)
    ref = torch.nn.functional.cross_entropy(lt, torch.tensor(labels))
    ref.backward()
    loss, dlogits = bc.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(ref.item(), rel=RTOL, abs=ATOL)
    np.testing.assert_allclose(dlogits, n(lt.grad), rtol=RTOL, atol=ATOL)


# --- a whole training trajectory -----------------------------------------------------------------------------


TORCH_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU"}


def torch_twin(torch, model):
    """A torch.nn.Sequential with the same layers and the same current parameter values as a bn_core MLP, and a
    list of (bn_core parameter name, torch parameter, transposed?) pairs to compare them."""
    nn = torch.nn
    modules, pairs = [], []
    for name, layer in zip(model._names, model.layers):
        if isinstance(layer, bc.Linear):
            fan_in, fan_out = layer.W.shape
            m = nn.Linear(fan_in, fan_out, bias=layer.b is not None, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(t(torch, layer.W.T))
                pairs.append((f"{name}.W", m.weight, True))
                if layer.b is not None:
                    m.bias.copy_(t(torch, layer.b))
                    pairs.append((f"{name}.b", m.bias, False))
        elif isinstance(layer, bc.BatchNorm1d):
            m = nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(t(torch, layer.gamma))
                m.bias.copy_(t(torch, layer.beta))
            pairs += [(f"{name}.gamma", m.weight, False), (f"{name}.beta", m.bias, False)]
        else:
            m = getattr(nn, TORCH_ACTIVATIONS[layer.name])()  # LeakyReLU's default slope is 0.01, as bn_core's
        modules.append(m)
    return nn.Sequential(*modules), pairs


def teacher_data(rng, n_examples, n_features, n_classes):
    X = rng.normal(size=(n_examples, n_features))
    y = (X @ rng.normal(size=(n_features, n_classes)) + rng.normal(0, 0.5, (n_examples, n_classes))).argmax(1)
    return X, y


TRAJECTORIES = [
    pytest.param(dict(activation="sigmoid", batchnorm=True), 0.9, 0.5, id="sigmoid-BN-momentum0.9"),
    pytest.param(dict(activation="sigmoid", batchnorm=True), 0.0, 1.0, id="sigmoid-BN-plainSGD"),
    pytest.param(dict(activation="sigmoid", batchnorm=False), 0.9, 0.5, id="sigmoid-noBN-momentum0.9"),
    pytest.param(dict(activation="tanh", batchnorm=True, bn_position="after"), 0.5, 0.2, id="tanh-BN-after"),
    pytest.param(dict(activation="relu", batchnorm=True, init="he"), 0.9, 0.05, id="relu-BN-momentum0.9"),
]


@pytest.mark.parametrize(("kwargs", "sgd_momentum", "lr"), TRAJECTORIES)
def test_sgd_trajectory_matches_torch(torch, kwargs, sgd_momentum, lr):
    steps, batch = 200, 20
    rng = np.random.default_rng(4)
    X, y = teacher_data(rng, 400, 10, 4)
    model = bc.MLP([10, 16, 12, 4], seed=5, dtype=np.float64, bn_momentum=0.2, **kwargs)
    ref, pairs = torch_twin(torch, model)
    ref.train()
    params = model.parameters()
    for name, p, transposed in pairs:  # the twin really starts from the same weights
        np.testing.assert_array_equal(params[name], n(p).T if transposed else n(p))
    opt = bc.SGD(params, model.gradients(), lr=lr, momentum=sgd_momentum)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=sgd_momentum)

    losses, ref_losses = [], []
    for _ in range(steps):
        idx = rng.choice(len(X), batch, replace=False)
        loss, dlogits = bc.softmax_cross_entropy(model.forward(X[idx]), y[idx])
        model.backward(dlogits)
        opt.step()
        losses.append(loss)

        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref(t(torch, X[idx])), torch.tensor(y[idx]))
        ref_loss.backward()
        ref_opt.step()
        ref_losses.append(ref_loss.item())

    np.testing.assert_allclose(losses, ref_losses, rtol=TRAJ_RTOL, atol=TRAJ_ATOL)
    assert losses[-1] < 0.8 * losses[0], "the run should learn something, or the comparison proves little"
    for name, p, transposed in pairs:
        np.testing.assert_allclose(params[name], n(p).T if transposed else n(p), rtol=TRAJ_RTOL, atol=TRAJ_ATOL,
                                   err_msg=name)
    ref_bns = [m for m in ref if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(ref_bns) == len(model.batchnorms())
    for i, (bn, m) in enumerate(zip(model.batchnorms(), ref_bns)):
        for ours, theirs in ((bn.running_mean, m.running_mean), (bn.running_var, m.running_var)):
            np.testing.assert_allclose(ours, n(theirs), rtol=TRAJ_RTOL, atol=TRAJ_ATOL, err_msg=f"BN layer {i}")
    # eval mode after training, including a batch of one
    model.eval()
    ref.eval()
    with torch.no_grad():
        for rows in (X[:1], X[:50]):
            np.testing.assert_allclose(model.forward(rows), n(ref(t(torch, rows))), rtol=TRAJ_RTOL, atol=TRAJ_ATOL)
