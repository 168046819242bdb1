"""The Playground page under AppTest (both languages) and its page logic (lab/playground.py) without an app."""
import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
from apptest_util import all_text, no_exception, open_page

import lab.lessons.playground as pg
from bn_core import RunRecord, TrainConfig, load_data, train_steps
from lab.i18n import LANGS, literal, table, translate
from lab.lessons import common
from lab.urlparams import KNOBS, config_to_query

PAGE = "pages/playground.py"
SMALL = dict(data="xor", depth="1", width="8", steps="60", every="10")  # trains in well under a second


def tr(lang, key, **params):
    return translate(lang, key, **params)


def charts(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def chart_numbers(fig):
    """Every x/y/z number of every trace (plotly encodes arrays as base64 typed arrays or as lists)."""
    values = []
    for trace in fig["data"]:
        for axis in ("x", "y", "z"):
            v = trace.get(axis)
            if isinstance(v, dict) and "bdata" in v:
                arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
            elif v is None:
                continue
            else:
                arr = np.array(v, dtype=object).ravel()
                assert all(a is not None for a in arr), f"a null (NaN) in {axis} of {trace.get('name')}"
                arr = np.array([float(a) for a in arr if not isinstance(a, str)])
            values.append(np.asarray(arr, float))
    return np.concatenate(values) if values else np.array([])


def takeaway_lines(at):
    return [line for md in at.markdown for line in str(md.value).splitlines() if line.startswith("- ")]


# ---- AppTest: the page as a user sees it ----

@pytest.mark.parametrize("lang", LANGS)
def test_compare_mode_trains_and_draws_every_chart(lang):
    at = open_page(PAGE, lang, query=SMALL)
    no_exception(at)
    figs = charts(at)
    assert len(figs) == 4  # loss/accuracy, histograms, decision boundary (xor is 2-D), γ and β
    names = {t["name"] for t in figs[0]["data"]}
    assert {f"{tr(lang, 'common.with_bn')} · {tr(lang, 'common.train')}",
            f"{tr(lang, 'common.without_bn')} · {tr(lang, 'common.test')}"} <= names
    assert figs[0]["layout"]["xaxis"]["title"]["text"] == tr(lang, "common.step")
    text = all_text(at)
    assert tr(lang, "common.takeaways") in text
    assert tr(lang, "playground.boundary_title") in text
    assert len(takeaway_lines(at)) >= 3
    assert at.download_button(key="pg_export").label == tr(lang, "playground.export")
    assert tr(lang, "playground.title") in text


@pytest.mark.parametrize("lang", LANGS)
def test_single_mode_and_toggling_bn_changes_the_result(lang):
    # a seed of its own: finished runs are cached process-wide, and this test needs an untrained config
    at = open_page(PAGE, lang, seed=100 + LANGS.index(lang), query={**SMALL, "mode": "single", "lr": "2.0"})
    no_exception(at)
    assert len(charts(at)) == 4
    with_bn = takeaway_lines(at)
    assert tr(lang, "common.with_bn").lower() in with_bn[0].lower()
    at.toggle(key="pg_bn").set_value(False).run()
    assert tr(lang, "playground.press_train").split("**")[0] in all_text(at)  # not trained yet: asks for a click
    at.button(key="pg_train").click().run()
    no_exception(at)
    without_bn = takeaway_lines(at)
    assert tr(lang, "common.without_bn").lower() in without_bn[0].lower()
    assert with_bn != without_bn
    assert at.query_params["bn"] == ["0"] or at.query_params["bn"] == "0"
    # toggling back to the trained config redraws at once, without pressing Train
    at.toggle(key="pg_bn").set_value(True).run()
    assert takeaway_lines(at) == with_bn
    assert len(charts(at)) == 4


def test_two_configs_give_two_different_takeaways():
    a = open_page(PAGE, "en", query=SMALL)
    b = open_page(PAGE, "en", query={**SMALL, "width": "16", "steps": "200", "lr": "2.0"})
    assert takeaway_lines(a) != takeaway_lines(b)


@pytest.mark.parametrize("lang", LANGS)
def test_batch_of_one_with_bn_says_why(lang):
    at = open_page(PAGE, lang, query={**SMALL, "batch": "1"})
    no_exception(at)
    errors = [e.value for e in at.error]
    assert any(tr(lang, "config_error.batch_of_one") in e for e in errors), errors
    assert not at.get("plotly_chart")
    assert at.button(key="pg_train").disabled


@pytest.mark.parametrize("lang", LANGS)
def test_absurd_learning_rate_diverges_and_no_nan_is_drawn(lang):
    at = open_page(PAGE, lang, query={**SMALL, "lr": "1000.0"})
    no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert tr(lang, "common.diverged_fix") in errors
    for reason in ("exploding_loss", "nan_loss", "non_finite_activations"):
        if tr(lang, f"divergence.{reason}") in errors:
            break
    else:
        pytest.fail(f"no divergence reason in {errors!r}")
    figs = charts(at)
    assert figs
    for fig in figs:
        numbers = chart_numbers(fig)
        assert np.all(np.isfinite(numbers))
    shapes = figs[0]["layout"].get("shapes", [])
    assert shapes, "the divergence marker is drawn on the loss/accuracy chart"
    # the charts: loss and accuracy, histograms, decision boundary, γ and β. Both runs diverged at step 2 and
    # recorded step 0 only: the boundary shows their models at step 0, titled with the step they diverged at.
    boundary_titles = [a["text"] for a in figs[2]["layout"]["annotations"]]
    assert all(tr(lang, "common.diverged_short", step=2) in title for title in boundary_titles)


BAD_CSV = b"a,b,label\n1,2,0\n3,x,1\n" + b"".join(b"%d,%d,%d\n" % (i, i + 1, i % 2) for i in range(20))


@pytest.mark.parametrize("lang", LANGS)
def test_malformed_csv_upload_gives_a_translated_message(lang):
    at = open_page(PAGE, lang, query={**SMALL, "data": "csv"})
    no_exception(at)
    assert tr(lang, "config_error.csv_needs_data") in all_text(at)
    at.file_uploader(key="pg_file").set_value(("bad.csv", BAD_CSV, "text/csv")).run()
    no_exception(at)
    expected = tr(lang, "csv_error.non_numeric", column=literal("b"), row="2", value=literal("x"))
    assert expected in [e.value for e in at.error]
    assert not at.get("plotly_chart")
    at.file_uploader(key="pg_file").set_value(("bin.csv", b"\x00\x01\x02garbage", "text/csv")).run()
    no_exception(at)
    assert tr(lang, "csv_error.binary") in [e.value for e in at.error]


def test_a_good_csv_upload_trains_and_a_label_column_can_be_chosen():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    frame = pd.DataFrame({"cls": (X[:, 0] > 0).astype(int), "u": X[:, 0], "v": X[:, 1]})
    at = open_page(PAGE, "en", query={**SMALL, "data": "csv"})
    at.file_uploader(key="pg_file").set_value(("ok.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert at.selectbox(key="pg_label").value == "v"  # the last column by default
    at.selectbox(key="pg_label").set_value("cls").run()
    assert not at.get("plotly_chart")  # another data set: trained only on a click
    at.button(key="pg_train").click().run()
    no_exception(at)
    assert len(charts(at)) == 4  # two feature columns: the decision boundary too
    assert "80 rows, 2 feature columns, 2 classes." in all_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_garbage_url_parameters_warn_and_fall_back(lang):
    at = open_page(PAGE, lang, query={**SMALL, "lr": "abc", "depth": "99", "act": "foo"})
    no_exception(at)
    warnings = [w.value for w in at.warning]
    for name, raw, default in (("lr", "abc", "0.5"), ("depth", "99", "3"), ("act", "foo", "sigmoid")):
        assert tr(lang, "shell.bad_param", name=literal(name), value=literal(raw), default=literal(default)) in warnings
    assert len(charts(at)) == 4  # still trains, with the defaults
    query = at.query_params
    assert [query["lr"], query["depth"], query["act"]] in (["0.5", "3", "sigmoid"], [["0.5"], ["3"], ["sigmoid"]])
    at.run()  # the corrected link is now in the URL: no warning again
    assert not at.warning


def _q(at, name):
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def test_a_widget_change_is_written_to_the_url():
    at = open_page(PAGE, "en", query=SMALL)
    assert _q(at, "depth") == "1" and _q(at, "mode") == "compare"
    at.slider(key="pg_depth").set_value(2).run()
    assert _q(at, "depth") == "2"
    at.select_slider(key="pg_lr").set_value(0.05).run()
    assert _q(at, "lr") == "0.05"
    at.radio(key="pg_mode").set_value("single").run()
    assert _q(at, "mode") == "single"
    code = at.code[0].value
    assert "depth=2" in code and "lr=0.05" in code and "mode=single" in code and "lang=en" in code
    no_exception(at)


def test_coming_back_to_the_page_keeps_the_settings():
    at = open_page(PAGE, "en", query=SMALL)
    at.slider(key="pg_depth").set_value(2).run()
    at.switch_page("pages/home.py").run()
    for name in list(at.query_params):
        if name not in ("lang", "seed"):
            del at.query_params[name]
    at.switch_page(PAGE).run()
    no_exception(at)
    assert at.slider(key="pg_depth").value == 2


def test_the_csv_export_downloads_every_record(media):
    at = open_page(PAGE, "en", query=SMALL)
    frame = pd.read_csv(io.BytesIO(media(at.download_button(key="pg_export"))))
    assert list(frame.columns[:7]) == ["run", "step", "train_loss", "train_acc", "test_loss", "test_acc", "layer"]
    assert set(frame["run"]) == {"with_bn", "without_bn"}
    assert sorted(set(frame["step"])) == list(range(0, 61, 10))
    assert len(frame) == 2 * 7 * 1  # runs × records × hidden layers
    assert frame.loc[frame.run == "without_bn", "gamma_mean"].isna().all()
    assert frame.loc[frame.run == "with_bn", "gamma_mean"].notna().all()


def test_the_default_experiment_is_the_default_config():
    at = open_page(PAGE, "en", query={"steps": "20", "every": "10"})  # defaults, but short
    no_exception(at)
    assert at.selectbox(key="pg_data").value == "digits"
    assert at.slider(key="pg_depth").value == 3 and at.number_input(key="pg_width").value == 100
    assert at.selectbox(key="pg_act").value == "sigmoid" and at.radio(key="pg_mode").value == "compare"
    assert len(charts(at)) == 3  # digits: no decision boundary


# ---- page logic ----

def test_every_choice_label_exists_in_both_languages():
    for lang in LANGS:
        keys = table(lang)
        for labels in pg.CHOICE_KEYS.values():
            assert set(labels.values()) <= set(keys)
    for knob in KNOBS:
        if knob.kind is str:
            assert set(knob.choices) == set(pg.CHOICE_KEYS[knob.url])


def test_log_choices_are_1_2_5_steps_and_keep_a_linked_value():
    assert pg.log_choices(0.01, 1) == (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    lr = pg.LOG_CHOICES["lr"]
    assert lr[0] == 1e-5 and lr[-1] == 1000.0 and 0.5 in lr
    assert 0.3 in pg.log_options("lr", 0.3) and list(pg.log_options("lr", 0.3)) == sorted(pg.log_options("lr", 0.3))
    assert TrainConfig().bn_eps in pg.LOG_CHOICES["eps"] and TrainConfig().init_sigma in pg.LOG_CHOICES["sigma"]


def test_sync_from_url_applies_links_once_and_restores_dropped_widgets():
    state = {}
    bad = pg.sync_from_url(state, {"lr": "abc", "depth": "2", "lang": "zh"})
    assert bad == [("lr", "abc", "0.5")]
    assert state["pg_depth"] == 2 and state["pg_lr"] == 0.5 and state.pop(pg.TrainControl.AUTOTRAIN)
    config, mode, query = pg.config_from_widgets(state, seed=7)
    assert config.hidden == (100, 100) and config.seed == 7 and mode == "compare"
    query_params = {}
    pg.write_url(state, query_params, query)
    assert query_params == query
    state["pg_depth"] = 4  # the user moves a slider: the URL is what the page wrote, so it is not re-applied
    assert pg.sync_from_url(state, query_params) == [] and state["pg_depth"] == 4
    del state["pg_depth"]  # Streamlit dropped the widget on a page switch; the URL lost its knobs too
    pg.sync_from_url(state, {})
    assert state["pg_depth"] == 2 and pg.TrainControl.AUTOTRAIN not in state
    link = config_to_query(TrainConfig(hidden=(8,), dataset="xor"), "single")  # a link from a lesson
    pg.sync_from_url(state, link)
    assert state["pg_depth"] == 1 and state["pg_width"] == 8 and state["pg_mode"] == "single"
    assert state[pg.TrainControl.AUTOTRAIN]


def test_run_plan_compare_is_the_same_config_with_and_without_bn():
    config = TrainConfig(batchnorm=False, steps=10)
    configs, ids = pg.run_plan(config, "compare")
    assert [c.batchnorm for c in configs] == [True, False] and ids == ["bn", "no_bn"]
    assert configs[0].replace(batchnorm=False) == configs[1]
    assert pg.run_plan(config, "single") == ([config], ["no_bn"])


def test_a_stopped_run_is_kept_for_its_config_only():
    config = TrainConfig(dataset="xor", hidden=(8,), steps=100, record_every=10)
    live = train_steps(config)
    records = [None]
    for n, record in enumerate(live):
        records[0] = record
        if n == 3:
            break
    live.close()  # what a Stop does to the training
    control = pg.TrainControl({})
    control.remember([config], records)
    kept = control.partial([config])
    assert kept[0].status == "stopped" and kept[0].steps_done == 30 and pg.is_stopped(kept[0])
    assert control.partial([config.replace(steps=200)]) is None
    assert common.recorded_steps(*kept) == [0, 10, 20, 30]


def test_train_control_decides_when_to_train():
    configs = [TrainConfig(steps=10)]
    control = pg.TrainControl({})
    assert control.decide(configs, ready=True, pressed=False, all_cached=False) == "idle"  # waits for Train
    assert control.decide(configs, ready=False, pressed=True, all_cached=False) == "idle"  # cannot train
    assert control.decide(configs, ready=True, pressed=True, all_cached=False) == "train"
    assert control.decide(configs, ready=True, pressed=False, all_cached=True) == "train"  # shown at once
    control.autostart()  # a link just opened
    assert control.decide(configs, ready=True, pressed=False, all_cached=False) == "train"
    assert control.decide(configs, ready=True, pressed=False, all_cached=False) == "idle"  # autostart is used once
    control.remember(configs, [None])  # training, and another widget moved: keep following it
    assert control.decide(configs, ready=True, pressed=False, all_cached=False) == "train"
    control.stop()
    assert control.decide(configs, ready=True, pressed=False, all_cached=False) == "partial"
    assert control.decide([TrainConfig(steps=20)], ready=True, pressed=False, all_cached=False) == "idle"
    assert control.decide(configs, ready=True, pressed=True, all_cached=False) == "train"  # Train again
    control.finished()
    assert control.partial(configs) is None


def test_read_upload_reports_csv_errors_and_caches_the_last_parse():
    state, config = {}, TrainConfig()
    data, features, err = pg.read_upload(state, b"a,b\n1,0\n2,1\n", "b", config)
    assert data is None and err.code == "too_few_rows"
    good = b"x,y,c\n" + b"".join(b"%d,%d,%d\n" % (i, -i, i % 3) for i in range(30))
    data, features, err = pg.read_upload(state, good, "c", config)
    assert err is None and features == ["x", "y"] and data.n_classes == 3 and data.is_2d
    assert pg.read_upload(state, good, "c", config)[0] is data  # cached
    assert pg.upload_digest(good, "c") != pg.upload_digest(good, "x")


def _finished(**changes):
    return list(train_steps(TrainConfig(dataset="xor", hidden=(8,), steps=60, record_every=10, **changes)))[-1]


def test_export_csv_has_a_run_column_and_every_record():
    a, b = _finished(), _finished(batchnorm=False)
    frame = pd.read_csv(io.StringIO(pg.export_csv([a, b], ["bn", "no_bn"])))
    assert frame.columns[0] == "run" and len(frame) == 14
    assert pg.export_csv([None], ["bn"]) == ""


def test_decision_boundary_grid_leaves_the_record_as_it_is():
    record = _finished()
    data = load_data(record.config)
    xs, ys, points = pg.boundary_grid(data, n=31)
    assert points.shape == (31 * 31, 2) and xs[0] < data.X_test[:, 0].min() and ys[-1] > data.X_test[:, 1].max()
    before = {k: v.copy() for k, v in record.weights.items()}
    z = pg.predict_grid(record, points, 31)
    assert z.shape == (31, 31) and set(np.unique(z)) <= {0, 1}
    assert all(np.array_equal(before[k], v) for k, v in record.weights.items())
    assert not any(v.flags.writeable for v in record.weights.values())  # a shared record is a value
    diverged = list(train_steps(TrainConfig(dataset="xor", hidden=(8,), steps=60, lr=1000.0)))[-1]
    assert diverged.status == "diverged" and pg.predict_grid(diverged, points, 31) is None


def _fake(acc, status="finished", steps=None):
    """A record-like object with a test-accuracy curve (the takeaways read metric(), steps, status)."""
    class Fake:
        pass
    f = Fake()
    f.snapshots = list(range(len(acc)))
    f.steps = np.arange(len(acc)) * 10 if steps is None else np.asarray(steps)
    f.status, f.divergence, f.steps_done = status, None, int(f.steps[-1])
    f.done = status in ("finished", "diverged")
    f.metric = lambda name: np.asarray(acc if name == "test_acc" else [0.5] * len(acc), float)
    f.first_step_reaching = lambda target, metric="test_acc": RunRecord.first_step_reaching(f, target, metric)
    return f


def test_takeaways_choose_the_phrasing_from_the_numbers(monkeypatch):
    monkeypatch.setattr(pg, "t", lambda key, **p: key)

    def keys(*args, **kwargs):  # the sentences' keys (takeaways capitalizes the first letter)
        return [s.lower() for s in pg.takeaways(*args, **kwargs)]

    fast, slow = _fake([0.5, 0.95, 0.97]), _fake([0.5, 0.6, 0.96])
    said = keys([fast, slow], ["bn", "no_bn"], chance=0.5)
    assert "playground.tk_reach_faster" in said and "playground.tk_final_better" in said
    said = keys([fast, _fake([0.5, 0.95, 0.97])], ["bn", "no_bn"], chance=0.5)
    assert "playground.tk_reach_same" in said and "playground.tk_final_same" in said
    said = keys([fast, _fake([0.5, 0.5, 0.52])], ["bn", "no_bn"], chance=0.5)
    assert "playground.tk_reach_one" in said
    said = keys([_fake([0.5, 0.51])], ["bn"], chance=0.5)
    assert "playground.tk_chance" in said
    said = keys([_fake([0.5, 0.9])], ["no_bn"], chance=0.5)
    assert "playground.tk_reach_single" in said


def test_takeaway_numbers_are_the_runs_numbers():
    fast, slow = _fake([0.5, 0.95, 0.97]), _fake([0.5, 0.6, 0.96])
    with pytest.MonkeyPatch.context() as m:
        m.setattr(pg, "t", lambda key, **p: translate("en", key, **p))
        said = pg.takeaways([fast, slow], ["bn", "no_bn"], chance=0.5)
    assert "With BN: test accuracy 97.0% at step 20" in said[0]
    assert ("The run with BN reached 85% test accuracy by step 10, the run without BN only by step 20: 2× sooner. "
            "Both steps are read at the records, so each may be late by up to one recording interval." in said)
