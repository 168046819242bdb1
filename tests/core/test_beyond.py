"""bn_core.beyond: the measurements of the "beyond the paper" lesson, on known answers; the measured training run;
the sweep helpers; the batch-statistics spread; the published numbers."""
import collections
import copy

import numpy as np
import pytest

import bn_core as bc
from bn_core import beyond

SMALL = bc.TrainConfig(dataset="spiral", hidden=(8, 8), steps=60, record_every=20, batch_size=32, lr=0.3)


def data_batch(n=32, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    return X, (X @ rng.normal(size=(features, classes))).argmax(1)


def model64(batchnorm=True, **kwargs):
    return bc.MLP([5, 7, 6, 3], batchnorm=batchnorm, seed=4, dtype=np.float64, **kwargs)


def snapshot_params(model):
    return {k: p.copy() for k, p in model.parameters().items()}


# --- gradient ICS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batchnorm", [True, False])
def test_gradient_ics_with_learning_rate_zero_is_no_shift(batchnorm):
    model = model64(batchnorm)
    X, y = data_batch()
    ics = bc.gradient_ics(model, X, y, lr=0.0)
    assert ics.layers == ("fc1", "fc2", "out")
    np.testing.assert_array_equal(ics.diff, 0)
    np.testing.assert_allclose(ics.cos, 1, rtol=1e-12)
    assert np.all(ics.grad_norm > 0)


def weight_gradient(model, X, y, name):
    _, d = bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)
    model.backward(d)
    return dict(zip(model._names, model.layers))[name].dW.copy()


@pytest.mark.parametrize("kwargs", [dict(batchnorm=True), dict(batchnorm=False), dict(norm="affine_only"),
                                    dict(norm="layer")])
def test_gradient_ics_matches_a_direct_computation(kwargs):
    model = model64(**kwargs)
    X, y = data_batch()
    lr = 0.7
    ics = bc.gradient_ics(model, X, y, lr)
    # the definition, computed on copies: G of each layer, then again after every trained parameter of the layers
    # below it took its SGD step (affine_only trains only γ and β: its linear layers stay put)
    ref = copy.deepcopy(model)
    G = {name: weight_gradient(ref, X, y, name) for name in ("fc1", "fc2", "out")}
    grads = {k: g.copy() for k, g in ref.gradients().items()}
    below = {"fc1": [], "fc2": ["fc1", "bn1"], "out": ["fc1", "bn1", "fc2", "bn2"]}
    for i, name in enumerate(("fc1", "fc2", "out")):
        moved = copy.deepcopy(model)
        for k, p in moved.parameters().items():
            if k.split(".")[0] in below[name]:
                p -= lr * grads[k]
        g_after = weight_gradient(moved, X, y, name)
        diff = np.linalg.norm(G[name] - g_after)
        cos = np.vdot(G[name], g_after) / (np.linalg.norm(G[name]) * np.linalg.norm(g_after))
        assert ics.diff[i] == pytest.approx(diff, rel=1e-12, abs=1e-15)
        assert ics.cos[i] == pytest.approx(cos, rel=1e-12)
        assert ics.grad_norm[i] == pytest.approx(np.linalg.norm(G[name]), rel=1e-12)
    assert ics.diff[0] == 0 and ics.cos[0] == pytest.approx(1, rel=1e-12)  # nothing below the first layer
    assert np.all(ics.diff[1:] > 0) and np.all(ics.cos[1:] < 1)  # the layers above did feel the step


@pytest.mark.parametrize("norm", ["batch", "noisy", "layer", "affine_only"])
def test_gradient_ics_leaves_the_model_as_it_was(norm):
    model = model64(norm=norm)
    X, y = data_batch()
    model.forward(X)  # running statistics and noise to keep
    before = copy.deepcopy(model)
    bc.gradient_ics(model, X, y, lr=2.0)
    for k, p in before.parameters().items():
        np.testing.assert_array_equal(model.parameters()[k], p, err_msg=k)
    for h0, h1 in zip(before.hidden, model.hidden):
        np.testing.assert_array_equal(h1.linear.W, h0.linear.W)
        for attribute in ("running_mean", "running_var", "noise_scale", "noise_shift"):
            if hasattr(h0.bn, attribute):
                np.testing.assert_array_equal(getattr(h1.bn, attribute), getattr(h0.bn, attribute))


