"""The trainer and its recorder: determinism, fair BN/no-BN comparisons, divergence, bad configs, bounded memory,
the tables a page shows, and the recorded science (saturation, drift)."""
import io
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import bn_core as bc
from bn_core import PROBE_SIZE
from bn_core import record as rec
from bn_core.model import MLP

SMALL = bc.TrainConfig(dataset="spiral", hidden=(8, 8), steps=120, record_every=20, batch_size=32, lr=0.3)


def everything_recorded(record):
    """Every number a record holds, as a flat list of arrays (for bit-for-bit comparisons)."""
    out = []
    for s in record.snapshots:
        out += [np.array([s.step, s.train_loss, s.train_acc, s.test_loss, s.test_acc]), s.unit_percentiles]
        for ls in s.layers:
            out += [np.array([ls.saturated, ls.dead, ls.grad_norm, np.nan if ls.drift is None else ls.drift])]
            for d in (ls.pre_activation, ls.bn_input):
                if d is not None:
                    out += [d.percentiles, np.array([d.mean, d.std]), d.hist]
            if ls.gamma is not None:
                out += [ls.gamma, ls.beta]
    return out


def assert_bit_identical(a, b):
    assert (a.status, a.steps_done, a.record_every, len(a.snapshots)) == (b.status, b.steps_done, b.record_every,
                                                                          len(b.snapshots))
    for x, y in zip(everything_recorded(a), everything_recorded(b), strict=True):
        np.testing.assert_array_equal(x, y)
    pa, pb = a.weights, b.weights
    assert list(pa) == list(pb)
    for k in pa:
        assert pa[k].dtype == pb[k].dtype
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)


# --- determinism and fair comparisons ------------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    SMALL,
    SMALL.replace(batchnorm=False, sgd_momentum=0.9),
    SMALL.replace(activation="relu", bn_position="after", init="he"),
    bc.TrainConfig(steps=60, record_every=25, hidden=(32, 32)),  # digits
])
def test_same_config_same_numbers(config):
    a, b = bc.train(config), bc.train(config)
    assert a.status == "finished"
    assert_bit_identical(a, b)


def test_another_seed_gives_other_numbers():
    a, b = bc.train(SMALL), bc.train(SMALL.replace(seed=1))
    assert a.metric("train_loss")[-1] != b.metric("train_loss")[-1]


def test_bn_and_no_bn_start_from_the_same_weights():
    bn, plain = (bc.build_model(SMALL.replace(batchnorm=flag), 2, 2) for flag in (True, False))
    np.testing.assert_array_equal(bn.parameters()["fc1.W"], plain.parameters()["fc1.W"])
    for k in ("fc2.W", "out.W"):  # and so do the later layers
        np.testing.assert_array_equal(bn.parameters()[k], plain.parameters()[k])
    other = bc.build_model(SMALL.replace(seed=3), 2, 2)
    assert not np.array_equal(other.parameters()["fc1.W"], bn.parameters()["fc1.W"])


def test_bn_and_no_bn_see_the_same_mini_batches(monkeypatch):
    seen = {}
    original = MLP.forward

    def spy(self, X, update_stats=True):
        if self.training and update_stats:  # a training step (the probe passes update_stats=False; test is eval)
            seen.setdefault(self.batchnorm, []).append(X.copy())
        return original(self, X, update_stats)

    monkeypatch.setattr(MLP, "forward", spy)
    config = SMALL.replace(steps=40)  # 40 batches of 32 from 450 examples: more than one epoch, a reshuffle
    for flag in (True, False):
        bc.train(config.replace(batchnorm=flag))
    assert len(seen[True]) == len(seen[False]) == 40
    for a, b in zip(seen[True], seen[False]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen[True][0], seen[True][1])


# --- divergence and bad configs ------------------------------------------------------------------------------


def all_recorded_numbers_finite(record):
    return all(np.all(np.isfinite(a[~np.isnan(a)] if a.dtype.kind == "f" else a)) for a in everything_recorded(record)
               ) and all(s.layers[i].drift is None or np.isfinite(s.layers[i].drift)
                         for s in record.snapshots for i in range(len(s.layers)))


