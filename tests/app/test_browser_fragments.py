"""Widgets that only change a view rerun only their part of the page (st.fragment), in a real browser: the rerun
request each one sends names a fragment (a whole-page rerun names none), what it shows changes, and the page stays
clean. A download button reruns nothing at all: a rerun started by its click could drop the file's answer (the
button would spin forever). Skipped without chromium or playwright, except under CI=true (tests/app/test_browser.py's
fixtures)."""
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from test_browser import READY, _assert_clean, _open, browser, page, server  # noqa: F401  (fixtures)

# (page, widget key, how to move it — a slider, a number's "+", or a select box by that key —, the element whose
# text or value must change)
CASES = [
    ("saturation", "sat_step", "slider", ".st-key-sat_hist .gtitle"),
    ("gamma_beta", "gb_gamma", "slider", ".st-key-gb_gamma"),
    ("gamma_beta", "gb_layer", "ArrowUp", ".st-key-gb_layer input"),  # from the last layer
    ("covariate_shift", "ics_unit", "ArrowDown", ".st-key-ics_unit input"),
    ("inference", "inf_example", "number", ".st-key-inf_example input"),
    ("inference", "inf_width", "slider", ".st-key-inf_width"),
    ("playground", "pg_hist_step", "slider", ".st-key-pg_hist .gtitle"),
]


# What an element shows: an input's value, anything else's text.
SHOWN = "(sel) => { const el = document.querySelector(sel); return el && (el.tagName === 'INPUT' ? el.value : " \
        "el.textContent); }"


def reruns(payloads):
    """The rerun requests among the websocket messages a browser sent."""
    out = []
    for payload in payloads:
        if isinstance(payload, str):
            continue
        msg = BackMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "rerun_script":
            out.append(msg.rerun_script)
    return out


def move(page, key, how):  # noqa: F811
    widget = page.locator(f".st-key-{key}")
    widget.scroll_into_view_if_needed()
    if how == "slider":
        widget.locator("input[type='range'], [role='slider']").first.press("ArrowLeft")
    elif how == "number":
        widget.locator("button[data-testid='stNumberInputStepUp']").click()
    else:  # a select box: the key opens its list, then moves to another option, and Enter picks it
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        options = page.locator("[role='listbox'] [role='option']").first
        for attempt in range(6):  # on a loaded machine the frontend sometimes drops the first key: press again
            widget.locator("input").first.focus()
            page.keyboard.press(how)
            try:
                options.wait_for(timeout=5_000 if attempt < 5 else 30_000)
                break
            except PlaywrightTimeout:
                continue
        page.keyboard.press(how)
        page.keyboard.press("Enter")


@pytest.mark.parametrize("path, key, how, shows", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_widget_that_changes_a_view_reruns_only_its_fragment(page, server, path, key, how, shows):  # noqa: F811
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    _open(page, f"{server}/{path}?lang=en")
    _assert_clean(page)
    before, shown = len(sent), page.evaluate(SHOWN, shows)
    move(page, key, how)
    for _ in range(600):  # wait (up to a minute) for the rerun request: a select box shows its new text before
        if reruns(sent[before:]):
            break
        page.wait_for_timeout(100)
    page.wait_for_function(f"([sel, old]) => ({SHOWN})(sel) !== old", arg=[shows, shown], timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    requests = reruns(sent[before:])
    assert requests, "moving the widget sent no rerun request"
    assert all(r.fragment_id for r in requests), f"{key}: a whole-page rerun (no fragment id)"
    _assert_clean(page)


# A quick Playground experiment (it trains on the first load), and a chart whose data table has a CSV button.
QUICK_PLAYGROUND = "playground?lang=en&data=digits&depth=1&width=8&steps=100&every=10&seed=11"


@pytest.mark.parametrize("path, button, opens", [
    (QUICK_PLAYGROUND, ".st-key-pg_export button", None),
    ("saturation?lang=en", ".st-key-sat_hist__csv button", ".st-key-sat_hist__data summary"),
], ids=["playground-export", "chart-data-csv"])
def test_a_download_button_downloads_without_a_rerun(page, server, path, button, opens):  # noqa: F811
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    _open(page, f"{server}/{path}")
    if opens:
        page.locator(opens).click()
    click = page.locator(f"{button}:visible").first  # Streamlit draws a hidden copy of a button too
    click.wait_for(timeout=180_000)
    page.wait_for_selector(READY, timeout=60_000)
    before = len(sent)
    with page.expect_download(timeout=60_000) as download:
        click.click()
    text = Path(download.value.path()).read_text()
    assert text.count("\n") > 2 and "," in text.splitlines()[0], text[:200]
    assert reruns(sent[before:]) == [], "the download button's click reran the script"
    _assert_clean(page)
