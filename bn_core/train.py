"""The trainer: a config in, a stream of live records out. Every run is a function of its config (and data)."""
import dataclasses
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .data import DATASETS, PREPROCESSING, make_dataset
from .init import INITS
from .layers import ACTIVATIONS, softmax_cross_entropy
from .model import BN_POSITIONS, MLP, SGD
from .norms import NORMS
from .probe import Probe
from .record import MAX_SNAPSHOTS, RunRecord

EXPLODING_LOSS = 100.0  # ln(10) ≈ 2.3 at chance on 10 classes; 100 means the logits have blown up
# Numbers (parameters and running statistics) a run may keep over all its records, so a timeline can rebuild the
# model at any record (the decision boundary at a step): 10^6 float32 numbers = 4 MB per run at most.
RECORD_WEIGHTS_BUDGET = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of an experiment. Frozen and hashable: it is the cache key of a finished run."""

    dataset: str = "digits"  # one of data.DATASETS, or "csv" (then pass the data to train_steps)
    noise: float = 0.1  # 2-D sets only
    n_samples: int = 600  # 2-D sets only
    preprocessing: str = "standardize"
    hidden: tuple = (100, 100, 100)
    activation: str = "sigmoid"
    batchnorm: bool = True
    bn_position: str = "before"
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5
    norm: str = "batch"  # with batchnorm=True, what goes where BN goes: one of norms.NORMS ("layer": LayerNorm)
    init: str = "normal"
    init_sigma: float = 0.1
    lr: float = 0.5
    sgd_momentum: float = 0.0
    batch_size: int = 60
    steps: int = 2000
    seed: int = 0
    record_every: int = 50
    test_fraction: float = 0.25
    data_id: str = ""  # for "csv": a digest of the uploaded data, so other data gives another cache key

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


class ConfigError(ValueError):
    """A config that cannot train. ``code`` and ``params`` let the app say it in the user's language."""

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code, self.params = code, params


def check_config(config, n_train=None):
    """Raise ConfigError for a config that cannot train (before any work is done)."""
    c = config
    choices = {"dataset": (DATASETS + ("csv",), c.dataset), "preprocessing": (PREPROCESSING, c.preprocessing),
               "activation": (ACTIVATIONS, c.activation), "bn_position": (BN_POSITIONS, c.bn_position),
               "init": (INITS, c.init), "norm": (NORMS, c.norm)}
    for name, (allowed, value) in choices.items():
        if value not in allowed:
            raise ConfigError("unknown_choice", f"{name}={value!r} is not one of {allowed}", name=name, value=value)
    positive = {"steps": c.steps, "batch_size": c.batch_size, "record_every": c.record_every, "lr": c.lr,
                "init_sigma": c.init_sigma, "bn_eps": c.bn_eps}
    for name, value in positive.items():
        if not (np.isfinite(value) and value > 0):
            raise ConfigError("not_positive", f"{name} must be a positive number, got {value}", name=name, value=value)
    if not c.hidden or min(c.hidden) < 1:
        raise ConfigError("bad_hidden", f"hidden layers need at least one unit each, got {c.hidden}", value=c.hidden)
    if not (0 <= c.sgd_momentum < 1 and 0 <= c.bn_momentum <= 1):
        raise ConfigError("bad_momentum", "momentum must be in [0, 1)", sgd=c.sgd_momentum, bn=c.bn_momentum)
    if c.batchnorm and c.norm != "layer" and c.batch_size < 2:  # LayerNorm uses no batch statistics
        raise ConfigError("batch_of_one", "BN in training mode needs at least 2 examples per batch: the variance "
                                          "of one value is 0", batch_size=c.batch_size)
    if n_train is not None and c.batch_size > n_train:
        raise ConfigError("batch_too_large", f"batch size {c.batch_size} exceeds the {n_train} training examples",
                          batch_size=c.batch_size, n_train=n_train)


def build_model(config, n_features, n_classes, dtype=np.float32):
    return MLP([n_features, *config.hidden, n_classes], activation=config.activation, batchnorm=config.batchnorm,
               seed=config.seed, dtype=dtype, bn_position=config.bn_position, init=config.init,
               init_sigma=config.init_sigma, bn_momentum=config.bn_momentum, bn_eps=config.bn_eps, norm=config.norm)


