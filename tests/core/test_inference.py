"""BN at inference: eval mode, folding into a fixed affine map and into the linear layer, the paper's population
statistics (Algorithm 2) and the work saved."""
import numpy as np
import pytest

import bn_core as bc


def trained_model(batchnorm=True, bn_position="before", sizes=(5, 8, 6, 3), steps=30, activation="tanh", seed=0):
    """A float64 MLP after a few SGD steps, so γ, β and the running statistics are far from their initial values."""
    rng = np.random.default_rng(seed)
    model = bc.MLP(list(sizes), activation=activation, batchnorm=batchnorm, bn_position=bn_position, seed=seed,
                   dtype=np.float64)
    X = rng.normal(1.0, 2.0, (200, sizes[0]))
    y = rng.integers(0, sizes[-1], 200)
    opt = bc.SGD(model.parameters(), model.gradients(), lr=0.3, momentum=0.5)
    for _ in range(steps):
        idx = rng.choice(200, 16, replace=False)
        _, d = bc.softmax_cross_entropy(model.forward(X[idx]), y[idx])
        model.backward(d)
        opt.step()
    return model, X


def forward_by_hand(model, X, affine_for):
    """The network's forward pass written out, with each BN replaced by ``affine_for(bn)`` = (scale, shift)."""
    x = X
    for h in model.hidden:
        z = x @ h.linear.W + (0 if h.linear.b is None else h.linear.b)
        if h.bn is not None and model.bn_position == "before":
            scale, shift = affine_for(h.bn)
            z = z * scale + shift
        x = bc.activation_forward(model.activation, z)
        if h.bn is not None and model.bn_position == "after":
            scale, shift = affine_for(h.bn)
            x = x * scale + shift
    return x @ model.out.W + model.out.b


def test_training_moved_the_statistics():
    model, _ = trained_model()
    for bn in model.batchnorms():
        assert np.abs(bn.running_mean).max() > 1e-2 and np.abs(bn.running_var - 1).max() > 1e-2
        assert np.abs(bn.gamma - 1).max() > 1e-3


@pytest.mark.parametrize("bn_position", bc.BN_POSITIONS)
def test_eval_mode_is_the_folded_affine_map(bn_position):
    model, X = trained_model(bn_position=bn_position)
    model.eval()
    out = model.forward(X[:40])
    by_fold = forward_by_hand(model, X[:40], lambda bn: bn.fold())
    # Algorithm 2 written out: γ/√(Var+ε)·x + (β − γ·E/√(Var+ε)), from the running statistics.
    by_formula = forward_by_hand(model, X[:40], lambda bn: (
        bn.gamma / np.sqrt(bn.running_var + bn.eps),
        bn.beta - bn.gamma * bn.running_mean / np.sqrt(bn.running_var + bn.eps)))
    np.testing.assert_allclose(out, by_fold, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, by_formula, rtol=1e-9, atol=1e-12)


