"""BatchNorm Lab: the entry point. The shared sidebar (language, seed) and the navigation over the lessons."""
from pathlib import Path

import streamlit as st

from lab import shell
from lab.lessons import default_configs

# A local image, not ":material/insights:": the browser fetches a Material page icon from an external font server,
# which fails in a classroom without internet. assets/icon.png is that glyph (Material Symbols Rounded, Apache-2.0)
# rendered from the font Streamlit bundles; every other :material/...: icon is drawn with that bundled font.
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
st.set_page_config(page_title="BatchNorm Lab", page_icon=ICON, layout="wide",
                   initial_sidebar_state=shell.sidebar_state())
shell.sidebar()
shell.warm_up(default_configs)
pages = [st.Page(lesson.file, title=lesson.title, icon=lesson.icon, url_path=lesson.url_path,
                 default=lesson.url_path == "home") for lesson in shell.LESSONS]
st.navigation(pages).run()
