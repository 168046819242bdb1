"""The linked training timeline (lab/lessons/timeline.py, lab/figures/timeline.py, lab/timeline_panel.py): one step
moves the histograms, the decision boundary, γ and β and the marker on the loss and accuracy curves together, and
the histograms carry Plotly frames that the browser plays (tests/app/test_browser_timeline.py plays them)."""
import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from apptest_util import no_exception, open_page

import bn_core as bc
from lab.figures import common as figures
from lab.figures.common import BN_COLOR, NO_BN_COLOR
from lab.figures.timeline import gamma_beta_at_step, with_play
from lab.i18n import translate
from lab.lessons import common
from lab.lessons import playground as pg
from lab.lessons import saturation as sat
from lab.lessons import timeline as tl
from lab.runs import cached

AXIS = {"x": "step", "loss": "loss", "accuracy": "accuracy", "train": "train", "test": "test"}
HIST_AXIS = {"x": "input", "share": "share", "activation": "act", "derivative": "der"}
SMALL = bc.TrainConfig(dataset="xor", hidden=(8, 8), steps=60, record_every=10, batch_size=16)


@pytest.fixture(scope="module")
def pair():
    """A BN and a no-BN run of a small 2-D network (weights kept at every record), and a no-BN run that diverged."""
    return bc.train(SMALL), bc.train(SMALL.replace(batchnorm=False)), bc.train(SMALL.replace(batchnorm=False,
                                                                                              lr=1000.0))


def test_frame_steps_keep_the_ends_and_at_most_the_limit():
    assert tl.frame_steps([0, 10, 20]) == [0, 10, 20]
    many = list(range(0, 3000, 10))
    picked = tl.frame_steps(many, max_frames=60)
    assert len(picked) == 60 and picked[0] == 0 and picked[-1] == 2990 and picked == sorted(set(picked))


def test_one_step_gives_each_runs_record_at_that_step(pair):
    bn, no_bn, diverged = pair
    for step in (0, 30, 60):
        i = list(bn.steps).index(step)
        hists = tl.hists_of_runs([bn, no_bn, diverged], step)
        for layer in range(2):
            np.testing.assert_array_equal(hists[0][layer], bn.dist_series(layer)[1][i])
            np.testing.assert_array_equal(hists[1][layer], no_bn.dist_series(layer)[1][i])
        params = tl.gamma_beta_at(bn, step)
        np.testing.assert_array_equal(params[1][0], bn.snapshots[i].layers[1].gamma)
        assert tl.gamma_beta_at(no_bn, step) is None  # no γ, β without BN
    assert tl.hists_of_runs([diverged], 60) == [None]  # it never got there


def test_gamma_beta_axes_hold_every_record_and_the_start(pair):
    bn, _, _ = pair
    (g_lo, g_hi), (b_lo, b_hi) = tl.gamma_beta_range(bn)
    for s in bn.snapshots:
        for ls in s.layers:
            assert g_lo < ls.gamma.min() and ls.gamma.max() < g_hi and b_lo < ls.beta.min() and ls.beta.max() < b_hi
    assert g_lo < 1 < g_hi and b_lo < 0 < b_hi
    fig = gamma_beta_at_step(tl.gamma_beta_at(bn, 30), tl.gamma_beta_range(bn), ["L1", "L2"],
                             {"title": "T", "start": "start", "gamma": "γ", "beta": "β"})
    assert [t.name for t in fig.data] == ["start", "L1", "L2"] and tuple(fig.layout.xaxis.range) == (g_lo, g_hi)
    np.testing.assert_array_equal(fig.data[2].x, bn.snapshots[3].layers[1].gamma)


def test_the_boundary_at_a_step_is_the_model_training_had_then(pair):
    bn, _, _ = pair
    data = bc.load_data(SMALL)
    xs, _, points = pg.boundary_grid(data, n=31)
    at = {step: tl.predict_grid_at(bn, step, points, len(xs)) for step in (0, 30, 60)}
    stopped = bc.train(SMALL.replace(steps=30)).build_model()  # same seed and batches, stopped at step 30
    np.testing.assert_array_equal(at[30], stopped.predict(points).reshape(31, 31))
    np.testing.assert_array_equal(at[60], pg.predict_grid(bn, points, 31))  # the last record: the final model
    assert not np.array_equal(at[0], at[60])  # the boundary moved with the step
    assert tl.predict_grid_at(bn, 70, points, 31) is None  # a step the run never reached: no boundary
    assert tl.predict_grid_at(None, 0, points, 31) is None


def test_a_large_network_has_no_model_at_a_step():
    run = bc.train(SMALL.replace(hidden=(512, 512), steps=4, record_every=1))
    assert not run.has_weights_per_record and tl.model_at(run, 2) is None


