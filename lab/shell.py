"""The frame every page shares: the lesson registry, the sidebar (language, seed) kept in the URL, and the few
widgets every lesson repeats (intro, takeaways box, "Open in Playground", config errors)."""
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from bn_core import ConfigError, CsvError
from lab.i18n import DEFAULT_LANG, LANG_NAMES, LANGS, t
from lab.urlparams import config_to_query

MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Lesson:
    file: str
    url_path: str
    icon: str
    key: str  # i18n section: <key>.title, <key>.blurb

    @property
    def title(self):
        return t(f"{self.key}.title")


# In the order of the seed article (DESIGN.md, "The lessons"). A URL path is its file's name: on a fresh server the
# first request takes Streamlit's legacy pages/ path (see start_page), which finds a page only by its file name.
LESSONS = (
    Lesson("pages/home.py", "home", ":material/home:", "home"),
    Lesson("pages/inputs.py", "inputs", ":material/tune:", "inputs"),
    Lesson("pages/saturation.py", "saturation", ":material/ssid_chart:", "saturation"),
    Lesson("pages/covariate_shift.py", "covariate_shift", ":material/stacked_line_chart:", "ics"),
    Lesson("pages/gamma_beta.py", "gamma_beta", ":material/linear_scale:", "gamma_beta"),
    Lesson("pages/inference.py", "inference", ":material/bolt:", "inference"),
    Lesson("pages/playground.py", "playground", ":material/science:", "playground"),
)
PLAYGROUND = LESSONS[-1]


def _from_url(name, parse, default):
    """A value from the query string, or ``default`` with a warning naming the parameter when it is garbage."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError:
        st.session_state.setdefault("url_warnings", []).append((name, raw, default))
        return default


def _parse_lang(raw):
    if raw not in LANGS:
        raise ValueError(raw)
    return raw


def _parse_seed(raw):
    seed = int(raw)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(raw)
    return seed


def _browser_lang():
    locale = (st.context.locale or "").lower()
    return "zh" if locale.startswith("zh") else DEFAULT_LANG


def sidebar():
    """Language and seed, shared by every page: first from the URL, then kept in session state and written back
    into the URL on every run (switching pages drops the query string)."""
    if "lang" not in st.session_state:
        st.session_state.lang = _from_url("lang", _parse_lang, _browser_lang())
        st.session_state.seed = _from_url("seed", _parse_seed, 0)
    with st.sidebar:
        st.radio("Language / 语言", LANGS, key="lang", format_func=LANG_NAMES.get, horizontal=True)
        st.number_input(t("shell.seed"), min_value=0, max_value=MAX_SEED, step=1, key="seed",
                        help=t("shell.seed_help"))
    st.query_params["lang"] = st.session_state.lang
    st.query_params["seed"] = str(st.session_state.seed)


def start_page():
    """First call of every page: make sure the shell ran, then warn once about each garbage URL parameter that
    fell back to its default.

    Streamlit issue 9446: with a folder named pages/ beside app.py, a fresh server's first run takes the legacy
    multipage path, which runs a deep-linked page *without* app.py (no sidebar, no language). Leave that path for
    good (what the app's first st.navigation call would do) and rerun, which goes through app.py.
    """
    if "lang" not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()
    for name, raw, default in st.session_state.pop("url_warnings", []):
        st.warning(t("shell.bad_param", name=name, value=raw, default=default), icon=":material/link_off:")


def seed():
    return int(st.session_state.get("seed", 0))


def intro(lesson_key):
    """A lesson's title and opening paragraphs."""
    st.title(t(f"{lesson_key}.title"))
    st.markdown(t(f"{lesson_key}.intro"))


def takeaways(sentences):
    """The "what this run shows" box: sentences built by the page from the numbers of the run on screen."""
    with st.container(border=True):
        st.markdown(f"**{t('common.takeaways')}**")
        st.markdown("\n".join(f"- {s}" for s in sentences))


def playground_link(config, mode="compare"):
    """"Open in Playground" with this page's experiment in the URL."""
    st.page_link(PLAYGROUND.file, label=t("common.open_playground"), icon=":material/science:",
                 query_params={**config_to_query(config, mode), "lang": st.session_state.lang, "seed": seed()})


def csv_error(err: CsvError):
    """A malformed upload, said in the user's language (the kind of limit exceeded is translated too)."""
    params = {k: str(v) for k, v in err.params.items()}
    if "what" in params:
        params["what"] = t(f"csv_error.what_{params['what']}")
    st.error(t(f"csv_error.{err.code}", **params), icon=":material/error:")


def config_error(err: ConfigError):
    """A config that cannot train, said in the user's language."""
    st.error(t(f"config_error.{err.code}", **{k: str(v) for k, v in err.params.items()}), icon=":material/error:")
