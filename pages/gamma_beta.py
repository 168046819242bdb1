"""γ and β: scale and shift a real batch's normalized values, undo BN exactly, and see what training learns."""
import streamlit as st

from bn_core import PROBE_SIZE, SATURATION_SHARE, SIGMOID_SATURATION_X, ConfigError
from lab import shell
from lab.figures import backward as backward_fig
from lab.figures.gamma_beta import learned_params, transform_histograms
from lab.i18n import current_lang, fmt_num, fmt_pct, t, translate
from lab.lessons import backward as bw
from lab.lessons import common, questions
from lab.lessons import gamma_beta as gb

shell.start_page()
shell.intro("gamma_beta")
with st.expander(t("common.math"), expanded=True):
    st.latex(r"\hat{x}_i=\frac{x_i-\mu_\mathcal{B}}{\sqrt{\sigma_\mathcal{B}^2+\epsilon}},\qquad "
             r"y_i=\gamma\,\hat{x}_i+\beta")
    # Each identity's label on a line of its own: beside the formula it overflows a narrow column.
    st.latex(r"\begin{gathered}\gamma=\sqrt{\sigma_\mathcal{B}^2+\epsilon},\ \beta=\mu_\mathcal{B}\ \Rightarrow\ "
             r"y_i=x_i\\ \text{(%s)}\end{gathered}" % t("gamma_beta.math_identity"))
    st.latex(r"\begin{gathered}\gamma=\sqrt{\mathrm{Var}[x]+\epsilon},\ \beta=\mathrm{E}[x]\ \Rightarrow\ "
             r"\frac{x-\mathrm{E}[x]}{\sqrt{\mathrm{Var}[x]+\epsilon}}\,\gamma+\beta=x\\ "
             r"\text{(%s)}\end{gathered}" % t("gamma_beta.math_identity_population"))
    st.latex(r"\operatorname{sigmoid}(y)\approx\tfrac12+\tfrac{y}{4}\quad\text{%s}\ |y|<1"
             % t("gamma_beta.math_linear"))
    st.markdown(t("gamma_beta.math_terms", gap=fmt_num(gb.tangent_gap(), 2), sat_x=fmt_num(SIGMOID_SATURATION_X, 2),
                  low=fmt_pct(SATURATION_SHARE)))

# --- A trained network and a real batch ------------------------------------------------------------------------
config = gb.config(shell.seed())
try:
    (record,) = shell.train([config], [t("common.with_bn")])
except ConfigError as err:
    shell.config_error(err)
    st.stop()
if len(record.snapshots) < 2:
    st.error(t("gamma_beta.no_run"), icon=":material/warning:")
    st.stop()
xs = gb.bn_inputs(record)
shell.predict(questions.gamma_beta(record, xs[-1]))

st.subheader(t("gamma_beta.experiment"))
st.caption(t("gamma_beta.setup", steps=record.steps_done, batch=len(xs[0]), depth=len(config.hidden),
             width=config.hidden[0]))


