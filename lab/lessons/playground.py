"""Playground logic: widgets <-> TrainConfig <-> URL, the runs to train (compare or single), when to train
(TrainControl), CSV uploads, the decision-boundary grid, takeaway sentences and the CSV export.

The functions take the session state / query params as plain mappings, so they are testable without a running app.
"""
import hashlib
import io
import math
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from bn_core import (
    ACTIVATIONS,
    BN_POSITIONS,
    DATASETS,
    INITS,
    PREPROCESSING,
    CsvError,
    load_csv_dataset,
)
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons import seeds
from lab.urlparams import KNOB_BY_URL, KNOBS, MODES, config_to_query, config_values, query_to_config, values_to_config

WIDGET = "pg_"  # session-state key of the widget of knob <url>: "pg_<url>"
APPLIED = "pg_applied"  # the knob query the page last applied to its widgets or wrote to the URL
UPLOAD = "pg_upload"  # (digest, Dataset, feature names) of the last parsed upload: one
TWO_D = ("spiral", "circles", "xor", "gaussian")

# Labels of the choices, by knob and value (keys of the [playground] string table).
CHOICE_KEYS = {
    "mode": {m: f"playground.mode_{m}" for m in MODES},
    "data": {d: f"playground.data_{d}" for d in DATASETS + ("csv",)},
    "prep": {p: f"playground.prep_{p}" for p in PREPROCESSING},
    "act": {a: f"playground.act_{a}" for a in ACTIVATIONS},
    "init": {i: f"playground.init_{i}" for i in INITS},
    "bnpos": {p: f"playground.bnpos_{p}" for p in BN_POSITIONS},
}
RUN_KEYS = {"bn": "common.with_bn", "no_bn": "common.without_bn"}


def choice_label(url, value):
    return t(CHOICE_KEYS[url][value])


def log_choices(lo, hi):
    """1-2-5 steps over the powers of ten in [lo, hi], e.g. 0.01, 0.02, 0.05, 0.1, ..."""
    values = [float(f"{m}e{e}") for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
              for m in (1, 2, 5)]
    return tuple(v for v in values if lo <= v <= hi)


LOG_CHOICES = {k.url: log_choices(k.lo, k.hi) for k in KNOBS if k.log}


def log_options(url, value):
    """The choices of a log-scale knob, with ``value`` among them (a link may carry a value between the steps)."""
    return tuple(sorted(set(LOG_CHOICES[url]) | {float(value)}))


# ---- URL <-> widgets ----

def knob_query(query_params):
    """The Playground's knobs in a query-string mapping (lang, seed and anything else left out)."""
    return {url: str(query_params[url]) for url in KNOB_BY_URL if url in query_params}


def _set_widgets(state, values, only_missing=False):
    for url, value in values.items():
        if not (only_missing and WIDGET + url in state):
            state[WIDGET + url] = value


def sync_from_url(state, query_params):
    """Apply the URL's knobs to the widgets on first load and whenever they differ from what the page last applied
    (a link just opened). Returns ``(name, raw, default)`` for each garbage value that fell back to its default.

    Coming back to the page without knobs in the URL (page switches drop the query string) keeps the last settings:
    widget keys Streamlit dropped with the page are restored from them."""
    url = knob_query(query_params)
    applied = state.get(APPLIED)
    if applied is None or (url and url != applied):
        config, mode, bad = query_to_config(url)
        _set_widgets(state, config_values(config, mode))
        state[APPLIED] = url
        TrainControl(state).autostart()
        return bad
    config, mode, _ = query_to_config(applied)
    _set_widgets(state, config_values(config, mode), only_missing=True)
    return []


def widget_values(state):
    """The knob values of the widgets, typed, by URL name."""
    return {url: knob.kind(state[WIDGET + url]) for url, knob in KNOB_BY_URL.items()}


def config_from_widgets(state, seed):
    """``(config, mode, query)``: the experiment the widgets describe, and its knob query for the URL."""
    config, mode = values_to_config(widget_values(state))
    config = config.replace(seed=int(seed))
    return config, mode, config_to_query(config, mode)


def write_url(state, query_params, query):
    """Write the knobs into the address bar (only the values that changed), so it is always a shareable link."""
    for url, value in query.items():
        if query_params.get(url) != value:
            query_params[url] = value
    state[APPLIED] = dict(query)


def share_url(base, query, lang, seed):
    """The link that reopens this experiment: ``base`` (the page address, may be empty) + the query string."""
    return f"{base}?{urlencode({**query, 'lang': lang, 'seed': seed})}"


# ---- the runs ----

