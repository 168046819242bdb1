"""Playground challenges: a goal with a numeric target, checked on the finished run. No streamlit.

A challenge is the experiment it starts from (a TrainConfig and a mode), the knobs the student may change (the others
are hidden and fixed), and ``check(records) -> Verdict``: whether the run met the target, how close it came and which
hint fits, all computed from the run's numbers (never a stored answer). The link ``?challenge=N`` opens challenge N.
"""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bn_core import TrainConfig
from lab.i18n import fmt_pct, t
from lab.lessons import playground as pg
from lab.lessons.common import last
from lab.urlparams import KNOB_BY_URL, config_values, parse_query

OPENED = "pg_challenge"  # session key: the challenge whose starting knobs the widgets hold

# The label of each knob a challenge may leave free (the Playground's own labels).
KNOB_LABEL_KEYS = {"prep": "playground.preprocessing", "init": "playground.init", "sigma": "playground.sigma",
                   "lr": "playground.lr", "batch": "playground.batch"}


@dataclass(frozen=True)
class Verdict:
    met: bool
    closeness: float  # 0..1: the mean progress of the run towards each target (1 when every one is met)
    hint: str | None  # i18n key of the hint after a miss, chosen from the run's numbers; None when met
    facts: tuple  # sentences: what the run measured, against each target
    hint_params: dict | None = None


@dataclass(frozen=True)
class Challenge:
    title: str  # i18n keys of its title and its goal
    goal: str
    start: TrainConfig  # the experiment it opens (steps and everything not free are fixed)
    mode: str  # compare or single
    free: tuple  # URL names of the knobs the student may change
    check: Callable  # (records of pg.run_plan's runs) -> Verdict
    targets: tuple = ()  # (placeholder, value) pairs of the goal's text: the numbers the check uses

    def values(self):
        """The starting knob values, by URL name."""
        return config_values(self.start, self.mode)

    def hidden(self):
        return tuple(url for url in KNOB_BY_URL if url not in self.free)

    def goal_text(self):
        return t(self.goal, steps=self.start.steps, **dict(self.targets))


# ---- measuring a run ----

def chance(record):
    return 1.0 / record.sizes[-1]


def best_acc(record):
    """The best test accuracy the run recorded (a diverged run: before it diverged); 0 without a finite record."""
    acc = record.metric("test_acc")
    acc = acc[np.isfinite(acc)]
    return float(acc.max()) if len(acc) else 0.0


def final_acc(record):
    """The last finite recorded test accuracy; a diverged run has none (its model is broken): chance level."""
    acc = last(record, "test_acc")
    return chance(record) if record.divergence is not None or not np.isfinite(acc) else acc


def progress(value, start, target):
    """How far ``value`` went from ``start`` towards ``target``, clipped to [0, 1]."""
    return float(np.clip((value - start) / (target - start), 0.0, 1.0))


def run_with(records, batchnorm):
    return next(r for r in records if r.config.batchnorm == batchnorm)


def verdict(conditions, facts, hint, hint_params=None):
    """``conditions``: (met, progress) per target."""
    met = all(ok for ok, _ in conditions)
    closeness = 1.0 if met else min(0.99, float(np.mean([p for _, p in conditions])))
    return Verdict(met, closeness, None if met else hint, tuple(facts), None if met else hint_params)


def run_name(name_key):
    """A run's name at the start of a sentence ("with BN" -> "With BN")."""
    name = t(name_key)
    return name[:1].upper() + name[1:]


def acc_fact(name_key, record, target, steps):
    """"<run>: best test accuracy X (target: Y within N steps)", or the step it reached the target."""
    step = record.first_step_reaching(target)
    if step is not None:
        return t("challenges.fact_reached", name=run_name(name_key), target=fmt_pct(target), step=step)
    return t("challenges.fact_best", name=run_name(name_key), best=fmt_pct(best_acc(record), 1),
             target=fmt_pct(target), steps=steps)


def divergence_fact(name_key, record):
    if record.divergence is not None:
        return t("challenges.fact_diverged", name=run_name(name_key), step=record.divergence.step)
    return t("challenges.fact_not_diverged", name=run_name(name_key), best=fmt_pct(best_acc(record), 1))


# ---- the checks ----

REACH = 0.90  # challenge 1: test accuracy without BN
BN_TRAINS = 0.90  # challenge 2: test accuracy BN must reach
GAP = 0.20  # challenge 3: how far BN's final test accuracy must fall below no-BN's
LEARNS = 0.90  # challenge 3: test accuracy no-BN must reach (so the failure is BN's)