def test_the_step_is_marked_on_the_loss_and_accuracy_curves(pair):
    bn, no_bn, _ = pair
    names, colors = ["with", "without"], (BN_COLOR, NO_BN_COLOR)
    curves = figures.metric_curves([bn, no_bn], names, ("L", "A"), AXIS, colors=colors)
    fig = go.Figure(figures.mark_step(curves, [bn, no_bn], names, colors, 35, "test").to_dict())
    assert [s.x0 for s in fig.layout.shapes] == [35, 35]  # a dotted line on both panels
    assert {(s.xref, s.yref) for s in fig.layout.shapes} == {("x", "y domain"), ("x2", "y2 domain")}
    marks = [t for t in fig.data if t.mode == "markers"]
    assert len(marks) == 4  # per run, on loss and on accuracy
    i = list(bn.steps).index(30)  # the last record at or before step 35
    assert {(m.x[0], m.y[0], m.xaxis) for m in marks if m.marker.color == BN_COLOR} == {
        (30, bn.metric("test_loss")[i], "x"), (30, bn.metric("test_acc")[i], "x2")}
    assert {m.marker.symbol for m in marks} == {"circle", "x"}
    assert [t.name for t in fig.data[:len(curves.data)]] == [t.name for t in curves.data]  # the curves first
    moved = go.Figure(figures.mark_step(curves, [bn, no_bn], names, colors, 60, "test").to_dict())
    assert [s.x0 for s in moved.layout.shapes] == [60, 60]
    assert not curves.layout.shapes  # the cached curves are left alone


def test_play_frames_hold_each_steps_histograms(pair):
    bn, no_bn, diverged = pair
    records = [bn, diverged]
    steps, hists = tl.frames(records, common.recorded_steps(*records))
    base = figures.layer_histograms(tl.hists_of_runs(records, 0), ["with", "diverged"], "sigmoid", ["L1", "L2"],
                                    HIST_AXIS, colors=(BN_COLOR, NO_BN_COLOR))
    fig = with_play(base, steps, hists, [f"step {s}" for s in steps], {"play": "Play", "pause": "Pause"}, "now")
    plain = fig.to_dict()  # joined in the plain form Streamlit sends
    data, frames, layout = plain["data"], plain["frames"], plain["layout"]
    bars = [i for i, t in enumerate(data) if t["type"] == "bar"]
    assert len(frames) == len(bn.steps) == 7 and [f["name"] for f in frames] == [str(s) for s in bn.steps]
    for frame, step in zip(frames, bn.steps):
        assert list(frame["traces"]) == bars and frame["layout"]["title"]["text"] == f"step {step}"
        i = list(bn.steps).index(step)
        shown = {(data[k]["meta"]["run"], data[k]["meta"]["layer"]): numbers(d["y"]) for k, d in
                 zip(frame["traces"], frame["data"])}
        np.testing.assert_allclose(shown[(0, 1)], figures.shares(bn.dist_series(1)[1][i]), rtol=1e-6)
        if step > diverged.steps[-1]:
            assert not shown[(1, 0)].any()  # the diverged run has no record there: empty bars
    buttons = layout["updatemenus"][0]["buttons"]
    assert [b["method"] for b in buttons] == ["animate", "animate"] and buttons[0]["args"][0] is None
    assert "Play" in buttons[0]["label"] and "Pause" in buttons[1]["label"]
    assert buttons[0]["args"][1]["frame"]["duration"] > 0 and buttons[0]["args"][1]["fromcurrent"]
    assert layout["title"]["text"] == "now" and layout["height"] == base.layout.height + 60
    assert layout["margin"]["t"] == base.layout.margin.t + 60 and layout["margin"]["l"] == base.layout.margin.l
    assert go.Figure(plain).frames  # a valid figure: Plotly accepts every part


def chart(at, key):
    """The Plotly spec of the chart with this key."""
    return json.loads(next(c for c in at.get("plotly_chart") if key in c.proto.id).proto.spec)


