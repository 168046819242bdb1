"""Playground challenges (lab/lessons/challenges.py): each check on runs that meet its target and runs that miss it
(fake records for the edge cases, real runs through the page), the links ``?challenge=N`` under AppTest in both
languages: starting knobs set, the others hidden and fixed, the verdict, leaving, garbage numbers."""
import numpy as np
import pytest
from apptest_util import all_text, no_exception, open_page

from bn_core import Divergence, RunRecord, TrainConfig, check_config
from lab.i18n import LANGS, translate
from lab.lessons import challenges as ch
from lab.lessons import playground as pg
from lab.urlparams import KNOB_BY_URL, N_CHALLENGES

PAGE = "pages/playground.py"
INIT_PREP, LR, SMALL_BATCH = ch.CHALLENGES


class Fake:
    """A finished (or diverged) record with a test-accuracy curve, recorded every 50 steps."""

    def __init__(self, acc, batchnorm=True, classes=10, diverged_at=None, **config):
        self.config = TrainConfig(batchnorm=batchnorm, **config)
        self.sizes = (64, 100, classes)
        self.acc = np.asarray(acc, float)
        self.snapshots = list(range(len(acc)))
        self.steps = np.arange(len(acc)) * 50
        self.divergence = None if diverged_at is None else Divergence(diverged_at, "exploding_loss", 1e3)
        self.status = "finished" if diverged_at is None else "diverged"
        self.done = True

    def metric(self, name):
        assert name == "test_acc"
        return self.acc

    def first_step_reaching(self, target, metric="test_acc"):
        return RunRecord.first_step_reaching(self, target, metric)


def keys(verdict):
    return verdict.met, verdict.hint


# ---- the checks, on fake records ----

def test_init_prep_is_met_when_the_run_without_bn_reaches_the_target():
    met = ch.check_init_prep([Fake([0.1, 0.5, 0.91, 0.93], batchnorm=False)])
    assert keys(met) == (True, None) and met.closeness == 1.0
    slow = ch.check_init_prep([Fake([0.1, 0.4, 0.5], batchnorm=False)])
    assert keys(slow) == (False, "challenges.init_prep_hint_slow")
    assert slow.closeness == pytest.approx((0.5 - 0.1) / (0.9 - 0.1))
    stuck = ch.check_init_prep([Fake([0.1, 0.11, 0.12], batchnorm=False)])
    assert keys(stuck) == (False, "challenges.init_prep_hint_stuck") and stuck.closeness < slow.closeness
    diverged = ch.check_init_prep([Fake([0.1, 0.3], batchnorm=False, diverged_at=60)])
    assert keys(diverged) == (False, "challenges.init_prep_hint_diverged")


def test_lr_needs_bn_to_train_and_the_run_without_bn_to_diverge():
    bn_trains, bn_fails = Fake([0.1, 0.95]), Fake([0.1, 0.3], diverged_at=80)
    no_bn_diverges, no_bn_trains = Fake([0.1], batchnorm=False, diverged_at=3), Fake([0.1, 0.9], batchnorm=False)
    met = ch.check_lr([bn_trains, no_bn_diverges])
    assert keys(met) == (True, None) and met.closeness == 1.0
    higher = ch.check_lr([bn_trains, no_bn_trains])
    assert keys(higher) == (False, "challenges.lr_hint_higher") and higher.closeness == pytest.approx(0.5)
    lower = ch.check_lr([bn_fails, no_bn_diverges])
    assert keys(lower) == (False, "challenges.lr_hint_lower")
    assert lower.closeness == pytest.approx(0.5 * (0.3 - 0.1) / (0.9 - 0.1) + 0.5)


