"""Beyond the paper: the lesson's runs and what it keeps of them, every sentence on both sides of its condition, the
figures (BN and no BN told apart by line style and marker, not only colour), and the page in both languages."""
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apptest_util import all_text, no_exception, open_page
from conftest import in_language

import bn_core as bc
from bn_core import beyond
from lab import runs as run_cache
from lab.figures import beyond as fig
from lab.i18n import table, translate
from lab.lessons import beyond as lb

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/beyond.py"
# A few steps per run, two learning rates (one that diverges), two batch sizes: every chart has something to draw.
TINY = lb.Size(lr_grid=(0.3, 1e4), lr_steps=20, batch_sizes=(4, 64), batch_steps=10, run_steps=20)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(lb.SIZES, "default", TINY)


@pytest.fixture(scope="module")
def results():
    """Every experiment at TINY size, run through lab.runs and summarized as the page does."""
    saved = lb.SIZES["default"]
    lb.SIZES["default"] = TINY
    try:
        out = {}
        for name in lb.EXPERIMENTS:
            pairs = lb.experiment_runs(name, seed=1)
            out[name] = lb.summarize(name, pairs, run_cache.run_tasks(lb.tasks(name, pairs)))
        return out
    finally:
        lb.SIZES["default"] = saved


# --- fake results: a condition's two sides without training ---------------------------------------------------------

