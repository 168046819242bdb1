"""The Playground's widget groups (streamlit): the knob panel, the CSV upload and the challenge boxes. The page lays
them out."""
import streamlit as st

import lab.lessons.playground as pg
from bn_core import CsvError, csv_columns, short_text
from bn_core.data import MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_ROWS
from lab import shell
from lab.i18n import fmt_pct, t, translate
from lab.lessons import challenges
from lab.urlparams import KNOB_BY_URL


def choice(url, label, **kw):
    """A selectbox over a knob's choices, labelled in the user's language (a dict, computed during the run)."""
    labels = {v: pg.choice_label(url, v) for v in KNOB_BY_URL[url].choices}
    return st.selectbox(label, KNOB_BY_URL[url].choices, key=pg.WIDGET + url, format_func=labels.get, **kw)


def log_slider(url, label, **kw):
    return st.select_slider(label, pg.log_options(url, st.session_state[pg.WIDGET + url]), key=pg.WIDGET + url,
                            format_func=lambda v: f"{v:g}", **kw)


# The knob panel's groups: (title key, knob URL names in the order they are drawn).
GROUPS = (("playground.group_data", ("data", "noise", "n", "prep")),
          ("playground.group_network", ("depth", "width", "act", "init", "sigma")),
          ("playground.group_training", ("lr", "mom", "batch", "steps", "every")),
          ("playground.group_bn", ("bn", "bnpos", "bnmom", "eps")))


def keep_choices():
    """First thing on the page, before any knob is read: the knobs labelled in the user's language come back as the
    old language's labels right after a language switch (shell.keep_choice): map them back to their values."""
    for url, keys in pg.CHOICE_KEYS.items():
        shell.keep_choice(pg.WIDGET + url, KNOB_BY_URL[url].choices,
                          lambda lang, keys=keys: {v: translate(lang, k) for v, k in keys.items()})


def knobs(state, hidden=()):
    """Every knob of the experiment but the ``hidden`` ones (URL names), in four groups; each widget's value lives
    in state["pg_<url name>"] (a hidden knob's too: it is not drawn, and keeps its value from the URL)."""
    groups = [(title, [url for url in urls if url not in hidden]) for title, urls in GROUPS]
    groups = [(title, urls) for title, urls in groups if urls]
    if "mode" in hidden and not groups:
        return
    with st.container(border=True):
        if "mode" not in hidden:
            modes = {m: pg.choice_label("mode", m) for m in KNOB_BY_URL["mode"].choices}
            st.radio(t("playground.mode"), list(modes), key="pg_mode", horizontal=True, format_func=modes.get,
                     help=t("playground.mode_help"))
        for column, (title, urls) in zip(st.columns(len(groups), gap="medium") if groups else (), groups):
            with column:
                st.markdown(f"**{t(title)}**")
                for url in urls:
                    KNOB_WIDGETS[url](state)


def _n_samples(state):
    st.slider(t("playground.n_samples"), 100, 5000, step=50, key="pg_n", disabled=state["pg_data"] not in pg.TWO_D,
              help=t("playground.two_d_only"))


def _noise(state):
    st.slider(t("playground.noise"), 0.0, 1.0, step=0.05, key="pg_noise", disabled=state["pg_data"] not in pg.TWO_D,
              help=t("playground.two_d_only"))


def _bn(state):
    compare = state["pg_mode"] == "compare"
    st.toggle(t("playground.bn"), key="pg_bn", disabled=compare,
              help=t("playground.bn_help_compare" if compare else "playground.bn_help"))


def _bnpos(state):
    positions = {p: pg.choice_label("bnpos", p) for p in KNOB_BY_URL["bnpos"].choices}
    st.radio(t("playground.bnpos"), list(positions), key="pg_bnpos", format_func=positions.get)


