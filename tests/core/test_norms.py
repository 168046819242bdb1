"""The normalization variants an MLP can use in BN's place (bn_core/norms.py): gradients in float64, what each one
does to its output, what each one trains, and how TrainConfig.norm reaches them."""
import numpy as np
import pytest
from test_gradients import TOL, numeric_grad, rel_error  # the project's one finite-difference helper

import bn_core as bc
from bn_core import norms

VARIANT_LAYERS = {"mean_only": norms.MeanOnlyBatchNorm1d, "var_only": norms.VarianceOnlyBatchNorm1d,
                  "noisy": norms.NoisyBatchNorm1d}


def moved(layer, rng):
    layer.gamma[...] = rng.normal(1.0, 0.4, layer.num_features)
    layer.beta[...] = rng.normal(0.0, 0.5, layer.num_features)
    return layer


@pytest.mark.parametrize("norm", list(VARIANT_LAYERS))
@pytest.mark.parametrize("shape", [(3, 4), (9, 5)])
def test_variant_layer_backward_matches_numeric(norm, shape):
    rng = np.random.default_rng(20)
    layer = moved(norms.make_norm(norm, shape[1], dtype=np.float64, seed=1), rng)
    assert type(layer) is VARIANT_LAYERS[norm]
    x = rng.normal(1.0, 2.0, shape)
    w = rng.normal(size=shape)
    loss = lambda: float(np.sum(w * layer.forward(x, update_stats=False)))  # a probe: the noisy layer's noise fixed
    layer.forward(x, update_stats=False)
    dx = layer.backward(w).copy()
    dgamma, dbeta = layer.dgamma.copy(), layer.dbeta.copy()
    assert np.abs(dx).max() > 1e-3
    assert rel_error(dx, numeric_grad(loss, x)) < TOL
    assert rel_error(dgamma, numeric_grad(loss, layer.gamma)) < TOL
    assert rel_error(dbeta, numeric_grad(loss, layer.beta)) < TOL


MODEL_CASES = [(norm, position) for norm in bc.NORMS for position in bc.BN_POSITIONS]


@pytest.mark.parametrize(("norm", "position"), MODEL_CASES)
def test_mlp_gradients_match_numeric_for_every_norm(norm, position):
    rng = np.random.default_rng(21)
    model = bc.MLP([3, 5, 4, 3], activation="tanh", norm=norm, bn_position=position, seed=7, dtype=np.float64)
    for p in model.parameters().values():  # move γ, β and the biases off their trivial initial values
        p += rng.normal(0.0, 0.3, p.shape)
    X = rng.normal(size=(8, 3))
    y = rng.integers(0, 3, 8)
    loss = lambda: bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[0]
    model.backward(bc.softmax_cross_entropy(model.forward(X, update_stats=False), y)[1])
    params, grads = model.parameters(), model.gradients()
    assert list(params) == list(grads) and params
    assert {k.rsplit(".", 1)[1] for k in params} <= {"W", "b", "gamma", "beta"}
    analytic = {k: g.copy() for k, g in grads.items()}
    for name, p in params.items():
        assert rel_error(analytic[name], numeric_grad(loss, p)) < TOL, name


# --- what each variant does ----------------------------------------------------------------------------------


def test_mean_only_output_has_zero_batch_mean_and_untouched_variance():
    rng = np.random.default_rng(22)
    x = rng.normal(rng.normal(0, 5, 6), rng.uniform(0.1, 4, 6), (32, 6))
    y = norms.MeanOnlyBatchNorm1d(6, dtype=np.float64).forward(x)  # γ = 1, β = 0
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0), rtol=1e-12)
    assert x.mean(axis=0).std() > 1  # the input means were far from 0 and from each other


def test_variance_only_output_has_unit_batch_variance_and_keeps_the_mean():
    rng = np.random.default_rng(23)
    x = rng.normal(rng.normal(0, 5, 6), rng.uniform(0.1, 4, 6), (32, 6))
    y = norms.VarianceOnlyBatchNorm1d(6, eps=0.0, dtype=np.float64).forward(x)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(y.mean(axis=0), x.mean(axis=0) / x.std(axis=0), rtol=1e-12)  # not centred


