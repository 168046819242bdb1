"""The frame every page shares: the lesson registry, the sidebar (language, seed, presentation mode) kept in the URL
with the hidden knobs and the challenge, and the few widgets every lesson repeats (intro, takeaways box, "Open in
Playground", config errors)."""
import os
import threading
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bn_core import ConfigError, CsvError
from lab import present as presentation
from lab import runs
from lab.caches import SentFigure, sendable
from lab.figures.common import figure_data, projector
from lab.i18n import DEFAULT_LANG, LANG_NAMES, LANGS, current_lang, literal, t
from lab.urlparams import MAX_SEED, PARAM_BY_URL, SHELL_DEFAULTS, SHELL_PARAMS, config_to_query, parse_query

URL_WARNINGS = "url_warnings"  # session key: garbage URL values the sidebar found, shown once by start_page
URL_WRITTEN = "url_written"  # session key: the shell's parameters as it last wrote them into the URL
ALWAYS_IN_URL = ("lang", "seed")  # the others are written only when they differ from their default


@dataclass(frozen=True)
class Lesson:
    file: str
    url_path: str
    icon: str
    key: str  # i18n section: <key>.title, <key>.blurb

    @property
    def title(self):
        return t(f"{self.key}.title")


# In the order of the lessons (docs/ARCHITECTURE.md, "The lessons"). A URL path is its file's name: on a fresh
# server the first request takes Streamlit's legacy pages/ path (see start_page), which finds a page only by its
# file name.
LESSONS = (
    Lesson("pages/home.py", "home", ":material/home:", "home"),
    Lesson("pages/inputs.py", "inputs", ":material/tune:", "inputs"),
    Lesson("pages/saturation.py", "saturation", ":material/ssid_chart:", "saturation"),
    Lesson("pages/covariate_shift.py", "covariate_shift", ":material/stacked_line_chart:", "ics"),
    Lesson("pages/gamma_beta.py", "gamma_beta", ":material/linear_scale:", "gamma_beta"),
    Lesson("pages/inference.py", "inference", ":material/bolt:", "inference"),
    Lesson("pages/beyond.py", "beyond", ":material/explore:", "beyond"),
    Lesson("pages/playground.py", "playground", ":material/science:", "playground"),
)
PLAYGROUND = LESSONS[-1]


def _browser_lang():
    locale = (st.context.locale or "").lower()
    return "zh" if locale.startswith("zh") else DEFAULT_LANG


def sidebar():
    """Language, seed and presentation mode, shared by every page, and the hidden knobs and the challenge: first
    from the URL, then kept in session state and written back into the URL on every run (switching pages drops
    the query string). A value in the URL that the shell did not write comes from a link followed inside the app:
    it is applied too."""
    state = st.session_state
    if "lang" not in state:
        query, defaults = st.query_params, {**SHELL_DEFAULTS, "lang": _browser_lang()}
    else:
        written = state.get(URL_WRITTEN, {})
        query = {p.url: st.query_params[p.url] for p in SHELL_PARAMS
                 if p.url in st.query_params and st.query_params[p.url] != written.get(p.url)}
        defaults = {p.url: state.get(p.field, SHELL_DEFAULTS[p.url]) for p in SHELL_PARAMS}
    if query or "lang" not in state:
        values, bad = parse_query(query, SHELL_PARAMS, defaults)
        for param in SHELL_PARAMS:
            state[param.field] = values[param.url]
        state.setdefault(URL_WARNINGS, []).extend(bad)
    with st.sidebar:
        st.radio("Language / 语言", LANGS, key="lang", format_func=LANG_NAMES.get, horizontal=True)
        st.number_input(t("shell.seed"), min_value=0, max_value=MAX_SEED, step=1, key="seed",
                        help=t("shell.seed_help"))
        st.toggle(t("present.switch"), key="present", help=t("present.switch_help"))
    written = {}
    for param in SHELL_PARAMS:
        value = state[param.field]
        if param.url in ALWAYS_IN_URL or value != SHELL_DEFAULTS[param.url]:
            written[param.url] = param.format(value)
            st.query_params[param.url] = written[param.url]
        else:
            st.query_params.pop(param.url, None)
    state[URL_WRITTEN] = written


def sidebar_state():
    """The sidebar's state when the page loads (st.set_page_config): collapsed in presentation mode."""
    on = st.session_state.get("present")
    if on is None:  # before the sidebar's first run: the URL says
        on = parse_query(st.query_params, [PARAM_BY_URL["present"]], SHELL_DEFAULTS)[0]["present"]
    return "collapsed" if on else "auto"


def is_presenting():
    return bool(st.session_state.get("present", False))