def run(series, acc=0.9, lr=0.5, batch=60, status="finished", stable=True, arrays=None, steps=2000):
    config = bc.TrainConfig(lr=lr, batch_size=batch, steps=steps)
    divergence = bc.Divergence(steps // 2, "nan_loss", float("nan")) if status == "diverged" else None
    return lb.Run(series, config, status, divergence, stable, np.array([0, steps]), np.array([0.1, acc]),
                  acc if status == "finished" else float("nan"), arrays or {})


def result(name, runs, **kwargs):
    return lb.Result(name, tuple(runs), sizes=kwargs.pop("sizes", (64, 100, 100, 100, 10)), **kwargs)


def en(key, **params):
    return translate("en", key, **params)


# --- the runs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", lb.EXPERIMENTS)
def test_default_runs_are_the_engines_experiments_from_one_start(name):
    assert lb.BASE == beyond.BASE
    pairs = lb.experiment_runs(name, seed=3)
    assert pairs == bc.experiment_configs(name, beyond.BASE.replace(seed=3))
    assert list(dict.fromkeys(s for s, _ in pairs)) == list(beyond.EXPERIMENT_SERIES[name])
    # same seed (so the same initial weights and mini-batches) in every run of the experiment
    assert {c.seed for _, c in pairs} == {3}
    assert {(s, c.batchnorm) for s, c in pairs} == {(s, s != beyond.NO_NORM) for s, _ in pairs}


def test_larger_size_is_a_finer_grid_over_the_default_and_longer_runs():
    default, larger = lb.SIZES["default"], lb.SIZES["larger"]
    assert set(default.lr_grid) < set(larger.lr_grid) and larger.lr_steps == default.lr_steps  # default runs reused
    assert larger.run_steps > default.run_steps and larger.batch_steps > default.batch_steps
    small = {c for _, c in lb.experiment_runs("lr_headroom", 0)}
    assert small < {c for _, c in lb.experiment_runs("lr_headroom", 0, "larger")}


def test_estimated_seconds_scale_with_the_steps():
    for name in lb.EXPERIMENTS:
        assert lb.estimated_seconds(name) == lb.MEASURED_SECONDS[name]
    assert lb.estimated_seconds("noisy", "larger") == round(lb.MEASURED_SECONDS["noisy"] * 5000 / 2000)
    lr_default, lr_larger = lb.total_steps("lr_headroom"), lb.total_steps("lr_headroom", "larger")
    assert (lr_default, lr_larger) == (2 * 7 * 1000, 2 * 13 * 1000)


def test_tasks_are_config_tasks_or_measured_runs_keyed_by_their_measure():
    config = lb.experiment_runs("noisy", 0)[0][1]
    plain = lb.task("noisy", config)
    assert plain.key == config and plain.total == config.steps
    measured = lb.task("landscape", config)
    assert measured.key == ("measured", config, "landscape") and measured.total == config.steps
    assert lb.task("gradient_ics", config).key == ("measured", config, "gradient_ics")


def test_a_measured_task_publishes_a_copy_and_is_cached(tiny):
    pairs = lb.experiment_runs("gradient_ics", seed=5)
    tasks = lb.tasks("gradient_ics", pairs)
    seen = []
    values = run_cache.run_tasks(tasks, on_progress=lambda p: seen.append(p.step))
    record, series = values[0]
    assert record.done and series.name == "gradient_ics" and series.steps == record.steps.tolist()
    assert seen and all(0 <= s <= pairs[0][1].steps for s in seen)  # progress while the pool trained
    assert lb.all_cached(tasks) and run_cache.cached(tasks[0].key) is values[0]
    live = bc.MeasuredSeries("gradient_ics", [0], ["v"])
    copy = lb._publish_measured((record, live))[1]
    live.steps.append(1)
    assert copy.steps == [0]  # what another session holds does not move with the live run


def test_remember_keeps_the_latest_results():
    store = {}
    for i in range(5):
        lb.remember(store, i, str(i), limit=3)
    lb.remember(store, 2, "again", limit=3)
    assert list(store) == [3, 4, 2] and store[2] == "again"


def test_known_answers():
    assert lb.affine_share((64, 100, 100, 100, 10)) == pytest.approx(600 / (6400 + 10000 + 10000 + 1000 + 10 + 600))
    assert lb.reference_batch((2, 4, 8, 16, 32, 64, 128, 256)) == 64 and lb.reference_batch((4, 16)) == 16
    grid = result("lr_headroom", [run("batch", lr=lr) for lr in (0.1, 0.3, 1.0)])
    assert lb.grid_step(grid) == pytest.approx(1 / 0.3)
    assert lb.pp(0.123) == "12.3" and lb.pp(-0.004) == "0.4"


def test_summaries_of_real_runs(results):
    lr = results["lr_headroom"]
    assert [(r.series, r.config.lr) for r in lr.runs] == [(s, x) for s in ("batch", "none") for x in TINY.lr_grid]
    assert lr.one("none").stable == bc.is_stable(bc.train(lr.one("none").config))
    assert any(r.status == "diverged" and r.divergence is not None for r in lr.runs)
    noisy = results["noisy"]
    none = bc.train(noisy.one("none").config)
    assert noisy.unit == lb.ics.default_unit(none)
    run_ = noisy.one("noisy")
    assert run_.arrays["drift"].shape == (len(run_.steps), 3) and run_.arrays["unit_pcts"].shape == (len(run_.steps), 5)
    for name, fields in lb.MEASURE_FIELDS.items():
        bn = results[name].one("batch")
        assert all(len(bn.arrays[f]) == len(bn.arrays["measure_steps"]) == len(bn.steps) for f in fields)
    gics = results["gradient_ics"].one("none").arrays["diff"]
    assert gics.shape == (2, 4) and np.all(gics[:, 0] == 0)  # nothing below the first layer
    spread = results["batch_size"].spread
    assert list(spread["batch_size"]) == [4, 64] and spread["mean_spread"].iloc[0] > spread["mean_spread"].iloc[1]
    abl = results["ablations"]
    assert [r.series for r in abl.runs] == list(beyond.EXPERIMENT_SERIES["ablations"]) and abl.sizes[-1] == 10
    for name, res in results.items():
        assert lb.sentences(res) and all(isinstance(s, str) and s for s in lb.sentences(res)), name


# --- sentences, each on both sides of its condition ------------------------------------------------------------------

def lr_result(bn_stable, none_stable):
    grid = (0.1, 1.0, 10.0)
    return result("lr_headroom", [run(s, lr=lr, stable=lr in stable) for s, stable in
                                  (("batch", bn_stable), ("none", none_stable)) for lr in grid])


@pytest.mark.parametrize("bn, none, status, key", [
    ((0.1, 1.0, 10.0), (0.1, 1.0), "for", "beyond.lr_say_larger"),
    ((0.1, 1.0), (0.1, 1.0), "against", "beyond.lr_say_same"),
    ((0.1,), (0.1, 1.0), "against", "beyond.lr_say_smaller"),
    ((0.1,), (), "for", "beyond.lr_say_only_bn"),
    ((), (1.0,), "against", "beyond.lr_say_only_no_bn"),
    ((), (), "open", "beyond.lr_say_neither"),
])
def test_lr_claim(bn, none, status, key):
    got = lb.lr_claim(lr_result(bn, none))
    head = en(key, bn=fmt(bn), no_bn=fmt(none), ratio="R", step="10").split("R")[0]
    assert got[0] == status and got[1].startswith(head)
    if key == "beyond.lr_say_larger":
        assert got[1] == en(key, bn="10", no_bn="1", ratio="10", step="10")


def fmt(lrs):
    return lb.fmt_num(max(lrs)) if lrs else ""


def test_lr_sentences_count_divergence():
    res = result("lr_headroom", [run("batch", lr=1.0), run("batch", lr=10.0, status="diverged", stable=False),
                                 run("none", lr=1.0, acc=0.8), run("none", lr=10.0, status="diverged", stable=False)])
    said = lb.lr_sentences(res)
    assert said[0] == en("beyond.lr_say_best", bn="90.0%", bn_lr="1", no_bn="80.0%", no_bn_lr="1")
    assert said[1] == en("beyond.lr_say_diverged", n=2, bn=1, no_bn=1)


def batch_result(bn_errors, ln_errors, none_errors=(0.1, 0.1), spread=None):
    """errors at (batch 64, batch 4); None: the run diverged."""
    runs = []
    for series, errors in (("batch", bn_errors), ("layer", ln_errors), ("none", none_errors)):
        for m, err in zip((64, 4), errors):
            runs.append(run(series, batch=m, acc=0.5 if err is None else 1 - err,
                            status="diverged" if err is None else "finished"))
    return result("batch_size", runs, spread=spread)


@pytest.mark.parametrize("bn, ln, status, key", [
    ((0.05, 0.40), (0.05, 0.06), "for", "beyond.batch_say_bn_worse"),
    ((0.05, 0.06), (0.05, 0.06), "against", "beyond.batch_say_same"),
    ((0.05, 0.06), (0.05, 0.30), "against", "beyond.batch_say_ln_worse"),
    ((0.05, None), (0.05, 0.06), "open", "beyond.batch_say_no_compare"),
])
def test_batch_claim(bn, ln, status, key):
    got = lb.batch_claim(batch_result(bn, ln))
    assert got[0] == status
    if key == "beyond.batch_say_no_compare":
        assert got[1] == en(key, small=4, ref=64)
    else:
        rise_bn, rise_ln = bn[1] - bn[0], ln[1] - ln[0]
        assert got[1] == en(key, small=4, ref=64, bn=lb.pp(rise_bn), ln=lb.pp(rise_ln), bn_dir=en("beyond.rose"),
                            ln_dir=en("beyond.rose"), diff=lb.pp(rise_bn - rise_ln), same="2")


def test_batch_sentences_say_fell_and_the_spread():
    spread = pd.DataFrame({"batch_size": [4, 64], "mean_spread": [0.5, 0.125], "var_spread": [0.66, 0.18]})
    said = lb.batch_sentences(batch_result((0.10, 0.05), (0.05, 0.06), spread=spread))
    assert en("beyond.fell") in said[1]  # BN's error went down from 64 to 4 here
    assert said[2] == en("beyond.batch_say_spread", small=4, ref=64, draws=beyond.BATCH_SPREAD_DRAWS,
                         mean_small="0.5", var_small="0.66", mean_ref="0.12", var_ref="0.18")
    assert len(lb.batch_sentences(batch_result((0.10, 0.05), (0.05, 0.06)))) == 2  # no spread, no sentence


def noisy_result(drift_noisy, drift_none, acc_noisy, acc_bn=0.95, noisy_status="finished"):
    def drift(d):
        return {"mean_drift": np.array([d, d])}

    return result("noisy", [run("none", acc=0.9, arrays=drift(drift_none)),
                            run("batch", acc=acc_bn, arrays=drift(0.02)),
                            run("noisy", acc=acc_noisy, arrays=drift(drift_noisy), status=noisy_status)], unit=0)


@pytest.mark.parametrize("args, status, key", [
    ((0.06, 0.05, 0.95), "open", "beyond.noisy_say_not_moved"),  # 1.2× more: not clearly
    ((0.30, 0.05, 0.94), "for", "beyond.noisy_say_as_bn"),
    ((0.30, 0.05, 0.99), "for", "beyond.noisy_say_better"),
    ((0.30, 0.05, 0.80), "against", "beyond.noisy_say_worse"),
])
def test_noisy_claim(args, status, key):
    got = lb.noisy_claim(noisy_result(*args))
    ratio = lb.fmt_num(args[0] / args[1], 2)
    assert got == (status, en(key, ratio=ratio, noisy=lb.pct(args[2]), bn="95.0%", diff=lb.pp(args[2] - 0.95),
                              same="2"))


def test_noisy_claim_without_a_finished_run_and_the_reach_sentence():
    got = lb.noisy_claim(noisy_result(0.30, 0.05, 0.9, noisy_status="diverged"))
    assert got == ("open", en("beyond.noisy_say_no_accuracy", ratio="6"))
    said = lb.noisy_sentences(noisy_result(0.30, 0.05, 0.95))
    step = en("beyond.step_n", step=2000)
    reached = ", ".join(en("beyond.named_value", name=n, value=step) for n in ("noisy BN", "with BN", "without BN"))
    assert said[2] == en("beyond.noisy_say_reach", target="90%", reached=reached)
    low = noisy_result(0.30, 0.05, 0.5)
    assert en("beyond.not_reached") in lb.noisy_sentences(low)[2]


def gics_result(diff_bn, diff_none):
    """Per-layer ‖G − G′‖ over two records; the first column is the first layer (always 0)."""
    def arrays(d):
        return {"diff": np.array([[0, *d], [0, *d]], float), "cos": np.array([[1, *[0.9] * len(d)]] * 2),
                "measure_steps": np.array([0.0, 2000.0])}

    return result("gradient_ics", [run("batch", arrays=arrays(diff_bn)), run("none", arrays=arrays(diff_none))])


@pytest.mark.parametrize("bn, none, status, key", [
    ((0.1, 0.1, 0.1), (0.3, 0.3, 0.3), "for", "beyond.gics_say_less_everywhere"),
    ((0.3, 0.1, 0.1), (0.1, 0.1, 0.1), "against", "beyond.gics_say_less_nowhere"),
    ((0.1, 0.1, 0.1), (0.3, 0.1, 0.1), "open", "beyond.gics_say_less_some"),
])
def test_gics_claim(bn, none, status, key):
    got = lb.gics_claim(gics_result(bn, none))
    assert got == (status, en(key, n=3, k=1, more=1, clearly="1.25"))


def test_gics_without_measurements_and_the_numbers():
    empty = result("gradient_ics", [run("batch"), run("none")])
    assert lb.gics_claim(empty) == ("open", en("beyond.gics_say_no_data"))
    said = lb.gics_sentences(gics_result((0.1, 0.2, 0.3), (0.3, 0.2, 0.1)))
    assert said[0] == en("beyond.gics_say_numbers", layers="layer 2 / layer 3 / output layer", bn="0.1 / 0.2 / 0.3",
                         no_bn="0.3 / 0.2 / 0.1", bn_cos="0.9 / 0.9 / 0.9", no_bn_cos="0.9 / 0.9 / 0.9")


def land_result(bn, none):
    def arrays(values):
        return {"measure_steps": np.array([0.0, 2000.0]),
                **{m: np.array([x, x]) for m, x in zip(lb.LANDSCAPE_MEASURES, values)}}

    return result("landscape", [run("batch", arrays=arrays(bn)), run("none", arrays=arrays(none))])


@pytest.mark.parametrize("bn, none, status, key", [
    ((0.1, 0.1, 1.0), (0.2, 0.2, 2.0), "for", "beyond.land_say_all"),
    ((0.1, 0.1, 1.0), (0.1, 0.1, 1.0), "against", "beyond.land_say_none"),
    ((0.1, 0.1, 2.0), (0.2, 0.2, 1.0), "open", "beyond.land_say_some"),
])
def test_landscape_claim(bn, none, status, key):
    got = lb.landscape_claim(land_result(bn, none))
    assert got == (status, en(key, n=3, k=2, clearly="1.25", which="loss variation, gradient predictiveness"))


def test_landscape_without_measurements():
    assert lb.landscape_claim(result("landscape", [run("batch"), run("none")]))[0] == "open"


def ablation_result(accs, affine=0.6, affine_status="finished"):
    runs = [run("batch", acc=0.95), run("none", acc=0.9)]
    runs += [run(s, acc=a) for s, a in zip(("mean_only", "var_only", "frozen_affine"), accs)]
    return result("ablations", runs + [run("affine_only", acc=affine, status=affine_status)])


def test_ablation_groups_follow_the_two_point_band():
    res = ablation_result((0.94, 0.80, 0.99), affine=0.95)
    assert lb.ablation_groups(res) == (["mean_only", "affine_only"], ["var_only"], ["frozen_affine"], [])
    said = lb.ablation_sentences(res)
    assert en("beyond.abl_say_close", names="mean-only BN, only γ and β trained", same="2") in said
    assert en("beyond.abl_say_below", names="variance-only BN", same="2") in said
    assert en("beyond.abl_say_above", names="BN with γ and β frozen", same="2") in said
    none_below = lb.ablation_sentences(ablation_result((0.95, 0.95, 0.95), affine=0.95))
    assert not any(s.startswith("More than") for s in none_below)


@pytest.mark.parametrize("acc, status, key", [
    (0.60, "for", "beyond.abl_say_affine_learns"),
    (0.11, "against", "beyond.abl_say_affine_chance"),
])
def test_affine_only_against_chance(acc, status, key):
    got = lb.ablation_claim(ablation_result((0.95,) * 3, affine=acc))
    share = lb.fmt_pct(lb.affine_share((64, 100, 100, 100, 10)), 1)
    assert got == (status, en(key, share=share, chance="10.0%", steps=2000, acc=lb.pct(acc), diff=lb.pp(acc - 0.1),
                              same="2"))


def test_affine_only_that_did_not_finish():
    got = lb.ablation_claim(ablation_result((0.95,) * 3, affine_status="diverged"))
    assert got[0] == "open" and got[1] == en("beyond.abl_say_affine_failed", share="2.1%", chance="10.0%", steps=2000)


def test_verdict_says_each_claims_status_and_what_runs_cannot_settle():
    lines = lb.verdict({"gradient_ics": gics_result((0.3, 0.1, 0.1), (0.1, 0.1, 0.1))})
    assert len(lines) == len(lb.EXPERIMENTS) + 2
    assert lines[0] == en("beyond.verdict_not_run", claim=en("beyond.claim_lr"))
    assert lines[3] == en("beyond.verdict_line", claim=en("beyond.claim_gics"), status=en("beyond.status_against"),
                          evidence=lb.gics_claim(gics_result((0.3, 0.1, 0.1), (0.1, 0.1, 0.1)))[1])
    assert lines[-1] == en("beyond.verdict_cannot", depth=3, width=100)


def test_sentences_speak_chinese():
    with in_language("zh"):
        lines = lb.verdict({"landscape": land_result((0.1, 0.1, 1.0), (0.2, 0.2, 2.0))})
        assert lines[4] == translate("zh", "beyond.verdict_line", claim=translate("zh", "beyond.claim_landscape"),
                                     status=translate("zh", "beyond.status_for"),
                                     evidence=translate("zh", "beyond.land_say_all", n=3, clearly="1.25"))
        assert "，" in lb.listing(["a", "b"])


def test_divergence_is_reported_outside_the_sweeps():
    diverged = noisy_result(0.3, 0.05, 0.9, noisy_status="diverged")
    notes = lb.divergence_notes(diverged)
    assert len(notes) == 1 and "noisy BN" in notes[0] and "step 1000" in notes[0]
    assert lb.divergence_notes(result("lr_headroom", [run("batch", status="diverged")])) == []


# --- figures ---------------------------------------------------------------------------------------------------------

def styles(figure, name):
    traces = [tr for tr in figure.data if tr.name == name]
    return {(tr.line.dash, tr.marker.symbol) for tr in traces}


def test_bn_and_no_bn_differ_in_line_style_and_marker():
    bn, none = fig.STYLE["batch"], fig.STYLE["none"]
    assert bn[1] != none[1] and bn[2] != none[2] and bn[3] != none[3]
    assert len({s[1:3] for s in fig.STYLE.values()}) >= 6


def test_lr_figure():
    res = lr_result((0.1, 1.0), (0.1,))
    res = lb.Result("lr_headroom", res.runs + (run("none", lr=100.0, status="diverged", stable=False),))
    f = fig.lr_figure(res.runs, lb.series_names(), lb.figure_text(res))
    assert styles(f, "with BN") == {("solid", "circle")} and styles(f, "without BN") == {("dash", "square")}
    crosses = [tr for tr in f.data if tr.name == "without BN · diverged"]
    assert len(crosses) == 1 and list(crosses[0].y) == [0.0] and crosses[0].marker.symbol == fig.DIVERGED_SYMBOL
    assert f.layout.xaxis.type == "log" and f.layout.yaxis.tickformat == ".0%"
    stable = {tr.name: tuple(tr.x) for tr in f.data if tr.mode == "lines" and tr.line.dash == "dot"}
    assert stable == {en("beyond.stable_marker", name="with BN", lr="1"): (1.0, 1.0),
                      en("beyond.stable_marker", name="without BN", lr="0.1"): (0.1, 0.1)}
    assert list(f.layout.xaxis.ticktext) == ["0.1", "1", "10", "100"]


def test_batch_figure_draws_error_and_spread():
    spread = pd.DataFrame({"batch_size": [4, 64], "mean_spread": [0.5, np.nan], "var_spread": [0.7, 0.2]})
    res = batch_result((0.05, 0.4), (0.05, None), spread=spread)
    f = fig.batch_figure(res.runs, res.spread, lb.series_names(), lb.figure_text())
    bn = [tr for tr in f.data if tr.name == "with BN"][0]
    assert list(bn.x) == [4, 64] and list(bn.y) == pytest.approx([0.4, 0.05])
    assert styles(f, "LayerNorm") == {("dot", "diamond")}
    assert [tr for tr in f.data if tr.name == "LayerNorm · diverged"][0].y == (1.0,)
    mean = [tr for tr in f.data if tr.name == lb.figure_text()["spread_mean"]][0]
    assert list(mean.x) == [4]  # the NaN point is not drawn
    assert f.layout.yaxis2.type == "log"
    assert len(fig.batch_figure(res.runs, None, lb.series_names(), lb.figure_text()).layout.annotations) == 1


def test_panel_lines_and_accuracy_figure():
    res = gics_result((0.1, 0.0, 0.3), (0.3, 0.2, 0.1))
    f = fig.panel_lines(res.runs, "diff", ["a", "b", "c"], "y", "x", lb.series_names(), log_y=True,
                        x_key="measure_steps", columns=[1, 2, 3])
    assert len(f.data) == 6 and styles(f, "with BN") == {("solid", "circle")}
    assert len(f.data[1].y) == 0  # a zero cannot be drawn on a log axis: dropped, not drawn at the bottom
    land = land_result((0.1, 0.1, 1.0), (0.2, 0.2, 2.0))
    f = fig.panel_lines(land.runs, lb.LANDSCAPE_MEASURES, ["1", "2", "3"], "y", "x", lb.series_names(),
                        x_key="measure_steps")
    assert [list(tr.y) for tr in f.data[:3]] == [[0.1, 0.1], [0.1, 0.1], [1.0, 1.0]]
    acc = fig.accuracy_figure(noisy_result(0.3, 0.05, 0.9).runs, lb.series_names(), "t", "x", "y")
    assert len({(tr.line.dash, tr.marker.symbol) for tr in acc.data}) == 3


def test_ablation_bars():
    res = ablation_result((0.94, 0.80, 0.99), affine_status="diverged")
    f = fig.ablation_bars(res.runs, lb.series_names(), "acc")
    bars = {tr.name: tr for tr in f.data}
    assert bars["with BN"].marker.pattern.shape != bars["without BN"].marker.pattern.shape
    assert list(bars["variance-only BN"].x) == [0.8] and len(bars["only γ and β trained"].x) == 0


# --- the string table -------------------------------------------------------------------------------------------------

def test_every_beyond_key_is_used():
    code = "".join((ROOT / p).read_text() for p in ("pages/beyond.py", "lab/lessons/beyond.py"))
    used = set(re.findall(r"""\bt\(\s*["']beyond\.(\w+)["']""", code)) | {"title", "blurb", "intro"}
    keys = {k.split(".", 1)[1] for k in table("en") if k.startswith("beyond.")}
    assert keys == used, {"unused": sorted(keys - used), "missing": sorted(used - keys)}


# --- the page ---------------------------------------------------------------------------------------------------------

CHARTS = {"lr_headroom": 1, "batch_size": 1, "noisy": 5, "gradient_ics": 2, "landscape": 1, "ablations": 1}


def open_beyond(lang, seed=0):
    at = open_page(None, lang=lang, seed=seed)
    at.switch_page(PAGE)
    return at.run()


@pytest.mark.parametrize("lang, seed", [("en", 11), ("zh", 21)])
def test_page_runs_every_experiment_and_draws_every_chart(tiny, lang, seed):
    with in_language(lang):
        at = open_beyond(lang, seed=seed)  # a seed no other test trains: nothing is cached yet
        no_exception(at)
        assert at.title[0].value == translate(lang, "beyond.title")
        assert len(at.get("plotly_chart")) == CHARTS[lb.DEFAULT_EXPERIMENT]  # only the default one ran
        assert len(at.dataframe) == 2  # the published tables are there before any run
        verdict = at.markdown[-1].value
        assert translate(lang, "beyond.verdict_not_run", claim=translate(lang, "beyond.claim_lr")) in verdict
        for name in lb.EXPERIMENTS:
            if name != lb.DEFAULT_EXPERIMENT:
                at.button(key=f"beyond_run_{name}").click().run()
                no_exception(at)
        assert len(at.get("plotly_chart")) == sum(CHARTS.values())
        assert not at.button  # every experiment has its result: no Run button left
        verdict = at.markdown[-1].value
        assert translate(lang, "beyond.verdict_not_run", claim="").split("**")[-1] not in verdict
        assert verdict.count("\n- ") == len(lb.EXPERIMENTS) + 1
        assert at.sidebar.radio[0].value == lang
        # A new session remembers nothing, but every run is in the shared cache: all is shown without a click.
        fresh = open_beyond(lang, seed=seed)
        no_exception(fresh)
        assert len(fresh.get("plotly_chart")) == sum(CHARTS.values()) and not fresh.button


def test_the_larger_size_says_its_cost_and_waits_for_run(tiny, monkeypatch):
    monkeypatch.setitem(lb.SIZES, "larger", dataclasses.replace(TINY, run_steps=40))
    at = open_beyond("en", seed=13)
    charts = len(at.get("plotly_chart"))
    at.toggle(key=f"beyond_larger_{lb.DEFAULT_EXPERIMENT}").set_value(True).run()
    no_exception(at)
    assert len(at.get("plotly_chart")) == charts - CHARTS[lb.DEFAULT_EXPERIMENT]  # not run on its own
    assert translate("en", "beyond.cost", runs=2, steps=80, seconds=lb.estimated_seconds(lb.DEFAULT_EXPERIMENT,
                                                                                         "larger")) in all_text(at)
