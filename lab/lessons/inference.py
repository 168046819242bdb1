"""Page logic of the lesson "BN at inference": a training run that keeps every mini-batch's statistics (so the
running averages of any BN momentum can be replayed exactly), train mode vs eval mode on the same examples, a batch
of one, folding BN away, and the sentences of the "what this run shows" box."""
import functools
from collections import deque
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

import bn_core as bc
from lab import runs
from lab.caches import memoized
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons.common import PAPER_NET

DEFAULT_CONFIG = PAPER_NET.replace(steps=1000, record_every=50)
STEP_CHOICES = (200, 500, 1000, 2000)
WIDTH_CHOICES = (16, 32, 64, 100, 128, 256, 512, 1024, 2048)  # the cost count's hidden width
MOMENTA = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.9)  # BN momentum values the page compares
TRAIN_MOMENTUM = DEFAULT_CONFIG.bn_momentum  # the momentum of the cached model's own running statistics
NEAR_BEST = 1.5  # a momentum whose gap is within this factor of the best one is "about as close"
NEGLIGIBLE_START = 0.01  # the running average's start is said to weigh in only from 1% of the average on


@dataclass
class StatsRun:
    """A finished training run with the per-step batch statistics of every BN layer and, every ``record_every``
    steps, the paper's population statistics of the network as it was then. Shared: never mutate it."""

    config: bc.TrainConfig
    record: bc.RunRecord  # the trained weights; running statistics use TRAIN_MOMENTUM
    data: bc.Dataset
    batch_mean: list  # per BN layer: (steps_done, units) mean of each training mini-batch
    batch_var: list  # per BN layer: (steps_done, units) *unbiased* variance of each mini-batch (what the EMA takes)
    pop_steps: np.ndarray  # steps at which the population statistics were computed
    pop_mean: list  # per BN layer: (len(pop_steps), units)
    pop_var: list
    steps_done: int = 0
    divergence: object = None  # bn_core.record.Divergence when the loss blew up
    final_population: list = field(default_factory=list)  # [(mean, var)] per BN layer at the end

    @property
    def n_layers(self):
        return len(self.batch_mean)

    def build_model(self):
        """A fresh copy of the trained model (train mode) to use and change."""
        return self.record.build_model()

    @property
    def cache_key(self):
        """What this run is (lab/caches.py): the finished training of its config."""
        return (self.config, self.steps_done)


def stats_steps(config, dtype=np.float32):
    """``bn_core.train_steps`` (the same model), keeping what BN saw: each step's batch mean and unbiased batch
    variance per BN layer, and the population statistics (Algorithm 2) every ``record_every`` steps. Yields the live
    record after each record point (for progress), then the StatsRun."""
    if not config.batchnorm:
        raise ValueError("this lesson studies a network with BN")
    data = bc.load_data(config, dtype)
    m = config.batch_size
    means, variances, pop_steps, pop = [], [], [], []

    def keep(step, model):
        bns = model.batchnorms()
        means.append([bn.batch_mean.copy() for bn in bns])
        variances.append([bn.batch_var * (m / (m - 1)) for bn in bns])  # unbiased: what the running average takes
        if step % config.record_every == 0 or step == config.steps:
            pop_steps.append(step)
            pop.append(bc.population_statistics(model, data.X_train, m))

    record = None
    for record in bc.train_steps(config, data, dtype, on_step=keep):
        yield record.view()
    units = list(config.hidden)
    per_layer = lambda rows, k, u: np.array([r[k] for r in rows], dtype).reshape(len(rows), u)
    yield StatsRun(
        config, record, data,
        batch_mean=[per_layer(means, k, u) for k, u in enumerate(units)],
        batch_var=[per_layer(variances, k, u) for k, u in enumerate(units)],
        pop_steps=np.array(pop_steps, dtype=int),
        pop_mean=[np.array([p[k][0] for p in pop]).reshape(len(pop), u) for k, u in enumerate(units)],
        pop_var=[np.array([p[k][1] for p in pop]).reshape(len(pop), u) for k, u in enumerate(units)],
        steps_done=record.steps_done,
        divergence=record.divergence,
        final_population=pop[-1] if pop and pop_steps[-1] == record.steps_done else [],
    )