@pytest.mark.parametrize("config", [
    bc.TrainConfig(lr=1e4, batchnorm=False, init_sigma=3.0, steps=300, record_every=1),
    bc.TrainConfig(dataset="xor", lr=1e4, batchnorm=False, init="normal", init_sigma=5.0, steps=300, record_every=1,
                   activation="relu"),
])
def test_divergence_is_reported_not_recorded(config):
    r = bc.train(config)
    assert r.status == "diverged"
    assert r.divergence.step > 0 and r.divergence.reason in ("nan_loss", "exploding_loss", "non_finite_activations")
    assert r.steps_done < r.divergence.step <= config.steps
    assert len(r.snapshots) >= 1 and r.snapshots[-1].step < r.divergence.step
    assert all_recorded_numbers_finite(r)
    for v in r.metrics_frame().drop(columns="step").to_numpy().ravel():
        assert np.isfinite(v)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("magnitude", [1e30, 1e36])
def test_huge_raw_inputs_are_recorded_finite_or_reported(batchnorm, magnitude):
    # An uploaded CSV with "raw" preprocessing can feed float32 values near its limit (3.4e38): the
    # pre-activations stay finite, but a float32 mean or norm over them overflows. The record must hold only
    # finite numbers, or the run must say it diverged.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * magnitude
    data = bc.dataset_from_arrays(X, (X[:, 0] > 0).astype(int), preprocessing="raw")
    config = bc.TrainConfig(dataset="csv", preprocessing="raw", batchnorm=batchnorm, hidden=(16, 16), steps=60,
                            record_every=20)
    r = bc.train(config, data=data)
    assert r.status in ("finished", "diverged")
    assert all_recorded_numbers_finite(r)
    assert len(r.snapshots) >= 1
    if r.status == "finished":
        first = r.snapshots[0].layers[0]
        assert abs(first.pre_activation.std if not batchnorm else first.bn_input.std) > magnitude * 1e-3


def test_batch_of_one_with_bn_is_a_config_error():
    with pytest.raises(bc.ConfigError) as info:
        bc.check_config(SMALL.replace(batch_size=1))
    assert info.value.code == "batch_of_one" and info.value.params["batch_size"] == 1
    with pytest.raises(bc.ConfigError):
        bc.train(SMALL.replace(batch_size=1))


def test_batch_of_one_without_bn_trains():
    r = bc.train(SMALL.replace(batch_size=1, batchnorm=False, steps=50, record_every=10, lr=0.1))
    assert r.status == "finished" and r.steps_done == 50
    assert all_recorded_numbers_finite(r)


@pytest.mark.parametrize(("changes", "code"), [
    (dict(activation="swish"), "unknown_choice"),
    (dict(lr=0.0), "not_positive"),
    (dict(lr=float("nan")), "not_positive"),
    (dict(steps=0), "not_positive"),
    (dict(hidden=()), "bad_hidden"),
    (dict(sgd_momentum=1.0), "bad_momentum"),
    (dict(batch_size=10_000), "batch_too_large"),
])
def test_config_errors_have_codes(changes, code):
    with pytest.raises(bc.ConfigError) as info:
        bc.train(SMALL.replace(**changes))
    assert info.value.code == code


# --- bounded memory ------------------------------------------------------------------------------------------


def test_record_memory_is_bounded():
    config = bc.TrainConfig(dataset="xor", hidden=(4,), steps=4000, record_every=1, batch_size=16)
    lengths = []
    for r in bc.train_steps(config):
        lengths.append(len(r.snapshots))
    assert max(lengths) <= rec.MAX_SNAPSHOTS
    assert r.status == "finished"
    steps = r.steps
    assert steps[0] == 0 and steps[-1] == config.steps
    assert np.all(np.diff(steps) > 0)
    assert r.record_every > config.record_every  # the interval grew as old records were thinned out
    assert len(r.snapshots) > rec.MAX_SNAPSHOTS // 4  # and enough records remain to draw a curve


def test_thinning_keeps_an_evenly_spaced_history():
    r = bc.train(bc.TrainConfig(dataset="xor", hidden=(4,), steps=1000, record_every=1, batch_size=16))
    gaps = np.diff(r.steps[:-1])
    assert len(set(gaps)) == 1 and gaps[0] == r.record_every


# --- tables --------------------------------------------------------------------------------------------------


METRICS = ["step", "train_loss", "train_acc", "test_loss", "test_acc"]