# --- the landscape -------------------------------------------------------------------------------------------


def quadratic(A):
    """L(θ) = ½ θᵀAθ: gradient Aθ, curvature the eigenvalues of A."""
    return lambda theta: (0.5 * theta @ A @ theta, A @ theta)


def test_landscape_of_an_isotropic_quadratic_has_its_curvature_as_smoothness():
    c = 3.0
    theta = np.array([1.0, -2.0, 0.5])
    etas = np.array([0.01, 0.1, 0.3, 0.5])
    land = beyond.landscape_along_gradient(quadratic(c * np.eye(3)), theta, etas)
    g = c * theta
    assert land.beta_smoothness == pytest.approx(c, rel=1e-12)
    np.testing.assert_allclose(land.grad_changes, etas * c * np.linalg.norm(g), rtol=1e-12)
    assert land.grad_predictiveness == pytest.approx(0.5 * c * np.linalg.norm(g), rel=1e-12)
    expected = 0.5 * c * (1 - etas * c) ** 2 * (theta @ theta)  # L(θ − ηcθ) = ½c(1 − ηc)²‖θ‖²
    np.testing.assert_allclose(land.losses, expected, rtol=1e-12)
    assert land.loss_variation == pytest.approx(expected.max() - expected.min(), rel=1e-12)
    assert land.loss == pytest.approx(0.5 * c * theta @ theta) and land.grad_norm == pytest.approx(np.linalg.norm(g))


def test_landscape_of_a_quadratic_along_an_eigenvector_sees_that_curvature():
    A = np.diag([0.5, 2.0, 7.0])
    land = beyond.landscape_along_gradient(quadratic(A), np.array([0.0, 1.5, 0.0]), [0.1, 0.2])
    assert land.beta_smoothness == pytest.approx(2.0, rel=1e-12)
    # off an eigenvector: ‖Ag‖/‖g‖, between the smallest and the largest curvature
    theta = np.array([1.0, 1.0, 1.0])
    land = beyond.landscape_along_gradient(quadratic(A), theta, [0.05, 0.1])
    g = A @ theta
    assert land.beta_smoothness == pytest.approx(np.linalg.norm(A @ g) / np.linalg.norm(g), rel=1e-12)
    assert 0.5 < land.beta_smoothness < 7.0


def test_landscape_leaves_non_finite_steps_out_of_the_summaries():
    def blows_up(theta):
        loss = float(np.exp(theta @ theta))
        return loss, 2 * theta * loss

    land = beyond.landscape_along_gradient(blows_up, np.array([0.5]), [1e-3, -30.0])
    assert np.isfinite(land.losses[0]) and np.isnan(land.losses[1]) and np.isnan(land.grad_changes[1])
    assert land.loss_variation == 0 and np.isfinite(land.grad_predictiveness)


def test_landscape_of_a_model_steps_along_its_gradient_and_restores_it():
    model = model64()
    X, y = data_batch()
    before = snapshot_params(model)
    etas = [0.1, 1.0]
    land = bc.landscape(model, X, y, etas)
    for k, p in model.parameters().items():
        np.testing.assert_array_equal(p, before[k], err_msg=k)
    ref = copy.deepcopy(model)
    loss0, d = bc.softmax_cross_entropy(ref.forward(X, update_stats=False), y)
    ref.backward(d)
    grads = {k: g.copy() for k, g in ref.gradients().items()}
    assert land.loss == pytest.approx(loss0, rel=1e-12)
    assert land.grad_norm == pytest.approx(np.sqrt(sum((g ** 2).sum() for g in grads.values())), rel=1e-12)
    for eta, loss in zip(etas, land.losses):
        moved = copy.deepcopy(model)
        for k, p in moved.parameters().items():
            p -= eta * grads[k]
        assert loss == pytest.approx(bc.softmax_cross_entropy(moved.forward(X, update_stats=False), y)[0], rel=1e-12)


