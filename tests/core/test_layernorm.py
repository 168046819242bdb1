"""LayerNorm1d: numerical gradient check (float64) and parity with torch.nn.LayerNorm, alone and inside an MLP."""
import numpy as np
import pytest
from test_gradients import TOL, numeric_grad, rel_error  # the project's one finite-difference helper

import bn_core as bc
from bn_core.layers import layernorm_backward, layernorm_forward

RTOL, ATOL = 1e-12, 1e-13


def layer(features, rng, eps=1e-5):
    ln = bc.LayerNorm1d(features, eps=eps, dtype=np.float64)
    ln.gamma[...] = rng.normal(1.0, 0.5, features)
    ln.beta[...] = rng.normal(0.0, 0.5, features)
    return ln


@pytest.mark.parametrize("shape", [(1, 5), (4, 3), (7, 6), (16, 4)])
def test_backward_matches_numeric(shape):
    rng = np.random.default_rng(10)
    ln = layer(shape[1], rng)
    x = rng.normal(1.5, 2.0, shape)
    w = rng.normal(size=shape)  # loss = Σ w·y, so ∂loss/∂y = w
    loss = lambda: float(np.sum(w * ln.forward(x)))
    ln.forward(x)
    dx = ln.backward(w).copy()
    dgamma, dbeta = ln.dgamma.copy(), ln.dbeta.copy()
    assert np.abs(dx).max() > 1e-3  # a real signal to compare
    assert rel_error(dx, numeric_grad(loss, x)) < TOL
    assert rel_error(dgamma, numeric_grad(loss, ln.gamma)) < TOL
    assert rel_error(dbeta, numeric_grad(loss, ln.beta)) < TOL


def test_each_example_is_normalized_on_its_own():
    rng = np.random.default_rng(11)
    x = rng.normal(3.0, 5.0, (6, 40))
    y, _ = layernorm_forward(x, np.ones(40), np.zeros(40), eps=0.0)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, rtol=1e-12)
    # no batch statistics: an example's output does not depend on the others in its batch
    np.testing.assert_array_equal(layernorm_forward(x[2:3], np.ones(40), np.zeros(40), eps=0.0)[0], y[2:3])


def test_train_and_eval_mode_give_the_same_output_and_batch_of_one_works():
    rng = np.random.default_rng(12)
    ln = layer(5, rng)
    x = rng.normal(size=(1, 5))
    y_train = ln.train().forward(x)
    y_eval = ln.eval().forward(x)
    np.testing.assert_array_equal(y_train, y_eval)
    assert np.isfinite(ln.backward(np.ones((1, 5)))).all()
    assert ln.params().keys() == ln.grads().keys() == {"gamma", "beta"}


def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="forward"):
        bc.LayerNorm1d(3).backward(np.ones((2, 3)))


def test_float32_by_default():
    ln = bc.LayerNorm1d(4)
    y = ln.forward(np.ones((3, 4), np.float32) * np.arange(4, dtype=np.float32))
    assert ln.gamma.dtype == ln.beta.dtype == y.dtype == np.float32


# --- PyTorch parity ------------------------------------------------------------------------------------------


def t(torch, a, grad=False):
    return torch.tensor(np.asarray(a, np.float64), dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("shape", [(1, 7), (2, 3), (5, 4), (60, 100)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_forward_backward_match_torch(torch, shape, eps):
    rng = np.random.default_rng(13)
    ln = layer(shape[1], rng, eps)
    x = rng.normal(2.0, 3.0, shape)
    dy = rng.normal(size=shape)
    ref = torch.nn.LayerNorm(shape[1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(t(torch, ln.gamma))
        ref.bias.copy_(t(torch, ln.beta))
    xt = t(torch, x, grad=True)
    yt = ref(xt)
    yt.backward(t(torch, dy))

    y = ln.forward(x)
    dx = ln.backward(dy)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ln.dgamma, ref.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ln.dbeta, ref.bias.grad.numpy(), rtol=RTOL, atol=ATOL)
    # the functional form is the module's arithmetic
    y2, cache = layernorm_forward(x, ln.gamma, ln.beta, eps)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(layernorm_backward(dy, cache)[0], dx)


def test_mlp_with_layernorm_matches_torch_over_sgd_steps(torch):
    """MLP(norm="layer") is Linear(+bias) -> LayerNorm -> sigmoid per hidden layer; 100 SGD steps, batches of 1
    included, track a torch twin built from the same initial weights."""
    nn = torch.nn
    rng = np.random.default_rng(14)
    X = rng.normal(size=(200, 6))
    y = (X @ rng.normal(size=(6, 3))).argmax(1)
    model = bc.MLP([6, 8, 5, 3], norm="layer", seed=3, dtype=np.float64)
    params = model.parameters()
    assert list(params) == ["fc1.W", "fc1.b", "bn1.gamma", "bn1.beta", "fc2.W", "fc2.b", "bn2.gamma", "bn2.beta",
                            "out.W", "out.b"]
    modules = []
    for i, (fan_in, fan_out) in enumerate(zip([6, 8, 5], [8, 5, 3]), start=1):
        name = "out" if i == 3 else f"fc{i}"
        lin = nn.Linear(fan_in, fan_out, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(t(torch, params[f"{name}.W"].T))
            lin.bias.copy_(t(torch, params[f"{name}.b"]))
        modules.append(lin)
        if i < 3:
            modules += [nn.LayerNorm(fan_out, dtype=torch.float64), nn.Sigmoid()]
    ref = nn.Sequential(*modules)
    opt = bc.SGD(params, model.gradients(), lr=0.5)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    losses, ref_losses = [], []
    for step in range(100):
        idx = rng.choice(len(X), 1 if step % 10 == 0 else 16, replace=False)
        loss, dlogits = bc.softmax_cross_entropy(model.forward(X[idx]), y[idx])
        model.backward(dlogits)
        opt.step()
        ref_opt.zero_grad()
        ref_loss = nn.functional.cross_entropy(ref(t(torch, X[idx])), torch.tensor(y[idx]))
        ref_loss.backward()
        ref_opt.step()
        losses.append(loss)
        ref_losses.append(ref_loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-11, atol=1e-12)
    assert np.mean(losses[-20:]) < 0.8 * np.mean(losses[:20]), "the run should learn, or the comparison proves little"
    np.testing.assert_allclose(params["bn2.gamma"], ref[4].weight.detach().numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(params["out.W"], ref[6].weight.detach().numpy().T, rtol=1e-11, atol=1e-12)