def hidden_knobs():
    """The Playground knobs the link hides (``?hide=``)."""
    return tuple(st.session_state.get("hide", ()))


def challenge():
    """The number of the Playground challenge the link opened (``?challenge=``), 0 for none."""
    return int(st.session_state.get("challenge", 0))


def leave_challenge():
    """A button's callback."""
    st.session_state["challenge"] = 0


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
    warn_bad_params(st.session_state.pop(URL_WARNINGS, []))


def warn_bad_params(bad):
    """One warning per garbage URL value that fell back to its default (the one place these are shown). The value
    is the user's text: shown literally, shortened. An empty default (nothing hidden) is said in words."""
    for name, raw, default in bad:
        text = (t("shell.bad_param", name=literal(name), value=literal(raw), default=literal(default)) if default
                else t("present.bad_param_ignored", name=literal(name), value=literal(raw)))
        st.warning(text, icon=":material/link_off:")


def seed():
    return int(st.session_state.get("seed", 0))


def intro(lesson_key):
    """A lesson's title and opening paragraphs. In presentation mode: a short intro (the full text one click away)
    and the QR code of the page's link beside it."""
    short = presentation.SHORT_INTROS.get(lesson_key)
    if not is_presenting() or short is None:
        st.title(t(f"{lesson_key}.title"))
        st.markdown(t(f"{lesson_key}.intro"))
        if is_presenting():
            qr_code()
        return
    text, code = st.columns([3, 1])
    with text:
        st.title(t(f"{lesson_key}.title"))
        st.markdown(t(short))
        with st.expander(t("present.full_text")):
            st.markdown(t(f"{lesson_key}.intro"))
    with code:
        qr_code()


def qr_code():
    """The QR code of this page's link for students (without presentation mode); nothing when the browser's
    address is unknown."""
    link = presentation.student_link(st.context.url, st.query_params.to_dict())
    if link is None:
        return
    st.image(presentation.qr_png(link), caption=t("present.scan"), width="stretch", output_format="PNG")
    if presentation.is_local(link):
        st.caption(t("present.local_link"))


def plotly_chart(fig, where=None, **kwargs):
    """st.plotly_chart (or ``where.plotly_chart``, e.g. a column or an st.empty slot), with text and lines made
    larger for a projector in presentation mode; a cached figure is sent in the plain form made once
    (lab/caches.py)."""
    if is_presenting():
        fig = sendable(fig, "projector", lambda f: projector(f, presentation.FIGURE_SCALE))
    else:
        fig = sendable(fig)
    return (where or st).plotly_chart(fig, **kwargs)


def takeaways(sentences):
    """The "what this run shows" box: sentences built by the page from the numbers of the run on screen."""
    with st.container(border=True):
        st.markdown(f"**{t('common.takeaways')}**")
        st.markdown("\n".join(f"- {s}" for s in sentences))


def playground_link(config, mode="compare"):
    """"Open in Playground" with this page's experiment in the URL."""
    st.page_link(PLAYGROUND.file, label=t("common.open_playground"), icon=":material/science:",
                 query_params={**config_to_query(config, mode), "lang": st.session_state.lang, "seed": seed()})


def progress_bar(names, on_records=None, redraw_every=5):
    """A progress bar for lab.runs: returns the ``on_progress`` callback that moves it ("Training <name>: step k of
    n"), and calls ``on_records(records)`` every ``redraw_every`` updates for charts that redraw live. The bar is
    removed when the page's script reaches its next element after training (an st.empty slot)."""
    slot = st.empty()
    updates = iter(range(10**9))

    def report(progress):
        if progress.ahead:  # more experiments asked for than there are workers: this one waits its turn
            text = t("common.queued", name=names[progress.current], ahead=progress.ahead)
        else:
            text = t("common.training", name=names[progress.current], step=progress.step, steps=progress.steps)
        slot.progress(progress.fraction, text=text)
        if on_records is not None and next(updates) % redraw_every == 0:
            on_records(progress.records)

    report.slot = slot
    return report


def train(configs, names, data=None, on_records=None):
    """lab.runs.train_runs behind a progress bar that disappears when the runs are done."""
    return run(runs.config_tasks(configs, data), names, on_records)


def run(tasks, names, on_records=None):
    """lab.runs.run_tasks behind a progress bar that disappears when the tasks are done. The session follows the
    trainings it waits for (another session asking for the same experiment follows the same training)."""
    bar = progress_bar(names, on_records)
    values = runs.run_tasks(tasks, bar, follower=session_id())
    bar.slot.empty()
    return values


def stop(keys):
    """This session stops following these trainings (Stop): a training other sessions follow goes on."""
    runs.stop(keys, session_id())


def session_id():
    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.session_id


