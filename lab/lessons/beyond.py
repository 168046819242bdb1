"""Beyond the paper: the six experiments of bn_core.beyond as the page runs them, what the page keeps of their runs,
and the sentences and the verdict built on those numbers. No streamlit.

A finished experiment is reduced to a Result (a few small arrays per run) that the page keeps per session: the runs
themselves stay in lab.runs' shared cache, which is too small to hold all six experiments (51 runs) and the other
lessons' runs at once.

Every sentence is chosen by a condition on the numbers, and says that condition. Accuracies are percentages; their
differences are percentage points ("pp" below).
"""
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

import bn_core as bc
from bn_core import beyond
from lab import runs
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons import covariate_shift as ics
from lab.lessons.common import PAPER_NET, divergence_messages, last, layer_title

EXPERIMENTS = beyond.EXPERIMENTS
DEFAULT_EXPERIMENT = "gradient_ics"  # the cheapest (two runs): the only one that trains on page load
BASE = PAPER_NET  # the covariate-shift lesson's network, equal to bn_core.beyond.BASE
SAME_PP = 0.02  # two accuracies (or errors) closer than 2 percentage points are "about the same"
CLEARLY = ics.CLEARLY  # a measure is "clearly" larger than another past this ratio
ACC_TARGET = ics.ACC_TARGET
MAX_KEPT = 12  # Results one session keeps (each tens of kB)


@dataclass(frozen=True)
class Size:
    lr_grid: tuple  # learning rates of the headroom sweep
    lr_steps: int
    batch_sizes: tuple
    batch_steps: int  # steps at the reference batch (bn_core.beyond.BATCH_SWEEP_BATCH); each size: the same epochs
    run_steps: int  # noisy BN, the two measured runs and the ablations


# "default" is bn_core.beyond's default size; "larger" a finer learning-rate grid (a superset: the default's runs
# come from the cache) and longer runs.
SIZES = {
    "default": Size(beyond.LR_GRID, beyond.LR_SWEEP_STEPS, beyond.BATCH_SIZES, beyond.BATCH_SWEEP_STEPS,
                    beyond.RUN_STEPS),
    "larger": Size((0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0), beyond.LR_SWEEP_STEPS,
                   beyond.BATCH_SIZES, 500, 5000),
}
# Wall seconds of each experiment at the default size, trained one run after another as lab.runs does, on the
# project's 2-core machine kind while other jobs loaded it (benchmarks/beyond_sweeps.py --workers 1).
MEASURED_SECONDS = {"lr_headroom": 8, "batch_size": 13, "noisy": 4, "gradient_ics": 3, "landscape": 3,
                    "ablations": 9}
MEASURE_FIELDS = {"gradient_ics": ("diff", "cos", "grad_norm"),
                  "landscape": ("loss_variation", "grad_predictiveness", "beta_smoothness")}


# --- the runs ------------------------------------------------------------------------------------------------------