def test_small_batch_needs_bn_far_below_a_run_without_bn_that_learns():
    no_bn = Fake([0.5, 0.95, 1.0], batchnorm=False, classes=2)
    met = ch.check_small_batch([Fake([0.5, 0.7, 0.6], classes=2), no_bn])
    assert keys(met) == (True, None)
    close = ch.check_small_batch([Fake([0.5, 0.9, 0.9], classes=2), no_bn])
    assert keys(close) == (False, "challenges.small_batch_hint_smaller")
    assert close.closeness == pytest.approx(0.5 + 0.5 * 0.1 / 0.2)
    assert ch.check_small_batch([Fake([0.5, 0.1], classes=2, diverged_at=70), no_bn]).met  # BN blew up: it failed
    nothing_learns = ch.check_small_batch([Fake([0.5, 0.5], classes=2), Fake([0.5, 0.6], batchnorm=False, classes=2)])
    assert keys(nothing_learns) == (False, "challenges.small_batch_hint_no_bn")


def test_a_run_that_is_not_done_is_not_judged():
    stopped = Fake([0.1, 0.95])
    stopped.done = False
    assert ch.judge(LR, [stopped, Fake([0.1], batchnorm=False, diverged_at=3)]) is None
    assert ch.judge(LR, [None, Fake([0.1], batchnorm=False, diverged_at=3)]) is None
    assert ch.judge(LR, [Fake([0.1, 0.95]), Fake([0.1], batchnorm=False, diverged_at=3)]).met


def test_the_facts_are_the_runs_numbers():
    verdict = ch.check_lr([Fake([0.1, 0.5, 0.934]), Fake([0.1, 0.9], batchnorm=False)])
    assert verdict.facts == ("With BN: reached 90% test accuracy at step 100.",
                             "Without BN: did not diverge (best test accuracy 90.0%).")
    assert verdict.hint_params == {"lr": "0.5"}


# ---- the table ----

def test_the_challenges_are_consistent_with_the_url_table():
    assert 3 <= len(ch.CHALLENGES) <= 5 and len(ch.CHALLENGES) == N_CHALLENGES
    for challenge in ch.CHALLENGES:
        check_config(challenge.start)
        assert set(challenge.free) <= set(ch.KNOB_LABEL_KEYS) and set(challenge.free) <= set(KNOB_BY_URL)
        assert set(challenge.free) | set(challenge.hidden()) == set(KNOB_BY_URL)
        assert not set(challenge.free) & set(challenge.hidden())
        for lang in LANGS:
            assert "{" not in translate(lang, challenge.goal, steps=challenge.start.steps, **dict(challenge.targets))


def test_apply_sets_the_start_keeps_free_knobs_of_a_link_and_fixes_the_others():
    state = {}
    pg.sync_from_url(state, {})
    assert ch.apply(state, {"lr": "2.0", "depth": "1"}, 2) is LR
    config, mode, _ = pg.config_from_widgets(state, seed=0)
    assert config == LR.start.replace(lr=2.0) and mode == "compare"  # lr is free, depth is not
    state["pg_depth"] = 1  # a hand-edited URL, applied by sync_from_url
    state["pg_lr"] = 5.0  # the student moves the free knob
    ch.apply(state, {}, 2)
    config, _, _ = pg.config_from_widgets(state, seed=0)
    assert config == LR.start.replace(lr=5.0)
    assert ch.apply(state, {}, 0) is None and ch.OPENED not in state


# ---- the page, with real runs ----

def widget_keys(at):
    """The keys of the knob widgets drawn."""
    knobs = {pg.WIDGET + url for url in KNOB_BY_URL}
    return {w.key for kind in ("slider", "select_slider", "selectbox", "number_input", "toggle", "radio")
            for w in getattr(at, kind) if w.key in knobs}


def verdict_text(at, lang):
    return [m.value for m in at.success if m.value == translate(lang, "challenges.met")], \
        [m.value for m in at.warning if m.value == translate(lang, "challenges.missed")]


def train(at):
    at.button(key="pg_train").click().run()
    no_exception(at)