_warmed = threading.Lock()


def warm_up(default_configs):
    """Once per server process, at its first page view: train the lessons' default experiments in the background at
    the lowest priority, so the students who come next find them trained. BNLAB_WARMUP=0 turns it off (tests)."""
    if os.environ.get("BNLAB_WARMUP", "1") != "0" and _warmed.acquire(blocking=False):
        runs.warm_up(default_configs())


CSV_USER_TEXT = {"column": 40, "label_column": 40, "value": 40, "columns": 120, "available": 120}  # name -> chars


def csv_error(err: CsvError):
    """A malformed upload, said in the user's language (the kind of limit exceeded is translated too). Names and
    values from the file are the user's text: shown literally."""
    params = {k: literal(v, CSV_USER_TEXT[k]) if k in CSV_USER_TEXT else str(v) for k, v in err.params.items()}
    if "what" in params:
        params["what"] = t(f"csv_error.what_{params['what']}")
    st.error(t(f"csv_error.{err.code}", **params), icon=":material/error:")


def config_error(err: ConfigError):
    """A config that cannot train, said in the user's language."""
    st.error(t(f"config_error.{err.code}", **{k: str(v) for k, v in err.params.items()}), icon=":material/error:")


def chart(fig, key, data=None):
    """A Plotly chart and, under it, a "data" expander with the numbers behind it as a table and a CSV download
    (for screen readers, and for students who want the numbers). ``data``: a DataFrame; by default the figure's
    own numbers (lab.figures.common.figure_data). The table is built only while the expander is open."""
    plotly_chart(fig, width="stretch", key=key)
    box = st.expander(t("common.data"), key=f"{key}__data", on_change="rerun", icon=":material/table_view:")
    if box.open:
        table = data_table(fig) if data is None else data
        with box:
            st.dataframe(table, hide_index=True, width="stretch")
            st.download_button(t("common.download_csv"), lambda: table.to_csv(index=False), file_name=f"{key}.csv",
                               mime="text/csv", key=f"{key}__csv", icon=":material/download:",
                               on_click="ignore")  # a rerun would race the file: see export in pages/playground.py


def data_table(fig):
    """figure_data with its column names in the user's language (x, y and z stay as they are)."""
    if isinstance(fig, SentFigure):  # joined in plain form: its numbers are those of the figure it came from
        fig = fig.source
    table = figure_data(fig, edge_names=(t("common.data_high"), t("common.data_low")))
    return table.rename(columns={"panel": t("common.data_panel"), "series": t("common.data_series")})


def keep_choice(key, options, labels_in):
    """Before a selectbox or radio whose option labels are translated: Streamlit's browser side sends back the
    *label* of the chosen option, so right after a language switch the widget's value is the old language's label,
    which no option has any more (Streamlit then returns the label itself). Map it back to its option, looking it
    up in every language (``labels_in(lang)`` -> {option: label}); an unknown value is dropped (the default
    returns)."""
    state = st.session_state
    if key not in state or state[key] is None or state[key] in options:
        return
    for lang in LANGS:
        back = {label: option for option, label in labels_in(lang).items()}
        if state[key] in back:
            state[key] = back[state[key]]
            return
    del state[key]


def predict(questions):
    """Predict, then look: each question (lab.lessons.questions) with its answers and none picked at first; once the
    student picks one, the answer this run supports, why (the run's numbers), whether it is the one picked, and a
    caution when the run's margin is small."""
    with st.container(border=True):
        st.markdown(f"**{t('questions.title')}**")
        st.caption(t("questions.intro"))
        for q in questions:
            labels = dict(q.options)  # a dict lookup: AppTest formats options after the run
            # One widget per language: the browser sends back the label of a pick, which a language switch changes
            # (see keep_choice); a prediction is simply asked again in the other language.
            picked = st.radio(q.text, list(labels), index=None, format_func=labels.get,
                              key=f"predict_{q.key}@{current_lang()}",
                              horizontal=True)
            if picked is not None:
                verdict(q.verdict, picked, labels)


def verdict(v, picked, labels):
    """One question's verdict under it: green when the run supports the answer picked, blue otherwise."""
    if v.answer is None:
        st.info(v.why, icon=":material/help:")
        return
    agree = picked == v.answer
    parts = [t("questions.supports", answer=labels[v.answer]), v.why,
             t("questions.you_agree") if agree else t("questions.you_differ", yours=labels[picked])]
    if v.small:
        parts.append(t("questions.small_margin", margin=v.margin.text(), threshold=v.margin.text(v.margin.threshold)))
    (st.success if agree else st.info)("  \n".join(parts), icon=":material/check_circle:" if agree else
                                       ":material/lightbulb:")