def experiment_runs(name, seed=0, size="default"):
    """The runs of experiment ``name`` as (series, config) pairs in a fixed order: at the default size exactly
    bn_core.beyond.experiment_configs(name, BASE with this seed); every run of one experiment starts from the same
    initial weights and sees the same mini-batches."""
    s = SIZES[size]
    base = BASE.replace(seed=seed, record_every=beyond.RECORD_EVERY)
    pairs = []
    for series in beyond.EXPERIMENT_SERIES[name]:
        config = beyond.with_norm(base, series)
        if name == "lr_headroom":
            configs = bc.lr_sweep_configs(config.replace(steps=s.lr_steps), s.lr_grid)
        elif name == "batch_size":
            reference = config.replace(batch_size=beyond.BATCH_SWEEP_BATCH, lr=beyond.BATCH_SWEEP_LR,
                                       steps=s.batch_steps, record_every=max(1, s.batch_steps // 10))
            configs = bc.batch_sweep_configs(reference, s.batch_sizes)
        else:
            configs = [config.replace(steps=s.run_steps, record_every=max(beyond.RECORD_EVERY, s.run_steps // 40))]
        pairs += [(series, c) for c in configs]
    return pairs


def total_steps(name, size="default"):
    return sum(c.steps for _, c in experiment_runs(name, 0, size))


def estimated_seconds(name, size="default"):
    """MEASURED_SECONDS scaled by the training steps of ``size`` against the default size (at least 1 s)."""
    return max(1, round(MEASURED_SECONDS[name] * total_steps(name, size) / total_steps(name, "default")))


def _measured_steps(value):
    return value[0].steps_done


def _measured_done(value):
    return value[0].done


def _publish_measured(value):
    """(record, series) as another session may read it: the record's view and a copy of the series' lists (the
    measurements themselves are frozen values)."""
    record, series = value
    return record.view(), bc.MeasuredSeries(series.name, list(series.steps), list(series.values))


def task(name, config):
    """The lab.runs Task of one run: a plain config task, or for the measured experiments a train_measured run
    keyed ("measured", config, measure), whose value is (record, series)."""
    measure = beyond.EXPERIMENT_MEASURE.get(name)
    if measure is None:
        return runs.config_task(config)
    return runs.Task(("measured", config, measure), partial(bc.train_measured, config, measure), config.steps,
                     publish=_publish_measured, steps_of=_measured_steps, done_of=_measured_done)


def tasks(name, pairs):
    return [task(name, config) for _, config in pairs]


def all_cached(task_list):
    """True when every task's finished value is in the shared cache (someone already ran the experiment)."""
    return all(runs.cached(tk.key) is not None for tk in task_list)


def series_names():
    """Display name of each series (a normalization, or none), in the user's language."""
    return {"batch": t("common.with_bn"), "none": t("common.without_bn"), "layer": t("beyond.series_layer"),
            "noisy": t("beyond.series_noisy"), "mean_only": t("beyond.series_mean_only"),
            "var_only": t("beyond.series_var_only"), "frozen_affine": t("beyond.series_frozen_affine"),
            "affine_only": t("beyond.series_affine_only")}


def run_names(name, pairs):
    """One name per run for the progress bar: the series, and the learning rate or batch size of a sweep."""
    names = series_names()
    if name == "lr_headroom":
        return [t("beyond.run_at_lr", name=names[s], lr=fmt_num(c.lr)) for s, c in pairs]
    if name == "batch_size":
        return [t("beyond.run_at_batch", name=names[s], m=c.batch_size) for s, c in pairs]
    return [names[s] for s, _ in pairs]


def remember(store, key, result, limit=MAX_KEPT):
    """Keep ``result`` under ``key`` in a session's dict, dropping the oldest entries past ``limit``."""
    store.pop(key, None)
    store[key] = result
    while len(store) > limit:
        store.pop(next(iter(store)))


# --- what the page keeps of a finished experiment ------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One finished run, reduced to what the lesson draws and says."""

    series: str  # a norm of bn_core.NORMS, or "none"
    config: object
    status: str  # finished | diverged | stopped
    divergence: object  # bn_core.Divergence (step, reason) or None
    stable: bool  # bn_core.beyond.is_stable: finished and at least halved its training loss
    steps: np.ndarray
    test_acc: np.ndarray
    final_acc: float  # the last finite test accuracy (NaN without one)
    arrays: dict = field(default_factory=dict)  # what else the experiment draws, by name: (records, ...) arrays

    @property
    def ok(self):
        """Finished with a final accuracy to speak of (not diverged, not stopped)."""
        return self.status == "finished" and np.isfinite(self.final_acc)


@dataclass(frozen=True)
class Result:
    """One finished experiment as the page keeps it (a few tens of kB): its Runs in experiment_runs order."""

    name: str
    runs: tuple
    sizes: tuple = ()  # the network's layer sizes: inputs, hidden..., classes
    unit: int | None = None  # noisy: the last hidden layer's unit shown (the one moving most without BN)
    spread: object = None  # batch_size: bn_core.batch_stat_spread of BN's input (a DataFrame), or None

    def of(self, series):
        return [r for r in self.runs if r.series == series]

    def one(self, series):
        found = self.of(series)
        return found[0] if found else None

    @property
    def steps(self):
        return max(int(r.config.steps) for r in self.runs)


def _measured_arrays(series):
    arrays = {"measure_steps": np.array(series.steps, dtype=float)}
    for name in MEASURE_FIELDS[series.name]:
        arrays[name] = series.array(name) if series.values else np.empty((0,))
    return arrays


def _noisy_arrays(record, unit):
    if not record.snapshots:
        return {}
    return {"drift": np.array([record.layer_series(i, "drift") for i in range(record.n_layers)]).T,
            "mean_drift": ics.mean_drift(record), "unit_pcts": ics.unit_percentiles(record)[:, unit, :]}


def reference_batch(batch_sizes):
    """The sweep's batch size nearest (on a log scale) to the reference of the linear learning-rate scaling."""
    return min(batch_sizes, key=lambda m: (abs(np.log(m / beyond.BATCH_SWEEP_BATCH)), m))


def batch_spread(pairs, records):
    """How far BN's batch statistics miss the population's, per batch size of the sweep: bc.batch_stat_spread of the
    last hidden layer's BN input over the training set, in the BN run trained at the reference batch. None when that
    run has no weights."""
    sizes = sorted({c.batch_size for _, c in pairs})
    ref = reference_batch(sizes)
    record = next((r for (s, c), r in zip(pairs, records) if s == "batch" and c.batch_size == ref), None)
    model = None if record is None or record.status == "diverged" else record.build_model()
    if model is None:
        return None
    data = bc.load_data(record.config)
    return bc.batch_stat_spread(bc.norm_inputs(model, data.X_train)[-1], sizes, seed=record.config.seed)


def summarize(name, pairs, values):
    """The Result of experiment ``name`` from its runs' final values (lab.runs.run_tasks over ``tasks``)."""
    measured = name in beyond.EXPERIMENT_MEASURE
    records = [v[0] if measured else v for v in values]
    unit = None
    if name == "noisy":
        unit = ics.default_unit(next(r for (s, _), r in zip(pairs, records) if s == beyond.NO_NORM))
    kept = []
    for (series, config), value, record in zip(pairs, values, records):
        arrays = _measured_arrays(value[1]) if measured else _noisy_arrays(record, unit) if name == "noisy" else {}
        kept.append(Run(series, config, record.status, record.divergence, bc.is_stable(record), record.steps,
                        record.metric("test_acc"), last(record, "test_acc"), arrays))
    spread = batch_spread(pairs, records) if name == "batch_size" else None
    return Result(name, tuple(kept), tuple(records[0].sizes), unit, spread)


# --- small helpers for sentences -----------------------------------------------------------------------------------

def pct(share):
    return fmt_pct(share, 1)


def pp(difference):
    """A difference of two accuracies, in percentage points (one decimal)."""
    return fmt_num(round(100 * abs(difference), 1), 4)


def listing(items):
    return t("beyond.list_sep").join(items)


def ratio(a, b):
    return a / b if b > 0 else np.inf


def mean_finite(values):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


# --- 1. learning-rate headroom -------------------------------------------------------------------------------------

def largest_stable(result, series):
    stable = [r.config.lr for r in result.of(series) if r.stable]
    return max(stable) if stable else None


def grid_step(result):
    """The largest ratio between neighbouring learning rates of the grid: the ratio's resolution."""
    lrs = sorted({r.config.lr for r in result.runs})
    return max((b / a for a, b in zip(lrs, lrs[1:])), default=1.0)


def lr_claim(result):
    """("for" | "against" | "open", the sentence that decides it) for "BN allows much higher learning rates"."""
    b, n = largest_stable(result, "batch"), largest_stable(result, "none")
    step = fmt_num(grid_step(result), 2)
    if b is not None and n is not None:
        params = dict(bn=fmt_num(b), no_bn=fmt_num(n), ratio=fmt_num(b / n, 3), step=step)
        if b > n:
            return "for", t("beyond.lr_say_larger", **params)
        if b == n:
            return "against", t("beyond.lr_say_same", **params)
        return "against", t("beyond.lr_say_smaller", **params)
    if b is not None:
        return "for", t("beyond.lr_say_only_bn", bn=fmt_num(b))
    if n is not None:
        return "against", t("beyond.lr_say_only_no_bn", no_bn=fmt_num(n))
    return "open", t("beyond.lr_say_neither")


def lr_sentences(result):
    out = []
    best = {}
    for series in ("batch", "none"):
        done = [r for r in result.of(series) if r.ok]
        best[series] = max(done, key=lambda r: r.final_acc) if done else None
    if best["batch"] is not None and best["none"] is not None:
        out.append(t("beyond.lr_say_best", bn=pct(best["batch"].final_acc), bn_lr=fmt_num(best["batch"].config.lr),
                     no_bn=pct(best["none"].final_acc), no_bn_lr=fmt_num(best["none"].config.lr)))
    n = len(result.of("batch"))
    out.append(t("beyond.lr_say_diverged", n=n, bn=sum(r.status == "diverged" for r in result.of("batch")),
                 no_bn=sum(r.status == "diverged" for r in result.of("none"))))
    out.append(lr_claim(result)[1])
    return out


# --- 2. batch size, BN vs LayerNorm ----------------------------------------------------------------------------------

def error_at(result, series, m):
    """Test error (1 − accuracy) of the series' run at batch size m; None when it did not finish."""
    run = next((r for r in result.of(series) if r.config.batch_size == m), None)
    return 1.0 - run.final_acc if run is not None and run.ok else None


def batch_ends(result):
    """(smallest batch size, reference batch size) of the sweep."""
    sizes = sorted({r.config.batch_size for r in result.runs})
    return sizes[0], reference_batch(sizes)


def batch_rise(result, series):
    """How much the series' test error rose from the reference batch to the smallest (a share); None if missing."""
    small, ref = batch_ends(result)
    a, b = error_at(result, series, small), error_at(result, series, ref)
    return None if a is None or b is None else a - b


def batch_claim(result):
    """For "BN degrades with small batches, LayerNorm does not": BN's rise in error against LayerNorm's."""
    small, ref = batch_ends(result)
    bn, ln = batch_rise(result, "batch"), batch_rise(result, "layer")
    if bn is None or ln is None:
        return "open", t("beyond.batch_say_no_compare", small=small, ref=ref)
    params = dict(small=small, ref=ref, bn=pp(bn), ln=pp(ln), bn_dir=_direction(bn), ln_dir=_direction(ln),
                  diff=pp(bn - ln), same=pp(SAME_PP))
    if bn - ln > SAME_PP:
        return "for", t("beyond.batch_say_bn_worse", **params)
    if ln - bn > SAME_PP:
        return "against", t("beyond.batch_say_ln_worse", **params)
    return "against", t("beyond.batch_say_same", **params)


def _direction(change):
    return t("beyond.rose") if change > 0 else t("beyond.fell")


def batch_sentences(result):
    names = series_names()
    small, ref = batch_ends(result)
    parts = []
    for series in ("batch", "layer", "none"):
        a, b = error_at(result, series, ref), error_at(result, series, small)
        parts.append(t("beyond.batch_series_errors", name=names[series],
                       ref=t("beyond.did_not_finish") if a is None else pct(a),
                       small=t("beyond.did_not_finish") if b is None else pct(b)))
    out = [t("beyond.batch_say_errors", ref=ref, small=small, errors=listing(parts))]
    out.append(batch_claim(result)[1])
    spread = result.spread
    if spread is not None:
        rows = spread.set_index("batch_size")
        if small in rows.index and ref in rows.index and np.isfinite(rows.loc[[small, ref]].to_numpy()).all():
            out.append(t("beyond.batch_say_spread", small=small, ref=ref, draws=beyond.BATCH_SPREAD_DRAWS,
                         mean_small=fmt_num(rows.loc[small, "mean_spread"], 2),
                         var_small=fmt_num(rows.loc[small, "var_spread"], 2),
                         mean_ref=fmt_num(rows.loc[ref, "mean_spread"], 2),
                         var_ref=fmt_num(rows.loc[ref, "var_spread"], 2)))
    return out


# --- 3. noisy BN --------------------------------------------------------------------------------------------------

def drift_of(result, series):
    """The series' drift per record, averaged over training and over the hidden layers (NaN without records)."""
    run = result.one(series)
    return mean_finite(run.arrays.get("mean_drift", [])) if run is not None else float("nan")


def noisy_moved(result):
    """(noisy BN's drift / no BN's, whether that is clearly more than 1)."""
    noisy, none = drift_of(result, "noisy"), drift_of(result, "none")
    r = ratio(noisy, none) if np.isfinite(noisy) and np.isfinite(none) else float("nan")
    return r, bool(r > CLEARLY)


def noisy_claim(result):
    """For "BN still helps when covariate shift is injected on purpose": the shift must be there (noisy BN moved its
    distributions clearly more than no BN), then noisy BN's accuracy against plain BN's."""
    r, moved = noisy_moved(result)
    noisy, bn = result.one("noisy"), result.one("batch")
    if not moved:
        return "open", t("beyond.noisy_say_not_moved", ratio=fmt_num(r, 2))
    if not (noisy.ok and bn.ok):
        return "open", t("beyond.noisy_say_no_accuracy", ratio=fmt_num(r, 2))
    diff = noisy.final_acc - bn.final_acc
    params = dict(ratio=fmt_num(r, 2), noisy=pct(noisy.final_acc), bn=pct(bn.final_acc), diff=pp(diff),
                  same=pp(SAME_PP))
    if diff < -SAME_PP:
        return "against", t("beyond.noisy_say_worse", **params)
    if diff > SAME_PP:
        return "for", t("beyond.noisy_say_better", **params)
    return "for", t("beyond.noisy_say_as_bn", **params)


def _reached(run, target):
    hit = np.flatnonzero(np.isfinite(run.test_acc) & (run.test_acc >= target))
    return t("beyond.step_n", step=int(run.steps[hit[0]])) if len(hit) else t("beyond.not_reached")


def noisy_sentences(result):
    names = series_names()
    order = ("noisy", "batch", "none")
    out = [t("beyond.noisy_say_drift", drifts=listing(
        t("beyond.named_value", name=names[s], value=fmt_num(drift_of(result, s), 2)) for s in order))]
    out.append(t("beyond.noisy_say_acc", steps=result.steps, accs=listing(
        t("beyond.named_value", name=names[s], value=pct(result.one(s).final_acc)) for s in order)))
    out.append(t("beyond.noisy_say_reach", target=fmt_pct(ACC_TARGET), reached=listing(
        t("beyond.named_value", name=names[s], value=_reached(result.one(s), ACC_TARGET)) for s in order)))
    out.append(noisy_claim(result)[1])
    return out


# --- 4. gradient-based covariate shift -----------------------------------------------------------------------------

def per_layer(values, digits):
    """Numbers layer by layer, "0.038 / 0.035 / 0.033", in the order of gics_layer_titles."""
    return " / ".join(fmt_num(v, digits) for v in values)


def gics_layer_titles(n_linear):
    """Titles of the linear layers that have layers below them: "layer 2", ..., and the output layer."""
    return [layer_title(i) for i in range(1, n_linear - 1)] + [t("beyond.output_layer")]


def gics_means(run, field_name):
    """Per linear layer above the first: the measure averaged over the run's records (NaN without records)."""
    values = np.asarray(run.arrays.get(field_name, np.empty((0, 0))), dtype=float)
    if values.ndim != 2 or not len(values):
        return np.array([])
    return np.array([mean_finite(values[:, j]) for j in range(1, values.shape[1])])


def gics_claim(result):
    """For "BN reduces covariate shift measured through gradients": in how many layers BN's ‖G − G′‖ is clearly
    smaller (ics.comparison gives "less")."""
    bn, none = gics_means(result.one("batch"), "diff"), gics_means(result.one("none"), "diff")
    ok = np.isfinite(bn) & np.isfinite(none) if len(bn) == len(none) else np.array([], dtype=bool)
    if not ok.any():
        return "open", t("beyond.gics_say_no_data")
    k, n = sum(ics.comparison(a, b) == "less" for a, b in zip(none[ok], bn[ok])), int(ok.sum())
    more = sum(ics.comparison(a, b) == "more" for a, b in zip(none[ok], bn[ok]))
    clearly = fmt_num(CLEARLY)
    if k == n:
        return "for", t("beyond.gics_say_less_everywhere", n=n, clearly=clearly)
    if k == 0:
        return "against", t("beyond.gics_say_less_nowhere", n=n, more=more, clearly=clearly)
    return "open", t("beyond.gics_say_less_some", k=k, n=n, clearly=clearly)


def gics_sentences(result):
    bn, none = result.one("batch"), result.one("none")
    out = []
    d_bn, d_none = gics_means(bn, "diff"), gics_means(none, "diff")
    c_bn, c_none = gics_means(bn, "cos"), gics_means(none, "cos")
    if len(d_bn) and len(d_bn) == len(d_none):
        titles = gics_layer_titles(len(d_bn) + 1)
        out.append(t("beyond.gics_say_numbers", layers=" / ".join(titles), bn=per_layer(d_bn, 2),
                     no_bn=per_layer(d_none, 2), bn_cos=per_layer(c_bn, 3), no_bn_cos=per_layer(c_none, 3)))
    out.append(gics_claim(result)[1])
    return out


# --- 5. loss landscape ---------------------------------------------------------------------------------------------

LANDSCAPE_MEASURES = MEASURE_FIELDS["landscape"]


def measure_names():
    return {"loss_variation": t("beyond.loss_variation"), "grad_predictiveness": t("beyond.grad_predictiveness"),
            "beta_smoothness": t("beyond.beta_smoothness")}


def landscape_means(run):
    return {m: mean_finite(run.arrays.get(m, [])) for m in LANDSCAPE_MEASURES}


def landscape_claim(result):
    """For "BN makes the loss landscape smoother": by how many of the three measures BN's average is clearly
    smaller."""
    bn, none = landscape_means(result.one("batch")), landscape_means(result.one("none"))
    ok = [m for m in LANDSCAPE_MEASURES if np.isfinite(bn[m]) and np.isfinite(none[m])]
    if not ok:
        return "open", t("beyond.land_say_no_data")
    smoother = [m for m in ok if ics.comparison(none[m], bn[m]) == "less"]
    names, clearly = measure_names(), fmt_num(CLEARLY)
    if len(smoother) == len(ok):
        return "for", t("beyond.land_say_all", n=len(ok), clearly=clearly)
    if not smoother:
        return "against", t("beyond.land_say_none", n=len(ok), clearly=clearly)
    return "open", t("beyond.land_say_some", k=len(smoother), n=len(ok), clearly=clearly,
                     which=listing(names[m] for m in smoother))


def landscape_sentences(result):
    bn, none = landscape_means(result.one("batch")), landscape_means(result.one("none"))
    names = measure_names()
    pairs = {m: t("beyond.land_pair", measure=names[m], bn=fmt_num(bn[m], 2), no_bn=fmt_num(none[m], 2))
             for m in LANDSCAPE_MEASURES}
    return [t("beyond.land_say_numbers", **pairs), landscape_claim(result)[1]]


# --- 6. ablations --------------------------------------------------------------------------------------------------

ABLATIONS = ("mean_only", "var_only", "frozen_affine", "affine_only")


def affine_share(sizes):
    """The share of an MLP's weights that are γ and β, with BN in every hidden layer (the other weights are what
    "only γ/β trained" leaves at their random start)."""
    model = bc.MLP(list(sizes), batchnorm=True)
    params = model.parameters()
    affine = sum(p.size for k, p in params.items() if k.endswith((".gamma", ".beta")))
    return affine / sum(p.size for p in params.values())


def ablation_groups(result):
    """Each ablation compared with full BN: (within SAME_PP, clearly below, clearly above, did not finish)."""
    bn = result.one("batch")
    close, below, above, failed = [], [], [], []
    for series in ABLATIONS:
        run = result.one(series)
        if run is None:
            continue
        if not (run.ok and bn.ok):
            failed.append(series)
        elif run.final_acc < bn.final_acc - SAME_PP:
            below.append(series)
        elif run.final_acc > bn.final_acc + SAME_PP:
            above.append(series)
        else:
            close.append(series)
    return close, below, above, failed


def ablation_claim(result):
    """For "γ and β alone, on random weights, learn": only-γ/β's accuracy against chance (one over the classes)."""
    run = result.one("affine_only")
    chance = 1.0 / result.sizes[-1]
    params = dict(share=fmt_pct(affine_share(result.sizes), 1), chance=pct(chance), steps=result.steps)
    if run is None or not run.ok:
        return "open", t("beyond.abl_say_affine_failed", **params)
    params.update(acc=pct(run.final_acc), diff=pp(run.final_acc - chance))
    if run.final_acc > chance + SAME_PP:
        return "for", t("beyond.abl_say_affine_learns", **params)
    return "against", t("beyond.abl_say_affine_chance", **params, same=pp(SAME_PP))


def ablation_sentences(result):
    names = series_names()
    accs = [t("beyond.named_value", name=names[r.series],
              value=pct(r.final_acc) if r.ok else t("beyond.did_not_finish")) for r in result.runs]
    out = [t("beyond.abl_say_acc", steps=result.steps, accs=listing(accs))]
    close, below, above, _ = ablation_groups(result)
    same = pp(SAME_PP)
    if close:
        out.append(t("beyond.abl_say_close", names=listing(names[s] for s in close), same=same))
    if below:
        out.append(t("beyond.abl_say_below", names=listing(names[s] for s in below), same=same))
    if above:
        out.append(t("beyond.abl_say_above", names=listing(names[s] for s in above), same=same))
    out.append(ablation_claim(result)[1])
    return out


# --- the page's words ------------------------------------------------------------------------------------------------

SENTENCES = {"lr_headroom": lr_sentences, "batch_size": batch_sentences, "noisy": noisy_sentences,
             "gradient_ics": gics_sentences, "landscape": landscape_sentences, "ablations": ablation_sentences}
CLAIMS = {"lr_headroom": lr_claim, "batch_size": batch_claim, "noisy": noisy_claim, "gradient_ics": gics_claim,
          "landscape": landscape_claim, "ablations": ablation_claim}


def sentences(result):
    """The takeaways of one experiment's Result."""
    return SENTENCES[result.name](result)


SWEEPS = ("lr_headroom", "batch_size")  # a diverged run is a data point of a sweep, drawn as such


def divergence_notes(result):
    """"<run> diverged at step N (why). <the fix>" for each diverged run of an experiment that is not a sweep."""
    if result.name in SWEEPS:
        return []
    names = series_names()
    return divergence_messages([names[r.series] for r in result.runs], result.runs)


def title(name):
    return {"lr_headroom": t("beyond.lr_title"), "batch_size": t("beyond.batch_title"),
            "noisy": t("beyond.noisy_title"), "gradient_ics": t("beyond.gics_title"),
            "landscape": t("beyond.land_title"), "ablations": t("beyond.abl_title")}[name]


def description(name, size="default"):
    """What the experiment tests and how, with its numbers from SIZES."""
    s = SIZES[size]
    factors = listing(fmt_num(f) for f in beyond.LANDSCAPE_STEP_FACTORS)
    if name == "lr_headroom":
        return t("beyond.lr_what", steps=s.lr_steps, lrs=listing(fmt_num(lr) for lr in s.lr_grid))
    if name == "batch_size":
        return t("beyond.batch_what", sizes=listing(str(m) for m in s.batch_sizes), lr=fmt_num(beyond.BATCH_SWEEP_LR),
                 ref=beyond.BATCH_SWEEP_BATCH)
    if name == "noisy":
        return t("beyond.noisy_what", steps=s.run_steps)
    if name == "gradient_ics":
        return t("beyond.gics_what", steps=s.run_steps, batch=BASE.batch_size)
    if name == "landscape":
        return t("beyond.land_what", steps=s.run_steps, batch=BASE.batch_size, factors=factors)
    return t("beyond.abl_what", steps=s.run_steps)


def larger_label(name):
    """The "larger" toggle's label: what it changes."""
    d, big = SIZES["default"], SIZES["larger"]
    if name == "lr_headroom":
        return t("beyond.larger_grid", n=len(big.lr_grid), default=len(d.lr_grid))
    if name == "batch_size":
        return t("beyond.larger_epochs", times=fmt_num(big.batch_steps / d.batch_steps, 2))
    return t("beyond.larger_steps", steps=big.run_steps, default=d.run_steps)


def cost_text(name, size="default"):
    pairs = experiment_runs(name, 0, size)
    return t("beyond.cost", runs=len(pairs), steps=sum(c.steps for _, c in pairs),
             seconds=estimated_seconds(name, size))


def verdict(results):
    """One line per claim, in the order of the experiments: the claim, whether the student's runs agree, and the
    sentence that decides it; then what such small runs can and cannot settle. ``results``: experiment -> Result
    (missing: not run yet)."""
    claims = {"lr_headroom": t("beyond.claim_lr"), "batch_size": t("beyond.claim_batch"),
              "noisy": t("beyond.claim_noisy"), "gradient_ics": t("beyond.claim_gics"),
              "landscape": t("beyond.claim_landscape"), "ablations": t("beyond.claim_ablations")}
    status_words = {"for": t("beyond.status_for"), "against": t("beyond.status_against"),
                    "open": t("beyond.status_open")}
    lines = []
    for name in EXPERIMENTS:
        result = results.get(name)
        if result is None:
            lines.append(t("beyond.verdict_not_run", claim=claims[name]))
        else:
            status, evidence = CLAIMS[name](result)
            lines.append(t("beyond.verdict_line", claim=claims[name], status=status_words[status], evidence=evidence))
    depth, width = len(BASE.hidden), BASE.hidden[0]
    return lines + [t("beyond.verdict_can"), t("beyond.verdict_cannot", depth=depth, width=width)]


def figure_text(result=None):
    """The words on the lesson's figures, in the user's language; with the learning-rate sweep's Result, the label
    of each series' largest stable learning rate too."""
    names = series_names()
    stable = {}
    if result is not None and result.name == "lr_headroom":
        stable = {s: t("beyond.stable_marker", name=names[s], lr=fmt_num(lr))
                  for s in ("batch", "none") if (lr := largest_stable(result, s)) is not None}
    return dict(step=t("common.step"), accuracy=t("beyond.test_accuracy"), error=t("beyond.test_error"),
                lr=t("beyond.lr_axis"), batch=t("beyond.batch_axis"), spread=t("beyond.spread_axis"),
                diverged={s: t("beyond.diverged_marker", name=n) for s, n in names.items()}, stable=stable,
                spread_mean=t("beyond.spread_mean"), spread_var=t("beyond.spread_var"), sqrt_m=t("beyond.spread_sqrt"),
                error_title=t("beyond.batch_fig_error"), spread_title=t("beyond.batch_fig_spread"))


# --- the published numbers -------------------------------------------------------------------------------------------

def ioffe_table():
    """Ioffe & Szegedy's ImageNet table, with headers in the user's language."""
    target = fmt_pct(bc.IOFFE_SZEGEDY_2015[0].max_accuracy, 1)
    return pd.DataFrame({
        t("beyond.col_model"): [r.model for r in bc.IOFFE_SZEGEDY_2015],
        t("beyond.col_lr_multiple"): [f"{r.lr_multiple}×" for r in bc.IOFFE_SZEGEDY_2015],
        t("beyond.col_steps_to", target=target): [f"{r.steps_to_72_2 / 1e6:.1f} × 10⁶" for r in bc.IOFFE_SZEGEDY_2015],
        t("beyond.col_max_acc"): [fmt_pct(r.max_accuracy, 1) for r in bc.IOFFE_SZEGEDY_2015],
    })


def wu_he_table():
    """Wu & He's ResNet-50 ImageNet error by images per GPU, BN and GN."""
    return pd.DataFrame({
        t("beyond.col_batch_per_gpu"): [r.batch_per_gpu for r in bc.WU_HE_2018],
        t("beyond.col_bn_error"): [f"{r.bn_error:.1f}%" for r in bc.WU_HE_2018],
        t("beyond.col_gn_error"): [f"{r.gn_error:.1f}%" for r in bc.WU_HE_2018],
    })
