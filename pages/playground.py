"""Playground: every knob of the experiment, BN vs no BN trained side by side, live; the URL is the experiment."""
import streamlit as st

import lab.lessons.playground as pg
from bn_core import ConfigError, check_config
from lab import playground_panel, seed_panel, shell, timeline_panel
from lab.figures import common as figures
from lab.figures.playground import histograms
from lab.i18n import current_lang, t
from lab.lessons import challenges, common
from lab.runs import cached

shell.start_page()
playground_panel.keep_choices()
state = st.session_state
control = pg.TrainControl(state)
bad = pg.sync_from_url(state, st.query_params)
challenge = challenges.apply(state, st.query_params, shell.challenge())
config, mode, query = pg.config_from_widgets(state, shell.seed())  # the widgets' values for this run
pg.write_url(state, st.query_params, query)  # before the intro: presentation mode's QR code shows this link
shell.intro("playground")
shell.warn_bad_params(bad)
if challenge is not None:
    playground_panel.challenge_goal(challenge, shell.challenge())
playground_panel.knobs(state, hidden={*shell.hidden_knobs(), *(challenge.hidden() if challenge else ())})
configs, run_ids = pg.run_plan(config, mode)
names = pg.run_names(run_ids)
colors = [figures.RUN_COLOR[r] for r in run_ids]

uploaded = playground_panel.upload(state, config) if config.dataset == "csv" else None
data = None if uploaded is None else uploaded[0]
if uploaded is not None:
    configs = [c.replace(data_id=uploaded[1]) for c in configs]

if not shell.is_presenting():  # presenting, the QR code holds the link
    st.caption(t("playground.share_hint"))
    st.code(pg.share_url(st.context.url.split("?")[0] if st.context.url else "", query, current_lang(), shell.seed()),
            language=None, wrap_lines=True)
if challenge is None:
    playground_panel.challenge_list()

# ---- train (or redraw what is trained) ----
problem = None
dataset = data if data is not None or config.dataset == "csv" else common.dataset(configs[0])  # bounds the batch
try:
    for c in configs:
        check_config(c, n_train=None if dataset is None else len(dataset.X_train))
except ConfigError as err:
    problem = err
    shell.config_error(err)
    if err.code == "batch_of_one" and mode == "compare":
        st.info(t("playground.batch_of_one_compare"), icon=":material/lightbulb:")
ready = problem is None and (config.dataset != "csv" or data is not None)
train_btn, stop_btn, _ = st.columns([1, 1, 4])
pressed = train_btn.button(t("playground.train"), key="pg_train", type="primary", disabled=not ready,
                           icon=":material/play_arrow:")
action = control.decide(configs, ready, pressed, all_cached=all(cached(c) for c in configs))
live = st.empty()


def metric_figure(records):
    return figures.metric_curves(records, names, colors=colors, **common.metric_text())


redraws = iter(range(10**9))  # a live chart needs a fresh key per redraw


def redraw(records):
    control.remember(configs, records)
    if pg.drawable(records):
        shell.plotly_chart(metric_figure(records), live, width="stretch", key=f"pg_live_{next(redraws)}")


records = None
if action == "train":
    stop_btn.button(t("playground.stop"), key="pg_stop", icon=":material/stop:", help=t("playground.stop_help"),
                    on_click=lambda: (control.stop(), shell.stop(configs)))
    records = shell.train(configs, names, data=data, on_records=redraw)
    control.finished()
elif action == "partial":
    records = control.partial(configs)
elif ready:
    st.info(t("playground.press_train"), icon=":material/play_arrow:")

# ---- results ----
for record, name, cfg in zip(records or [], names, configs):
    if (message := common.divergence_message(name, record)) is not None:
        st.error(message, icon=":material/warning:")
    elif record is None:
        st.warning(t("playground.not_started", name=name), icon=":material/stop_circle:")
    elif pg.is_stopped(record):
        st.warning(t("playground.stopped", name=name, step=record.steps_done, steps=cfg.steps),
                   icon=":material/stop_circle:")

if records is not None and pg.drawable(records):
    if challenge is not None:
        playground_panel.challenge_verdict(challenges.judge(challenge, records))

    @st.fragment
    def timeline():
        """Everything that follows the step: moving the slider reruns this part only."""
        step = timeline_panel.step_slider(records, "pg_hist_step", help=t("playground.step_help"))
        timeline_panel.metrics(records, names, colors, step, "pg_metrics")
        st.subheader(t("playground.hist_title"))
        st.caption(t("playground.hist_caption"))
        timeline_panel.histograms(
            lambda hists: histograms(hists, names, config.activation, common.layer_titles(len(config.hidden)),
                                     hist_axis, colors), records, names, step, "pg_hist")
        if dataset.is_2d:
            st.subheader(t("playground.boundary_title"))
            st.caption(t("playground.boundary_caption"))
            timeline_panel.boundary(records, names, dataset, step, "pg_boundary")
        if (bn_record := timeline_panel.first_with_bn(records)) is not None:
            timeline_panel.gamma_beta(bn_record, step, "pg_gamma_beta")

    hist_axis = {"x": t("common.pre_activation"), "share": t("common.share"),
                 "activation": t("common.activation_curve"), "derivative": t("common.derivative_curve")}
    with live.container():
        timeline()
    shell.takeaways(pg.takeaways(records, run_ids, chance=1.0 / dataset.n_classes))
    st.download_button(t("playground.export"), lambda: pg.export_csv(records, run_ids),  # made on click
                       file_name="batchnorm-playground.csv", mime="text/csv", key="pg_export",
                       icon=":material/download:", help=t("playground.export_help"),
                       on_click="ignore")  # a rerun started by the click can drop the file's answer: spinner forever
    if mode == "compare" and all(r is not None and r.done for r in records):
        seed_panel.repeat("pg", configs, names, (t("common.without_bn"), t("common.with_bn")),
                          lambda groups: pg.seed_comparisons(groups, run_ids), data=data)
