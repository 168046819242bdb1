"""Property tests over random small configs: whatever the knobs, a run emits no NumPy warning, records only
finite numbers (a run that blows up says so instead), and is a function of its config."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bn_core as bc
from bn_core import stats

TWO_D = tuple(d for d in bc.DATASETS if d != "digits")


@st.composite
def configs(draw):
    depth = draw(st.integers(1, 3))
    return bc.TrainConfig(
        dataset=draw(st.sampled_from(TWO_D)),
        noise=draw(st.sampled_from([0.0, 0.1, 0.5])),
        n_samples=draw(st.integers(90, 300)),
        preprocessing=draw(st.sampled_from(bc.PREPROCESSING)),
        hidden=tuple(draw(st.lists(st.integers(2, 16), min_size=depth, max_size=depth))),
        activation=draw(st.sampled_from(bc.ACTIVATIONS)),
        batchnorm=draw(st.booleans()),
        bn_position=draw(st.sampled_from(bc.BN_POSITIONS)),
        init=draw(st.sampled_from(bc.INITS)),
        init_sigma=10 ** draw(st.floats(-2, 1)),
        lr=10 ** draw(st.floats(-3, 3)),  # log-uniform 1e-3 .. 1e3
        sgd_momentum=draw(st.sampled_from([0.0, 0.9])),
        batch_size=draw(st.integers(2, 64)),
        steps=draw(st.integers(1, 60)),
        record_every=draw(st.integers(1, 8)),
        seed=draw(st.integers(0, 2**16)),
    )


def numbers(record):
    """Every number of every record, with the one legitimately missing value (the first drift) left out."""
    for s in record.snapshots:
        yield from (s.step, s.train_loss, s.train_acc, s.test_loss, s.test_acc)
        yield from s.unit_percentiles.ravel()
        for ls in s.layers:
            yield from (ls.saturated, ls.dead, ls.grad_norm)
            if ls.drift is not None:
                yield ls.drift
            for d in (ls.pre_activation, ls.bn_input):
                if d is not None:
                    yield from (*d.percentiles, d.mean, d.std, *d.hist)
            if ls.gamma is not None:
                yield from (*ls.gamma, *ls.beta)


def run_strictly(config):
    """Train and build every table, with every NumPy warning turned into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        record = bc.train(config)
        frames = record.metrics_frame(), record.layers_frame(), record.to_csv()
    return record, frames


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_any_config_runs_cleanly_and_deterministically(config):
    record, (metrics, layers, csv) = run_strictly(config)

    assert record.status in ("finished", "diverged")
    assert (record.status == "diverged") == (record.divergence is not None)
    assert all(math.isfinite(v) for v in numbers(record)), "a non-finite number was recorded"
    assert len(record.snapshots) >= 1 and record.snapshots[0].step == 0
    if record.status == "finished":
        assert record.steps_done == config.steps and record.snapshots[-1].step == config.steps
    else:
        assert 0 <= record.divergence.step <= config.steps
        assert record.snapshots[-1].step < record.divergence.step or record.divergence.step == 0
    assert np.all(np.diff(record.steps) > 0)
    assert len(metrics) == len(record.snapshots) and len(layers) == len(record.snapshots) * len(config.hidden)

    again, (_, _, csv_again) = run_strictly(config)
    assert csv_again == csv
    assert (again.status, again.divergence, again.steps_done) == (record.status, record.divergence, record.steps_done)
    for (k, a), b in zip(record.weights.items(), again.weights.values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)


# --- the recorder's distribution summaries -------------------------------------------------------------------

EDGES = bc.HIST_EDGES
special_values = st.sampled_from([0.0, -0.0, 10.0, -10.0, 9.75, -9.75, 0.25, -0.25, 1e-30, -1e-30, 3e38, -3e38, 10.5])


def reference_summary(v):
    """The summary straight from the definitions: np.percentile, and bins (edge k, edge k+1] with the end bins
    taking everything beyond, counted value by value."""
    v64 = v.astype(np.float64)
    bins = np.searchsorted(EDGES[1:-1], v64, side="left")  # inner edges strictly below v
    return np.percentile(v64, bc.PERCENTILES), np.bincount(bins, minlength=len(EDGES) - 1), v64.mean(), v64.std()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(1, 400), st.sampled_from([np.float32, np.float64]), st.floats(1e-3, 40),
                          st.lists(special_values, max_size=20)), min_size=1, max_size=6),
       st.integers(0, 2**16))
def test_distribution_summaries_follow_their_definitions(parts, seed):
    rng = np.random.default_rng(seed)
    dtype = parts[0][1]  # one model, one dtype
    arrays = []
    for n, _, scale, extra in parts:
        values = np.concatenate([rng.normal(rng.normal(0, 3), scale, n), extra])
        if rng.random() < 0.3:  # values exactly on histogram edges, and ties
            values = np.round(values * 4) / 4
        values = values.astype(dtype)  # (finite: the recorder checks that before summarizing)
        arrays.append(rng.permutation(values).reshape(-1, 1) if rng.random() < 0.5 else rng.permutation(values))
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        summaries = stats.DistSummary.of_many(arrays)
    for array, summary in zip(arrays, summaries, strict=True):
        percentiles, hist, mean, std = reference_summary(np.ravel(array))
        np.testing.assert_allclose(summary.percentiles, percentiles, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(summary.hist, hist)
        # sums in another order: equal up to rounding, relative to the largest value (±3e38 cancel out)
        scale = float(np.abs(array).max())
        assert summary.mean == pytest.approx(mean, rel=1e-9, abs=1e-12 * scale)
        assert summary.std == pytest.approx(std, rel=1e-9, abs=1e-12 * scale)