@pytest.mark.parametrize("norm", ["mean_only", "var_only"])
def test_running_statistics_and_eval_mode_of_the_half_variants(norm):
    rng = np.random.default_rng(24)
    layer = moved(norms.make_norm(norm, 4, momentum=0.3, dtype=np.float64), rng)
    mean, var = np.zeros(4), np.ones(4)
    for n in (5, 9, 3):
        x = rng.normal(2.0, 3.0, (n, 4))
        layer.forward(x)
        if norm == "mean_only":
            mean = 0.7 * mean + 0.3 * x.mean(axis=0)
        else:
            var = 0.7 * var + 0.3 * x.var(axis=0, ddof=1)  # the unbiased variance, as BatchNorm1d
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-12)
    x = rng.normal(size=(1, 4))  # a batch of one is fine in eval mode
    y = layer.eval().forward(x)
    expected = (layer.gamma * (x - mean) + layer.beta if norm == "mean_only"
                else layer.gamma * x / np.sqrt(var + layer.eps) + layer.beta)
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_noisy_bn_redraws_its_noise_every_training_step_only():
    rng = np.random.default_rng(25)
    layer = norms.NoisyBatchNorm1d(50, dtype=np.float64, seed=3)
    plain = bc.BatchNorm1d(50, dtype=np.float64)
    x = rng.normal(size=(16, 50))
    y1, y1_plain = layer.forward(x), plain.forward(x)
    scale, shift = layer.noise_scale.copy(), layer.noise_shift.copy()
    np.testing.assert_allclose(y1, y1_plain * scale + shift, rtol=1e-12)
    assert np.all((norms.NOISE_SCALE[0] <= scale) & (scale <= norms.NOISE_SCALE[1]))
    assert np.all((norms.NOISE_SHIFT[0] <= shift) & (shift <= norms.NOISE_SHIFT[1]))
    assert scale.std() > 0.03 and shift.std() > 0.1  # per unit, spread over the ranges
    np.testing.assert_array_equal(layer.forward(x, update_stats=False), y1)  # a probe reuses the step's noise
    y2 = layer.forward(x)  # the next training step draws new noise
    assert not np.allclose(y2, y1)
    assert not np.array_equal(layer.noise_scale, scale) and not np.array_equal(layer.noise_shift, shift)


def test_noisy_bn_eval_mode_is_plain_bn():
    rng = np.random.default_rng(26)
    layer, plain = norms.NoisyBatchNorm1d(5, dtype=np.float64, seed=0), bc.BatchNorm1d(5, dtype=np.float64)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, (8, 5))
        layer.forward(x)
        plain.forward(x)
    x = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(layer.eval().forward(x), plain.eval().forward(x))


def test_noise_follows_the_seed_and_leaves_the_weights_alone():
    config = bc.TrainConfig(dataset="xor", hidden=(8, 8), steps=30, record_every=10, batch_size=16, norm="noisy")
    (a, model_a), (b, _) = trained(config), trained(config)
    np.testing.assert_array_equal(a.weights["fc2.W"], b.weights["fc2.W"])
    _, other = trained(config.replace(seed=1))
    assert not np.array_equal(other.hidden[0].bn.noise_shift, model_a.hidden[0].bn.noise_shift)
    start = {norm: bc.build_model(config.replace(norm=norm), 2, 2) for norm in ("noisy", "batch")}
    for k in ("fc1.W", "fc2.W", "out.W"):  # BN and noisy BN start from the same weights
        np.testing.assert_array_equal(start["noisy"].parameters()[k], start["batch"].parameters()[k])


# --- what each variant trains --------------------------------------------------------------------------------


CONFIG = bc.TrainConfig(dataset="xor", hidden=(8, 8), steps=60, record_every=20, batch_size=16, lr=0.5)


def trained(config):
    """``(record, the live model at the end of training)``: the record keeps only frozen weights."""
    seen = {}
    record = bc.train(config, on_step=lambda step, model: seen.update(model=model))
    return record, seen["model"]