def run_plan(config, mode):
    """``(configs, run ids)``: compare = the config with and without BN (same seed: same initial weights and
    batches); single = the config as it is."""
    if mode == "compare":
        return [config.replace(batchnorm=True), config.replace(batchnorm=False)], ["bn", "no_bn"]
    return [config], ["bn" if config.batchnorm else "no_bn"]


def run_names(run_ids):
    return [t(RUN_KEYS[r]) for r in run_ids]


def drawable(records):
    """True when at least one run has a record point to draw."""
    return any(r is not None and r.snapshots for r in records)


class TrainControl:
    """When the Playground trains, over the session state (testable without a running app):

    - the first load, or a link just opened, trains at once (autostart);
    - otherwise the Train button trains; configs already trained are shown at once;
    - a rerun while training (another widget moved) goes on following the same training;
    - Stop (a button callback) ends this session's training: what was trained so far stays on screen, marked
      stopped, until the settings change or Train is pressed.
    """

    AUTOTRAIN = "pg_autotrain"  # train without a click on the next run
    PARTIAL = "pg_partial"  # (configs, records) of the training in progress or last stopped: one, never a list
    STOPPED = "pg_stopped"  # Stop was pressed for the training in PARTIAL

    def __init__(self, state):
        self.state = state

    def autostart(self):
        self.state[self.AUTOTRAIN] = True

    def stop(self):
        """The Stop button's callback."""
        self.state[self.STOPPED] = True

    def decide(self, configs, ready, pressed, all_cached):
        """"train" (train, follow or show what is cached), "partial" (show the stopped run) or "idle"."""
        autostart = self.state.pop(self.AUTOTRAIN, False)
        if not ready:
            return "idle"
        if all_cached or pressed or autostart:
            self.state.pop(self.STOPPED, None)
            return "train"
        if self.partial(configs) is None:
            return "idle"
        return "partial" if self.state.get(self.STOPPED) else "train"

    def remember(self, configs, records):
        """Keep the records of the training in progress, so a Stop (which reruns the script) can show them."""
        self.state[self.PARTIAL] = (tuple(configs), records)

    def partial(self, configs):
        """The records of the training in progress or stopped, for exactly these configs, or None."""
        kept = self.state.get(self.PARTIAL)
        return None if kept is None or kept[0] != tuple(configs) else kept[1]

    def finished(self):
        self.state.pop(self.PARTIAL, None)
        self.state.pop(self.STOPPED, None)


def is_stopped(record):
    return record is None or not record.done


# ---- CSV upload ----



def upload_digest(data, label):
    """The data_id of an upload: a digest of the bytes and the label column, so other data is another cache key."""
    return hashlib.sha256(data + b"\0" + str(label).encode()).hexdigest()[:16]


def read_upload(state, data, label, config):
    """``(dataset, features, error)`` for uploaded bytes: the Dataset split and preprocessed as the config asks,
    or the CsvError that says what is wrong. The last parse is kept (one per session), so reruns are cheap."""
    key = (upload_digest(data, label), config.preprocessing, config.test_fraction, config.seed)
    kept = state.get(UPLOAD)
    if kept is not None and kept[0] == key:
        return kept[1], kept[2], None
    try:
        dataset, features = load_csv_dataset(data, label, preprocessing=config.preprocessing,
                                             test_fraction=config.test_fraction, seed=config.seed)
    except CsvError as err:
        return None, None, err
    state[UPLOAD] = (key, dataset, features)
    return dataset, features, None


def boundary_grid(data, n=121):
    """``(xs, ys, points)``: an n×n grid over the 2-D data with a margin, points as (n·n, 2) float32."""
    X = np.vstack([data.X_train, data.X_test]).astype(float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.08, 0.1)
    xs, ys = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n), np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)


def predict_grid(record, points, n):
    """The class the run's model predicts (eval mode) at each grid point, as an (n, n) array; None for a run that
    diverged or has no weights yet."""
    if record is None or record.weights is None or record.status == "diverged" or not record.snapshots:
        return None
    model = record.build_model()
    if not all(np.all(np.isfinite(p)) for p in model.parameters().values()):
        return None
    with np.errstate(all="ignore"):
        return model.predict(points).reshape(n, n)


def boundary_titles(records, names):
    """Each decision-boundary panel's title: the run's name and, once it has recorded, its test accuracy."""
    return [name if r is None or not r.snapshots else
            t("playground.boundary_panel", name=name, acc=fmt_pct(r.metric("test_acc")[-1], 1))
            for r, name in zip(records, names)]