def test_landscape_of_a_linear_softmax_model_is_within_its_curvature_bound():
    # Mean cross-entropy of softmax(X̃W) has Hessian ⪯ ½·λmax(X̃ᵀX̃/N) ⊗ I (the softmax Hessian's norm is ≤ ½,
    # X̃ = [X, 1]): no step along the gradient can change the gradient faster than that.
    X, y = data_batch(n=64)
    model = bc.MLP([5, 3], seed=1, dtype=np.float64)  # no hidden layer: a linear model
    Xt = np.hstack([X, np.ones((64, 1))])
    bound = 0.5 * np.linalg.eigvalsh(Xt.T @ Xt / 64).max()
    land = bc.landscape(model, X, y, [0.01, 0.1, 1.0, 3.0])
    assert 0 < land.beta_smoothness <= bound
    assert land.beta_smoothness > 0.05 * bound  # and not trivially small


# --- a measured training run ---------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", bc.MEASURES)
def test_measured_run_is_the_same_run_and_measures_every_record(measure):
    config = SMALL
    plain = bc.train(config)
    last = None
    for record, series in bc.train_measured(config, measure):
        assert series.steps == record.steps.tolist()
        last = record, series
    record, series = last
    assert record.status == "finished" and series.name == measure
    for k, p in plain.weights.items():
        np.testing.assert_array_equal(record.weights[k], p, err_msg=k)
    np.testing.assert_array_equal(record.metric("test_loss"), plain.metric("test_loss"))
    if measure == "gradient_ics":
        diff = series.array("diff")
        assert diff.shape == (len(record.snapshots), len(config.hidden) + 1)
        np.testing.assert_array_equal(diff[:, 0], 0)  # nothing below the first layer
        assert np.all(diff[:, 1:] > 0)
    else:
        assert series.array("beta_smoothness").shape == (len(record.snapshots),)
        np.testing.assert_allclose(series.values[0].step_sizes, config.lr * np.array(beyond.LANDSCAPE_STEP_FACTORS))
        assert np.all(series.array("loss_variation") >= 0)


def test_measured_run_stops_measuring_at_divergence_and_can_be_closed():
    config = bc.TrainConfig(lr=1e4, batchnorm=False, init_sigma=3.0, steps=300, record_every=1)
    record, series = collections.deque(bc.train_measured(config, "gradient_ics"), maxlen=1)[0]
    assert record.status == "diverged" and series.steps == record.steps.tolist()
    assert all(np.isfinite(v.diff).all() for v in series.values)
    gen = bc.train_measured(SMALL, "landscape")
    record, _ = next(gen)
    gen.close()
    assert record.status == "stopped"


def test_unknown_measure_is_refused_before_training():
    with pytest.raises(ValueError, match="unknown measure"):
        next(bc.train_measured(SMALL, "hessian"))


def test_series_thins_with_the_record():
    series = bc.MeasuredSeries("gradient_ics", steps=[0, 10, 20, 30], values=["a", "b", "c", "d"])
    series.keep(np.array([0, 20, 30]))
    assert series.steps == [0, 20, 30] and series.values == ["a", "c", "d"]


# --- sweeps --------------------------------------------------------------------------------------------------


def test_lr_sweep_changes_only_the_learning_rate():
    configs = bc.lr_sweep_configs(SMALL, [0.01, 1, 30])
    assert [c.lr for c in configs] == [0.01, 1.0, 30.0]
    assert all(c.replace(lr=SMALL.lr) == SMALL for c in configs)


def test_batch_sweep_scales_the_learning_rate_and_keeps_the_epochs():
    base = SMALL.replace(batch_size=32, lr=0.4, steps=100, record_every=20)
    configs = bc.batch_sweep_configs(base, [2, 32, 128])
    assert [c.batch_size for c in configs] == [2, 32, 128]
    assert [c.lr for c in configs] == pytest.approx([0.025, 0.4, 1.6])
    assert [c.steps for c in configs] == [1600, 100, 25]  # steps × batch = 3200 examples each
    assert [c.record_every for c in configs] == [320, 20, 5]
    assert configs[1] == base


