"""Sigmoid saturation: per-layer activation inputs, saturated (or dead) units and gradient norms, BN vs no BN."""
# ruff: noqa: UP031  (LaTeX is full of braces: %-formatting keeps it readable)
import streamlit as st

from bn_core import (
    ACTIVATIONS,
    HIST_EDGES,
    PROBE_SIZE,
    SATURATION_SHARE,
    SIGMOID_SATURATION_X,
    TANH_SATURATION_X,
    ConfigError,
)
from lab import shell, timeline_panel
from lab.figures import common as figures
from lab.figures import saturation as fig
from lab.i18n import current_lang, fmt_num, fmt_pct, t, translate
from lab.lessons import common, questions
from lab.lessons import saturation as lesson

ACTIVATION_KEYS = {"sigmoid": "saturation.act_sigmoid", "tanh": "saturation.act_tanh",
                   "relu": "saturation.act_relu", "leaky_relu": "saturation.act_leaky_relu"}


LANG = current_lang()  # option labels are bound to this run's language: a widget may format its options again later


def default_sigma_for_activation():
    st.session_state.sat_sigma = lesson.DEFAULT_SIGMA[st.session_state.sat_activation]


shell.start_page()
shell.intro("saturation")

st.subheader(t("common.math"))
share, keep = fmt_num(SATURATION_SHARE), fmt_num(1 - SATURATION_SHARE)
st.latex(r"\sigma(x) = \frac{1}{1+e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\bigl(1-\sigma(x)\bigr) \le \sigma'(0) = "
         r"\tfrac14")
st.latex(r"\sigma'(x) < %s\cdot\tfrac14 \iff |x| > \ln\frac{1+\sqrt{%s}}{1-\sqrt{%s}} \approx %s"
         % (share, keep, keep, fmt_num(SIGMOID_SATURATION_X, 3)))
st.latex(r"\tanh'(x) = 1-\tanh^2 x < %s \iff |x| > \operatorname{artanh}\sqrt{%s} \approx %s"
         % (share, keep, fmt_num(TANH_SATURATION_X, 3)))
st.latex(r"\frac{\partial L}{\partial z^{(l)}} = \sigma'\!\bigl(z^{(l)}\bigr) \odot \Bigl(W^{(l+1)}\,"
         r"\frac{\partial L}{\partial z^{(l+1)}}\Bigr), \qquad \mathrm{ReLU}'(x) = 0 \ \text{%s}"
         % t("saturation.math_relu_note"))
st.markdown(t("saturation.math_caption"))

st.subheader(t("saturation.experiment"))
if "sat_activation" not in st.session_state:
    st.session_state.sat_activation = lesson.BASE.activation
    st.session_state.sat_sigma = lesson.DEFAULT_SIGMA[lesson.BASE.activation]
c1, c2, c3 = st.columns([1, 1.6, 1])
shell.keep_choice("sat_activation", ACTIVATIONS,
                  lambda lang: {a: translate(lang, k) for a, k in ACTIVATION_KEYS.items()})
with c1:
    activation = st.selectbox(t("saturation.activation"), ACTIVATIONS,
                              format_func=lambda a: translate(LANG, ACTIVATION_KEYS[a]), key="sat_activation",
                              on_change=default_sigma_for_activation, help=t("saturation.activation_help"))
with c2:
    sigma = st.select_slider(t("saturation.sigma"), lesson.SIGMAS, key="sat_sigma", help=t("saturation.sigma_help"))
with c3:
    steps = st.select_slider(t("common.steps"), lesson.STEPS, value=lesson.BASE.steps, key="sat_steps")
b = lesson.BASE
st.caption(t("saturation.setup", depth=len(b.hidden), width=b.hidden[0], batch=b.batch_size, lr=b.lr))

config_bn, config_no_bn = lesson.configs(activation, sigma, steps, shell.seed())
names = (t("common.with_bn"), t("common.without_bn"))
try:
    record_bn, record_no_bn = shell.train([config_bn, config_no_bn], names)
except ConfigError as err:
    shell.config_error(err)
    st.stop()
for message in common.divergence_messages(names, (record_bn, record_no_bn)):
    st.warning(message, icon=":material/warning:")

shell.predict(questions.saturation(activation, record_bn, record_no_bn))
runs = (record_bn, record_no_bn)
layer_titles = common.layer_titles(record_bn.n_layers)
measure, title_key, axis_key, _ = lesson.LOW_GRADIENT[activation]


@st.fragment
def timeline():
    """Everything that follows the step: moving the slider reruns this part only."""
    step = timeline_panel.step_slider(runs, "sat_step", help=t("saturation.step_help"))
    st.markdown(f"**{t('saturation.hist_title')}**")
    hist_axis = dict(x=t("common.pre_activation"), share=t("common.share"), activation=t("common.activation_curve"),
                     derivative=t("common.derivative_curve"))
    timeline_panel.histograms(
        lambda hists: fig.histograms_at_step(*hists, names, activation, lesson.threshold(activation), layer_titles,
                                             hist_axis), runs, names, step, "sat_hist")
    st.caption(t("saturation.hist_caption", probe=PROBE_SIZE, low=fmt_pct(SATURATION_SHARE),
                 edge=fmt_num(HIST_EDGES[-1])))
    st.markdown(f"**{t(title_key)}**")
    shell.chart(figures.step_line(fig.low_gradient_lines(runs, names, measure, layer_titles, t(axis_key),
                                                         t("common.step")), step), "sat_low")
    st.markdown(f"**{t('saturation.grad_title')}**")
    shell.chart(figures.step_line(fig.grad_norm_lines(runs, names, layer_titles, t("saturation.y_grad"),
                                                      t("common.step")), step), "sat_grad")
    st.caption(t("saturation.lines_caption"))
    st.markdown(f"**{t('saturation.metrics_title')}**")
    timeline_panel.metrics(runs, names, figures.PALETTE[:2], step, "sat_metrics")
    timeline_panel.gamma_beta(record_bn, step, "sat_gamma_beta")
    shell.takeaways(lesson.takeaways(activation, step, record_bn, record_no_bn))


timeline()
shell.playground_link(config_bn)