def test_fold_batchnorm_gives_the_same_eval_output_without_bn():
    model, X = trained_model()
    params_before = {k: v.copy() for k, v in model.parameters().items()}
    model.train()
    folded = bc.fold_batchnorm(model)
    assert folded.batchnorms() == [] and not any(isinstance(layer, bc.BatchNorm1d) for layer in folded.layers)
    assert all(h.linear.b is not None for h in folded.hidden)
    assert not any(k.endswith((".gamma", ".beta")) for k in folded.parameters())
    # the original is untouched: same parameters, still has its BN layers, still in its mode
    assert model.training and len(model.batchnorms()) == 2
    for k, v in model.parameters().items():
        np.testing.assert_array_equal(v, params_before[k])
    expected = model.eval().forward(X)
    np.testing.assert_allclose(folded.forward(X), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(folded.forward(X[:1]), expected[:1], rtol=1e-9, atol=1e-12)  # batch of one


def test_fold_into_linear_with_and_without_bias():
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(7, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    scale, shift = rng.normal(size=3), rng.normal(size=3)
    W2, b2 = bc.fold_into_linear(W, b, scale, shift)
    np.testing.assert_allclose(x @ W2 + b2, (x @ W + b) * scale + shift, rtol=1e-12, atol=1e-12)
    W3, b3 = bc.fold_into_linear(W, None, scale, shift)
    np.testing.assert_allclose(x @ W3 + b3, (x @ W) * scale + shift, rtol=1e-12, atol=1e-12)


def test_fold_batchnorm_refuses_bn_after_activation():
    model, _ = trained_model(bn_position="after")
    with pytest.raises(ValueError, match="bn_position='before'"):
        bc.fold_batchnorm(model)


def test_fold_batchnorm_without_bn_is_a_plain_copy():
    model, X = trained_model(batchnorm=False)
    folded = bc.fold_batchnorm(model)
    assert folded is not model
    np.testing.assert_array_equal(folded.forward(X), model.eval().forward(X))


# --- population statistics -----------------------------------------------------------------------------------


def batch_statistics_by_hand(model, X, m):
    """Per BN layer, the list of (mean, biased variance, unbiased variance) of its input over whole mini-batches
    of m examples, from a forward pass written out with NumPy (train mode: batch statistics)."""
    per_layer = [[] for _ in model.batchnorms()]
    for start in range(0, len(X) - m + 1, m):
        x = X[start:start + m]
        for i, h in enumerate(model.hidden):
            z = x @ h.linear.W + (0 if h.linear.b is None else h.linear.b)
            if model.bn_position == "after":
                z = bc.activation_forward(model.activation, z)
            mu, var0, var1 = z.mean(axis=0), np.var(z, axis=0, ddof=0), np.var(z, axis=0, ddof=1)
            per_layer[i].append((mu, var0, var1))
            z = (z - mu) / np.sqrt(var0 + h.bn.eps) * h.bn.gamma + h.bn.beta
            x = z if model.bn_position == "after" else bc.activation_forward(model.activation, z)
    return per_layer


@pytest.mark.parametrize("bn_position", bc.BN_POSITIONS)
@pytest.mark.parametrize("m", [2, 7, 32])
def test_population_statistics_by_hand(bn_position, m):
    model, X = trained_model(bn_position=bn_position)
    X = X[:150]  # 150 is not a multiple of 7 or 32: the partial last batch must be left out
    running = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.batchnorms()]
    model.eval()
    stats = bc.population_statistics(model, X, m)
    assert not model.training  # the mode is restored
    for bn, (rm, rv) in zip(model.batchnorms(), running):  # running statistics untouched
        np.testing.assert_array_equal(bn.running_mean, rm)
        np.testing.assert_array_equal(bn.running_var, rv)

    by_hand = batch_statistics_by_hand(model, X, m)
    assert len(stats) == len(by_hand) == 2
    for (mean, var), batches in zip(stats, by_hand):
        assert len(batches) == len(X) // m
        mus, var0s, var1s = (np.array(v) for v in zip(*batches))
        np.testing.assert_allclose(mean, mus.mean(axis=0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(var, m / (m - 1) * var0s.mean(axis=0), rtol=1e-10, atol=1e-12)
        # The m/(m−1) correction really is applied: the result is the mean of the per-batch *unbiased*
        # variances, strictly above the mean of the biased ones that BN normalized with.
        np.testing.assert_allclose(var, var1s.mean(axis=0), rtol=1e-10, atol=1e-12)
        assert np.all(var > var0s.mean(axis=0) * (1 + 0.5 / m))


def test_population_statistics_first_layer_is_the_data_mean():
    # The first BN input is x·W: it does not depend on other examples, so E[x] is the plain mean over the
    # examples in whole batches.
    model, X = trained_model()
    m = 16
    (mean, _), _ = bc.population_statistics(model, X, m)
    used = X[: len(X) // m * m]
    np.testing.assert_allclose(mean, (used @ model.hidden[0].linear.W).mean(axis=0), rtol=1e-10, atol=1e-12)


def test_population_statistics_in_eval_mode():
    model, X = trained_model()
    stats = bc.population_statistics(model, X, 20)
    bc.set_running_statistics(model, stats)
    for bn, (mean, var) in zip(model.batchnorms(), stats):
        np.testing.assert_array_equal(bn.running_mean, mean)
        np.testing.assert_array_equal(bn.running_var, var)
    model.eval()
    expected = forward_by_hand(model, X, lambda bn: (
        bn.gamma / np.sqrt(bn.running_var + bn.eps),
        bn.beta - bn.gamma * bn.running_mean / np.sqrt(bn.running_var + bn.eps)))
    np.testing.assert_allclose(model.forward(X), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("m", "n_rows"), [(1, 50), (0, 50), (60, 50)])
def test_population_statistics_rejects_unusable_batches(m, n_rows):
    model, X = trained_model()
    with pytest.raises(ValueError):
        bc.population_statistics(model, X[:n_rows], m)


# --- the work saved ------------------------------------------------------------------------------------------


def test_inference_cost_counts():
    model = bc.MLP([64, 100, 100, 100, 10], batchnorm=True)
    cost = bc.inference_cost(model)
    assert cost["bn_features"] == 300
    # Normalizing step by step: (x − E[x]) / √(Var[x] + ε) · γ + β.
    assert cost["as_written"] == 4 * 300  # subtract, divide, ×γ, +β (ε and √ once per unit)
    assert cost["folded_affine"] == 2 * 300  # x·scale + shift
    assert cost["folded_linear"] == 300  # W absorbs the scale; the bias the layer did not have is added
    assert cost["linear_madds"] == 64 * 100 + 100 * 100 + 100 * 100 + 100 * 10

    small = bc.inference_cost(bc.MLP([3, 4, 5, 2], batchnorm=True))
    assert (small["bn_features"], small["as_written"], small["linear_madds"]) == (9, 36, 12 + 20 + 10)
    none = bc.inference_cost(bc.MLP([3, 4, 5, 2], batchnorm=False))
    assert none["bn_features"] == none["as_written"] == none["folded_affine"] == 0
    assert none["linear_madds"] == small["linear_madds"]
