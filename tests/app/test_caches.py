"""lab/caches.py: fingerprints, memoized builders and the figures Streamlit is handed; and, on the pages, that a
second view builds no figure and shows the same charts."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from apptest_util import no_exception, open_page

import bn_core as bc
from lab.caches import FIGURE_KEY, SentFigure, Uncacheable, fingerprint, memoized, sendable
from lab.figures.common import projector


@pytest.fixture(scope="module")
def record():
    return bc.train(bc.TrainConfig(hidden=(8,), steps=20, record_every=10, dataset="xor"))


def test_equal_inputs_equal_fingerprints_and_any_difference_shows():
    a = np.arange(12.0).reshape(3, 4)
    assert fingerprint((a, "x", 1.5, None, {"k": [1, 2]})) == fingerprint((a.copy(), "x", 1.5, None, {"k": [1, 2]}))
    b = a.copy()
    b[2, 3] += 1e-12
    assert fingerprint(a) != fingerprint(b)  # one bit of one number
    assert fingerprint(a) != fingerprint(a.astype(np.float32)) != fingerprint(a.reshape(4, 3))
    assert fingerprint(("with BN",)) != fingerprint(("含 BN",))  # labels carry the language
    assert fingerprint(float("nan")) == fingerprint(float("nan"))
    assert fingerprint((1, 2)) != fingerprint([1, 2])
    assert fingerprint({1: "a", "b": 2}) == fingerprint({"b": 2, 1: "a"})  # key order and mixed key types


def test_a_finished_run_is_known_by_its_config_and_a_running_one_not_at_all(record):
    assert fingerprint(record) == fingerprint(record.view())
    other = bc.train(record.config.replace(seed=1))
    assert fingerprint(record) != fingerprint(other)
    running = record.view()
    running.status = "running"
    with pytest.raises(Uncacheable):
        fingerprint(running)


@pytest.mark.parametrize("value", [lambda: 1, object(), np.array([object()]), go.Figure(), "x".upper,
                                   np.random.default_rng(0).normal])
def test_values_without_a_safe_fingerprint_are_refused(value):
    with pytest.raises(Uncacheable):
        fingerprint(value)


def test_memoized_keeps_results_by_arguments_and_runs_nested_calls_fresh():
    calls = []

    @memoized(4)
    def inner(x):
        calls.append(("inner", x))
        return [x]

    @memoized(4)
    def outer(x):
        calls.append(("outer", x))
        return inner(x) + [0]

    assert outer(1) is outer(1) and calls == [("outer", 1), ("inner", 1)]  # the outer result kept, built once
    first = inner(1)
    assert calls[-1] == ("inner", 1) and inner(1) is first  # called from outside: kept on its own
    assert inner(np.float64(2.0)) == [2.0] and inner(lambda: 0) is not inner(lambda: 0)  # refused: runs each time


def test_a_memoized_figure_carries_its_key_and_is_a_fingerprint_for_the_next_builder():
    @memoized(4, figure=True)
    def bars(values):
        return go.Figure(go.Bar(y=values))

    @memoized(4, figure=True)
    def pair(values):
        return [go.Figure(go.Bar(y=values)), go.Figure(go.Bar(y=values[::-1]))]

    fig = bars((1, 2))
    assert getattr(fig, FIGURE_KEY) and fingerprint(fig) == ("figure", getattr(fig, FIGURE_KEY))
    assert getattr(bars((1, 3)), FIGURE_KEY) != getattr(fig, FIGURE_KEY)
    a, b = pair((1, 2))
    assert getattr(a, FIGURE_KEY) != getattr(b, FIGURE_KEY)


def test_the_cache_is_bounded():
    @memoized(2)
    def square(x):
        return [x * x]

    kept = square(1)
    square(2)
    square(3)
    assert square(1) is not kept  # pushed out by two newer ones


def test_a_sent_figure_is_the_figure_streamlit_would_have_sent(monkeypatch):
    """SentFigure relies on one thing: st.plotly_chart turns a Figure into its spec through to_dict(). Whatever
    Streamlit version is installed, both must give the same chart."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def page():
        import plotly.graph_objects as go
        import streamlit as st

        from lab.caches import SentFigure
        fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="run"))
        fig.update_layout(title="t", height=300)
        st.plotly_chart(fig, key="original")
        st.plotly_chart(SentFigure(fig.to_dict()), key="sent")

    at = AppTest.from_function(page).run()
    no_exception(at)
    original, sent = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert original == sent and original["layout"]["title"]["text"] == "t"
    assert st  # imported for AppTest's script