def train_with_batch_stats(config, dtype=np.float32):
    """The StatsRun of ``config``, trained now (stats_steps to the end)."""
    return deque(stats_steps(config, dtype), maxlen=1)[0]


def training_key(config):
    """BN momentum only changes the running averages, never training itself: one run serves every momentum."""
    return config.replace(bn_momentum=TRAIN_MOMENTUM)


def is_stats_run(value):
    return isinstance(value, StatsRun)


def stats_task(config):
    """The lab.runs Task of this lesson's run of ``config`` (shared by every momentum, cached like any run)."""
    key = training_key(config)
    return runs.Task(("inference", key), partial(stats_steps, key), key.steps, done_of=is_stats_run)


# --- Running (EMA) statistics replayed from the batch statistics --------------------------------------------


def ema_path(values, momentum, start):
    """The running average after every step: r_0 = start, r_t = (1 − momentum)·r_{t−1} + momentum·values_t.
    ``values`` is (steps,) or (steps, units); the result has one more row (r_0 first)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty((len(values) + 1,) + values.shape[1:])
    out[0] = start
    for k, v in enumerate(values, start=1):
        out[k] = (1 - momentum) * out[k - 1] + momentum * v
    return out


def ema_final(values, momentum, start):
    """The last running average of ``ema_path`` in closed form: (1−a)^T·start + Σ_t a(1−a)^(T−t)·values_t."""
    values = np.asarray(values, dtype=np.float64)
    T = len(values)
    weights = momentum * (1 - momentum) ** np.arange(T - 1, -1, -1)
    return (1 - momentum) ** T * start + weights @ values


def running_statistics(run, momentum):
    """[(running mean, running var)] per BN layer at the end of training, for this BN momentum."""
    return [(ema_final(mu, momentum, 0.0), ema_final(var, momentum, 1.0))
            for mu, var in zip(run.batch_mean, run.batch_var)]


def with_statistics(run, stats):
    """A fresh eval-mode model of ``run`` that normalizes with ``stats``."""
    model = run.build_model()
    bc.set_running_statistics(model, [(np.asarray(mu, model.dtype), np.asarray(var, model.dtype)) for mu, var in stats])
    return model.eval()


def accuracy(model, X, y):
    return float((model.predict(X) == y).mean())


def relative_gap(stats, population):
    """Mean over units and layers of |running − population|, for the mean (in units of the population std) and
    for the variance (relative to the population variance)."""
    mean_gap = np.mean([np.mean(np.abs(m - pm) / np.sqrt(pv)) for (m, _), (pm, pv) in zip(stats, population)])
    var_gap = np.mean([np.mean(np.abs(v - pv) / pv) for (_, v), (_, pv) in zip(stats, population)])
    return float(mean_gap), float(var_gap)


# --- What the page shows of a run at a momentum: kept by (run, momentum, ...), the same for every session -------

@memoized(32)
def modes_at(run, momentum, example):
    """compare_modes on the run's eval-mode model with this momentum's running statistics."""
    model = with_statistics(run, running_statistics(run, momentum))
    return compare_modes(model, run.data.X_test, run.data.y_test, example, run.config.batch_size, run.config.seed)


@memoized(32)
def batch_of_one_at(run, momentum, example):
    return batch_of_one(with_statistics(run, running_statistics(run, momentum)), run.data.X_test, example)


@memoized(32)
def fold_check_at(run, momentum):
    return fold_check(with_statistics(run, running_statistics(run, momentum)), run.data.X_test)


@dataclass
class MomentumSweep:
    momenta: tuple
    mean_gap: np.ndarray  # per momentum, relative_gap to the final population statistics
    var_gap: np.ndarray
    ema_acc: np.ndarray  # eval-mode test accuracy with each momentum's running statistics
    population_acc: float  # eval-mode test accuracy with the population statistics


@memoized(16)
def momentum_sweep(run, momenta=MOMENTA):
    """For each BN momentum: how far the final running statistics are from the population statistics, and the
    test accuracy each gives in eval mode."""
    pop = run.final_population
    gaps = [relative_gap(running_statistics(run, a), pop) for a in momenta]
    X, y = run.data.X_test, run.data.y_test
    accs = [accuracy(with_statistics(run, running_statistics(run, a)), X, y) for a in momenta]
    return MomentumSweep(tuple(momenta), np.array([g[0] for g in gaps]), np.array([g[1] for g in gaps]),
                         np.array(accs), accuracy(with_statistics(run, pop), X, y))


def unit_trace(run, layer, unit, momentum):
    """One unit's story over training: batch statistics per step, the running average, the population values."""
    mu, var = run.batch_mean[layer][:, unit], run.batch_var[layer][:, unit]
    return {
        "steps": np.arange(1, len(mu) + 1),
        "batch_mean": mu, "batch_var": var,
        "ema_steps": np.arange(0, len(mu) + 1),
        "ema_mean": ema_path(mu, momentum, 0.0), "ema_var": ema_path(var, momentum, 1.0),
        "pop_steps": run.pop_steps,
        "pop_mean": run.pop_mean[layer][:, unit], "pop_var": run.pop_var[layer][:, unit],
    }


