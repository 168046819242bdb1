"""Playground: every knob of the experiment, BN vs no BN trained side by side, live; the URL is the experiment."""
import streamlit as st

import lab.lessons.playground as pg
from bn_core import ConfigError, check_config, load_data
from lab import shell
from lab.figures import common as figures
from lab.figures.playground import decision_boundary, histograms
from lab.i18n import current_lang, t
from lab.runs import cached, train_runs
from lab.urlparams import KNOB_BY_URL

shell.start_page()
shell.intro("playground")
state = st.session_state
for name, raw, default in pg.sync_from_url(state, st.query_params):
    st.warning(t("shell.bad_param", name=name, value=raw, default=default), icon=":material/link_off:")


def knob(url):
    return KNOB_BY_URL[url]


def labels(url):
    """The choices' labels in the user's language (a dict, not a t() call later: AppTest formats outside the run)."""
    return {v: pg.choice_label(url, v) for v in knob(url).choices}.__getitem__


def choice(url, label, **kw):
    return st.selectbox(label, knob(url).choices, key=pg.WIDGET + url, format_func=labels(url), **kw)


def log_slider(url, label, **kw):
    return st.select_slider(label, pg.log_options(url, state[pg.WIDGET + url]), key=pg.WIDGET + url,
                            format_func=lambda v: f"{v:g}", **kw)


