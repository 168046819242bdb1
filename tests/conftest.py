"""Shared test helpers.

Optional dependencies (PyTorch for the parity tests, a browser for the UI tests, redis-server for the shared
store) are not in the runtime requirements. A test that needs one calls ``require(...)`` (a module) or
``require_binary(...)`` (a program): on a developer machine without it the test is skipped with a clear reason;
under ``CI=true`` (set by ``.ci/run``, which installs them) a missing one FAILS, so CI can never go green by
silently skipping.
"""
import importlib
import os
import tempfile
from contextlib import contextmanager

import pytest

# The app under test: no background warm-up competing with the tests for the CPU, and a run store of its own (a
# fresh folder per test session, so no test passes on runs stored by an earlier one).
os.environ.setdefault("BNLAB_WARMUP", "0")
os.environ.setdefault("BNLAB_STORE_DIR", tempfile.mkdtemp(prefix="bnlab-test-store-"))


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(module, reason):
    """Import and return ``module``; skip the calling test (or module) when it is missing, fail under CI=true."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if in_ci():
            pytest.fail(f"{module} is required under CI=true ({reason}) but cannot be imported: {exc}", pytrace=False)
        pytest.skip(f"{module} is not installed ({reason}); .ci/run installs it", allow_module_level=True)


def require_binary(path, reason):
    """Return ``path`` if that program exists; else skip the calling test, or fail under CI=true."""
    if os.access(path, os.X_OK):
        return path
    if in_ci():
        pytest.fail(f"{path} is required under CI=true ({reason}) but is missing", pytrace=False)
    pytest.skip(f"{path} is not installed ({reason}); .ci/run installs it")


def require_torch():
    """PyTorch for parity tests: ``pip install torch==2.13.0`` (a local CPU build on this machine kind)."""
    return require("torch", "PyTorch parity tests need torch==2.13.0")


@pytest.fixture(scope="session")
def torch():
    """The torch module, or a skip (a failure under CI=true) when it is missing."""
    return require_torch()


@contextmanager
def in_language(lang):
    """Run a block with lab.i18n.t speaking ``lang`` in the test process (lesson sentences read the language from
    session state, as in the app)."""
    import streamlit as st

    before = st.session_state.get("lang", "en")
    st.session_state["lang"] = lang
    try:
        yield
    finally:
        st.session_state["lang"] = before


@pytest.fixture(autouse=True)
def english_test_process():
    """Every test starts in English: lesson sentences call t(), and AppTest runs a page's widget format_funcs (which
    call t()) in the test process too, when a test reads or sets a widget value."""
    import streamlit as st

    st.session_state["lang"] = "en"


@pytest.fixture
def media(monkeypatch):
    """The bytes of a file an AppTest run served (an image, a download), looked up by the element's url."""
    from streamlit.testing.v1 import app_test

    stores = []

    class Recording(app_test.MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    managers = []

    class RecordingManager(app_test.MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    monkeypatch.setattr(app_test, "MediaFileManager", RecordingManager)

    def read(url_or_button):
        """``url_or_button``: a url, or a download button (a deferred one makes its file now, as a click would)."""
        url = url_or_button
        if not isinstance(url, str):
            url = url.proto.url or managers[-1].execute_deferred(url.proto.deferred_file_id)
        return stores[-1].get_file(url.rsplit("/", 1)[-1].split(".")[0]).content
    return read