# --- Train mode vs eval mode ---------------------------------------------------------------------------------


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def train_mode_logits(model, X):
    """Logits with batch statistics (train mode) without touching the running statistics."""
    return model.train().forward(X, update_stats=False)


def eval_mode_logits(model, X):
    return model.eval().forward(X)


def companions(y, example, batch_size, seed):
    """Two batches that contain test example ``example``: one with random companions, one with every other test
    example of the same digit. The example comes first in both."""
    rng = np.random.default_rng((seed, 2))
    others = np.delete(np.arange(len(y)), example)
    random_batch = np.concatenate(([example], rng.choice(others, batch_size - 1, replace=False)))
    same = others[y[others] == y[example]]
    return random_batch, np.concatenate(([example], same))


@dataclass
class ModeComparison:
    example: int
    label: int
    probs_random: np.ndarray  # train mode, random companions
    probs_same: np.ndarray  # train mode, companions of the same digit
    probs_eval: np.ndarray  # eval mode (the same in any batch)
    eval_batch_gap: float  # max |Δlogit| of the example between the two batches in eval mode (0)
    train_batch_gap: float  # the same in train mode
    acc_eval: float
    acc_train_random: float  # train mode, the test set in random batches of the training batch size
    acc_train_same: float  # train mode, each batch one digit only
    same_size: int


