"""BN at inference: train mode vs eval mode, running vs population statistics, a batch of one, folding BN away."""
import streamlit as st

import bn_core as bc
from bn_core import ConfigError
from lab import shell
from lab.figures import inference as fig
from lab.i18n import current_lang, fmt_num, fmt_pct, t
from lab.lessons import common, questions
from lab.lessons import inference as li


def trained(config):
    """The run of ``config``: from the cache, or trained now behind a progress bar. None for a config error."""
    try:
        (run,) = shell.run([li.stats_task(config)], [t("inference.run_name")])
    except ConfigError as err:
        shell.config_error(err)
        return None
    return run if li.is_stats_run(run) else None


shell.start_page()
shell.intro("inference")

# --- Algorithm 2, with the folding step -------------------------------------------------------------------------
st.subheader(t("inference.alg2_title"))
st.latex(r"""
\begin{aligned}
&\textbf{1.}\ \text{""" + t("inference.alg2_stats") + r"""}\\
&\qquad \mathrm{E}[x] \leftarrow \mathrm{E}_\mathcal{B}[\mu_\mathcal{B}], \qquad
        \mathrm{Var}[x] \leftarrow \frac{m}{m-1}\,\mathrm{E}_\mathcal{B}[\sigma_\mathcal{B}^2]\\
&\textbf{2.}\ \text{""" + t("inference.alg2_affine") + r"""}\\
&\qquad y = \gamma\,\frac{x-\mathrm{E}[x]}{\sqrt{\mathrm{Var}[x]+\epsilon}}+\beta = a\,x+b, \qquad
        a = \frac{\gamma}{\sqrt{\mathrm{Var}[x]+\epsilon}}, \quad b = \beta - a\,\mathrm{E}[x]\\
&\textbf{3.}\ \text{""" + t("inference.alg2_fold") + r"""}\\
&\qquad y = u\,\big(W\,\mathrm{diag}(a)\big) + b = u\,W' + b'
\end{aligned}""")
st.caption(t("inference.alg2_caption"))

# --- The run ------------------------------------------------------------------------------------------------------
st.header(t("inference.run_title"))
left, right = st.columns(2)
steps = left.select_slider(t("inference.steps_label"), li.STEP_CHOICES, value=li.DEFAULT_CONFIG.steps,
                           help=t("inference.steps_help"), key="inf_steps")
momentum = right.select_slider(t("inference.momentum_label"), li.MOMENTA, value=li.TRAIN_MOMENTUM,
                               help=t("inference.momentum_help"), key="inf_momentum")
config = li.DEFAULT_CONFIG.replace(steps=steps, seed=shell.seed())

run = trained(config)
if run is not None and run.divergence is not None:
    st.error(common.divergence_message(t("inference.run_name"), run), icon=":material/error:")
