"""Inputs and initialization: four choices of init or input scaling, each trained with and without BN."""
# ruff: noqa: UP031  (LaTeX is full of braces: %-formatting keeps it readable)
import streamlit as st

from bn_core import SATURATION_SHARE, SIGMOID_SATURATION_X, ConfigError
from lab import seed_panel, shell
from lab.figures import inputs as fig
from lab.i18n import current_lang, fmt_num, fmt_pct, t, translate
from lab.lessons import inputs as lesson
from lab.lessons import questions
from lab.lessons.common import last

CHOICE_KEYS = {
    "truncated_normal": "inputs.init_truncated_normal", "normal": "inputs.init_normal",
    "xavier": "inputs.init_xavier", "he": "inputs.init_he",
    "raw": "inputs.prep_raw", "unit": "inputs.prep_unit", "symmetric": "inputs.prep_symmetric",
    "standardize": "inputs.prep_standardize",
}
AXIS_KEYS = {"init": "inputs.vary_init", "preprocessing": "inputs.vary_preprocessing"}


LANG = current_lang()  # option labels are bound to this run's language: a widget may format its options again later


def label(choice):
    return translate(LANG, CHOICE_KEYS[choice])


shell.start_page()
shell.intro("inputs")

st.subheader(t("common.math"))
st.latex(r"\begin{gathered} z_j = \sum_{i=1}^{n} w_{ij}\,x_i \\ \operatorname{Var}[z_j] = n\,\operatorname{Var}[w]\,"
         r"\mathrm{E}[x^2] \quad \text{(%s)} \end{gathered}" % t("inputs.math_var_note"))  # two lines fit a projector
st.latex(r"""\operatorname{Var}[w] = \begin{cases}
%s\,\sigma_w^2 & \text{%s}\\
\sigma_w^2 & \text{%s}\\[4pt]
\dfrac{2}{n_\text{in}+n_\text{out}} & \text{%s}\\[10pt]
\dfrac{2}{n_\text{in}} & \text{%s}
\end{cases}""" % (fmt_num(lesson.truncated_variance_factor(), 3), t("inputs.math_init_trunc"),
              t("inputs.init_normal"), t("inputs.math_init_xavier"), t("inputs.init_he")))
st.latex(r"""x' = \begin{cases}
x \in [0, 16] & \text{%s}\\
x / 16 \in [0, 1] & \text{%s}\\
x / 8 - 1 \in [-1, 1] & \text{%s}\\
(x - \mu_i) / s_i & \text{%s}\\
x / 255 - 0.5 \in [-0.5, 0.5] & \text{%s}
\end{cases}""" % (t("inputs.prep_raw"), t("inputs.prep_unit"), t("inputs.prep_symmetric"),
              t("inputs.prep_standardize"), t("inputs.math_seed")))
st.latex(r"\begin{gathered} \mathrm{BN}(a z) = "
         r"\frac{a z - a\mu_\mathcal{B}}{\sqrt{a^2\sigma_\mathcal{B}^2 + \epsilon}} "
         r"\approx \frac{z - \mu_\mathcal{B}}{\sigma_\mathcal{B}} = \mathrm{BN}(z) \\ \text{(%s)} \end{gathered}"
         % t("inputs.math_bn_note"))
st.markdown(t("inputs.math_caption", factor=fmt_num(lesson.truncated_variance_factor(), 3)))

st.subheader(t("inputs.experiment"))
for key, options, keys in (("inputs_axis", lesson.AXES, AXIS_KEYS),  # labels change with the language
                            ("inputs_prep", lesson.choices("preprocessing"), CHOICE_KEYS),
                            ("inputs_init", lesson.choices("init"), CHOICE_KEYS)):
    shell.keep_choice(key, options, lambda lang, ks=keys, opts=options: {o: translate(lang, ks[o]) for o in opts})
c1, c2, c3, c4 = st.columns([1.2, 1.2, 1.4, 1])
with c1:
    axis = st.radio(t("inputs.vary"), lesson.AXES, format_func=lambda a: translate(LANG, AXIS_KEYS[a]),
                    key="inputs_axis", help=t("inputs.vary_help"))
with c2:
    if axis == "init":
        preprocessing = st.selectbox(t("inputs.fixed_preprocessing"), lesson.choices("preprocessing"),
                                     index=lesson.choices("preprocessing").index(lesson.BASE.preprocessing),
                                     format_func=label, key="inputs_prep")
        init = lesson.BASE.init
    else:
        init = st.selectbox(t("inputs.fixed_init"), lesson.choices("init"),
                            index=lesson.choices("init").index(lesson.BASE.init), format_func=label,
                            key="inputs_init")
        preprocessing = lesson.BASE.preprocessing
