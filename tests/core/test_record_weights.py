"""Weights at every record, for small networks only (bn_core/train.py keep_weights_every_record): the model at a
record is the model training had at that step, and the memory they take stays within RECORD_WEIGHTS_BUDGET."""
import numpy as np

import bn_core as bc
from bn_core.record import MAX_SNAPSHOTS
from bn_core.train import RECORD_WEIGHTS_BUDGET, keep_weights_every_record, max_records

SMALL = bc.TrainConfig(dataset="xor", hidden=(8, 8), steps=60, record_every=10, batch_size=16)


def numbers(state):
    return sum(v.size for v in state.values())


def test_a_small_network_keeps_the_model_of_every_record_as_training_had_it():
    long = bc.train(SMALL)
    assert long.has_weights_per_record and len(long.snapshots) == 7
    for i, step in enumerate(long.steps):
        short = bc.train(SMALL.replace(steps=int(step))) if step > 0 else None
        kept = long.snapshots[i].weights
        assert all(not v.flags.writeable for v in kept.values())  # frozen, like the last record's
        if short is not None:  # the same seed and batches: a run stopped at this step ends with these weights
            assert set(kept) == set(short.weights)
            for name in kept:
                np.testing.assert_array_equal(kept[name], short.weights[name])
    assert long.snapshots[-1].weights is long.weights  # the last record shares the run's own copy
    first, last = long.build_model(0), long.build_model(len(long.snapshots) - 1)
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    assert not np.array_equal(first.eval().forward(X), last.eval().forward(X))  # training moved the model


def test_a_large_network_keeps_only_the_last_weights():
    config = bc.TrainConfig(dataset="digits", hidden=(100, 100, 100), steps=2000, record_every=50)
    model = bc.build_model(config, 64, 10)
    assert numbers(model.state_dict()) * max_records(config) > RECORD_WEIGHTS_BUDGET
    assert not keep_weights_every_record(model, config)
    wide = SMALL.replace(hidden=(512, 512), steps=4, record_every=1)  # 6 records × 269 k numbers: over it too
    run = bc.train(wide)
    assert run.weights is not None and not run.has_weights_per_record
    assert all(s.weights is None for s in run.snapshots) and run.build_model(0) is None


def test_the_decision_follows_the_budget_at_its_edge():
    config = SMALL.replace(hidden=(512,))
    n = numbers(bc.build_model(config, 2, 2).state_dict())
    fits = RECORD_WEIGHTS_BUDGET // n  # this many records fit, one more does not
    assert fits < MAX_SNAPSHOTS  # so the step count decides, not the thinning cap
    keep = config.replace(steps=(fits - 2) * 10, record_every=10)  # steps/every + 2 = fits records
    over = config.replace(steps=(fits - 1) * 10, record_every=10)
    assert max_records(keep) == fits and max_records(over) == fits + 1
    model = bc.build_model(config, 2, 2)
    assert keep_weights_every_record(model, keep) and not keep_weights_every_record(model, over)


def test_weights_kept_over_a_thinned_run_stay_within_the_budget():
    """A run long enough to be thinned several times: the records' weights are thinned with them, and at every
    point of training the distinct arrays held add up to at most the budget."""
    config = bc.TrainConfig(dataset="xor", hidden=(4,), steps=1500, record_every=1, batch_size=16)
    model = bc.build_model(config, 2, 2)
    per_record = numbers(model.state_dict())
    assert max_records(config) == MAX_SNAPSHOTS + 1  # capped by the thinning, not by the steps
    assert keep_weights_every_record(model, config)
    most = 0
    for r in bc.train_steps(config):
        held = {id(s.weights): s.weights for s in r.snapshots if s.weights is not None}
        held[id(r.weights)] = r.weights
        most = max(most, sum(numbers(w) for w in held.values()))
    assert r.status == "finished" and r.has_weights_per_record and r.record_every > 1  # thinned
    assert most <= per_record * (MAX_SNAPSHOTS + 1) <= RECORD_WEIGHTS_BUDGET
    assert len(r.snapshots) <= MAX_SNAPSHOTS
