"""The shell under AppTest: every page in both languages, the shared sidebar across reruns and page switches,
the language from the URL or the browser, garbage URL values."""
import pytest
import streamlit as st
from apptest_util import ROOT, TIMEOUT, all_text, no_exception, open_page
from streamlit.testing.v1 import AppTest

from lab import shell
from lab.i18n import LANGS, translate


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("lesson", shell.LESSONS, ids=lambda lesson: lesson.url_path)
def test_every_page_runs_in_both_languages(lesson, lang):
    at = open_page(lesson.file, lang=lang)
    no_exception(at)
    assert at.title and at.title[0].value == translate(lang, f"{lesson.key}.title")
    assert at.sidebar.radio[0].value == lang


@pytest.fixture
def test_process_lang():
    """AppTest formats widget values with the page's format_func (which calls t()) in the test process, so the
    test process's language must follow the app's when a test switches it; restored afterwards."""
    yield lambda lang: st.session_state.__setitem__("lang", lang)
    st.session_state["lang"] = "en"


def test_language_and_seed_survive_reruns_and_page_switches(test_process_lang):
    at = open_page(lang="en")
    at.sidebar.radio[0].set_value("zh").run()
    test_process_lang("zh")
    at.sidebar.number_input[0].set_value(7).run()
    for lesson in (*shell.LESSONS[1:], shell.LESSONS[0]):
        at.switch_page(lesson.file)
        at.run()
        no_exception(at)
        assert at.sidebar.radio[0].value == "zh", lesson.file
        assert at.sidebar.number_input[0].value == 7, lesson.file
        assert at.title[0].value == translate("zh", f"{lesson.key}.title")
        assert at.query_params["lang"] == "zh" and at.query_params["seed"] == "7"
    at.run()  # a plain rerun keeps them too
    assert at.sidebar.radio[0].value == "zh" and at.sidebar.number_input[0].value == 7


def test_language_from_the_url():
    at = open_page(lang="zh")
    assert at.title[0].value == translate("zh", "home.title")
    assert translate("zh", "home.map_title") in all_text(at)


@pytest.mark.parametrize("locale, lang", [("zh-CN", "zh"), ("en-US", "en"), ("de-DE", "en")])
def test_default_language_follows_the_browser_locale(locale, lang):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.context = {"locale": locale}
    at.run()
    no_exception(at)
    assert at.sidebar.radio[0].value == lang


@pytest.mark.parametrize("name, value", [("lang", "klingon"), ("seed", "abc"), ("seed", "-5"), ("seed", "1e99")])
def test_garbage_url_values_fall_back_with_a_warning_naming_them(name, value):
    at = open_page(query={name: value})
    no_exception(at)
    warnings = " ".join(w.value for w in at.warning)
    assert f"`{name}`" in warnings and value in warnings
    assert at.sidebar.radio[0].value == "en" and at.sidebar.number_input[0].value == 0


def test_home_lists_every_lesson():
    at = open_page(lang="en")
    links = [el for el in at.get("page_link")]
    labels = {link.proto.label for link in links}
    assert {translate("en", f"{lesson.key}.title") for lesson in shell.LESSONS[1:]} <= labels


def test_a_translated_choice_survives_a_language_switch(monkeypatch):
    """The browser sends back the label of a chosen option; after a language switch that is the old language's
    label. keep_choice maps it back before the widget is drawn, so no page ever sees a label as a value."""
    import streamlit as st

    from lab import shell
    from lab.i18n import translate

    labels_in = lambda lang: {v: translate(lang, f"playground.data_{v}") for v in ("digits", "xor")}  # noqa: E731
    state = {"pg_data": translate("en", "playground.data_xor"), "pg_other": "zzz-not-a-label"}
    monkeypatch.setattr(st, "session_state", state)
    shell.keep_choice("pg_data", ("digits", "xor"), labels_in)
    shell.keep_choice("pg_other", ("digits", "xor"), labels_in)
    assert state == {"pg_data": "xor"}  # mapped back; an unknown value is dropped so the default returns
    state["pg_data"] = translate("zh", "playground.data_digits")
    shell.keep_choice("pg_data", ("digits", "xor"), labels_in)
    assert state["pg_data"] == "digits"
