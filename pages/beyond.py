"""Beyond the paper — does BN work by reducing covariate shift? Six experiments on the small network, each trained
on request (the cheapest on load), the published ImageNet numbers beside them, and a verdict from the runs made."""
import streamlit as st

from bn_core import ConfigError
from lab import shell
from lab.figures import beyond as fig
from lab.figures.covariate_shift import unit_bands
from lab.i18n import t
from lab.lessons import beyond as lb
from lab.lessons.common import layer_titles

shell.start_page()
shell.intro("beyond")
seed = shell.seed()
kept = st.session_state.setdefault("beyond_results", {})  # (experiment, size, seed) -> lb.Result
names = lb.series_names()
text = lb.figure_text()
shown = {}  # experiment -> the Result on screen, for the verdict


def experiment(name):
    """The experiment's size, description, cost and Run button; its Result once run — now, earlier in this session,
    or by anyone (all its runs in the shared cache) — else None. The default experiment runs on load."""
    size = "larger" if st.toggle(lb.larger_label(name), key=f"beyond_larger_{name}") else "default"
    st.markdown(lb.description(name, size))
    key = (name, size, seed)
    if key not in kept:
        pairs = lb.experiment_runs(name, seed, size)
        tasks = lb.tasks(name, pairs)
        slot = st.empty()
        with slot.container():
            st.caption(lb.cost_text(name, size))
            clicked = st.button(t("beyond.run"), key=f"beyond_run_{name}", icon=":material/play_arrow:")
        if clicked or lb.all_cached(tasks) or (name == lb.DEFAULT_EXPERIMENT and size == "default"):
            try:
                values = shell.run(tasks, lb.run_names(name, pairs))
            except ConfigError as err:
                shell.config_error(err)
                return None
            lb.remember(kept, key, lb.summarize(name, pairs, values))
            slot.empty()
    result = kept.get(key)
    if result is not None:
        shown[name] = result
        for message in lb.divergence_notes(result):
            st.error(message, icon=":material/warning:")
    return result


def published(table, caption):
    st.markdown(t("beyond.published"))
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(caption)


# 1. Learning-rate headroom, beside Ioffe & Szegedy's ImageNet table
with st.expander(lb.title("lr_headroom"), expanded=True):
    result = experiment("lr_headroom")
    left, right = st.columns(2)
    with right:
        published(lb.ioffe_table(), t("beyond.ioffe_caption"))
    if result is not None:
        with left:
            shell.chart(fig.lr_figure(result.runs, names, lb.figure_text(result)), "beyond_lr")
        shell.takeaways(lb.sentences(result))

# 2. Batch size: BN vs LayerNorm vs none, beside Wu & He's table
with st.expander(lb.title("batch_size"), expanded=True):
    result = experiment("batch_size")
    if result is not None:
        shell.chart(fig.batch_figure(result.runs, result.spread, names, text), "beyond_batch")
    left, right = st.columns(2)
    with right:
        published(lb.wu_he_table(), t("beyond.wu_he_caption"))
    if result is not None:
        with left:
            shell.takeaways(lb.sentences(result))

# 3. Noisy BN: the covariate-shift lesson's views, with shift injected on purpose
with st.expander(lb.title("noisy"), expanded=True):
    result = experiment("noisy")
    if result is not None:
        shell.chart(fig.accuracy_figure(result.runs, names, t("beyond.acc_title"), text["step"], text["accuracy"]),
              "beyond_noisy_acc")
        st.markdown(f"**{t('beyond.noisy_unit_title', unit=result.unit)}**")
        runs = [r for r in result.runs if "unit_pcts" in r.arrays]
        bands = unit_bands([r.steps for r in runs], [r.arrays["unit_pcts"] for r in runs],
                           [names[r.series] for r in runs], [fig.STYLE[r.series][0] for r in runs],
                           t("ics.sigmoid_input"), text["step"], [names[r.series] for r in runs])
        for column, band, run in zip(st.columns(len(bands)), bands, runs):
            with column:
                shell.chart(band, f"beyond_noisy_band_{run.series}")
        n_layers = len(result.sizes) - 2
        shell.chart(fig.panel_lines(result.runs, "drift", layer_titles(n_layers), t("ics.drift_axis"), text["step"],
                              names, log_y=True), "beyond_noisy_drift")
        st.caption(t("beyond.noisy_drift_caption"))
        shell.takeaways(lb.sentences(result))

# 4. Covariate shift measured through gradients
with st.expander(lb.title("gradient_ics"), expanded=True):
    result = experiment("gradient_ics")
    if result is not None:
        n_linear = len(result.sizes) - 1
        titles, columns = lb.gics_layer_titles(n_linear), list(range(1, n_linear))
        shell.chart(fig.panel_lines(result.runs, "diff", titles, t("beyond.gics_diff_axis"), text["step"], names,
                              log_y=True, x_key="measure_steps", columns=columns), "beyond_gics_diff")
        shell.chart(fig.panel_lines(result.runs, "cos", titles, t("beyond.gics_cos_axis"), text["step"], names,
                              x_key="measure_steps", columns=columns), "beyond_gics_cos")
        shell.takeaways(lb.sentences(result))

# 5. Loss-landscape smoothness along the gradient
with st.expander(lb.title("landscape"), expanded=True):
    result = experiment("landscape")
    if result is not None:
        measures = lb.measure_names()
        shell.chart(fig.panel_lines(result.runs, lb.LANDSCAPE_MEASURES, [measures[m] for m in lb.LANDSCAPE_MEASURES],
                              t("beyond.land_axis"), text["step"], names, log_y=True, x_key="measure_steps"),
              "beyond_landscape")
        shell.takeaways(lb.sentences(result))

# 6. Ablations: which parts of BN matter
with st.expander(lb.title("ablations"), expanded=True):
    result = experiment("ablations")
    if result is not None:
        shell.chart(fig.ablation_bars(result.runs, names, t("beyond.abl_axis", steps=result.steps)), "beyond_ablations")
        shell.takeaways(lb.sentences(result))

# The verdict, from the runs on this page
st.header(t("beyond.verdict_title"))
st.caption(t("beyond.verdict_intro", seed=seed))
with st.container(border=True):
    st.markdown("\n".join(f"- {sentence}" for sentence in lb.verdict(shown)))
