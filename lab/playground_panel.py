"""The Playground's widget groups (streamlit): the knob panel and the CSV upload. The page lays them out."""
import streamlit as st

import lab.lessons.playground as pg
from bn_core import CsvError, csv_columns, short_text
from bn_core.data import MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_ROWS
from lab import shell
from lab.i18n import t
from lab.urlparams import KNOB_BY_URL


def choice(url, label, **kw):
    """A selectbox over a knob's choices, labelled in the user's language (a dict, computed during the run)."""
    labels = {v: pg.choice_label(url, v) for v in KNOB_BY_URL[url].choices}
    return st.selectbox(label, KNOB_BY_URL[url].choices, key=pg.WIDGET + url, format_func=labels.get, **kw)


def log_slider(url, label, **kw):
    return st.select_slider(label, pg.log_options(url, st.session_state[pg.WIDGET + url]), key=pg.WIDGET + url,
                            format_func=lambda v: f"{v:g}", **kw)


def knobs(state):
    """Every knob of the experiment, in four groups; each widget's value lives in state["pg_<url name>"]."""
    with st.container(border=True):
        modes = {m: pg.choice_label("mode", m) for m in KNOB_BY_URL["mode"].choices}
        st.radio(t("playground.mode"), list(modes), key="pg_mode", horizontal=True, format_func=modes.get,
                 help=t("playground.mode_help"))
        compare = state["pg_mode"] == "compare"
        data_col, net_col, train_col, bn_col = st.columns(4, gap="medium")
        with data_col:
            st.markdown(f"**{t('playground.group_data')}**")
            choice("data", t("playground.dataset"))
            two_d = state["pg_data"] in pg.TWO_D
            st.slider(t("playground.noise"), 0.0, 1.0, step=0.05, key="pg_noise", disabled=not two_d,
                      help=t("playground.two_d_only"))
            st.slider(t("playground.n_samples"), 100, 5000, step=50, key="pg_n", disabled=not two_d,
                      help=t("playground.two_d_only"))
            choice("prep", t("playground.preprocessing"), help=t("playground.preprocessing_help"))
        with net_col:
            st.markdown(f"**{t('playground.group_network')}**")
            st.slider(t("playground.depth"), 1, int(KNOB_BY_URL["depth"].hi), key="pg_depth")
            st.number_input(t("playground.width"), int(KNOB_BY_URL["width"].lo), int(KNOB_BY_URL["width"].hi), step=1,
                            key="pg_width")
            choice("act", t("playground.activation"))
            choice("init", t("playground.init"))
            log_slider("sigma", t("playground.sigma"), disabled=state["pg_init"] not in ("normal", "truncated_normal"),
                       help=t("playground.sigma_help"))
        with train_col:
            st.markdown(f"**{t('playground.group_training')}**")
            log_slider("lr", t("playground.lr"), help=t("playground.lr_help"))
            st.slider(t("playground.sgd_momentum"), 0.0, float(KNOB_BY_URL["mom"].hi), step=0.01, key="pg_mom")
            st.number_input(t("playground.batch"), 1, int(KNOB_BY_URL["batch"].hi), step=1, key="pg_batch")
            st.number_input(t("common.steps"), int(KNOB_BY_URL["steps"].lo), int(KNOB_BY_URL["steps"].hi), step=100,
                            key="pg_steps")
            st.number_input(t("playground.every"), 1, int(KNOB_BY_URL["every"].hi), step=1, key="pg_every",
                            help=t("playground.every_help"))
        with bn_col:
            st.markdown(f"**{t('playground.group_bn')}**")
            st.toggle(t("playground.bn"), key="pg_bn", disabled=compare,
                      help=t("playground.bn_help_compare" if compare else "playground.bn_help"))
            positions = {p: pg.choice_label("bnpos", p) for p in KNOB_BY_URL["bnpos"].choices}
            st.radio(t("playground.bnpos"), list(positions), key="pg_bnpos", format_func=positions.get)
            st.slider(t("playground.bn_momentum"), 0.0, 1.0, step=0.01, key="pg_bnmom",
                      help=t("playground.bn_momentum_help"))
            log_slider("eps", "ε", help=t("playground.eps_help"))


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
