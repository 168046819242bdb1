"""Internal covariate shift — the paper's Figure 1, trained live: BN vs no BN on the digits, same seed."""
import streamlit as st

from bn_core import PROBE_SIZE, ConfigError
from lab import seed_panel, shell
from lab.figures.common import BN_COLOR, NO_BN_COLOR
from lab.figures.covariate_shift import accuracy_figure, drift_figure, layer_fans, unit_bands
from lab.i18n import fmt_pct, t, translate
from lab.lessons import common, questions
from lab.lessons import covariate_shift as ics

shell.start_page()
shell.intro("ics")
with st.expander(t("common.math")):
    st.markdown(t("ics.math_intro", probe=PROBE_SIZE))
    st.latex(r"\mathrm{drift}_t=\frac{1}{U}\sum_{u=1}^{U}\frac{W_1\!\left(P^{(u)}_{t},\,P^{(u)}_{t-1}\right)}"
             r"{\operatorname{std}\left(X_{t-1}\right)},\qquad W_1=\frac{1}{n}\sum_{k=1}^{n}"
             r"\left|x^{(u)}_{t,(k)}-x^{(u)}_{t-1,(k)}\right|")
    st.markdown(t("ics.math_terms", U="$U$", x="$x^{(u)}_{t,(k)}$", k="$k$", n=f"$n = {PROBE_SIZE}$", u="$u$", t="$t$",
                  X="$X_{t-1}$"))

# --- The experiment ---------------------------------------------------------------------------------------------
st.subheader(t("ics.experiment"))
net = ics.configs()[0]
st.caption(t("ics.setup", depth=len(net.hidden), width=net.hidden[0], batch=net.batch_size))
for key, default in (("ics_steps", ics.DEFAULT_STEPS), ("ics_sigma", ics.DEFAULT_SIGMA), ("ics_lr", ics.DEFAULT_LR)):
    st.session_state.setdefault(key, default)
c1, c2, c3 = st.columns(3)
steps = c1.select_slider(t("common.steps"), ics.STEPS_CHOICES, key="ics_steps", help=t("ics.steps_help"))
sigma = c2.select_slider(t("ics.sigma"), ics.SIGMA_CHOICES, key="ics_sigma", help=t("ics.sigma_help"))
lr = c3.select_slider(t("ics.lr"), ics.LR_CHOICES, key="ics_lr", help=t("ics.lr_help"))

with_cfg, without_cfg = ics.configs(steps, sigma, lr, shell.seed())
names = (t("common.without_bn"), t("common.with_bn"))
colors = (NO_BN_COLOR, BN_COLOR)
try:
    without_bn, with_bn = shell.train([without_cfg, with_cfg], names)
except ConfigError as err:
    shell.config_error(err)
    st.stop()
runs = (without_bn, with_bn)
for message in common.divergence_messages(names, runs):
    st.error(message, icon=":material/warning:")
if any(not r.snapshots for r in runs):
    st.stop()
shell.predict(questions.covariate_shift(with_bn, without_bn))

# (a) test accuracy
shell.chart(accuracy_figure(runs, names, colors, t("ics.fig_a_title"), t("common.step"), t("ics.test_accuracy"),
                            target=ics.ACC_TARGET, target_text=fmt_pct(ics.ACC_TARGET)), "ics_accuracy")


@st.fragment
def from_the_unit_on():
    """From the unit picker to the takeaways (which name the unit): picking a unit reruns this part only."""
    # (b, c) one unit of the last hidden layer
    st.subheader(t("ics.unit_title"))
    n_units = with_cfg.hidden[-1]
    best = ics.default_unit(without_bn)
    common.preselect(st.session_state, "ics_unit", without_cfg, best)  # a new run preselects its own default unit
    unit_labels = {u: t("ics.unit_default", u=u) if u == best else t("ics.unit_n", u=u) for u in range(n_units)}
    shell.keep_choice("ics_unit", range(n_units), lambda lang: {
        u: translate(lang, "ics.unit_default" if u == best else "ics.unit_n", u=u) for u in range(n_units)})
    unit = st.selectbox(t("ics.unit"), range(n_units), key="ics_unit", help=t("ics.unit_help"),
                        format_func=unit_labels.get)
    left, right = st.columns(2)
    pcts = [ics.unit_percentiles(r)[:, unit, :] for r in runs]
    figs = unit_bands([r.steps for r in runs], pcts, names, colors, t("ics.sigmoid_input"), t("common.step"),
                      [t("ics.fig_b_title", unit=unit), t("ics.fig_c_title", unit=unit)])
    for column, figure, key in ((left, figs[0], "ics_unit_no_bn"), (right, figs[1], "ics_unit_bn")):
        with column:
            shell.chart(figure, key)

    # All units, TensorBoard style, and the drift per layer
    st.subheader(t("ics.fans_title"))
    st.caption(t("ics.fans_caption"))
    layer_titles = common.layer_titles(len(with_cfg.hidden))
    dists = [[r.dist_series(i)[0] for i in range(r.n_layers)] for r in runs]
    shell.chart(layer_fans([r.steps for r in runs], dists, names, colors, layer_titles, t("ics.sigmoid_input"),
                           t("common.step")), "ics_fans")

    st.subheader(t("ics.drift_title"))
    st.caption(t("ics.drift_caption", every=with_cfg.record_every))
    drift = [[r.layer_series(i, "drift") for i in range(r.n_layers)] for r in runs]
    shell.chart(drift_figure([r.steps for r in runs], drift, names, colors, layer_titles, t("ics.drift_axis"),
                             t("common.step")), "ics_drift")

    shell.takeaways(ics.sentences(with_bn, without_bn, unit))


from_the_unit_on()
seed_panel.repeat("ics", [without_cfg, with_cfg], names, names, ics.seed_comparisons)
shell.playground_link(with_cfg)