def compare_modes(model, X, y, example, batch_size, seed):
    """The same test example in train mode (its prediction depends on its batch companions) and in eval mode.
    ``model`` is switched between modes (its running statistics are never updated)."""
    random_batch, same_batch = companions(y, example, batch_size, seed)
    train_a, train_b = train_mode_logits(model, X[random_batch])[0], train_mode_logits(model, X[same_batch])[0]
    eval_a, eval_b = eval_mode_logits(model, X[random_batch])[0], eval_mode_logits(model, X[same_batch])[0]
    rng = np.random.default_rng((seed, 3))
    hits_random = hits_same = 0
    for idx in np.array_split(rng.permutation(len(y)), max(1, len(y) // batch_size)):  # every batch ≥ batch_size
        hits_random += int((train_mode_logits(model, X[idx]).argmax(1) == y[idx]).sum())
    for digit in np.unique(y):
        idx = np.flatnonzero(y == digit)
        hits_same += int((train_mode_logits(model, X[idx]).argmax(1) == digit).sum())
    return ModeComparison(
        example=int(example), label=int(y[example]),
        probs_random=softmax(train_a), probs_same=softmax(train_b), probs_eval=softmax(eval_a),
        eval_batch_gap=float(np.abs(eval_a - eval_b).max()), train_batch_gap=float(np.abs(train_a - train_b).max()),
        acc_eval=accuracy(model, X, y), acc_train_random=hits_random / len(y), acc_train_same=hits_same / len(y),
        same_size=len(same_batch),
    )


# --- A batch of one ------------------------------------------------------------------------------------------


@dataclass
class BatchOfOne:
    error: str | None  # "batch_of_one" when train mode refused the single example (the page translates it)
    eval_logits: np.ndarray  # eval mode, the example alone
    in_batch_logits: np.ndarray  # eval mode, the example inside the whole test set
    max_gap: float
    collapsed_prediction: int  # what train mode would predict for *any* single example: x̂ = 0 everywhere


def batch_of_one(model, X, example):
    """Train mode on one example fails (the variance of one value is 0); eval mode works and agrees with the
    example's eval-mode prediction inside a full batch."""
    error = None
    try:
        train_mode_logits(model, X[example:example + 1])
    except ValueError:
        error = "batch_of_one"
    alone = eval_mode_logits(model, X[example:example + 1])[0]
    inside = eval_mode_logits(model, X)[example]
    return BatchOfOne(error, alone, inside, float(np.abs(alone - inside).max()), collapsed_prediction(model))


def collapsed_prediction(model):
    """If BN normalized a single example by its own statistics, x̂ = (x − x)/√(0 + ε) = 0 for every unit, so each
    BN layer (before its activation) would output β whatever came in — the last one's β decides: every example
    would get this same class."""
    x = bc.activation_forward(model.activation, model.hidden[-1].bn.beta.astype(np.float64))
    return int(np.argmax(x @ model.out.W + model.out.b))


# --- Folding ----------------------------------------------------------------------------------------------------


def algorithm2_forward(model, X):
    """Eval-mode logits with each BN computed step by step as Algorithm 2 writes it:
    (x − E[x]) / √(Var[x] + ε) · γ + β, with E[x], Var[x] the layer's fixed statistics (BN before the activation)."""
    x = X
    for h in model.hidden:
        z = x @ h.linear.W
        if h.linear.b is not None:
            z = z + h.linear.b
        if h.bn is not None:
            bn = h.bn
            z = (z - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.gamma + bn.beta
        x = bc.activation_forward(model.activation, z)
    return x @ model.out.W + model.out.b


@dataclass
class FoldCheck:
    logits: dict  # way -> (n, classes) logits
    gaps: dict  # (way a, way b) -> max |difference|
    scale: float  # max |logit|, to read the gaps against
    agree: int  # examples where all three ways predict the same class
    n: int


FOLD_WAYS = ("as_written", "folded_affine", "folded_linear")
# The three ways of computing BN at inference, as formulas (the text around them is in the string tables).
FOLD_MATH = {
    "written": r"$(x - \mathrm{E}[x]) / \sqrt{\mathrm{Var}[x] + \epsilon} \cdot \gamma + \beta$",
    "affine": r"$y = a\,x + b$",
    "folded": r"$W' = W\,\mathrm{diag}(a)$, $b' = b$",
}


def fold_check(model, X):
    """The network's eval output three ways: BN as Algorithm 2 writes it, BN as a fixed x·scale + shift per unit
    (BatchNorm1d.fold), and BN folded into the previous linear layer's W and b (fold_batchnorm)."""
    model.eval()
    logits = {"as_written": algorithm2_forward(model, X), "folded_affine": model.forward(X),
              "folded_linear": bc.fold_batchnorm(model).forward(X)}
    pairs = (("as_written", "folded_affine"), ("as_written", "folded_linear"), ("folded_affine", "folded_linear"))
    gaps = {p: float(np.abs(logits[p[0]] - logits[p[1]]).max()) for p in pairs}
    preds = [logits[w].argmax(1) for w in FOLD_WAYS]
    agree = int(((preds[0] == preds[1]) & (preds[0] == preds[2])).sum())
    return FoldCheck(logits, gaps, float(np.abs(logits["as_written"]).max()), agree, len(X))


def fold_table(check, labels, columns):
    """The max |difference| table: ``labels`` name the ways, ``columns`` = (pair, max difference, relative)."""
    rows = [(f"{labels[a]} ↔ {labels[b]}", gap, gap / check.scale) for (a, b), gap in check.gaps.items()]
    return pd.DataFrame(rows, columns=list(columns))


@functools.lru_cache(maxsize=64)
def cost_for_width(n_inputs, width, depth, n_classes):
    """bn_core.inference_cost of a BN network of this shape (only the shape matters, not the weights)."""
    model = bc.MLP([n_inputs] + [width] * depth + [n_classes], batchnorm=True, init="normal", init_sigma=0.1)
    return bc.inference_cost(model)


def tolerance(dtype):
    """The largest max |difference| (relative to the largest logit) that is still just rounding."""
    return 1e-4 if np.dtype(dtype) == np.float32 else 1e-10


# --- "What this run shows": sentences built from the numbers of the run on screen ------------------------------


def _pred(probs):
    return int(np.argmax(probs))


def modes_sentences(mc, batch_size):
    """Train mode vs eval mode: the example's prediction in two batches, and the accuracy three ways."""
    params = dict(example=mc.example, label=mc.label, pred_random=_pred(mc.probs_random),
                  pred_same=_pred(mc.probs_same), pred_eval=_pred(mc.probs_eval),
                  p_random=fmt_pct(mc.probs_random.max()), p_same=fmt_pct(mc.probs_same.max()),
                  same=mc.same_size - 1, train_gap=fmt_num(mc.train_batch_gap, 2),
                  eval_gap=fmt_num(mc.eval_batch_gap, 2))
    flip = params["pred_random"] != params["pred_same"]
    first = t("inference.tk_modes_flip" if flip else "inference.tk_modes_move", **params)
    collapse = mc.acc_train_same < mc.acc_eval - 0.1
    second = t("inference.tk_acc_collapse" if collapse else "inference.tk_acc_similar",
                acc_eval=fmt_pct(mc.acc_eval, 1), acc_random=fmt_pct(mc.acc_train_random, 1),
                acc_same=fmt_pct(mc.acc_train_same, 1), m=batch_size)
    return [first, second]


def stats_sentences(sweep, momentum, steps):
    """Running vs population statistics: how close this momentum ends, which momentum is closest, and accuracy."""
    i = sweep.momenta.index(momentum)
    best = int(np.argmin(sweep.mean_gap))
    params = dict(momentum=fmt_num(momentum), mean_gap=fmt_num(sweep.mean_gap[i], 2),
                  var_gap=fmt_pct(sweep.var_gap[i], 1), steps=steps, best=fmt_num(sweep.momenta[best]),
                  best_gap=fmt_num(sweep.mean_gap[best], 2))
    if i == best:
        key = "inference.tk_ema_best"
    elif sweep.mean_gap[i] <= NEAR_BEST * sweep.mean_gap[best]:
        key = "inference.tk_ema_near"
    else:
        key = "inference.tk_ema_lag" if i < best else "inference.tk_ema_noisy"
    out = [t(key, **params)]
    start_weight = start_share(momentum, steps)
    if start_weight >= NEGLIGIBLE_START:  # only then can the start (mean 0, variance 1) explain a gap
        out.append(t("inference.tk_ema_start", momentum=fmt_num(momentum), steps=steps,
                     start_weight=fmt_pct(start_weight, 1)))
    diff = 100 * (sweep.ema_acc[i] - sweep.population_acc)
    acc_key = ("inference.tk_acc_same" if abs(diff) < 1e-9 else
               "inference.tk_acc_lower" if diff < 0 else "inference.tk_acc_higher")
    out.append(t(acc_key, ema_acc=fmt_pct(sweep.ema_acc[i], 1), pop_acc=fmt_pct(sweep.population_acc, 1),
                 diff=fmt_num(abs(diff), 2)))
    return out


def start_share(momentum, steps):
    """The weight the running average's start still has after ``steps`` updates: (1 − momentum)^steps."""
    return (1.0 - momentum) ** steps


def one_sentence(one, example):
    pred, pred_batch = int(np.argmax(one.eval_logits)), int(np.argmax(one.in_batch_logits))
    key = "inference.tk_one_same" if pred == pred_batch else "inference.tk_one_differs"
    return t(key, example=example, pred=pred, pred_batch=pred_batch, gap=fmt_num(one.max_gap, 2))


def fold_sentence(check, dtype):
    gap = max(check.gaps.values())
    key = "inference.tk_fold_equal" if gap <= tolerance(dtype) * check.scale else "inference.tk_fold_differ"
    return t(key, gap=fmt_num(gap, 2), scale=fmt_num(check.scale, 3), agree=check.agree, n=check.n)


def cost_sentence(cost, width):
    saved = cost["as_written"] - cost["folded_linear"]
    return t("inference.tk_cost", width=width, features=f"{cost['bn_features']:,}",
             as_written=f"{cost['as_written']:,}", affine=f"{cost['folded_affine']:,}",
             folded=f"{cost['folded_linear']:,}", saved=f"{saved:,}", madds=f"{cost['linear_madds']:,}",
             share=fmt_pct(saved / cost["linear_madds"], 1))
