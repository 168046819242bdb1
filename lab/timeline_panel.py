"""The linked training timeline's widgets (streamlit): one step slider, and the charts that follow it — loss and
accuracy with the step marked, per-layer histograms that also play over training in the browser, every unit's γ and
β, and the decision boundary of the model at that step. Pages call these inside an ``st.fragment`` around the part
that depends only on the step, so moving the slider redraws that part alone."""
import numpy as np
import streamlit as st

import lab.lessons.playground as pg
from lab import shell
from lab.figures import common as figures
from lab.figures.playground import decision_boundary
from lab.figures.timeline import gamma_beta_at_step, with_play
from lab.i18n import fmt_pct, t
from lab.lessons import common
from lab.lessons import timeline as tl


def step_slider(records, key, help=None):
    """The step every chart below shows: any step a run recorded, the last one preselected when the runs change."""
    steps = common.recorded_steps(*records)
    common.preselect(st.session_state, key, tuple(steps), steps[-1])
    if len(steps) > 1:
        st.select_slider(t("common.record_step"), steps, key=key, help=help)
    return st.session_state[key]


def metrics(records, names, colors, step, key):
    """Loss and accuracy over training, the step marked on both."""
    text = common.metric_text()
    shell.chart(figures.mark_step(figures.metric_curves(records, names, colors=colors, **text), records, names, colors,
                                  step, text["axis"]["test"]), key)


def histograms(build, records, names, step, key):
    """A per-layer histogram figure (lab.figures.common.layer_histograms) of ``records`` at ``step``, with Play: the
    browser animates it over the recorded steps without asking the server. ``build(hists)``: the figure of per run
    per-layer counts. The figure is built once, at the last step, and shows other steps with their counts put in
    (lab.figures.timeline.with_play). A run with no record at a step (it diverged or was stopped before) shows no
    bars there, in the slider's view as in Play's, and a note under the chart says so."""
    steps, hists = tl.frames(records, common.recorded_steps(*records))

    def hists_at(at):
        return empty_hists(records, tl.hists_of_runs(records, at))

    fig = build(hists_at(steps[-1]))
    shell.chart(with_play(fig, steps, hists, [t("common.step_title", step=s) for s in steps],
                          {"play": t("common.play"), "pause": t("common.pause")}, t("common.step_title", step=step),
                          shown=hists_at(step), source=lambda: build(hists_at(step))), key)
    for record, name in zip(records, names):
        if record is not None and record.snapshots and not common.reached(record, step):
            st.caption(t("common.no_hist", name=name, step=step))


def gamma_beta(record, step, key):
    """Every unit's (γ, β) at ``step``, on axes fixed over the run; nothing for a run without BN. The figure is built
    once, at the last record, and shows other steps with their values put in."""
    last = record.steps[-1]
    params, ranges = tl.gamma_beta_at(record, step), tl.gamma_beta_range(record)
    if params is None or ranges is None:
        return

    def build(at):
        return gamma_beta_at_step(tl.gamma_beta_at(record, at), ranges, common.layer_titles(len(params)),
                                  {"title": t("timeline.gamma_beta_title", step=at), "start": t("timeline.start"),
                                   "gamma": "γ", "beta": "β"})

    points = {1 + i: {"x": gamma, "y": beta} for i, (gamma, beta) in enumerate(params)}  # trace 0: the start
    title = t("timeline.gamma_beta_title", step=step)
    shell.chart(figures.with_data(build(last), points, title, lambda: build(step)), key)
    st.caption(t("timeline.gamma_beta_caption"))


def boundary(records, names, dataset, step, key):
    """The decision boundary of each run's model at ``step`` (2-D data). A network too large to keep its weights
    at every record shows its boundary at the end of training, and says so."""
    xs, ys, points = pg.boundary_grid(dataset)
    at_step = all(r is None or r.has_weights_per_record for r in records)
    if at_step:
        predictions = [tl.predict_grid_at(r, step, points, len(xs)) for r in records]
        titles = [boundary_title(r, name, step) for r, name in zip(records, names)]
    else:
        predictions = [pg.predict_grid(r, points, len(xs)) for r in records]
        titles = pg.boundary_titles(records, names)
    shell.chart(decision_boundary(xs, ys, predictions, dataset.X_test, dataset.y_test, titles,
                                  {"x": "x₁", "y": "x₂", "class": t("playground.class")},
                                  empty_text=t("playground.no_boundary")), key)
    st.caption(t("timeline.boundary_at_step", step=step) if at_step else t("timeline.boundary_at_end"))


def boundary_title(record, name, step):
    """A panel's title at ``step``: the run's name, its test accuracy then, and the step it diverged at, if it did
    (its model before that step is still drawn)."""
    if not common.reached(record, step):
        return name
    title = t("playground.boundary_panel", name=name,
              acc=fmt_pct(record.metric("test_acc")[common.record_index(record, step)], 1))
    if record.divergence is not None:
        title += " · " + t("common.diverged_short", step=record.divergence.step)
    return title


def first_with_bn(records):
    """The first run that has γ and β (a run with BN), or None."""
    return next((r for r in records if r is not None and r.snapshots and r.snapshots[0].layers[0].gamma is not None),
                None)


def empty_hists(records, hists):
    """Zero counts for a run that recorded but not at this step, so its bars exist for the animation to fill."""
    return [h if h is not None or r is None or not r.snapshots else
            [np.zeros_like(c) for c in common.hists_at(r, 0)] for r, h in zip(records, hists)]
