"""Open a page of the app under Streamlit's AppTest, the way a user would: entry point first, then the page."""
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds per script run: some pages train a network on first load

# Streamlit issue 9446: with a folder named pages/ beside app.py, every AppTest run takes the legacy multipage path,
# which runs the selected page *without* app.py (so without the shared sidebar). The real server leaves that path at
# the app's first st.navigation call; AppTest resets the flag before each run. Leave it the same way here.
_pages_manager_init = PagesManager.__init__


def _init_like_the_server(self, *args, **kwargs):
    _pages_manager_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _init_like_the_server


def open_page(page=None, lang="en", seed=0, query=None):
    """Run app.py with ``?lang=..&seed=..`` (+ ``query``), then switch to ``page`` (e.g. "pages/playground.py")."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    at.query_params["seed"] = str(seed)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def no_exception(at):
    """Assert the run showed no exception element, with the messages if it did."""
    assert not at.exception, [e.value for e in at.exception]


def all_text(at):
    """Every piece of text on the screen, for "is this sentence shown" assertions."""
    parts = [el.value for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning",
                                   "error", "success", "latex") for el in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def takeaway_text(at, index=-1):
    """A "what this run shows" box: shell.takeaways writes its sentences as one markdown list; by default the page's
    last, ``index`` picks another one (0: the first)."""
    return [m.value for m in at.markdown if str(m.value).startswith("- ")][index]
