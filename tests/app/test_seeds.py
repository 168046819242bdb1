"""Seed noise: the "within seed noise" rule on both sides, the comparisons each lesson builds, and the repeat button on
the inputs, covariate-shift and Playground pages in both languages (tiny configs)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import streamlit as st
from apptest_util import all_text, no_exception, open_page

from bn_core import build_model, load_data, train
from lab.i18n import LANGS, translate
from lab.lessons import covariate_shift as ics
from lab.lessons import inputs, seeds
from lab.lessons import playground as pg
from lab.lessons.common import PAPER_NET
from lab.runs import cached

Spread = seeds.Spread.of


# --- The rule -----------------------------------------------------------------------------------------------------

def test_a_difference_no_larger_than_the_wider_range_is_within_seed_noise():
    a = Spread([0.90, 0.92, 0.94])  # mean 0.92, range 0.04
    assert seeds.within_seed_noise(a, Spread([0.94, 0.95, 0.96])) is True  # means 0.03 apart
    assert seeds.within_seed_noise(a, Spread([0.96, 0.97, 0.98])) is False  # 0.05 apart, ranges 0.04
    assert seeds.within_seed_noise(a, Spread([0.93])) is None  # one seed: no spread
    assert seeds.within_seed_noise(Spread([0.9, float("nan")]), a) is None  # one finished seed


def test_the_wider_of_the_two_ranges_decides():
    narrow, wide = Spread([0.50, 0.50, 0.51]), Spread([0.40, 0.55, 0.70])
    assert seeds.within_seed_noise(narrow, wide) is True  # 0.047 apart, the wide side spans 0.30
    assert seeds.within_seed_noise(narrow, Spread([0.60, 0.61, 0.61])) is False  # 0.10 apart, ranges ≤ 0.01


@pytest.mark.parametrize("a, b, within", [
    ([1.0, 2.0], [2.0, 3.0], True),  # means 1 apart, ranges 1: on the boundary counts as within
    ([1.0, 2.0], [2.5, 3.5], False),  # 1.5 apart
    ([5.0, 5.0], [5.0, 5.0], True),  # no difference, no spread
    ([5.0, 5.0], [5.1, 5.1], False),  # a difference, no spread at all: beyond
])
def test_the_rule_on_both_sides_of_its_boundary(a, b, within):
    assert seeds.within_seed_noise(Spread(a), Spread(b)) is within
    assert seeds.within_seed_noise(Spread(b), Spread(a)) is within  # symmetric


def test_a_spread_keeps_finite_values_and_counts_the_rest():
    s = Spread([0.9, float("nan"), 0.7, float("inf"), 0.8])
    assert s.values == (0.9, 0.7, 0.8) and s.n == 5 and s.dropped == 2
    assert s.mean == pytest.approx(0.8) and (s.lo, s.hi) == (0.7, 0.9) and s.range == pytest.approx(0.2)
    empty = Spread([float("nan")])
    assert not empty.ok and math.isnan(empty.mean) and seeds.spread_text(empty, "num") == "—"


def test_seeds_start_with_the_pages_seed_and_only_the_seed_differs():
    assert seeds.seeds(7) == [7, 8, 9, 10, 11] and seeds.N_SEEDS == 5
    config = PAPER_NET.replace(steps=30)
    groups = seeds.per_seed([config, config.replace(batchnorm=False)], 7)
    assert [g[0].seed for g in groups] == [7, 8, 9, 10, 11] and groups[0][0] == config.replace(seed=7)
    assert all(g[1] == g[0].replace(batchnorm=False) for g in groups)


def record(status="finished", acc=0.9, loss=0.3):
    return SimpleNamespace(status=status, snapshots=[0], metric=lambda m: np.array({"test_acc": acc,
                                                                                      "test_loss": loss}[m], ndmin=1))


def test_final_is_nan_unless_the_run_finished():
    assert seeds.final(record(), "test_acc") == 0.9
    for status in ("diverged", "stopped"):
        assert math.isnan(seeds.final(record(status), "test_acc"))
    assert math.isnan(seeds.final(None, "test_acc"))


@pytest.mark.parametrize("a, b, key", [
    ([0.90, 0.92, 0.94], [0.91, 0.93, 0.95], "seeds.say_within"),
    ([0.90, 0.91, 0.90], [0.97, 0.98, 0.97], "seeds.say_beyond"),
    ([0.90, np.nan, np.nan], [0.97, 0.98, 0.97], "seeds.say_none"),
])
def test_each_sentence_is_chosen_by_the_rule(monkeypatch, a, b, key):
    monkeypatch.setattr(seeds, "t", lambda key, **p: key)
    said = seeds.sentences([seeds.compare("m", "pct", a, b)], ("no", "yes"))
    assert said[0] == key[:1].upper() + key[1:]
    assert (len(said) == 2) == any(np.isnan(a))  # a dropped seed is said


@pytest.mark.parametrize("lang", LANGS)
def test_sentences_and_table_quote_the_numbers(lang):
    st.session_state["lang"] = lang
    c = seeds.compare("test accuracy", "pct", [0.90, 0.91, 0.90, 0.92, 0.90], [0.97, 0.98, 0.97, 0.96, 0.99])
    (sentence,) = seeds.sentences([c], ("A", "B"))
    assert "90.6%" in sentence and "97.4%" in sentence and "{" not in sentence
    assert translate(lang, "seeds.pp", x="6.8") in sentence  # the difference of the means in percentage points
    table = seeds.table([c], ("A", "B"), seed=3)
    assert list(table.iloc[0]) == ["test accuracy", "90.0%", translate(lang, "seeds.mean_range", mean="90.6%",
                                                                       lo="90.0%", hi="92.0%"),
                                   "97.0%", translate(lang, "seeds.mean_range", mean="97.4%", lo="96.0%", hi="99.0%"),
                                   translate(lang, "seeds.verdict_beyond")]
    assert translate(lang, "seeds.col_single", name="A", seed=3) in table.columns


# --- What each lesson compares ------------------------------------------------------------------------------------

def test_inputs_compares_the_spread_across_choices_and_each_choice():
    # per seed: (c1 BN, c1 no BN, c2 BN, c2 no BN)
    groups = [[record(acc=0.9), record(acc=0.6), record(acc=0.92), record(acc=0.8)],
              [record(acc=0.91), record(acc=0.5), record(acc=0.93), record("diverged")]]
    spread, first, second = inputs.seed_comparisons(["c1", "c2"], groups)
    assert spread.kind == "pp" and spread.single == pytest.approx((0.2, 0.02))
    assert spread.a.values == pytest.approx((0.2,)) and spread.a.dropped == 1  # a diverged run: no spread that seed
    assert first.a.values == (0.6, 0.5) and first.b.values == (0.9, 0.91) and second.a.dropped == 1


def test_covariate_shift_compares_all_units_not_the_picked_one(monkeypatch):
    runs = {name: record() for name in ("no0", "bn0", "no1", "bn1")}
    movement = {id(runs["no0"]): [1.0, 3.0], id(runs["bn0"]): [0.2, 0.4], id(runs["no1"]): [2.0, 2.0],
                id(runs["bn1"]): [0.3, 0.3]}
    monkeypatch.setattr(ics, "median_movement", lambda r: np.array(movement[id(r)]))
    monkeypatch.setattr(ics, "mean_drift", lambda r: np.array([0.1, 0.3]))
    acc, move, drift = ics.seed_comparisons([(runs["no0"], runs["bn0"]), (runs["no1"], runs["bn1"])])
    assert move.a.values == (2.0, 2.0) and move.b.values == pytest.approx((0.3, 0.3)) and move.verdict is False
    assert drift.a.values == pytest.approx((0.2, 0.2)) and acc.kind == "pct"


def test_playground_puts_without_bn_first_whatever_the_run_order():
    groups = [[record(acc=0.9), record(acc=0.7)], [record(acc=0.95), record(acc=0.75)]]
    acc, loss = pg.seed_comparisons(groups, ["bn", "no_bn"])
    assert acc.a.values == (0.7, 0.75) and acc.b.values == (0.9, 0.95) and loss.kind == "num"


# --- The repeat button on the pages, in both languages ------------------------------------------------------------

def shown_repeat(at, lang, n_measures):
    """The repeat's table and its box are on the page, with a verdict per measure."""
    no_exception(at)
    text = all_text(at)
    assert translate(lang, "seeds.takeaways", n=seeds.N_SEEDS) in text
    (table,) = [tb.value for tb in at.table if translate(lang, "seeds.col_verdict") in tb.value.columns]
    assert len(table) == n_measures
    verdicts = {translate(lang, k) for k in seeds.VERDICT_KEYS.values()}
    assert set(table.iloc[:, -1]) <= verdicts
    means = table.iloc[:, 2].tolist() + table.iloc[:, 4].tolist()  # mean (lowest–highest) over the seeds
    assert all("–" in m and m.count("(") + m.count("（") == 1 for m in means if m != "—")
    box = [m.value for m in at.markdown if str(m.value).startswith("- ")][-1]
    assert box.count("\n- ") + 1 >= n_measures
    said = {translate(lang, "seeds.verdict_within"), translate(lang, "seeds.verdict_beyond")}
    assert any(v in box for v in said) or translate(lang, "seeds.say_none").split("{")[0] in box
    return table


