"""Seed noise: a comparison repeated over N_SEEDS seeds, its mean and spread beside the single run, and the rule
that calls a difference "within seed noise". Shared by the inputs, covariate-shift and Playground lessons. No
streamlit.

A seed sets the initial weights, the order of the mini-batches and (for the bundled data sets) the train/test split.
The page's own seed is the first of the N_SEEDS, so its runs are reused from the cache.

The rule: over the seeds, each side of a comparison has a mean and a spread, the range max − min. A difference of
the two means no larger than the wider of the two ranges is **within seed noise** (another seed could plausibly
reverse it); a larger one is beyond seed noise. With fewer than two finished seeds on a side there is no spread, and
no verdict.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lab.i18n import fmt_num, fmt_pct, t
from lab.lessons.common import last

N_SEEDS = 5
KINDS = ("pct", "pp", "num")  # an accuracy (a share), a difference of accuracies, or a plain number


def seeds(seed):
    """The seeds of a repeat: the page's seed first, then the next ones."""
    return [int(seed) + k for k in range(N_SEEDS)]


def per_seed(configs, seed):
    """``configs`` once per seed (a list of lists, the page's seed first); only the seed differs."""
    return [[c.replace(seed=s) for c in configs] for s in seeds(seed)]


def final(record, metric):
    """A finished run's last recorded ``metric``; NaN for a run that diverged, stopped or has no record."""
    return last(record, metric) if record is not None and record.status == "finished" else float("nan")


@dataclass(frozen=True)
class Spread:
    """One quantity over the seeds: the finite values (one per seed that gave one) and how many seeds were asked."""

    values: tuple
    n: int

    @classmethod
    def of(cls, values):
        v = [float(x) for x in values]
        return cls(tuple(x for x in v if np.isfinite(x)), len(v))

    @property
    def ok(self):
        """Enough finished seeds to have a spread."""
        return len(self.values) >= 2

    @property
    def mean(self):
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def lo(self):
        return min(self.values, default=float("nan"))

    @property
    def hi(self):
        return max(self.values, default=float("nan"))

    @property
    def range(self):
        """max − min over the seeds: the spread the rule uses."""
        return self.hi - self.lo

    @property
    def dropped(self):
        return self.n - len(self.values)


def within_seed_noise(a, b):
    """True when |mean(a) − mean(b)| ≤ max(range(a), range(b)); False when larger; None without two finished seeds
    on each side."""
    if not (a.ok and b.ok):
        return None
    return abs(a.mean - b.mean) <= max(a.range, b.range)


@dataclass(frozen=True)
class Comparison:
    """One measure of the two runs a page compares (``a`` first: without BN), over the seeds and on the page's own."""

    measure: str  # its name, translated
    kind: str  # one of KINDS: how its numbers are written
    single: tuple  # (a, b) on the page's own seed
    a: Spread
    b: Spread

    @property
    def verdict(self):
        return within_seed_noise(self.a, self.b)


def compare(measure, kind, per_seed_a, per_seed_b):
    """A Comparison from one value per seed on each side, the page's seed first."""
    return Comparison(measure, kind, (float(per_seed_a[0]), float(per_seed_b[0])), Spread.of(per_seed_a),
                      Spread.of(per_seed_b))


def value_text(x, kind):
    if not np.isfinite(x):
        return "—"
    if kind == "pct":
        return fmt_pct(x, 1)
    if kind == "pp":
        return t("seeds.pp", x=fmt_num(100 * x, 2))
    return fmt_num(x, 3)


def diff_text(x, kind):
    """A difference of two values of ``kind``: accuracies differ by percentage points."""
    return t("seeds.pp", x=fmt_num(100 * x, 2)) if kind in ("pct", "pp") else fmt_num(x, 3)


def spread_text(spread, kind):
    """"mean (lowest–highest)" over the seeds; percentage points are named once, after the three numbers."""
    if not spread.values:
        return "—"
    inner = "num" if kind == "pp" else kind
    scale = 100 if kind == "pp" else 1
    text = t("seeds.mean_range", mean=value_text(scale * spread.mean, inner), lo=value_text(scale * spread.lo, inner),
             hi=value_text(scale * spread.hi, inner))
    return t("seeds.pp", x=text) if kind == "pp" else text


VERDICT_KEYS = {True: "seeds.verdict_within", False: "seeds.verdict_beyond", None: "seeds.verdict_none"}


def table(comparisons, names, seed):
    """The repeat's table: per measure, each side on the page's seed and over the seeds, and the verdict."""
    a, b = names
    columns = [t("seeds.col_measure"), t("seeds.col_single", name=a, seed=seed),
               t("seeds.col_spread", name=a, n=N_SEEDS), t("seeds.col_single", name=b, seed=seed),
               t("seeds.col_spread", name=b, n=N_SEEDS), t("seeds.col_verdict")]
    rows = [(c.measure, value_text(c.single[0], c.kind), spread_text(c.a, c.kind), value_text(c.single[1], c.kind),
             spread_text(c.b, c.kind), t(VERDICT_KEYS[c.verdict])) for c in comparisons]
    return pd.DataFrame(rows, columns=columns)


def sentences(comparisons, names):
    """One sentence per measure, chosen by the rule; then which runs lost seeds to divergence."""
    out = []
    for c in comparisons:
        params = dict(measure=c.measure, a_name=names[0], b_name=names[1], a=spread_text(c.a, c.kind),
                      b=spread_text(c.b, c.kind), n=N_SEEDS)
        verdict = c.verdict
        if verdict is None:
            out.append(t("seeds.say_none", **params))
            continue
        params.update(diff=diff_text(abs(c.a.mean - c.b.mean), c.kind),
                      spread=diff_text(max(c.a.range, c.b.range), c.kind))
        out.append(t("seeds.say_within" if verdict else "seeds.say_beyond", **params))
    for name, side in zip(names, ("a", "b")):
        dropped = max((getattr(c, side).dropped for c in comparisons), default=0)
        if dropped:
            out.append(t("seeds.say_dropped", k=dropped, n=N_SEEDS, name=name))
    return [s[:1].upper() + s[1:] for s in out]  # measure names are lower case