def max_records(config):
    """The most records a run of ``config`` can hold at once: step 0, every ``record_every`` steps, the last step,
    and never more than the recorder keeps before it thins (thinning only lowers the count)."""
    return min(config.steps // config.record_every + 2, MAX_SNAPSHOTS + 1)


def keep_weights_every_record(model, config):
    """True when the model is small enough that keeping its weights at every record stays within
    RECORD_WEIGHTS_BUDGET numbers for the whole run."""
    running = [a for bn in model.batchnorms() if hasattr(bn, "running_mean") for a in (bn.running_mean, bn.running_var)]
    n_numbers = sum(v.size for v in model.parameters().values()) + sum(a.size for a in running)
    return n_numbers * max_records(config) <= RECORD_WEIGHTS_BUDGET


def load_data(config, dtype=np.float32):
    if config.dataset == "csv":
        raise ConfigError("csv_needs_data", "the csv dataset needs its data passed in")
    return make_dataset(config.dataset, preprocessing=config.preprocessing, n_samples=config.n_samples,
                        noise=config.noise, test_fraction=config.test_fraction, seed=config.seed, dtype=dtype)


def train_steps(config, data=None, dtype=np.float32, on_step=None):
    """Train, yielding the live RunRecord after each record point; the last one yielded has its final status.

    Mini-batches are drawn from an RNG of their own, so runs that differ only in BN see the same batches and,
    by the same seed, start from the same weights. Closing the generator early marks the run "stopped".
    ``on_step(step, model)`` is called after every update, while each BN layer still holds that mini-batch's
    statistics (``bn.batch_mean``, ``bn.batch_var``), for a lesson that needs more than the records.
    """
    check_config(config)
    data = load_data(config, dtype) if data is None else data
    check_config(config, n_train=len(data.X_train))
    model = build_model(config, data.n_features, data.n_classes, dtype)
    opt = SGD(model.parameters(), model.gradients(), lr=config.lr, momentum=config.sgd_momentum)
    record = RunRecord(config=config, record_every=config.record_every, sizes=tuple(model.sizes), dtype=dtype)
    every_record = keep_weights_every_record(model, config)
    X, y = data.X_train, data.y_train
    probe = Probe(X, y, data.X_test, data.y_test)
    batch_rng = np.random.default_rng((config.seed, 1))
    n, m = len(X), config.batch_size
    order, pos = batch_rng.permutation(n), 0

    def snapshot(step, train_loss, train_acc):
        snap = probe.snapshot(model, step, train_loss, train_acc)
        if snap is None:
            record.diverge(step, "non_finite_activations")
            return False
        record.keep_weights(model, snap if every_record else None)
        record.add(snap)
        return True

    def advance(step):
        """Train from ``step`` up to the next record point and record it. Returns that step, or None if diverged."""
        nonlocal order, pos
        loss_sum = correct = seen = 0.0
        while True:
            if pos + m > n:  # drop the last partial batch: a batch of one would break BN
                order, pos = batch_rng.permutation(n), 0
            idx = order[pos:pos + m]
            pos += m
            y_batch = y[idx]
            logits = model.forward(X[idx])
            loss, dlogits = softmax_cross_entropy(logits, y_batch)
            if not loss <= EXPLODING_LOSS:  # also true for NaN
                record.diverge(step, "exploding_loss" if math.isfinite(loss) else "nan_loss", loss)
                return None
            model.backward(dlogits)
            opt.step()
            record.steps_done = step
            if on_step is not None:
                on_step(step, model)
            loss_sum += loss
            correct += np.count_nonzero(logits.argmax(axis=1) == y_batch)
            seen += 1
            if step % record.record_every == 0 or step == config.steps:
                return step if snapshot(step, loss_sum / seen, correct / (seen * m)) else None
            step += 1

    # Divergence is detected and reported, so overflow along the way is expected, not a warning for the user.
    # The error state is set only while this generator computes, never across a yield: it would leak into the
    # caller's code (NumPy keeps it in a context variable), and resetting it from another thread would fail.
    try:
        with np.errstate(all="ignore"):
            step = 0 if snapshot(0, None, None) else None
        while step is not None and step < config.steps:
            yield record
            with np.errstate(all="ignore"):
                step = advance(step + 1)
        record.finish()
        yield record
    finally:
        record.stop()  # closed early (a no-op once finished or diverged)


def train(config, data=None, dtype=np.float32, on_step=None):
    """Run to the end and return the RunRecord."""
    return deque(train_steps(config, data, dtype, on_step), maxlen=1)[0]  # the last yield is the finished record