# ---- the knobs ----
with st.container(border=True):
    st.radio(t("playground.mode"), knob("mode").choices, key="pg_mode", horizontal=True, format_func=labels("mode"),
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
        st.slider(t("playground.depth"), 1, int(knob("depth").hi), key="pg_depth")
        st.number_input(t("playground.width"), int(knob("width").lo), int(knob("width").hi), step=1, key="pg_width")
        choice("act", t("playground.activation"))
        choice("init", t("playground.init"))
        log_slider("sigma", t("playground.sigma"), disabled=state["pg_init"] not in ("normal", "truncated_normal"),
                   help=t("playground.sigma_help"))
    with train_col:
        st.markdown(f"**{t('playground.group_training')}**")
        log_slider("lr", t("playground.lr"), help=t("playground.lr_help"))
        st.slider(t("playground.sgd_momentum"), 0.0, float(knob("mom").hi), step=0.01, key="pg_mom")
        st.number_input(t("playground.batch"), 1, int(knob("batch").hi), step=1, key="pg_batch")
        st.number_input(t("common.steps"), int(knob("steps").lo), int(knob("steps").hi), step=100, key="pg_steps")
        st.number_input(t("playground.every"), 1, int(knob("every").hi), step=1, key="pg_every",
                        help=t("playground.every_help"))
    with bn_col:
        st.markdown(f"**{t('playground.group_bn')}**")
        st.toggle(t("playground.bn"), key="pg_bn", disabled=compare,
                  help=t("playground.bn_help_compare" if compare else "playground.bn_help"))
        st.radio(t("playground.bnpos"), knob("bnpos").choices, key="pg_bnpos", format_func=labels("bnpos"))
        st.slider(t("playground.bn_momentum"), 0.0, 1.0, step=0.01, key="pg_bnmom",
                  help=t("playground.bn_momentum_help"))
        log_slider("eps", "ε", help=t("playground.eps_help"))

config, mode, query = pg.config_from_widgets(state, shell.seed())
pg.write_url(state, st.query_params, query)
configs, run_ids = pg.run_plan(config, mode)
names = pg.run_names(run_ids)
colors = [pg.RUN_COLORS[r] for r in run_ids]

# ---- uploaded data ----
data = None
if config.dataset == "csv":
    upload = st.file_uploader(t("playground.upload"), type=["csv", "txt"], key="pg_file",
                              help=t("playground.upload_help"))
    if upload is None:
        st.info(t("config_error.csv_needs_data"), icon=":material/upload_file:")
    else:
        raw = upload.getvalue()
        columns = pg.csv_columns(raw)
        label = st.selectbox(t("playground.label_column"), columns, index=len(columns) - 1,
                             key="pg_label") if columns else None
        data, features, err = pg.read_upload(state, raw, label, config)
        if err is not None:
            shell.csv_error(err)
        else:
            st.caption(t("playground.upload_summary", rows=len(data.X_train) + len(data.X_test),
                         features=data.n_features, classes=data.n_classes))
            configs = [c.replace(data_id=pg.upload_digest(raw, label)) for c in configs]

st.caption(t("playground.share_hint"))
st.code(pg.share_url(st.context.url.split("?")[0] if st.context.url else "", query, current_lang(), shell.seed()),
        language=None, wrap_lines=True)

# ---- train (or redraw what is cached) ----
problem = None
try:
    for c in configs:
        check_config(c, n_train=None if data is None else len(data.X_train))
except ConfigError as err:
    problem = err
ready = problem is None and (config.dataset != "csv" or data is not None)
if problem is not None:
    shell.config_error(problem)
    if problem.code == "batch_of_one" and mode == "compare":
        st.info(t("playground.batch_of_one_compare"), icon=":material/lightbulb:")

train_btn, stop_btn, _ = st.columns([1, 1, 4])
pressed = train_btn.button(t("playground.train"), key="pg_train", type="primary", disabled=not ready,
                           icon=":material/play_arrow:")
autostart = state.pop(pg.AUTOTRAIN, False)  # the first load, or a link just opened, trains at once
all_cached = ready and all(cached(c) is not None for c in configs)
to_train = ready and not all_cached and (pressed or autostart)
stop_slot = stop_btn.empty()
if to_train:  # any click reruns the script, which stops the training loop; the Stop button says so
    stop_slot.button(t("playground.stop"), key="pg_stop", icon=":material/stop:", help=t("playground.stop_help"))

titles = (t("common.loss_title"), t("common.accuracy_title"))
axis = {"x": t("common.step"), "loss": t("common.loss"), "accuracy": t("common.accuracy"), "train": t("common.train"),
        "test": t("common.test")}


def metric_figure(records):
    return figures.metric_curves(records, names, titles, axis, colors=colors,
                                 divergence_text=lambda r: t("common.diverged_short", step=r.divergence.step))


bar_slot = st.container()
live = st.empty()
records = None
if all_cached or to_train:
    redraws = iter(range(10**9))

    def redraw(progress):
        pg.remember_partial(state, configs, progress)
        if pg.drawable(progress):
            live.plotly_chart(metric_figure(progress), width="stretch", key=f"pg_live_{next(redraws)}")

    try:
        with bar_slot:
            records = train_runs(configs, names, data=data, on_progress=redraw)
        state.pop(pg.PARTIAL, None)
        stop_slot.empty()
    except ConfigError as err:
        shell.config_error(err)
elif ready:
    records = pg.partial_for(state, configs)
    if records is None:
        st.info(t("playground.press_train"), icon=":material/play_arrow:")

# ---- results ----
for record, name, cfg in zip(records or [], names, configs):
    if record is not None and record.divergence is not None:
        st.error(t("common.diverged", name=name, step=record.divergence.step,
                   reason=t(f"divergence.{record.divergence.reason}")) + "\n\n" + t("common.diverged_fix"),
                 icon=":material/warning:")
    elif record is None:
        st.warning(t("playground.not_started", name=name), icon=":material/stop_circle:")
    elif pg.is_stopped(record):
        st.warning(t("playground.stopped", name=name, step=record.steps_done, steps=cfg.steps),
                   icon=":material/stop_circle:")

if records is not None and pg.drawable(records):
    live.plotly_chart(metric_figure(records), width="stretch", key="pg_metrics")

    dataset = data if data is not None else load_data(configs[0])
    shell.takeaways(pg.takeaways(records, run_ids, chance=1.0 / dataset.n_classes))

    st.subheader(t("playground.hist_title"))
    st.caption(t("playground.hist_caption"))
    steps = pg.hist_steps(records)
    if state.get("pg_hist_step") not in steps:
        state["pg_hist_step"] = steps[-1]
    if len(steps) > 1:
        st.select_slider(t("common.record_step"), steps, key="pg_hist_step")
    step = state["pg_hist_step"]
    hists = [pg.hists_at(r, step) for r in records]
    layer_titles = [t("common.layer", n=i + 1) for i in range(max(len(h) for h in hists if h is not None))]
    hist_axis = {"x": t("common.pre_activation"), "share": t("common.share"),
                 "activation": t("common.activation_curve"), "derivative": t("common.derivative_curve")}
    st.plotly_chart(histograms(hists, names, config.activation, layer_titles, hist_axis, colors),
                    width="stretch", key="pg_hist")
    for h, record, name in zip(hists, records, names):
        if h is None and record is not None:
            st.caption(t("playground.no_hist", name=name, step=step))

    if dataset.is_2d:
        st.subheader(t("playground.boundary_title"))
        st.caption(t("playground.boundary_caption"))
        xs, ys, points = pg.boundary_grid(dataset)
        predictions = [pg.predict_grid(r, points, len(xs)) for r in records]
        panel_titles = [name if r is None or not r.snapshots else
                        t("playground.boundary_panel", name=name, acc=f"{100 * r.metric('test_acc')[-1]:.1f}%")
                        for r, name in zip(records, names)]
        st.plotly_chart(decision_boundary(xs, ys, predictions, dataset.X_test, dataset.y_test, panel_titles,
                                          {"x": "x₁", "y": "x₂", "class": t("playground.class")},
                                          empty_text=t("playground.no_boundary")),
                        width="stretch", key="pg_boundary")

    st.download_button(t("playground.export"), pg.export_csv(records, run_ids), file_name="batchnorm-playground.csv",
                       mime="text/csv", key="pg_export", icon=":material/download:", help=t("playground.export_help"))

