"""The lesson "BN at inference": its page logic (lab/inference.py), its figure builders (lab/figures_inference.py)
and the page itself under AppTest in both languages. The page's equalities are asserted on the numbers here."""
import functools
import re
import string

import numpy as np
import pytest
from apptest_util import all_text, no_exception, open_page
from conftest import in_language

import bn_core as bc
from lab.figures import inference as fi
from lab.i18n import LANGS, translate
from lab.lessons import inference as li

SMALL = li.DEFAULT_CONFIG.replace(steps=150, record_every=50)  # a fraction of a second


@pytest.fixture(scope="module")
def run():
    return li.train_with_batch_stats(SMALL)


@pytest.fixture(scope="module")
def run64():
    """The same network in float64, for equalities that must hold to ~1e-12."""
    return li.train_with_batch_stats(SMALL.replace(steps=60), dtype=np.float64)


# --- Training and the running statistics -------------------------------------------------------------------------


def test_the_run_is_bn_cores_run(run):
    """The page's own loop trains exactly the model bn_core.train trains (Open in Playground shows the same run)."""
    reference = bc.train(SMALL).weights  # parameters and running statistics
    assert list(run.record.weights) == list(reference)
    for name, a in run.record.weights.items():
        assert np.array_equal(a, reference[name]), name
    assert run.steps_done == SMALL.steps and run.divergence is None
    assert run.batch_mean[0].shape == (SMALL.steps, 100) and list(run.pop_steps) == [50, 100, 150]


def test_replayed_ema_equals_the_layers_own_running_statistics(run):
    """Replaying the recorded batch statistics with BN momentum 0.1 gives BatchNorm1d's own running mean/var."""
    for (mean, var), bn in zip(li.running_statistics(run, li.TRAIN_MOMENTUM), run.build_model().batchnorms()):
        np.testing.assert_allclose(mean, bn.running_mean, atol=2e-5)
        np.testing.assert_allclose(var, bn.running_var, rtol=2e-5, atol=1e-6)


def test_ema_closed_form_equals_the_step_by_step_path():
    values = np.random.default_rng(0).normal(size=(40, 3))
    for momentum in (0.001, 0.1, 0.9, 1.0):
        path = li.ema_path(values, momentum, 1.0)
        assert path.shape == (41, 3) and np.all(path[0] == 1.0)
        np.testing.assert_allclose(path[-1], li.ema_final(values, momentum, 1.0), rtol=1e-12)
    np.testing.assert_allclose(li.ema_path(values, 1.0, 0.0)[-1], values[-1])  # momentum 1: the last batch only