def test_largest_stable_lr_skips_diverged_and_unlearned_runs():
    base = bc.TrainConfig(dataset="xor", hidden=(8,), batchnorm=False, steps=60, record_every=20, batch_size=16,
                          init="normal", init_sigma=2.0)
    records = [bc.train(c) for c in bc.lr_sweep_configs(base, [0.1, 1.0, 1e4])]
    assert [r.status for r in records] == ["finished", "finished", "diverged"]
    assert [bc.is_stable(r) for r in records] == [True, True, False]
    assert bc.largest_stable_lr(records) == 1.0
    assert bc.largest_stable_lr(records[2:]) is None
    stuck = bc.train(base.replace(lr=1e-9))  # finished, but its loss did not go down: not a stable learner
    assert stuck.status == "finished" and not bc.is_stable(stuck)


# --- batch statistics ----------------------------------------------------------------------------------------


def test_batch_stat_spread_of_gaussian_values_has_the_textbook_size():
    rng = np.random.default_rng(30)
    Z = rng.normal(2.0, 3.0, (100_000, 40))
    Z[:, 0] = 1.0  # a constant unit: no spread to speak of, left out
    spread = bc.batch_stat_spread(Z, [4, 16, 64], n_batches=400, seed=1)
    m = spread["batch_size"].to_numpy()
    np.testing.assert_allclose(spread["mean_spread"], 1 / np.sqrt(m), rtol=0.04)  # SE of the mean: σ/√m
    np.testing.assert_allclose(spread["var_spread"], np.sqrt(2 * m - 1) / m, rtol=0.06)  # biased σ²_B, Gaussian


def test_batch_stat_spread_of_the_whole_population_is_zero_and_of_too_large_a_batch_nan():
    Z = np.random.default_rng(31).normal(size=(50, 3))
    spread = bc.batch_stat_spread(Z, [50, 51], n_batches=3)
    assert spread.loc[0, "mean_spread"] == pytest.approx(0, abs=1e-12)
    assert spread.loc[0, "var_spread"] == pytest.approx(0, abs=1e-12)
    assert np.isnan(spread.loc[1, "mean_spread"])


def test_norm_inputs_are_what_each_norm_layer_sees_in_eval_mode():
    model = model64()
    X, _ = data_batch()
    model.forward(X)  # running statistics to use
    inputs = bc.norm_inputs(model, X)
    assert model.training  # mode restored
    model.eval()
    W1 = model.parameters()["fc1.W"]
    np.testing.assert_allclose(inputs[0], X @ W1, rtol=1e-12)
    assert [z.shape for z in inputs] == [(32, 7), (32, 6)]
    plain = model64(batchnorm=False)
    np.testing.assert_allclose(bc.norm_inputs(plain, X)[0], X @ plain.parameters()["fc1.W"] +
                               plain.parameters()["fc1.b"], rtol=1e-12)


# --- the published numbers -----------------------------------------------------------------------------------


def test_published_tables_support_the_sentences_the_lesson_builds_on_them():
    rows = {r.model: r for r in bc.IOFFE_SZEGEDY_2015}
    assert rows["Inception"].steps_to_72_2 / rows["BN-x5"].steps_to_72_2 > 14  # "14 times fewer steps"
    assert max(r.max_accuracy for r in rows.values()) == rows["BN-x30"].max_accuracy
    wu_he = bc.WU_HE_2018
    assert [r.batch_per_gpu for r in wu_he] == [32, 16, 8, 4, 2]
    bn, gn = np.array([r.bn_error for r in wu_he]), np.array([r.gn_error for r in wu_he])
    assert np.all(np.diff(bn) >= 0) and bn[-1] - bn[0] > 10  # BN degrades as the batch shrinks
    assert gn.max() - gn.min() < 0.5  # GN does not
