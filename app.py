"""BatchNorm Lab: the entry point. The shared sidebar (language, seed) and the navigation over the lessons."""
import streamlit as st

from lab import shell

st.set_page_config(page_title="BatchNorm Lab", page_icon=":material/insights:", layout="wide",
                   initial_sidebar_state=shell.sidebar_state())
shell.sidebar()
pages = [st.Page(lesson.file, title=lesson.title, icon=lesson.icon, url_path=lesson.url_path,
                 default=lesson.url_path == "home") for lesson in shell.LESSONS]
st.navigation(pages).run()