# One function per knob (URL name), drawing its widget.
KNOB_WIDGETS = {
    "data": lambda state: choice("data", t("playground.dataset")),
    "noise": _noise,
    "n": _n_samples,
    "prep": lambda state: choice("prep", t("playground.preprocessing"), help=t("playground.preprocessing_help")),
    "depth": lambda state: st.slider(t("playground.depth"), 1, int(KNOB_BY_URL["depth"].hi), key="pg_depth"),
    "width": lambda state: st.number_input(t("playground.width"), int(KNOB_BY_URL["width"].lo),
                                           int(KNOB_BY_URL["width"].hi), step=1, key="pg_width"),
    "act": lambda state: choice("act", t("playground.activation")),
    "init": lambda state: choice("init", t("playground.init")),
    "sigma": lambda state: log_slider("sigma", t("playground.sigma"), help=t("playground.sigma_help"),
                                      disabled=state["pg_init"] not in ("normal", "truncated_normal")),
    "lr": lambda state: log_slider("lr", t("playground.lr"), help=t("playground.lr_help")),
    "mom": lambda state: st.slider(t("playground.sgd_momentum"), 0.0, float(KNOB_BY_URL["mom"].hi), step=0.01,
                                   key="pg_mom"),
    "batch": lambda state: st.number_input(t("playground.batch"), 1, int(KNOB_BY_URL["batch"].hi), step=1,
                                           key="pg_batch"),
    "steps": lambda state: st.number_input(t("common.steps"), int(KNOB_BY_URL["steps"].lo),
                                           int(KNOB_BY_URL["steps"].hi), step=100, key="pg_steps"),
    "every": lambda state: st.number_input(t("playground.every"), 1, int(KNOB_BY_URL["every"].hi), step=1,
                                           key="pg_every", help=t("playground.every_help")),
    "bn": _bn,
    "bnpos": _bnpos,
    "bnmom": lambda state: st.slider(t("playground.bn_momentum"), 0.0, 1.0, step=0.01, key="pg_bnmom",
                                     help=t("playground.bn_momentum_help")),
    "eps": lambda state: log_slider("eps", "ε", help=t("playground.eps_help")),
}


def upload(state, config):
    """The CSV uploader and its label column: ``(dataset, data_id)`` to train on (the id names the upload in the
    configs, so other data is another experiment), or None with a message saying what is missing or wrong."""
    upload = st.file_uploader(t("playground.upload"), type=["csv", "txt"], key="pg_file",
                              help=t("playground.upload_help", mb=MAX_CSV_BYTES // 2**20, rows=f"{MAX_CSV_ROWS:,}",
                                     columns=MAX_CSV_COLUMNS))
    if upload is None:
        st.info(t("config_error.csv_needs_data"), icon=":material/upload_file:")
        return None
    raw = upload.getvalue()
    try:
        columns = csv_columns(raw)  # the loader's own parser decides the columns
    except CsvError as err:
        shell.csv_error(err)
        return None
    shown = {c: short_text(c) for c in columns}
    label = st.selectbox(t("playground.label_column"), columns, index=len(columns) - 1, key="pg_label",
                         format_func=shown.get)
    data, features, err = pg.read_upload(state, raw, label, config)
    if err is not None:
        shell.csv_error(err)
        return None
    st.caption(t("playground.upload_summary", rows=len(data.X_train) + len(data.X_test),
                 features=data.n_features, classes=data.n_classes))
    return data, pg.upload_digest(raw, label)


# ---- challenges (lab/lessons/challenges.py) ----

def challenge_goal(challenge, number):
    """The goal of the open challenge, the knobs it leaves free, and the button that leaves it."""
    with st.container(border=True):
        st.subheader(t("challenges.heading", n=number, title=t(challenge.title)))
        st.markdown(challenge.goal_text())
        st.caption(t("challenges.free", knobs=", ".join(challenges.free_labels(challenge))))
        st.button(t("challenges.leave"), key="pg_leave", on_click=shell.leave_challenge, icon=":material/close:",
                  help=t("challenges.leave_help"))


def challenge_verdict(verdict):
    """Met or not, how close the run came, what it measured, and a hint after a miss; None: not judged yet."""
    if verdict is None:
        st.info(t("challenges.pending"), icon=":material/flag:")
        return
    if verdict.met:
        st.success(t("challenges.met"), icon=":material/emoji_events:")
    else:
        st.warning(t("challenges.missed"), icon=":material/flag:")
    st.progress(verdict.closeness, text=t("challenges.closeness", share=fmt_pct(verdict.closeness)))
    st.markdown("\n".join(f"- {fact}" for fact in verdict.facts))
    if verdict.hint is not None:
        st.info(t(verdict.hint, **verdict.hint_params), icon=":material/lightbulb:")


def challenge_list():
    """Every challenge as a link (``?challenge=N``), in an expander."""
    with st.expander(t("challenges.title"), icon=":material/flag:"):
        st.markdown(t("challenges.list_intro"))
        for number, challenge in enumerate(challenges.CHALLENGES, start=1):
            st.page_link(shell.PLAYGROUND.file, label=t("challenges.heading", n=number, title=t(challenge.title)),
                         query_params={"challenge": number, "lang": st.session_state.lang, "seed": shell.seed()})