@st.fragment
def unit_view():
    """Everything that shows the picked layer and unit, down to its gradient check: picking another reruns this part
    only (and the γ/β sliders inside it, only theirs)."""
    c1, c2 = st.columns(2)
    n_layers, n_units = len(xs), xs[0].shape[1]
    shell.keep_choice("gb_layer", range(n_layers),
                      lambda lang: {i: translate(lang, "common.layer", n=i + 1) for i in range(n_layers)})
    layer = c1.selectbox(t("gamma_beta.layer"), range(n_layers), index=n_layers - 1, key="gb_layer",
                         format_func=dict(enumerate(common.layer_titles(n_layers))).get)
    best = gb.default_unit(record, layer)
    common.preselect(st.session_state, "gb_unit", (config, layer), best)  # a new layer or run: its own default
    shell.keep_choice("gb_unit", range(n_units), lambda lang: gb.unit_labels(lang, n_units, best))
    unit_index = c2.selectbox(t("gamma_beta.unit"), range(n_units), key="gb_unit", help=t("gamma_beta.unit_help"),
                              format_func=gb.unit_labels(current_lang(), n_units, best).get)  # AppTest formats late
    unit = gb.Unit(xs[layer][:, unit_index], config.bn_eps, picked=unit_index == best)  # picked: "cherry-picked"
    learned_gamma, learned_beta = (float(p[unit_index]) for p in gb.learned(record, layer))

    # --- γ and β: buttons set the sliders (callbacks run before the sliders are created) ----------------------------
    g_max, b_max = gb.slider_ranges(xs, config.bn_eps, [gb.learned(record, i) for i in range(n_layers)])
    gb.keep_in_range(st.session_state, g_max, b_max)

    def set_params(gamma, beta):
        st.session_state.gb_gamma, st.session_state.gb_beta = float(gamma), float(beta)

    @st.fragment
    def sliders():
        """γ, β and what they do to this unit's batch: moving them reruns this part of the page only."""
        st.markdown(t("gamma_beta.batch_stats", mu=fmt_num(unit.mu, 3), sigma=fmt_num(unit.sigma, 3), **gb.SYMBOLS))
        b1, b2, b3 = st.columns(3)
        b1.button(t("gamma_beta.undo", **gb.SYMBOLS), on_click=set_params, args=(unit.sigma, unit.mu),
                  help=t("gamma_beta.undo_help", **gb.SYMBOLS), key="gb_undo", icon=":material/undo:", width="stretch")
        b2.button(t("gamma_beta.use_learned"), on_click=set_params, args=(learned_gamma, learned_beta),
                  help=t("gamma_beta.use_learned_help"), key="gb_learned", icon=":material/school:", width="stretch")
        b3.button(t("gamma_beta.plain"), on_click=set_params, args=(1.0, 0.0), help=t("gamma_beta.plain_help"),
                  key="gb_plain", icon=":material/restart_alt:", width="stretch")
        s1, s2 = st.columns(2)
        # Three decimals: a button sets the exact σ_B and μ_B, which the sentences below give to three decimals too.
        gamma = s1.slider(t("gamma_beta.gamma"), 0.0, g_max, step=0.01, format="%.3f", key="gb_gamma",
                          help=t("gamma_beta.gamma_help"))
        beta = s2.slider(t("gamma_beta.beta"), -b_max, b_max, step=0.01, format="%.3f", key="gb_beta",
                         help=t("gamma_beta.beta_help"))
        y, s = gb.transform(unit.x_hat, gamma, beta)
        shell.chart(transform_histograms(unit.x_hat, y, s, unit.x, linear_y=gb.LINEAR_Y, **gb.transform_text()),
                    "gb_histograms")
        shell.takeaways(gb.sentences(unit, gamma, beta, learned_gamma, learned_beta) + [gb.layer_sentence(record)])

    sliders()

    # --- What training learns ----------------------------------------------------------------------------------------
    st.subheader(t("gamma_beta.learned_title"))
    st.caption(t("gamma_beta.learned_caption"))
    shell.chart(learned_params(record.steps, [gb.param_series(record, i, "gamma") for i in range(n_layers)],
                               [gb.param_series(record, i, "beta") for i in range(n_layers)], layer, unit_index,
                               layer_titles=common.layer_titles(n_layers), **gb.learned_text(unit_index)),
                "gb_learned_params")

    shell.playground_link(config, mode="single")

    # --- The backward pass through BN: the chain rule checked on this batch, and the paper's §2 warning run ---------
    st.header(t("backward.title"))
    st.markdown(t("backward.intro"))
    st.latex(bw.CHAIN_RULE % (t("backward.path_direct"), t("backward.path_var"), t("backward.path_mu")))
    st.caption(t("backward.chain_caption"))
    st.subheader(t("backward.check_title"))
    check = bw.gradient_check(record, layer, unit_index)
    st.caption(t("backward.check_caption", layer=layer + 1, unit=unit_index, m=check.m, h=f"{bw.NUMERICAL_STEP:g}"))
    left, right = st.columns([1, 1])
    left.table(bw.check_rows(check), hide_index=True)
    with right:
        shell.chart(backward_fig.gradient_check(check.numerical, check.analytic, check.ignoring,
                                                bw.check_figure_labels()), "bw_check")
    shell.takeaways(bw.check_sentences(check))


unit_view()

st.subheader(t("backward.bias_title"))
demo = bw.bias_config(shell.seed())
st.markdown(t("backward.bias_intro", depth=len(demo.hidden), width=demo.hidden[0], steps=demo.steps, lr=demo.lr,
              batch=demo.batch_size, probe=PROBE_SIZE))
runs = shell.run(bw.bias_tasks(shell.seed()), bw.run_names())
shell.chart(backward_fig.bias_growth([r.steps for r in runs], [bw.mean_bias(r) for r in runs],
                                     [r.loss for r in runs], bw.run_names(), bw.bias_figure_labels()), "bw_bias")
shell.takeaways(bw.bias_sentences(*runs))