def test_sendable_makes_the_plain_form_once_per_figure_and_variant():
    @memoized(4, figure=True)
    def line(values):
        return go.Figure(go.Scatter(y=values))

    fig = line((1, 2, 3))
    finished = []

    def finish(f):
        finished.append(f)
        return f

    ready = sendable(fig)
    assert isinstance(ready, SentFigure) and ready.to_dict() == fig.to_dict() and ready.source is fig
    assert sendable(fig) is ready
    enlarged = sendable(fig, "projector", finish)
    assert enlarged is not ready and sendable(fig, "projector", finish) is enlarged and len(finished) == 1
    plain = go.Figure(go.Scatter(y=[1]))  # not memoized: finished every time, nothing kept
    assert sendable(plain) is plain and len(finished) == 1
    once = sendable(plain, "projector", finish)
    assert isinstance(once, SentFigure) and once.to_dict() == plain.to_dict() and once.source is plain
    assert len(finished) == 2
    assert sendable(ready) is ready  # already plain
    with pytest.raises(ValueError):  # an unnamed variant would be kept in the plain figure's place
        sendable(fig, finish=finish)


# --- On the pages: a second view builds no figure and shows the same charts ---------------------------------------

PAGES = ["pages/inputs.py", "pages/saturation.py", "pages/covariate_shift.py", "pages/gamma_beta.py",
         "pages/inference.py", "pages/beyond.py", "pages/playground.py"]


@pytest.mark.parametrize("page", PAGES)
def test_a_second_view_of_a_page_builds_no_figure(page, monkeypatch):
    first = open_page(page)
    no_exception(first)
    built = []
    init = go.Figure.__init__

    def counting(self, *args, **kwargs):
        if not isinstance(self, SentFigure):  # an empty shell around a cached plain form (0.3 ms) is no build
            built.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(go.Figure, "__init__", counting)
    second = open_page(page)  # a new session, the same experiment
    no_exception(second)
    assert built == [], f"{page}: figures built again on a second view: {built}"
    specs = [[c.proto.spec for c in at.get("plotly_chart")] for at in (first, second)]
    assert specs[0] and specs[0] == specs[1]


def test_presentation_mode_gets_its_own_enlarged_copy_and_leaves_the_shared_figure_alone():
    plain = open_page("pages/saturation.py")
    presenting = open_page("pages/saturation.py", query={"present": "1"})
    again = open_page("pages/saturation.py")
    size = [json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["font"]["size"]
            for at in (plain, presenting, again)]
    assert size[1] > size[0] == size[2]


class Watched(dict):
    """A trace dict that notes every pop: Plotly pops (and puts back) "type" from the dicts a Figure is built from."""

    popped = set()

    def pop(self, *args):
        Watched.popped.add(id(self))
        return super().pop(*args)


def test_presentation_mode_never_touches_a_shared_figure_or_plain_form():
    """Other sessions read cached figures while one enlarges them for a projector: the copy must not even briefly
    change them (a session serializing a bar trace without its "type" would draw it as lines)."""
    @memoized(4, figure=True)
    def bars(values):
        return go.Figure(go.Bar(y=values))

    fig = bars((1, 2, 3))
    fig._data[0] = shared_trace = Watched(fig._data[0])
    sent = SentFigure({"data": [shared_plain := Watched(type="bar", y=[1, 2])], "layout": {}})
    Watched.popped.clear()
    sendable(fig, "projector", lambda f: projector(f, 1.5))
    sendable(sent, "projector", lambda f: projector(f, 1.5))
    assert id(shared_trace) not in Watched.popped and id(shared_plain) not in Watched.popped
