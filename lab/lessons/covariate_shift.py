"""Internal covariate shift (the paper's Figure 1): the experiment's configs and the numbers its sentences quote.

Pure functions over finished RunRecords; sentences are built from those numbers with ``t`` (the user's language).
"""
import warnings

import numpy as np

from bn_core import PERCENTILES
from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons import seeds
from lab.lessons.common import PAPER_NET, bn_pair

STEPS_CHOICES = (500, 1000, 2000, 3000, 5000)
SIGMA_CHOICES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
LR_CHOICES = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
DEFAULT_STEPS, DEFAULT_SIGMA, DEFAULT_LR = 2000, 0.05, 0.5
SETTLE = 0.1  # the first 10% of training is skipped when measuring how far a distribution keeps moving
ACC_TARGET = 0.9
CLEARLY = 1.25  # one number is "clearly" larger than another past this ratio; closer is "about the same"
MEDIAN = PERCENTILES.index(50)


def configs(steps=DEFAULT_STEPS, sigma=DEFAULT_SIGMA, lr=DEFAULT_LR, seed=0):
    """(with BN, without BN): the paper's Figure 1 set-up on the bundled digits, same seed, same batches."""
    config = PAPER_NET.replace(init_sigma=sigma, lr=lr, steps=steps, seed=seed, record_every=max(10, steps // 40))
    return bn_pair(config)


def unit_percentiles(record):
    """(records, units, PERCENTILES) of the last hidden layer's sigmoid input, per unit."""
    return np.array([s.unit_percentiles for s in record.snapshots])


def settled(record, settle=SETTLE):
    """Mask of the records after the first ``settle`` share of the steps run."""
    steps = record.steps
    return steps >= settle * steps[-1]


def median_movement(record, settle=SETTLE):
    """Per unit of the last hidden layer: how far its median sigmoid input ranged (max − min) after the first
    ``settle`` share of training. NaN when fewer than two records are left."""
    med = unit_percentiles(record)[settled(record, settle), :, MEDIAN]
    if len(med) < 2:
        return np.full(med.shape[1] if med.ndim == 2 else 0, np.nan)
    return med.max(axis=0) - med.min(axis=0)


def default_unit(without_bn):
    """The unit whose median moves most without BN: the paper's picture at its clearest."""
    movement = median_movement(without_bn)
    return int(np.nanargmax(movement)) if np.isfinite(movement).any() else 0


def mean_drift(record):
    """Per hidden layer, the drift (record.layer_series "drift") averaged over training; NaN without records."""
    out = []
    for i in range(record.n_layers):
        d = record.layer_series(i, "drift")
        d = d[np.isfinite(d)]
        out.append(float(d.mean()) if len(d) else np.nan)
    return np.array(out)


def ratio(a, b):
    return a / b if b > 0 else np.inf


def comparison(without, with_):
    """"less" when BN's number is clearly smaller, "more" when clearly larger, else "same"."""
    if without > CLEARLY * with_:
        return "less"
    if with_ > CLEARLY * without:
        return "more"
    return "same"


def accuracy_sentences(with_bn, without_bn, target=ACC_TARGET):
    steps = max(with_bn.steps_done, without_bn.steps_done)
    out = [t("ics.say_accuracy", steps=steps, bn=fmt_pct(with_bn.metric("test_acc")[-1], 1),
             no_bn=fmt_pct(without_bn.metric("test_acc")[-1], 1))]
    a, b = with_bn.first_step_reaching(target), without_bn.first_step_reaching(target)
    goal = fmt_pct(target)
    if a is not None and b is not None:
        if a < b:
            out.append(t("ics.say_reach_bn_sooner", target=goal, a=a, b=b, ratio=fmt_num(ratio(b, max(a, 1)), 2)))
        elif b < a:
            out.append(t("ics.say_reach_no_bn_sooner", target=goal, a=a, b=b))
        else:
            out.append(t("ics.say_reach_same", target=goal, a=a))
    elif a is not None:
        out.append(t("ics.say_reach_only_bn", target=goal, a=a, steps=steps))
    elif b is not None:
        out.append(t("ics.say_reach_only_no_bn", target=goal, b=b, steps=steps))
    else:
        out.append(t("ics.say_reach_neither", target=goal, steps=steps))
    return out


def shift_sentences(with_bn, without_bn, unit):
    """The unit's and the layer's median movement, then the per-layer drift, each with a verdict by the numbers."""
    out = []
    m_bn, m_no = median_movement(with_bn), median_movement(without_bn)
    if np.isfinite(m_bn[unit]) and np.isfinite(m_no[unit]):
        out.append(t("ics.say_unit", unit=unit, settle=fmt_pct(SETTLE), no_bn=fmt_num(m_no[unit], 2),
                     bn=fmt_num(m_bn[unit], 2))
                   + _verdict("unit", m_no[unit], m_bn[unit]))
        if unit == default_unit(without_bn):  # the preselected unit is cherry-picked: say so
            out.append(t("ics.say_unit_picked", unit=unit))
        out.append(t("ics.say_all_units", n=len(m_bn), no_bn=fmt_num(np.nanmean(m_no), 2),
                     bn=fmt_num(np.nanmean(m_bn), 2))
                   + _verdict("units", np.nanmean(m_no), np.nanmean(m_bn)))
    d_bn, d_no = mean_drift(with_bn), mean_drift(without_bn)
    ok = np.isfinite(d_bn) & np.isfinite(d_no)
    if ok.any():
        out.append(t("ics.say_drift", no_bn=", ".join(fmt_num(v, 2) for v in d_no[ok]),
                     bn=", ".join(fmt_num(v, 2) for v in d_bn[ok]), every=with_bn.record_every))
        verdicts = [comparison(n, b) for n, b in zip(d_no[ok], d_bn[ok])]
        fewer = verdicts.count("less")
        if fewer == len(verdicts):
            out.append(t("ics.say_claim_holds"))
        elif fewer == 0:
            out.append(t("ics.say_claim_fails"))
        else:
            out.append(t("ics.say_claim_mixed", k=fewer, n=len(verdicts)))
    return out


def _verdict(kind, without, with_):
    """"BN k× steadier" / "about the same" / "moved more with BN", for one unit or the layer's average."""
    c = comparison(without, with_)
    if c == "less":
        times = fmt_num(ratio(without, with_), 2)
        return t("ics.verdict_unit_less", ratio=times) if kind == "unit" else t("ics.verdict_units_less", ratio=times)
    if c == "more":
        return t("ics.verdict_unit_more") if kind == "unit" else t("ics.verdict_units_more")
    return t("ics.verdict_same")


def sentences(with_bn, without_bn, unit):
    """Every sentence of the "What this run shows" box, from the two records of the run on screen."""
    if len(with_bn.snapshots) < 2 or len(without_bn.snapshots) < 2:
        return [t("ics.say_too_short")]
    return accuracy_sentences(with_bn, without_bn) + shift_sentences(with_bn, without_bn, unit)


# --- The comparison over seeds -------------------------------------------------------------------------------------


def _if_finished(record, value):
    return value(record) if record is not None and record.status == "finished" and record.snapshots else np.nan


def seed_comparisons(groups):
    """lab.lessons.seeds Comparisons (without BN, with BN) for the repeat: test accuracy, how far the last layer's
    medians move (the mean over all units, not a picked one), and the drift. ``groups``: per seed, (without BN, with
    BN) records."""
    measures = (
        (t("ics.seed_acc"), "pct", lambda r: seeds.final(r, "test_acc")),
        (t("ics.seed_movement", settle=fmt_pct(SETTLE)), "num", lambda r: float(np.nanmean(median_movement(r)))),
        (t("ics.seed_drift"), "num", lambda r: float(np.nanmean(mean_drift(r)))),
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a mean over no finite value is NaN: left out by the rule
        return [seeds.compare(name, kind, [_if_finished(g[0], f) for g in groups],
                              [_if_finished(g[1], f) for g in groups]) for name, kind, f in measures]