with c3:
    sigma = st.select_slider(t("inputs.sigma"), lesson.SIGMAS, value=lesson.BASE.init_sigma, key="inputs_sigma",
                             help=t("inputs.sigma_help"))
with c4:
    steps = st.select_slider(t("common.steps"), lesson.STEPS, value=lesson.BASE.steps, key="inputs_steps")
b = lesson.BASE
st.caption(t("inputs.setup", depth=len(b.hidden), width=b.hidden[0], batch=b.batch_size, lr=b.lr))

grid = lesson.grid(axis, init, preprocessing, sigma, steps, shell.seed())
choices = list(grid)
names = [label(c) for c in choices]
configs = [c for pair in grid.values() for c in pair]
run_names = [f"{n} · {t(w)}" for n in names for w in ("common.with_bn", "common.without_bn")]
try:
    records = shell.train(configs, run_names)
except ConfigError as err:
    shell.config_error(err)
    st.stop()
records_bn, records_no_bn = records[0::2], records[1::2]
first_layers = [lesson.first_layer(*grid[c]) for c in choices]
for message in lesson.divergences(names, records_bn, records_no_bn):
    st.warning(message, icon=":material/warning:")
shell.predict(questions.inputs(axis, names, records_bn, records_no_bn))

st.markdown(f"**{t('inputs.hist_title')}**")
shell.chart(fig.first_layer_histograms(
    [(f.without_bn, f.with_bn) for f in first_layers],
    [t("inputs.panel_title", name=n, std=fmt_num(f.std_without, 2)) for n, f in zip(names, first_layers)],
    dict(without_bn=t("common.without_bn"), with_bn=t("common.with_bn"), x=t("inputs.hist_x"),
         share=t("common.share")), SIGMOID_SATURATION_X), "inputs_hist")
st.caption(t("inputs.hist_caption", x=fmt_num(SIGMOID_SATURATION_X, 3), low=fmt_pct(SATURATION_SHARE)))

left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{t('inputs.loss_title')}**")
    shell.chart(fig.loss_curves(records_bn, records_no_bn, names, (t("common.without_bn"), t("common.with_bn")),
                                dict(x=t("common.step"), loss=t("inputs.test_loss"))), "inputs_loss")
with right:
    st.markdown(f"**{t('inputs.acc_title', steps=steps)}**")
    shell.chart(fig.accuracy_bars([last(r, "test_acc") for r in records_bn],
                                  [last(r, "test_acc") for r in records_no_bn], names,
                                  dict(with_bn=t("common.with_bn"), without_bn=t("common.without_bn"),
                                       accuracy=t("inputs.test_accuracy"))), "inputs_acc")
st.caption(t("inputs.runs_caption"))

shell.takeaways(lesson.takeaways(axis, names, first_layers, records_bn, records_no_bn))
seed_panel.repeat("inputs", configs, run_names, (t("common.without_bn"), t("common.with_bn")),
                  lambda groups: lesson.seed_comparisons(names, groups))
worst = min(range(len(choices)), key=lambda i: last(records_no_bn[i], "test_acc"))
shell.playground_link(grid[choices[worst]][0])

# --- Scale invariance (§3.3): the input scalings with BN, and the weights' effective learning rate ---------------
st.subheader(t("inputs.inv_title"))
st.markdown(t("inputs.inv_intro"))
if axis == "preprocessing":
    st.markdown(t("inputs.inv_inputs"))
    invariance = lesson.input_invariance(names, first_layers, records_bn, records_no_bn)
    st.table(lesson.invariance_table(invariance), hide_index=True)
    st.markdown("\n\n".join(lesson.invariance_sentences(invariance)))
else:
    st.info(t("inputs.inv_switch"), icon=":material/tune:")
ws = lesson.weight_scale(init, preprocessing, sigma, shell.seed())
st.markdown(t("inputs.ws_intro", batch=b.batch_size, a=fmt_num(ws.factor)))
shell.chart(fig.weight_scale_bars(ws.grad, ws.grad_scaled, ws.weight, ws.weight_scaled,
                                  lesson.weight_scale_labels(ws)), "inputs_weight_scale")
st.markdown(lesson.weight_scale_sentence(ws))