@pytest.mark.parametrize("lang", LANGS)
def test_inputs_page_repeats_over_seeds(monkeypatch, lang):
    monkeypatch.setattr(inputs, "BASE", inputs.BASE.replace(hidden=(8, 8), steps=20, record_every=10))
    monkeypatch.setattr(inputs, "STEPS", (20, 40))
    st.session_state["lang"] = lang
    seed = 300 + LANGS.index(lang)  # runs are cached process-wide: each language's test trains its own seeds
    at = open_page("pages/inputs.py", lang=lang, seed=seed)
    no_exception(at)
    before = len(at.table)
    at.button(key="inputs_seeds").click().run()
    table = shown_repeat(at, lang, n_measures=5)
    assert len(at.table) == before + 1
    assert table.iloc[0, 0] == translate(lang, "inputs.seed_spread")
    grid = inputs.grid("preprocessing", inputs.BASE.init, inputs.BASE.preprocessing, inputs.BASE.init_sigma, 20, seed)
    assert all(cached(c.replace(seed=s)) is not None for pair in grid.values() for c in pair for s in seeds.seeds(seed))


@pytest.mark.parametrize("lang", LANGS)
def test_covariate_shift_page_repeats_over_seeds(monkeypatch, lang):
    monkeypatch.setattr(ics, "PAPER_NET", PAPER_NET.replace(hidden=(8, 8)))
    monkeypatch.setattr(ics, "STEPS_CHOICES", (40, 80))
    monkeypatch.setattr(ics, "DEFAULT_STEPS", 40)
    st.session_state["lang"] = lang
    seed = 300 + LANGS.index(lang)
    at = open_page("pages/covariate_shift.py", lang=lang, seed=seed)
    no_exception(at)
    assert translate(lang, "seeds.takeaways", n=seeds.N_SEEDS) not in all_text(at)
    at.button(key="ics_seeds").click().run()
    table = shown_repeat(at, lang, n_measures=3)
    assert table.iloc[0, 0] == translate(lang, "ics.seed_acc")
    # the page's own run is the first seed's: its number is the single-seed column
    with_bn = cached(ics.configs(40, ics.DEFAULT_SIGMA, ics.DEFAULT_LR, seed)[0])
    assert table.iloc[0, 3] == seeds.value_text(with_bn.metric("test_acc")[-1], "pct")
    at.run()  # a rerun keeps the repeat on screen (cached), without a click
    shown_repeat(at, lang, n_measures=3)