@pytest.mark.parametrize("batchnorm", [True, False])
def test_frames_and_csv(batchnorm):
    r = bc.train(SMALL.replace(batchnorm=batchnorm))
    n_records, n_layers = len(r.snapshots), len(SMALL.hidden)
    assert n_records == SMALL.steps // SMALL.record_every + 1
    metrics = r.metrics_frame()
    assert list(metrics.columns) == METRICS and len(metrics) == n_records
    assert metrics["step"].tolist() == list(range(0, SMALL.steps + 1, SMALL.record_every))
    assert metrics[["train_acc", "test_acc"]].stack().between(0, 1).all()

    layers = r.layers_frame()
    assert len(layers) == n_records * n_layers
    assert sorted(layers["layer"].unique()) == [1, 2]
    expected = {"step", "layer", "pre_mean", "pre_std", "saturated", "dead", "grad_norm", "grad_z", "drift",
                *(f"pre_p{p}" for p in bc.PERCENTILES)}
    bn_columns = {"gamma_mean", "gamma_std", "beta_mean", "beta_std"}
    assert set(layers.columns) == (expected | bn_columns if batchnorm else expected)

    table = pd.read_csv(io.StringIO(r.to_csv()))
    assert len(table) == n_records * n_layers
    assert set(table.columns) == set(METRICS) | set(layers.columns)
    np.testing.assert_allclose(table["test_loss"].to_numpy()[::n_layers], metrics["test_loss"], rtol=1e-9)
    assert bc.RunRecord(config=SMALL).to_csv() == ""


def test_drift_is_none_first_then_finite():
    r = bc.train(SMALL)
    assert all(ls.drift is None for ls in r.snapshots[0].layers)
    for s in r.snapshots[1:]:
        assert all(ls.drift is not None and np.isfinite(ls.drift) and ls.drift >= 0 for ls in s.layers)
    series = r.layer_series(0, "drift")
    assert np.isnan(series[0]) and np.all(np.isfinite(series[1:]))
    assert series[1:].max() > 0  # training moves the distributions


def test_recorded_distributions_match_numpy():
    r = bc.train(SMALL)
    model = r.build_model()
    X = bc.load_data(SMALL).X_train[:PROBE_SIZE]
    model.forward(X, update_stats=False)
    pre = model.hidden[-1].pre_activation
    last = r.snapshots[-1].layers[-1].pre_activation
    np.testing.assert_allclose(last.percentiles, np.percentile(pre, bc.PERCENTILES), rtol=1e-6, atol=1e-6)
    assert last.mean == pytest.approx(float(pre.mean()), rel=1e-5, abs=1e-6)
    bins = np.searchsorted(bc.HIST_EDGES[1:-1], pre.ravel(), side="left")  # bins (edge, next edge], ends open
    np.testing.assert_array_equal(last.hist, np.bincount(bins, minlength=len(bc.HIST_EDGES) - 1))
    np.testing.assert_allclose(r.snapshots[-1].unit_percentiles, np.percentile(pre, bc.PERCENTILES, axis=0).T,
                               rtol=1e-6, atol=1e-6)


# --- the science the lessons show ----------------------------------------------------------------------------


def test_large_init_saturates_sigmoid_without_bn_but_not_with_bn():
    big = bc.TrainConfig(init="normal", init_sigma=1.0, steps=50, record_every=25, hidden=(50, 50))
    no_bn = bc.train(big.replace(batchnorm=False))
    with_bn = bc.train(big.replace(batchnorm=True))
    small_init = bc.train(big.replace(batchnorm=False, init_sigma=0.05))
    for layer in range(2):
        s_no_bn = no_bn.layer_series(layer, "saturated")
        s_bn = with_bn.layer_series(layer, "saturated")
        assert s_no_bn[0] > 0.3 and s_bn[0] < 0.05, (layer, s_no_bn, s_bn)
        assert np.all(s_no_bn > s_bn)
        assert small_init.layer_series(layer, "saturated")[0] < s_no_bn[0]


def test_low_gradient_mask_thresholds():
    # The saturation cut-offs are where the derivative falls to 10% of its maximum.
    for name in ("sigmoid", "tanh"):
        x0 = bc.SIGMOID_SATURATION_X if name == "sigmoid" else bc.TANH_SATURATION_X
        d = bc.activation_derivative(name, np.array([0.0, x0]))
        assert d[1] / d[0] == pytest.approx(bc.SATURATION_SHARE, rel=1e-9)
        mask = bc.low_gradient_mask(name, np.array([-x0 * 1.01, -x0 * 0.99, x0 * 0.99, x0 * 1.01]))
        assert mask.tolist() == [True, False, False, True]
    assert bc.low_gradient_mask("relu", np.array([-1.0, 0.0, 1.0])).tolist() == [True, True, False]


# --- the generator -------------------------------------------------------------------------------------------


