"""Presentation mode (``?present=1``, lab/present.py), hidden Playground knobs (``?hide=``): under AppTest in both
languages, kept across page switches, garbage values; projector-sized figures; and in a real browser, the QR code
and the collapsed sidebar."""
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from apptest_util import ROOT, TIMEOUT, no_exception
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_browser import READY, browser, running_server  # noqa: F401 -- the browser fixture, a server of our own

from lab import present as presentation
from lab.figures.common import metric_curves, projector
from lab.i18n import LANGS, literal, translate
from lab.lessons import playground as pg
from lab.urlparams import PARAM_BY_URL

PAGE = "pages/playground.py"
SMALL = dict(data="xor", depth="1", width="8", steps="60", every="10")  # trains in well under a second
BASE = "http://lab.example:8501"  # the address the browser reports (st.context.url)


def open_app(page=None, lang="en", query=None):
    """apptest_util.open_page, with the browser's address set (the QR code needs it)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.context = {"url": f"{BASE}/"}
    for name, value in {"lang": lang, "seed": "0", **(query or {})}.items():
        at.query_params[name] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def q(at, name):
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def knob_widgets(at):
    knobs = {pg.WIDGET + url for url in pg.KNOB_BY_URL}
    return {w.key for kind in ("slider", "select_slider", "selectbox", "number_input", "toggle", "radio")
            for w in getattr(at, kind) if w.key in knobs}


def markdowns(at):
    return [str(m.value).strip() for m in at.markdown]


def qr_images(at):
    """The images on the page (each has a url and a caption)."""
    return [img for element in at.get("image") for img in element.proto.imgs]


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


# ---- presentation mode in the app ----

@pytest.mark.parametrize("lang", LANGS)
def test_present_shows_a_short_intro_and_the_qr_code_of_the_students_link(lang, media):
    at = open_app(lang=lang, query={"present": "1"})
    no_exception(at)
    assert at.sidebar.toggle[0].value is True
    assert translate(lang, "present.home") in markdowns(at)
    assert translate(lang, "present.full_text") in [e.label for e in at.expander]
    images = qr_images(at)
    assert len(images) == 1 and images[0].caption == translate(lang, "present.scan")
    link = f"{BASE}?lang={lang}&seed=0"  # the same page, without presentation mode
    assert np.array_equal(pixels(media(images[0].url)), pixels(presentation.qr_png(link)))
    assert q(at, "present") == "1"


@pytest.mark.parametrize("lang", LANGS)
def test_without_present_the_full_intro_and_no_qr_code(lang):
    at = open_app(lang=lang)
    no_exception(at)
    assert at.sidebar.toggle[0].value is False
    assert translate(lang, "home.intro").strip() in markdowns(at)
    assert not qr_images(at) and "present" not in at.query_params


@pytest.mark.parametrize("lang", LANGS)
def test_present_and_hide_are_kept_across_page_switches(lang, media):
    at = open_app(PAGE, lang, query={**SMALL, "present": "1", "hide": "lr,batch", "lr": "2.0"})
    no_exception(at)
    drawn = knob_widgets(at)
    assert "pg_lr" not in drawn and "pg_batch" not in drawn and "pg_depth" in drawn
    assert q(at, "lr") == "2.0" and q(at, "batch") == "60"  # hidden, the values still come from the URL
    link = presentation.student_link(f"{BASE}/playground", {k: q(at, k) for k in at.query_params})
    assert "lr=2.0" in link and "hide=lr%2Cbatch" in link and "present" not in link
    assert np.array_equal(pixels(media(qr_images(at)[0].url)), pixels(presentation.qr_png(link)))
    for page in ("pages/home.py", "pages/inputs.py"):
        at.switch_page(page).run()
        no_exception(at)
        assert q(at, "present") == "1" and q(at, "hide") == "lr,batch"
        assert at.sidebar.toggle[0].value is True and len(qr_images(at)) == 1
    for name in list(at.query_params):  # a page switch drops the query string
        del at.query_params[name]
    at.switch_page(PAGE).run()
    no_exception(at)
    assert "pg_lr" not in knob_widgets(at) and q(at, "lr") == "2.0" and q(at, "hide") == "lr,batch"
    assert translate(lang, "present.playground") in markdowns(at)


def test_the_sidebar_switch_turns_presentation_mode_off_and_on():
    at = open_app(query={"present": "1"})
    at.sidebar.toggle[0].set_value(False).run()
    no_exception(at)
    assert "present" not in at.query_params and not qr_images(at)
    assert translate("en", "home.intro").strip() in markdowns(at)
    at.sidebar.toggle[0].set_value(True).run()
    assert q(at, "present") == "1" and len(qr_images(at)) == 1


def test_charts_are_larger_in_presentation_mode():
    """Every chart of the Playground (joined at each view from cached parts: the step marked, the step's bars with
    the Play frames, γ and β): text and lines larger by FIGURE_SCALE, the data and the frames the same."""
    sizes, data = {}, {}
    for present in ("0", "1"):
        at = open_app(PAGE, query={**SMALL, "present": present})
        no_exception(at)
        figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        sizes[present] = [(f["layout"]["font"]["size"], f["layout"]["xaxis"]["tickfont"]["size"],
                           max([t.get("line", {}).get("width", 2) for t in f["data"] if t["type"] == "scatter"],
                               default=1))
                          for f in figs]
        data[present] = [([{k: t.get(k) for k in ("x", "y")} for t in f["data"]], f.get("frames")) for f in figs]
    assert len(sizes["1"]) == len(sizes["0"]) >= 3
    for big, small in zip(sizes["1"], sizes["0"]):
        assert big == pytest.approx(tuple(s * presentation.FIGURE_SCALE for s in small))
    assert data["1"] == data["0"]


def test_hiding_every_knob_leaves_no_empty_panel():
    at = open_app(PAGE, query={**SMALL, "hide": ",".join(pg.KNOB_BY_URL)})
    no_exception(at)
    assert not knob_widgets(at) and at.get("plotly_chart")  # still trains, from the URL's values


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name, raw", [("present", "yes"), ("present", "2"), ("hide", "lr,bogus"), ("hide", "LR")])
def test_garbage_values_warn_and_fall_back(lang, name, raw):
    at = open_app(lang=lang, query={name: raw})
    no_exception(at)
    warnings = [w.value for w in at.warning]
    if name == "present":
        assert translate(lang, "shell.bad_param", name=literal(name), value=literal(raw), default=literal("0")) \
            in warnings
        assert at.sidebar.toggle[0].value is False and not qr_images(at)
    else:
        assert translate(lang, "present.bad_param_ignored", name=literal(name), value=literal(raw)) in warnings
        at.switch_page(PAGE).run()
        assert "pg_lr" in knob_widgets(at)  # nothing hidden
    assert name not in at.query_params
    at.run()
    assert not at.warning  # said once


# ---- the pure parts ----

def test_hide_parses_a_comma_list_of_knob_names():
    hide = PARAM_BY_URL["hide"]
    assert hide.parse("lr,batch") == ("lr", "batch")
    assert hide.parse(" lr , batch,lr,") == ("lr", "batch")  # spaces, repeats and empty items do not matter
    assert hide.parse("") == ()
    for raw in ("lr,bogus", "LR", "seed", "lang"):
        with pytest.raises(ValueError):
            hide.parse(raw)
    assert hide.format(("lr", "batch")) == "lr,batch" and hide.format(()) == ""


def test_the_students_link_leaves_presentation_mode_out():
    link = presentation.student_link("http://10.0.0.5:8501/playground", {"lang": "zh", "present": "1", "lr": "2.0"})
    assert link == "http://10.0.0.5:8501/playground?lang=zh&lr=2.0"
    assert presentation.student_link("http://10.0.0.5:8501/", {"present": "1"}) == "http://10.0.0.5:8501/"
    assert presentation.student_link(None, {"lang": "en"}) is None
    assert presentation.is_local("http://localhost:8501/?lang=en") and presentation.is_local("http://127.0.0.1/")
    assert not presentation.is_local(link)


def test_the_qr_code_is_a_png_that_depends_on_the_link():
    a, b = presentation.qr_png("http://10.0.0.5:8501/?lang=en"), presentation.qr_png("http://10.0.0.5:8501/?lang=zh")
    assert a.startswith(b"\x89PNG") and not np.array_equal(pixels(a), pixels(b))
    image = pixels(a)
    assert image.shape[0] == image.shape[1] >= 21 * 8 and set(np.unique(image)) == {0, 255}


def test_every_lesson_has_a_short_intro_in_both_languages():
    from lab import shell
    assert set(presentation.SHORT_INTROS) == {lesson.key for lesson in shell.LESSONS}
    for lang in LANGS:
        for lesson in shell.LESSONS:
            short, full = translate(lang, presentation.SHORT_INTROS[lesson.key]), translate(lang, f"{lesson.key}.intro")
            assert len(short) < len(full) / 2, (lang, lesson.key)


def test_projector_scales_text_lines_and_markers_and_leaves_the_figure_as_it_was():
    record_like = type("R", (), {"snapshots": [0, 1], "steps": np.array([0, 10]), "divergence": None,
                                 "metric": lambda self, name: np.array([0.5, 0.4])})()
    fig = metric_curves([record_like], ["run"], ("loss", "acc"),
                        {"x": "step", "loss": "loss", "accuracy": "acc", "train": "train", "test": "test"})
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], fill="toself", line=dict(width=0)))  # a band: no outline
    fig.update_layout(legend=dict(y=-0.22))
    before, plain = fig.to_dict(), fig.to_dict()
    big = go.Figure(projector(plain, 1.5))  # from the plain form Streamlit is sent; a new one
    assert fig.to_dict() == before and plain == before
    assert big.layout.font.size == 1.5 * fig.layout.font.size
    assert big.layout.xaxis.tickfont.size == 1.5 * fig.layout.xaxis.tickfont.size
    assert [a.font.size for a in big.layout.annotations] == [1.5 * a.font.size for a in fig.layout.annotations]
    assert big.data[0].line.width == 1.5 * fig.data[0].line.width and big.data[-1].line.width == 0
    assert big.layout.height > fig.layout.height
    assert big.layout.legend.y == 1.5 * -0.22 and big.layout.legend.font.size == 1.5 * fig.layout.legend.font.size
    assert big.data[0].marker.size == 1.5 * fig.data[0].marker.size


# ---- in a real browser ----

@pytest.mark.parametrize("lang", LANGS)
def test_in_a_browser_the_sidebar_starts_collapsed_and_the_qr_code_renders(browser, lang):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    with running_server() as url:
        for path, query in (("", "present=1"), ("playground", "present=1&" + "&".join(f"{k}={v}" for k, v in
                                                                                         SMALL.items()))):
            page.goto(f"{url}/{path}?lang={lang}&{query}")
            page.wait_for_selector(READY, timeout=180_000)
            page.wait_for_timeout(800)
            page.wait_for_selector(READY, timeout=180_000)
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stSidebar']").get_attribute("data-collapsed") == "true"
            img = page.locator("[data-testid='stImage'] img")
            img.first.wait_for(timeout=60_000)  # a loaded machine may still be drawing the page's last rerun
            assert img.count() == 1
            box = img.bounding_box()
            assert box["width"] > 100 and box["height"] > 100
            assert page.evaluate("(el) => el.complete && el.naturalWidth > 0", img.element_handle())
            assert img.get_attribute("src").startswith(url)  # served by the app itself
        page.goto(f"{url}/?lang={lang}")  # a new session without presentation mode: the sidebar is open
        page.wait_for_selector(READY, timeout=180_000)
        assert page.locator("[data-testid='stSidebar']").get_attribute("data-collapsed") == "false"
        assert page.locator("[data-testid='stImage'] img").count() == 0
    context.close()