@pytest.mark.parametrize("lang", LANGS)
def test_playground_repeats_a_comparison_over_seeds(lang):
    query = dict(data="xor", depth="1", width="8", steps="40", every="10")
    at = open_page("pages/playground.py", lang=lang, seed=300 + LANGS.index(lang), query=query)
    no_exception(at)
    at.button(key="pg_seeds").click().run()
    table = shown_repeat(at, lang, n_measures=2)
    assert list(table.iloc[:, 0]) == [translate(lang, "playground.seed_acc"), translate(lang, "playground.seed_loss")]


def test_playground_offers_no_repeat_in_single_mode():
    at = open_page("pages/playground.py", "en", seed=310, query=dict(data="xor", depth="1", width="8", steps="40",
                                                                       every="10", mode="single"))
    no_exception(at)
    assert not [b for b in at.button if b.key == "pg_seeds"]


def test_percentage_points_are_named_once_per_spread():
    spread = Spread([0.6, 0.7, 0.8])
    assert seeds.spread_text(spread, "pp") == "70 (60–80) percentage points"
    assert seeds.spread_text(spread, "pct") == "70.0% (60.0%–80.0%)"
    assert seeds.spread_text(spread, "num") == "0.7 (0.6–0.8)"


def test_a_seed_sets_the_weights_the_batches_and_the_split():
    """What the repeat's caption says a seed changes (the bundled digits)."""

    a, b = PAPER_NET.replace(steps=20, record_every=10), PAPER_NET.replace(steps=20, record_every=10, seed=1)
    data_a, data_b = load_data(a), load_data(b)
    assert not np.array_equal(data_a.y_train, data_b.y_train)  # another split
    assert sorted(data_a.y_train.tolist() + data_a.y_test.tolist()) == sorted(data_b.y_train.tolist() +
                                                                             data_b.y_test.tolist())  # same data
    w_a = build_model(a, data_a.n_features, data_a.n_classes).hidden[0].linear.W
    w_b = build_model(b, data_a.n_features, data_a.n_classes).hidden[0].linear.W
    assert not np.array_equal(w_a, w_b)  # other initial weights
    batches = {}
    for config in (a, b):
        labels = batches.setdefault(config.seed, [])
        train(config, on_step=lambda step, model, labels=labels: labels.append(model.hidden[0].bn.batch_mean.sum()))
    assert batches[0] != batches[1]  # other mini-batches (and weights) at every step