def test_frozen_affine_keeps_gamma_one_and_beta_zero():
    r, model = trained(CONFIG.replace(norm="frozen_affine"))
    assert not any(k.endswith((".gamma", ".beta")) for k in model.parameters())
    for bn in model.batchnorms():
        np.testing.assert_array_equal(bn.gamma, 1)
        np.testing.assert_array_equal(bn.beta, 0)
    start = bc.build_model(CONFIG.replace(norm="frozen_affine"), 2, 2)
    assert not np.array_equal(r.weights["fc1.W"], start.parameters()["fc1.W"])  # the rest trains


def test_affine_only_trains_gamma_and_beta_and_nothing_else():
    config = CONFIG.replace(norm="affine_only")
    r, model = trained(config)
    assert list(model.parameters()) == ["bn1.gamma", "bn1.beta", "bn2.gamma", "bn2.beta"]
    start = bc.build_model(config, 2, 2)
    for h0, h1 in zip(start.hidden, model.hidden):
        np.testing.assert_array_equal(h1.linear.W, h0.linear.W)  # frozen at the random start
        assert not np.array_equal(h1.bn.gamma, h0.bn.gamma)  # trained
    np.testing.assert_array_equal(model.out.W, start.out.W)
    np.testing.assert_array_equal(model.out.b, start.out.b)


@pytest.mark.parametrize(("norm", "bias"), [("batch", False), ("mean_only", False), ("noisy", False),
                                            ("layer", True), ("var_only", True)])
def test_linear_bias_only_where_the_norm_does_not_remove_the_batch_mean(norm, bias):
    model = bc.MLP([2, 3, 2], norm=norm)
    assert ("fc1.b" in model.parameters()) == bias


# --- TrainConfig.norm ----------------------------------------------------------------------------------------


def test_default_norm_is_standard_bn():
    assert bc.TrainConfig().norm == "batch"
    a, b = bc.train(CONFIG), bc.train(CONFIG.replace(norm="batch"))
    assert CONFIG == CONFIG.replace(norm="batch")
    np.testing.assert_array_equal(a.weights["fc2.W"], b.weights["fc2.W"])
    assert type(a.build_model().hidden[0].bn) is bc.BatchNorm1d


def test_norm_is_ignored_without_batchnorm():
    a = bc.train(CONFIG.replace(batchnorm=False, norm="layer"))
    b = bc.train(CONFIG.replace(batchnorm=False))
    assert a.build_model().batchnorms() == []
    np.testing.assert_array_equal(a.weights["out.W"], b.weights["out.W"])


def test_unknown_norm_is_a_config_error():
    with pytest.raises(bc.ConfigError) as info:
        bc.check_config(CONFIG.replace(norm="group"))
    assert info.value.code == "unknown_choice" and info.value.params == {"name": "norm", "value": "group"}
    with pytest.raises(ValueError, match="unknown norm"):
        bc.MLP([2, 3, 2], norm="group")


def test_layernorm_trains_with_a_batch_of_one_and_bn_variants_refuse_it():
    r = bc.train(CONFIG.replace(norm="layer", batch_size=1, lr=0.1))
    assert r.status == "finished" and r.steps_done == CONFIG.steps
    assert type(r.build_model().hidden[0].bn) is bc.LayerNorm1d
    for norm in ("batch", "mean_only", "var_only", "noisy"):
        with pytest.raises(bc.ConfigError) as info:
            bc.check_config(CONFIG.replace(norm=norm, batch_size=1))
        assert info.value.code == "batch_of_one"


@pytest.mark.parametrize("norm", bc.NORMS)
def test_every_norm_trains_and_records(norm):
    r = bc.train(CONFIG.replace(norm=norm))
    assert r.status == "finished"
    frame = r.layers_frame()
    assert {"gamma_mean", "beta_mean"} <= set(frame.columns)  # the recorder reads γ/β and the norm's input
    assert r.snapshots[-1].layers[0].bn_input is not None