elif run is not None:
    st.caption(t("inference.run_caption", depth=len(config.hidden), width=config.hidden[0], batch=config.batch_size,
                 lr=config.lr, steps=config.steps, momentum=fmt_num(momentum)))
    data = run.data
    sweep = li.momentum_sweep(run)
    shell.predict(questions.inference(run, momentum, sweep))

    @st.fragment
    def sections():
        """The four sections and their takeaways: the example, layer, unit and width pickers rerun this part only."""
        sentences = []
        # 1. Train mode vs eval mode --------------------------------------------------------------------------------
        st.header(t("inference.modes_title"))
        st.markdown(t("inference.modes_text"))
        example = st.number_input(t("inference.example_label"), 0, len(data.y_test) - 1, 0, step=1,
                                  help=t("inference.example_help"), key="inf_example")
        modes = li.modes_at(run, momentum, example)
        st.markdown(t("inference.example_caption", example=example, label=modes.label))
        shell.chart(fig.mode_probabilities(
            (modes.probs_random, modes.probs_same, modes.probs_eval),
            (t("inference.train_random"), t("inference.train_same"), t("inference.eval_mode")),
            t("inference.class_axis"), t("inference.prob_axis")), "inf_modes")
        cols = st.columns(3)
        cols[0].metric(t("inference.acc_eval"), fmt_pct(modes.acc_eval, 1))
        cols[1].metric(t("inference.acc_train_random", m=config.batch_size), fmt_pct(modes.acc_train_random, 1))
        cols[2].metric(t("inference.acc_train_same"), fmt_pct(modes.acc_train_same, 1))
        sentences += li.modes_sentences(modes, config.batch_size)

        # 2. Running averages vs population statistics --------------------------------------------------------------
        st.header(t("inference.stats_title"))
        st.markdown(t("inference.stats_text"))
        st.latex(r"""
    \hat\mu \leftarrow (1-\alpha)\,\hat\mu + \alpha\,\mu_\mathcal{B}, \qquad
    \hat\sigma^2 \leftarrow (1-\alpha)\,\hat\sigma^2 + \alpha\,\frac{m}{m-1}\,\sigma^2_\mathcal{B}, \qquad
    \alpha = \text{""" + t("inference.sweep_x") + "} = " + fmt_num(momentum))
        st.markdown(t("inference.stats_after"))
        left, right = st.columns(2)
        layer_names = common.layer_titles(run.n_layers)
        layer = layer_names.index(left.selectbox(t("inference.layer_label"), layer_names, index=run.n_layers - 1,
                                                 key=f"inf_layer_{current_lang()}"))
        unit = right.number_input(t("inference.unit_label"), 0, run.batch_mean[layer].shape[1] - 1, 0, step=1,
                                  key="inf_unit")
        trace = li.unit_trace(run, layer, unit, momentum)
        shell.chart(fig.ema_trace(
            trace, (t("inference.trace_mean", unit=unit, layer=layer + 1), t("inference.trace_var", unit=unit,
                                                                              layer=layer + 1)),
            (t("inference.batch_name"), t("inference.running_name", momentum=fmt_num(momentum)),
             t("inference.population_name")), t("common.step")), "inf_trace")
        st.markdown(t("inference.sweep_text"))
        shell.chart(fig.momentum_sweep(
            sweep, momentum, (t("inference.sweep_gap_title"), t("inference.sweep_acc_title")),
            (t("inference.mean_gap_name"), t("inference.var_gap_name"), t("inference.ema_acc_name"),
             t("inference.pop_acc_name")),
            t("inference.sweep_x"), t("inference.sweep_gap_axis"), t("common.accuracy")), "inf_sweep")
        sentences += li.stats_sentences(sweep, momentum, config.steps)

        # 3. A batch of one -----------------------------------------------------------------------------------------
        st.header(t("inference.one_title"))
        st.markdown(t("inference.one_text"))
        one = li.batch_of_one_at(run, momentum, example)
        st.markdown(t("inference.one_train", example=example))
        if one.error == "batch_of_one":
            st.error(t("inference.batch_of_one_error", collapsed=one.collapsed_prediction), icon=":material/block:")
        pred_alone = int(one.eval_logits.argmax())
        st.success(t("inference.one_eval", pred=pred_alone, prob=fmt_pct(li.softmax(one.eval_logits).max()),
                     pred_batch=int(one.in_batch_logits.argmax()), gap=fmt_num(one.max_gap, 2)),
                   icon=":material/check_circle:")
        sentences.append(li.one_sentence(one, example))

        # 4. Folding BN away ----------------------------------------------------------------------------------------
        st.header(t("inference.fold_title"))
        st.markdown(t("inference.fold_text", **li.FOLD_MATH, n_written=bc.OPS_BN_AS_WRITTEN,
                      n_affine=bc.OPS_BN_FOLDED_AFFINE, n_folded=bc.OPS_BN_FOLDED_LINEAR))
        check = li.fold_check_at(run, momentum)
        ways = {"as_written": t("inference.way_as_written"), "folded_affine": t("inference.way_affine"),
                "folded_linear": t("inference.way_linear")}
        table = li.fold_table(check, ways,
                              (t("inference.col_pair"), t("inference.col_gap"), t("inference.col_relative")))
        st.dataframe(table.style.format({table.columns[1]: "{:.2e}", table.columns[2]: "{:.2e}"}), hide_index=True,
                     width="stretch")
        st.caption(t("inference.fold_caption", agree=check.agree, n=check.n))
        sentences.append(li.fold_sentence(check, run.record.dtype))
        st.markdown(t("inference.cost_text", saved=bc.OPS_BN_AS_WRITTEN - bc.OPS_BN_FOLDED_LINEAR))
        width = st.select_slider(t("inference.width_label"), li.WIDTH_CHOICES, value=config.hidden[0],
                                 help=t("inference.width_help", width=config.hidden[0]), key="inf_width")
        cost = li.cost_for_width(data.n_features, width, len(config.hidden), data.n_classes)
        shell.chart(fig.cost_bars(cost, ways, t("inference.cost_axis"),
                                  t("inference.cost_title", width=width, depth=len(config.hidden))), "inf_cost")
        sentences.append(li.cost_sentence(cost, width))

        shell.takeaways(sentences)

    sections()

shell.playground_link(config.replace(bn_momentum=momentum), mode="single")
