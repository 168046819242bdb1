"""Home: what BN is, Algorithms 1 and 2, and a map of the lessons."""
import streamlit as st

from lab import shell
from lab.i18n import t

shell.start_page()
shell.intro("home")

left, right = st.columns(2)
with left:
    st.subheader(t("home.alg1_title"))
    st.latex(r"""
\begin{aligned}
\mu_\mathcal{B} &\leftarrow \frac{1}{m}\sum_{i=1}^{m} x_i && \text{%s}\\
\sigma_\mathcal{B}^2 &\leftarrow \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_\mathcal{B})^2 && \text{%s}\\
\hat{x}_i &\leftarrow \frac{x_i-\mu_\mathcal{B}}{\sqrt{\sigma_\mathcal{B}^2+\epsilon}} && \text{%s}\\
y_i &\leftarrow \gamma\,\hat{x}_i+\beta \equiv \mathrm{BN}_{\gamma,\beta}(x_i) && \text{%s}
\end{aligned}""" % (t("home.alg1_mean"), t("home.alg1_var"), t("home.alg1_normalize"), t("home.alg1_scale_shift")))
    st.caption(t("home.alg1_caption"))
with right:
    st.subheader(t("home.alg2_title"))
    st.latex(r"""
\begin{aligned}
\mathrm{E}[x] &\leftarrow \mathrm{E}_\mathcal{B}[\mu_\mathcal{B}]\\
\mathrm{Var}[x] &\leftarrow \frac{m}{m-1}\,\mathrm{E}_\mathcal{B}[\sigma_\mathcal{B}^2]\\
y &= \frac{\gamma}{\sqrt{\mathrm{Var}[x]+\epsilon}}\cdot x
   + \left(\beta-\frac{\gamma\,\mathrm{E}[x]}{\sqrt{\mathrm{Var}[x]+\epsilon}}\right)
\end{aligned}""")
    st.caption(t("home.alg2_caption"))

st.header(t("home.map_title"))
st.markdown(t("home.map_intro"))
for lesson in shell.LESSONS[1:]:
    with st.container(border=True):
        st.page_link(lesson.file, label=lesson.title, icon=lesson.icon)
        st.caption(t(f"{lesson.key}.blurb"))
st.caption(t("home.data_note"))