def test_closing_the_generator_marks_the_run_stopped():
    gen = bc.train_steps(SMALL)
    first = next(gen)
    assert first.status == "running" and first.steps.tolist() == [0]
    second = next(gen)
    gen.close()
    assert second is first and first.status == "stopped"
    assert first.steps_done < SMALL.steps


def test_generator_yields_progress_and_ends_finished():
    statuses = [(r.status, r.steps_done) for r in bc.train_steps(SMALL)]
    assert [s for _, s in statuses] == list(range(0, SMALL.steps + 1, SMALL.record_every))
    assert {s for s, _ in statuses[:-1]} == {"running"} and statuses[-1][0] == "finished"


def test_numpy_error_state_does_not_leak_between_yields():
    # The trainer silences overflow warnings while it computes; the caller's own settings must hold in between.
    with np.errstate(all="raise"):
        gen = bc.train_steps(bc.TrainConfig(lr=1e4, batchnorm=False, init_sigma=3.0, steps=50, record_every=1))
        next(gen)
        assert np.geterr()["over"] == "raise"
        with pytest.raises(FloatingPointError):
            np.float64(1e308) * 10
        r = next(gen)
        assert np.geterr()["over"] == "raise"
        for _ in gen:
            assert np.geterr()["over"] == "raise"
    assert r.status == "diverged"


def test_generator_can_be_closed_from_another_thread():
    # A web server may drop an unfinished run from another thread: closing it must neither raise nor change
    # the error state of that thread or this one.
    before = np.geterr()
    gen = bc.train_steps(SMALL)
    next(gen)
    errors = []

    def close():
        try:
            gen.close()
        except Exception as exc:  # noqa: BLE001 - any exception is the failure being tested
            errors.append(exc)

    worker = threading.Thread(target=close)
    worker.start()
    worker.join()
    assert errors == [] and np.geterr() == before


# --- dtypes --------------------------------------------------------------------------------------------------


def test_float64_end_to_end():
    config = SMALL.replace(sgd_momentum=0.5)
    r64 = bc.train(config, dtype=np.float64)
    r32 = bc.train(config)
    assert r64.status == "finished"
    for k, v in r64.weights.items():
        assert v.dtype == np.float64, k
    for v in r32.weights.values():
        assert v.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = r64.layers_frame()
    assert np.isfinite(frame.drop(columns="drift").to_numpy(dtype=float)).all()
    # same run, two precisions: the curves agree to float32 accuracy over a short run
    np.testing.assert_allclose(r64.metric("train_loss"), r32.metric("train_loss"), rtol=1e-3, atol=1e-4)


def test_on_step_sees_every_update_with_that_batchs_statistics():
    config = bc.TrainConfig(dataset="xor", hidden=(8,), steps=25, record_every=10, batch_size=16)
    seen = []

    def on_step(step, model):
        bn = model.batchnorms()[0]
        x = bn.x  # this step's BN input: its batch statistics are the ones BN normalized with
        seen.append((step, np.allclose(bn.batch_mean, x.mean(axis=0), atol=1e-5)))

    record = bc.train(config, on_step=on_step)
    assert [s for s, _ in seen] == list(range(1, 26)) and all(ok for _, ok in seen)
    assert np.array_equal(record.weights["fc1.W"], bc.train(config).weights["fc1.W"])


def test_grad_z_is_the_rms_over_units_of_the_activation_input_gradient():
    """‖∂L/∂Z‖_F / √units on the probe batch, checked against autograd-free finite differences of the loss."""
    config = SMALL.replace(steps=10, record_every=10)
    record = bc.train(config, dtype=np.float64)
    model = record.build_model()
    data = bc.load_data(config, np.float64)
    X, y = data.X_train[:PROBE_SIZE], data.y_train[:PROBE_SIZE]
    model.forward(X, update_stats=False)
    z = model.hidden[0].act.x.copy()

    def loss_from_first_layer_input(z1):  # the network above the first activation input, probe statistics
        a = bc.activation_forward(model.activation, z1)
        for layer in model.layers[model.layers.index(model.hidden[0].act) + 1:]:
            a = layer.forward(a, update_stats=False)
        return bc.softmax_cross_entropy(a, y)[0]

    grad = np.zeros_like(z)
    h = 1e-6
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        grad[idx] = (loss_from_first_layer_input(zp) - loss_from_first_layer_input(zm)) / (2 * h)
    expected = np.linalg.norm(grad) / np.sqrt(z.shape[1])
    assert record.snapshots[-1].layers[0].grad_z == pytest.approx(expected, rel=1e-5)