@pytest.mark.parametrize("lang", LANGS)
def test_challenge_3_link_sets_its_knobs_hides_the_others_and_judges_the_run(lang):
    at = open_page(PAGE, lang, query={"challenge": "3"})
    no_exception(at)
    text = all_text(at)
    assert translate(lang, "challenges.heading", n=3, title=translate(lang, SMALL_BATCH.title)) in text
    assert widget_keys(at) == {"pg_batch"}
    assert at.number_input(key="pg_batch").value == 30
    assert at.query_params["data"] == "circles" and at.query_params["challenge"] == "3"
    met, missed = verdict_text(at, lang)  # batch 30: BN does as well as no BN
    assert missed and not met
    assert any(translate(lang, "challenges.small_batch_hint_smaller", batch=30, gap="0.0") == i.value
               for i in at.info)
    at.number_input(key="pg_batch").set_value(2).run()
    train(at)
    met, missed = verdict_text(at, lang)
    assert met and not missed
    assert not any(i.value.startswith(translate(lang, "challenges.small_batch_hint_smaller")[:6]) for i in at.info)


def test_challenge_1_is_met_by_better_preprocessing_and_initialization():
    at = open_page(PAGE, "en", query={"challenge": "1"})
    no_exception(at)
    assert widget_keys(at) == {"pg_prep", "pg_init", "pg_sigma"}
    met, missed = verdict_text(at, "en")
    assert missed and not met and "Hint:" in all_text(at)
    at.selectbox(key="pg_prep").set_value("standardize")
    at.selectbox(key="pg_init").set_value("he").run()
    train(at)
    met, missed = verdict_text(at, "en")
    assert met and not missed
    assert at.query_params["bn"] == "0" and at.query_params["steps"] == "500"  # fixed by the challenge


def test_challenge_2_is_met_where_only_bn_survives_the_learning_rate():
    at = open_page(PAGE, "zh", query={"challenge": "2"})
    no_exception(at)
    assert widget_keys(at) == {"pg_lr"}
    met, missed = verdict_text(at, "zh")
    assert missed and not met
    assert translate("zh", "challenges.lr_hint_higher", lr="0.5") in [i.value for i in at.info]
    at.select_slider(key="pg_lr").set_value(2.0).run()
    train(at)
    met, missed = verdict_text(at, "zh")
    assert met and not missed


def test_leaving_a_challenge_shows_every_knob_and_drops_it_from_the_url():
    at = open_page(PAGE, "en", query={"challenge": "3"})
    at.button(key="pg_leave").click().run()
    no_exception(at)
    assert "challenge" not in at.query_params
    assert {pg.WIDGET + url for url in KNOB_BY_URL} <= widget_keys(at)
    assert at.slider(key="pg_depth").value == 2  # the challenge's values stay
    assert translate("en", "challenges.title") in [e.label for e in at.expander]


def test_a_challenge_link_followed_inside_the_app_opens_it():
    at = open_page(PAGE, "en", query={"data": "xor", "depth": "1", "width": "8", "steps": "60", "every": "10"})
    links = [link for link in at.get("page_link") if "challenge=" in link.proto.query_string]
    assert len(links) == N_CHALLENGES
    at.query_params["challenge"] = "3"  # what the link's click does: the same session, a new query string
    at.run()
    no_exception(at)
    assert widget_keys(at) == {"pg_batch"} and at.query_params["data"] == "circles"


@pytest.mark.parametrize("raw", ["9", "abc", "-1", "1.5"])
def test_a_garbage_challenge_number_warns_and_opens_none(raw):
    at = open_page(query={"challenge": raw, "data": "xor", "depth": "1", "width": "8", "steps": "60"})
    no_exception(at)
    warnings = [w.value for w in at.warning]  # on the first page the link opens
    assert translate("en", "shell.bad_param", name="`challenge`", value=f"`{raw}`", default="`0`") in warnings
    at.switch_page(PAGE).run()
    no_exception(at)
    assert "challenge" not in at.query_params and "pg_depth" in widget_keys(at)