def test_the_saturation_step_slider_moves_every_chart_together():
    at = open_page("pages/saturation.py")
    no_exception(at)
    slider = at.select_slider(key="sat_step")
    last = slider.value
    assert chart(at, "sat_hist")["layout"]["title"]["text"] == translate("en", "common.step_title", step=last)
    slider.set_value(0).run()
    no_exception(at)
    hist = chart(at, "sat_hist")
    assert hist["layout"]["title"]["text"] == translate("en", "common.step_title", step=0)
    assert len(hist["frames"]) == min(tl.MAX_FRAMES, last // 10 + 1)  # every record of 300 steps, one per 10
    for key in ("sat_metrics", "sat_low", "sat_grad"):
        assert {s["x0"] for s in chart(at, key)["layout"]["shapes"] if s["line"].get("dash") == "dot"} == {0}
    assert chart(at, "sat_gamma_beta")["layout"]["title"]["text"] == translate("en", "timeline.gamma_beta_title",
                                                                               step=0)


def numbers(value):
    """An array of a chart spec: a list, or plotly's typed array ({"dtype", "bdata"})."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, float)


@pytest.mark.parametrize("step", [0, 150])
def test_a_step_drawn_from_the_cached_figure_shows_that_steps_numbers(step):
    """The histograms and the (γ, β) points are built once and other steps put in (lab/timeline_panel.py): what is
    drawn at a step must be that step's record, and the data table must read it too."""
    at = open_page("pages/saturation.py")
    at.select_slider(key="sat_step").set_value(step).run()
    no_exception(at)
    record_bn, record_no_bn = (cached(c) for c in sat.configs(sat.BASE.activation, sat.DEFAULT_SIGMA[
        sat.BASE.activation], sat.BASE.steps, 0))
    hist = chart(at, "sat_hist")
    bars = [t for t in hist["data"] if t["type"] == "bar"]
    assert len(bars) == 2 * record_bn.n_layers
    for trace in bars:
        record = (record_bn, record_no_bn)[trace["meta"]["run"]]
        expected = figures.shares(common.hists_at(record, step)[trace["meta"]["layer"]])
        np.testing.assert_allclose(numbers(trace["y"]), expected, rtol=1e-6)
    points = chart(at, "sat_gamma_beta")["data"][1:]
    for (gamma, beta), trace in zip(tl.gamma_beta_at(record_bn, step), points, strict=True):
        np.testing.assert_allclose(numbers(trace["x"]), gamma, rtol=1e-6)
        np.testing.assert_allclose(numbers(trace["y"]), beta, rtol=1e-6)
    at.session_state["sat_hist__data"] = True  # what clicking the histograms' data expander does
    at.run()
    table = at.dataframe[0].value
    panel, series = translate("en", "common.data_panel"), translate("en", "common.data_series")
    rows = table[(table[panel] == translate("en", "common.layer", n=1)) &
                 (table[series] == translate("en", "common.with_bn"))]
    np.testing.assert_allclose(rows["y"], figures.shares(common.hists_at(record_bn, step)[0]))


def test_the_playground_boundary_follows_the_step():
    at = open_page("pages/playground.py", query=dict(data="xor", depth="1", width="8", steps="60", every="10"))
    no_exception(at)
    end = chart(at, "pg_boundary")
    at.select_slider(key="pg_hist_step").set_value(0).run()
    no_exception(at)
    start = chart(at, "pg_boundary")
    z_end = [t["z"] for t in end["data"] if t["type"] == "heatmap"]
    z_start = [t["z"] for t in start["data"] if t["type"] == "heatmap"]
    assert len(z_start) == 2 and z_start != z_end  # both runs' boundaries are those of step 0 now
    assert translate("en", "timeline.boundary_at_step", step=0) in [c.value for c in at.caption]


def _histograms_page(path, step):
    """A page with only the timeline's histograms of the pickled runs at ``step`` (run by AppTest)."""
    import pickle

    from lab import timeline_panel
    from lab.figures import common as figures

    with open(path, "rb") as f:
        records = pickle.load(f)
    names = ["with", "diverged"]
    axis = {"x": "input", "share": "share", "activation": "act", "derivative": "der"}
    timeline_panel.histograms(lambda hists: figures.layer_histograms(hists, names, "sigmoid", ["L1", "L2"], axis),
                              records, names, step, "h")


@pytest.mark.parametrize("step", [0, 60])
def test_a_run_without_a_record_at_the_step_shows_no_bars_there_as_play_does(pair, tmp_path, step):
    """The slider's view and Play's frame agree: past a diverged run's last record its bars are empty in both (not
    its last histogram in one and nothing in the other), and a note says why; before that, both show its record."""
    import pickle

    from streamlit.testing.v1 import AppTest

    bn, _, diverged = pair
    path = tmp_path / "runs.pkl"
    path.write_bytes(pickle.dumps([bn, diverged]))
    at = AppTest.from_function(_histograms_page, args=(str(path), step), default_timeout=60).run()
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    frame = next(f for f in spec["frames"] if f["name"] == str(step))
    meta = [(spec["data"][k]["meta"]["run"], spec["data"][k]["meta"]["layer"]) for k in frame["traces"]]
    shown = {m: numbers(spec["data"][k]["y"]) for m, k in zip(meta, frame["traces"])}
    in_frame = {m: numbers(d["y"]) for m, d in zip(meta, frame["data"])}
    assert sorted(shown) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for m in shown:
        np.testing.assert_allclose(shown[m], in_frame[m])  # the same bars, slider or Play
    note = translate("en", "common.no_hist", name="diverged", step=step)
    captions = [c.value for c in at.caption]
    gone = step > diverged.steps[-1]
    assert all(shown[(1, layer)].any() != gone for layer in (0, 1))
    assert (note in captions) == gone