def test_population_statistics_use_the_unbiased_factor(run):
    """Algorithm 2 on the first BN layer by hand: mean of the batch means, m/(m−1) × mean of the biased batch
    variances, over whole training batches of size m."""
    m, X = SMALL.batch_size, run.data.X_train.astype(np.float64)
    W = run.record.weights["fc1.W"].astype(np.float64)  # no bias before BN
    batches = [X[b * m:(b + 1) * m] @ W for b in range(len(X) // m)]
    mean = np.mean([z.mean(axis=0) for z in batches], axis=0)
    biased = np.mean([z.var(axis=0) for z in batches], axis=0)
    pop_mean, pop_var = run.final_population[0]
    np.testing.assert_allclose(pop_mean, mean, atol=1e-5)
    np.testing.assert_allclose(pop_var, m / (m - 1) * biased, rtol=1e-4)
    assert not np.allclose(pop_var, biased, rtol=1e-3)  # the factor m/(m−1) = 60/59 is really there
    np.testing.assert_allclose(run.pop_mean[0][-1], pop_mean)


def test_momentum_sweep_small_momentum_lags(run):
    sweep = li.momentum_sweep(run)
    assert sweep.momenta == li.MOMENTA and len(sweep.mean_gap) == len(li.MOMENTA)
    assert np.all(np.isfinite(sweep.mean_gap)) and np.all(sweep.mean_gap > 0)
    # after 150 steps, momentum 0.001 still holds (0.999)^150 ≈ 86% of its start (mean 0, variance 1)
    assert sweep.mean_gap[0] > 5 * sweep.mean_gap.min() and sweep.var_gap[0] > 0.5
    assert sweep.ema_acc[0] < sweep.population_acc
    assert 0.8 < sweep.population_acc <= 1.0


def test_a_diverged_run_says_where():
    run = li.train_with_batch_stats(SMALL.replace(lr=1000.0, steps=20, record_every=10))
    assert run.divergence is not None and run.divergence.reason in ("exploding_loss", "nan_loss")
    assert run.steps_done == run.divergence.step - 1 and len(run.batch_mean[0]) == run.steps_done
    assert run.pop_mean[0].shape == (len(run.pop_steps), 100) and run.final_population == []


def test_training_does_not_depend_on_bn_momentum():
    assert li.training_key(SMALL.replace(bn_momentum=0.5)) == li.training_key(SMALL)
    assert li.stats_task(SMALL.replace(bn_momentum=0.9)).key == li.stats_task(SMALL).key  # one run, one cache entry


# --- Train mode vs eval mode, a batch of one -----------------------------------------------------------------------


def test_train_mode_prediction_depends_on_the_batch_eval_mode_does_not(run):
    model = li.with_statistics(run, run.final_population)
    X, y = run.data.X_test, run.data.y_test
    modes = li.compare_modes(model, X, y, 0, SMALL.batch_size, 0)
    assert modes.train_batch_gap > 1e-2  # the same example, other companions, other logits
    assert modes.eval_batch_gap < 1e-4  # eval mode: the same logits in both batches (float32 rounding at most)
    assert modes.acc_train_same < modes.acc_eval - 0.2  # one digit per batch: the batch statistics erase it
    assert abs(modes.acc_train_random - modes.acc_eval) < 0.1
    assert modes.same_size == int((y == y[0]).sum())
    for p in (modes.probs_random, modes.probs_same, modes.probs_eval):
        assert p.shape == (10,) and abs(p.sum() - 1) < 1e-5


def test_batch_of_one_fails_in_train_mode_and_works_in_eval_mode(run):
    model = li.with_statistics(run, run.final_population)
    X = run.data.X_test
    with pytest.raises(ValueError):  # the engine refuses: the variance of one value is 0
        model.train().forward(X[:1].copy(), update_stats=False)
    model.eval()
    for example in (0, 7):
        one = li.batch_of_one(model, X, example)
        assert one.error == "batch_of_one"  # what the page turns into its own message
        assert one.eval_logits.argmax() == one.in_batch_logits.argmax()
        assert one.max_gap < 1e-4


def test_collapsed_prediction_is_what_zero_variance_gives(run):
    """Two copies of one example are a batch whose variance is 0, like a batch of one: x̂ = 0 in every unit, and
    every input then gets the class ``collapsed_prediction`` says."""
    model = li.with_statistics(run, run.final_population).train()
    X = run.data.X_test
    for example in (0, 3, 11):
        pair = np.repeat(X[example:example + 1], 2, axis=0)
        assert model.forward(pair, update_stats=False)[0].argmax() == li.collapsed_prediction(model)


# --- Folding --------------------------------------------------------------------------------------------------


def test_three_ways_give_the_same_output_float32(run):
    model = li.with_statistics(run, li.running_statistics(run, 0.1))
    check = li.fold_check(model, run.data.X_test)
    assert set(check.logits) == set(li.FOLD_WAYS)
    assert max(check.gaps.values()) <= li.tolerance(np.float32) * check.scale
    assert max(check.gaps.values()) > 0  # float32 really rounds differently: the numbers shown are not faked
    assert check.agree == check.n == len(run.data.X_test)
    assert not bc.fold_batchnorm(model).batchnorms()  # the folded network has no BN left


def test_three_ways_give_the_same_output_float64(run64):
    model = li.with_statistics(run64, run64.final_population)
    assert model.dtype == np.float64
    check = li.fold_check(model, run64.data.X_test)
    assert max(check.gaps.values()) <= li.tolerance(np.float64) * check.scale
    table = li.fold_table(check, {w: w for w in li.FOLD_WAYS}, ("pair", "gap", "relative"))
    assert list(table.columns) == ["pair", "gap", "relative"] and len(table) == 3
    assert (table["gap"] <= 1e-10 * check.scale).all()


def test_operation_count():
    cost = li.cost_for_width(64, 100, 3, 10)
    assert cost["bn_features"] == 300
    assert (cost["as_written"], cost["folded_affine"], cost["folded_linear"]) == (1200, 600, 300)  # 4, 2, 1 per unit
    assert cost["linear_madds"] == 64 * 100 + 100 * 100 * 2 + 100 * 10
    wide = li.cost_for_width(64, 1000, 3, 10)
    assert wide["as_written"] - wide["folded_linear"] == 10 * (cost["as_written"] - cost["folded_linear"])
    # the seed's point holds in absolute terms; as a share of the linear layers' work the saving shrinks
    assert wide["as_written"] / wide["linear_madds"] < cost["as_written"] / cost["linear_madds"]


# --- Sentences ------------------------------------------------------------------------------------------------


def _tr(lang):
    return functools.partial(translate, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_sentences_follow_the_numbers(run, lang):
    with in_language(lang):
        _sentences_follow_the_numbers(run, _tr(lang))


def _sentences_follow_the_numbers(run, tr):
    sweep = li.momentum_sweep(run)
    best = li.MOMENTA[int(np.argmin(sweep.mean_gap))]
    lag = li.stats_sentences(sweep, li.MOMENTA[0], SMALL.steps)
    assert _params_of(tr, "inference.tk_ema_lag", lag[0])["momentum"] == "0.001"
    assert _params_of(tr, "inference.tk_ema_best", li.stats_sentences(sweep, best, SMALL.steps)[0])
    noisy = li.stats_sentences(sweep, li.MOMENTA[-1], SMALL.steps)[0]
    assert sweep.mean_gap[-1] > li.NEAR_BEST * sweep.mean_gap.min()  # momentum 0.9 jitters well away from the best
    assert _params_of(tr, "inference.tk_ema_noisy", noisy)["best"] == f"{best:g}"
    sentences = {s for a in li.MOMENTA for s in li.stats_sentences(sweep, a, SMALL.steps)}
    assert len(sentences) >= len(li.MOMENTA)  # every momentum says something different
    model = li.with_statistics(run, run.final_population)
    X, y = run.data.X_test, run.data.y_test
    modes = li.modes_sentences(li.compare_modes(model, X, y, 0, 60, 0), 60)
    other = li.modes_sentences(li.compare_modes(model, X, y, 5, 60, 0), 60)
    assert modes[0] != other[0]
    one = li.one_sentence(li.batch_of_one(model, X, 0), 0)
    fold = li.fold_sentence(li.fold_check(model, X), np.float32)
    cost = li.cost_sentence(li.cost_for_width(64, 512, 3, 10), 512)
    assert "6,144" in cost and "4,608" in cost and "512" in cost  # 4 operations × 3 × 512 units; saves 3 × 1,536
    for s in lag + modes + [one, fold, cost]:
        assert s and "{" not in s and "}" not in s


def _params_of(tr, key, sentence):
    """The placeholder values that make ``sentence`` out of template ``key`` (fails if it was not built from it)."""
    template = tr(key)
    names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    pattern, seen = re.escape(template), set()
    for n in names:
        group = f"(?P={n})" if n in seen else f"(?P<{n}>.+?)"
        pattern = pattern.replace(re.escape("{" + n + "}"), group, 1)
        seen.add(n)
    match = re.fullmatch(pattern, sentence)
    assert match, (template, sentence)
    return match.groupdict()


def test_accuracy_sentence_chooses_by_sign():
    sweep = li.MomentumSweep((0.1, 0.5), np.array([0.01, 0.02]), np.array([0.01, 0.02]), np.array([0.9, 0.95]), 0.92)
    lower = li.stats_sentences(sweep, 0.1, 100)[1]
    higher = li.stats_sentences(sweep, 0.5, 100)[1]
    assert "lower" in lower and "2 percentage points" in lower
    assert "higher" in higher and "3 percentage points" in higher
    equal = li.MomentumSweep((0.1,), np.array([0.01]), np.array([0.01]), np.array([0.92]), 0.92)
    assert "the same" in li.stats_sentences(equal, 0.1, 100)[1]


# --- Figures ---------------------------------------------------------------------------------------------------


def _finite_data(fig):
    for trace in fig.data:
        for axis in ("x", "y"):
            values = getattr(trace, axis)
            if values is not None and len(values) and not isinstance(values[0], str):
                assert np.all(np.isfinite(np.asarray(values, float))), trace.name


def test_figures(run):
    trace = li.unit_trace(run, 2, 0, 0.1)
    trace["batch_mean"] = trace["batch_mean"].copy()
    trace["batch_mean"][5] = np.nan  # a hole is dropped, not drawn
    fig = fi.ema_trace(trace, ("mean", "var"), ("batch", "running", "population"), "step")
    assert len(fig.data) == 6 and len(fig.data[0].x) == SMALL.steps - 1
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.range is not None
    _finite_data(fig)
    sweep = li.momentum_sweep(run)
    fig = fi.momentum_sweep(sweep, 0.1, ("gap", "acc"), ("m", "v", "ema", "pop"), "momentum", "distance", "accuracy")
    assert [t.name for t in fig.data[:4]] == ["m", "v", "ema", "pop"] and len(fig.data) == 7  # + 3 rings
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis2.title.text == "accuracy"
    _finite_data(fig)
    probs = [np.full(10, 0.1), np.eye(10)[3], np.r_[np.full(9, 0.0), np.nan]]
    fig = fi.mode_probabilities(probs, ("a", "b", "c"), "class", "probability")
    assert [len(t.x) for t in fig.data] == [10, 10, 9] and fig.layout.yaxis.title.text == "probability"
    _finite_data(fig)
    fig = fi.cost_bars(li.cost_for_width(64, 100, 3, 10), {w: w for w in li.FOLD_WAYS}, "ops", "title")
    assert list(fig.data[0].y) == [1200, 600, 300] and list(fig.data[0].x) == list(li.FOLD_WAYS)


# --- The page ----------------------------------------------------------------------------------------------------


def _takeaways(at, lang):
    header = f"**{translate(lang, 'common.takeaways')}**"
    values = [m.value for m in at.markdown]
    assert header in values, "no takeaways box"
    return values[values.index(header) + 1]


@pytest.mark.parametrize("lang", LANGS)
def test_page(lang):
    at = open_page("pages/inference.py", lang=lang)
    no_exception(at)
    assert len(at.get("plotly_chart")) == 4
    text = all_text(at)
    assert translate(lang, "inference.title") in text
    error = translate(lang, "inference.batch_of_one_error", collapsed="§").split("§")[0]
    assert any(e.value.startswith(error) for e in at.error), [e.value for e in at.error]
    assert len(at.dataframe) == 1 and (at.dataframe[0].value.iloc[:, 1] < 1e-3).all()
    before = _takeaways(at, lang)
    assert before.count("\n- ") >= 6

    at.select_slider(key="inf_momentum").set_value(0.001).run()
    no_exception(at)
    after = _takeaways(at, lang)
    assert after != before and "0.001" in after
    assert len(at.get("plotly_chart")) == 4

    at.number_input(key="inf_example").set_value(5).run()
    no_exception(at)
    assert _takeaways(at, lang) != after
    assert translate(lang, "inference.example_caption", example=5, label="§").split("§")[0] in all_text(at)
    assert at.session_state["lang"] == lang  # the shared sidebar survived the reruns


def test_the_start_of_the_running_average_is_mentioned_only_when_it_still_weighs():
    """(1 − α)^T: 0.999^200 ≈ 82% is worth a sentence; 0.9^200 ≈ 7e-10 is not."""
    assert li.start_share(0.001, 200) == pytest.approx(0.999 ** 200)
    sweep = li.MomentumSweep((0.001, 0.1), np.array([0.5, 0.01]), np.array([0.2, 0.01]), np.array([0.9, 0.95]), 0.95)
    slow = li.stats_sentences(sweep, 0.001, 200)
    fast = li.stats_sentences(sweep, 0.1, 200)
    assert li.start_share(0.001, 200) >= li.NEGLIGIBLE_START > li.start_share(0.1, 200)
    assert len(slow) == 3 and "still weighs" in slow[1] and "81.9%" in slow[1]
    assert len(fast) == 2 and not any("still weighs" in s for s in fast)