def export_csv(records, run_ids):
    """One CSV of every run's records (RunRecord.to_csv()), a ``run`` column first (with_bn / without_bn)."""
    frames = []
    for record, run in zip(records, run_ids):
        if record is None or not record.snapshots:
            continue
        frame = pd.read_csv(io.StringIO(record.to_csv()))
        frame.insert(0, "run", {"bn": "with_bn", "no_bn": "without_bn"}[run])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).to_csv(index=False) if frames else ""


# ---- "What this run shows" ----

def accuracy_target(records, chance):
    """A test-accuracy level worth reaching: 90% of the best accuracy any run reached, down to a multiple of 5%;
    None when no run got clearly above chance."""
    best = max((float(np.nanmax(r.metric("test_acc"))) for r in records if r is not None and r.snapshots),
               default=0.0)
    target = math.floor(best * 0.9 * 20) / 20
    return target if target > chance + 0.05 else None


def takeaways(records, run_ids, chance):
    """Sentences built from the numbers of the runs on screen (each starts with a capital: names are lower case)."""
    return [s[:1].upper() + s[1:] for s in _sentences(records, run_ids, chance)]


def _sentences(records, run_ids, chance):
    names = run_names(run_ids)
    runs = [(r, n) for r, n in zip(records, names) if r is not None and r.snapshots]
    out = []
    for r, name in runs:
        out.append(t("playground.tk_final", name=name, acc=fmt_pct(r.metric("test_acc")[-1], 1),
                     step=int(r.steps[-1]), loss=fmt_num(r.metric("test_loss")[-1])))
    for r, name in zip(records, names):
        if r is not None and r.divergence is not None:
            out.append(t("playground.tk_diverged", name=name, step=r.divergence.step,
                         reason=t(f"divergence.{r.divergence.reason}")))
        elif r is None:
            out.append(t("playground.not_started", name=name))
        elif is_stopped(r):
            out.append(t("playground.tk_stopped", name=name, step=r.steps_done))
    target = accuracy_target(records, chance)
    if target is None:
        if any(r.divergence is None for r, _ in runs):  # a diverged run's fix is said already
            out.append(t("playground.tk_chance", chance=fmt_pct(chance)))
        return out
    hits = [(r.first_step_reaching(target), name, r) for r, name in runs]
    pct = fmt_pct(target)
    if len(hits) == 1:
        step, name, r = hits[0]
        out.append(t("playground.tk_reach_single", name=name, target=pct, step=step))
        return out
    (s1, n1, r1), (s2, n2, r2) = hits[0], hits[1]
    if s1 is not None and s2 is not None:
        if s1 == s2:
            out.append(t("playground.tk_reach_same", target=pct, step=s1))
        else:
            (fs, fast), (ss, slow) = sorted([(s1, n1), (s2, n2)])
            ratio = ss / fs if fs > 0 else math.inf
            out.append(t("playground.tk_reach_faster", fast=fast, slow=slow, target=pct, fast_step=fs,
                         slow_step=ss, ratio=fmt_num(ratio, 2) if math.isfinite(ratio) else "∞"))
    else:
        (step, name, _), (_, other, r_other) = (hits[0], hits[1]) if s1 is not None else (hits[1], hits[0])
        out.append(t("playground.tk_reach_one", name=name, target=pct, step=step, other=other,
                     steps=r_other.steps_done))
    a1, a2 = r1.metric("test_acc")[-1], r2.metric("test_acc")[-1]
    if r1.status == r2.status == "finished":
        diff = abs(a1 - a2) * 100
        if diff < 0.5:
            out.append(t("playground.tk_final_same"))
        else:
            better, worse = (n1, n2) if a1 > a2 else (n2, n1)
            out.append(t("playground.tk_final_better", better=better, worse=worse, points=fmt_num(diff, 2)))
    return out


def default_plan():
    """(config, mode) of the default experiment, as a plain first visit opens it."""
    config, mode, _ = query_to_config({})
    return config, mode


def seed_comparisons(groups, run_ids):
    """lab.lessons.seeds Comparisons (without BN, with BN) for the repeat of a compare-mode experiment: final test
    accuracy and loss. ``groups``: per seed, the records in the order of ``run_ids``."""
    a, b = run_ids.index("no_bn"), run_ids.index("bn")
    return [seeds.compare(name, kind, [seeds.final(g[a], metric) for g in groups],
                          [seeds.final(g[b], metric) for g in groups])
            for name, kind, metric in ((t("playground.seed_acc"), "pct", "test_acc"),
                                       (t("playground.seed_loss"), "num", "test_loss"))]