def check_init_prep(records):
    """Challenge 1: without BN, reach REACH test accuracy within the steps, by initialization and preprocessing."""
    run = run_with(records, False)
    steps = run.config.steps
    met = run.first_step_reaching(REACH) is not None
    best = best_acc(run)
    if run.divergence is not None:
        hint = "challenges.init_prep_hint_diverged"
    elif best < chance(run) + 0.1:
        hint = "challenges.init_prep_hint_stuck"
    else:
        hint = "challenges.init_prep_hint_slow"
    return verdict([(met, progress(best, chance(run), REACH))], [acc_fact("common.without_bn", run, REACH, steps)],
                   hint, {"best": fmt_pct(best, 1), "steps": steps})


def check_lr(records):
    """Challenge 2: a learning rate at which the run with BN reaches BN_TRAINS and the run without BN diverges."""
    bn, no_bn = run_with(records, True), run_with(records, False)
    bn_ok = bn.first_step_reaching(BN_TRAINS) is not None
    diverged = no_bn.divergence is not None
    hint = "challenges.lr_hint_lower" if diverged or bn.divergence is not None else "challenges.lr_hint_higher"
    facts = [acc_fact("common.with_bn", bn, BN_TRAINS, bn.config.steps), divergence_fact("common.without_bn", no_bn)]
    return verdict([(bn_ok, progress(best_acc(bn), chance(bn), BN_TRAINS)), (diverged, float(diverged))], facts,
                   hint, {"lr": f"{bn.config.lr:g}"})


def check_small_batch(records):
    """Challenge 3: a batch size at which the run without BN learns (LEARNS) and the run with BN ends at least GAP
    below it in test accuracy (or diverges)."""
    bn, no_bn = run_with(records, True), run_with(records, False)
    learns = no_bn.first_step_reaching(LEARNS) is not None
    gap = final_acc(no_bn) - final_acc(bn)
    fails = bn.divergence is not None or gap >= GAP
    facts = [acc_fact("common.without_bn", no_bn, LEARNS, no_bn.config.steps),
             t("challenges.fact_gap", gap=f"{100 * gap:.1f}", target=f"{100 * GAP:.0f}",
               bn=fmt_pct(final_acc(bn), 1), no_bn=fmt_pct(final_acc(no_bn), 1))]
    hint = "challenges.small_batch_hint_smaller" if learns else "challenges.small_batch_hint_no_bn"
    return verdict([(learns, progress(best_acc(no_bn), chance(no_bn), LEARNS)),
                    (fails, 1.0 if fails else progress(gap, 0.0, GAP))], facts, hint,
                   {"batch": bn.config.batch_size, "gap": f"{100 * max(gap, 0.0):.1f}"})


CHALLENGES = (
    Challenge("challenges.init_prep_title", "challenges.init_prep_goal",
              TrainConfig(batchnorm=False, preprocessing="unit", init="truncated_normal", init_sigma=0.1, steps=500),
              "single", ("prep", "init", "sigma"), check_init_prep, (("target", fmt_pct(REACH)),)),
    Challenge("challenges.lr_title", "challenges.lr_goal", TrainConfig(activation="relu", steps=500), "compare",
              ("lr",), check_lr, (("target", fmt_pct(BN_TRAINS)),)),
    Challenge("challenges.small_batch_title", "challenges.small_batch_goal",
              TrainConfig(dataset="circles", hidden=(16, 16), activation="relu", init="he", lr=0.1, batch_size=30,
                          steps=1000), "compare", ("batch",), check_small_batch,
              (("target", fmt_pct(LEARNS)), ("gap", f"{100 * GAP:.0f}"))),
)


def get(number):
    """Challenge ``number`` (1-based, as in the link), or None for 0."""
    return CHALLENGES[number - 1] if number else None


def judge(challenge, records):
    """The challenge's verdict on the runs on screen; None until every run has finished or diverged (a stopped
    run is not judged)."""
    if challenge is None or not records or any(r is None or not r.done or not r.snapshots for r in records):
        return None
    return challenge.check(records)


def free_labels(challenge):
    return [t(KNOB_LABEL_KEYS[url]) for url in challenge.free]


# ---- the widgets (session state as a plain mapping) ----

def apply(state, query_params, number):
    """Set the Playground's widgets for challenge ``number`` (0: none) and return it. When it was just opened: its
    starting knobs, except free knobs the URL sets (a shared link of an attempt); on every run: its fixed knobs, so
    only the free ones can move."""
    challenge = get(number)
    if challenge is None:
        state.pop(OPENED, None)
        return None
    start = challenge.values()
    if state.get(OPENED) != number:
        free = [KNOB_BY_URL[url] for url in challenge.free]
        linked, _ = parse_query(pg.knob_query(query_params), free, start)  # a garbage value was reported already
        for url, value in {**start, **linked}.items():
            state[pg.WIDGET + url] = value
        state[OPENED] = number
        pg.TrainControl(state).autostart()
    else:
        for url in challenge.hidden():
            state[pg.WIDGET + url] = start[url]
    return challenge
