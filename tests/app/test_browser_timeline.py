"""The timeline's Play button in a real browser: the histograms animate over training inside the browser, with no
message to the server (so no script rerun) while the frames advance. Skipped without chromium or playwright, except
under CI=true (tests/app/test_browser.py's fixtures)."""
import time

from test_browser import READY, _assert_clean, _open, browser, page, server  # noqa: F401  (fixtures)

from lab.i18n import translate

# The first bar trace's heights as drawn (plotly's full data, after it decoded the arrays it was sent).
BAR_HEIGHTS = "(gd) => Array.from(gd._fullData.find(t => t.type === 'bar').y, Number)"


def test_play_animates_the_histograms_without_a_server_rerun(page, server):  # noqa: F811
    sent = []  # every websocket message the browser sends: a rerun (a widget change) is one of them
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    _open(page, f"{server}/saturation?lang=en")
    _assert_clean(page)
    chart = page.locator("[data-testid='stPlotlyChart']").filter(has=page.locator(".updatemenu-button")).first
    chart.scroll_into_view_if_needed()
    title = chart.locator(".gtitle")
    last = title.text_content()
    assert last == translate("en", "common.step_title", step=300)  # the slider's step: the end of training
    before = len(sent)
    assert before, "the listener hears the browser's messages (loading the page sent some)"
    plot = chart.locator(".js-plotly-plot")
    heights = [plot.evaluate(BAR_HEIGHTS)]
    assert abs(sum(heights[0]) - 1) < 1e-3, heights[0]  # shares of the step shown: the packed arrays were read
    chart.locator(".updatemenu-button").filter(has_text=translate("en", "common.play")).click()
    seen, deadline = [], time.time() + 6
    while time.time() < deadline and len(set(seen)) < 5:
        page.wait_for_timeout(100)
        seen.append(title.text_content())
        heights.append(plot.evaluate(BAR_HEIGHTS))
    assert len(set(seen)) >= 5, seen  # the frames advance: step 0, 10, 20, ...
    assert len({tuple(h) for h in heights}) >= 5  # and the bars with them, each frame a histogram (shares sum to 1)
    assert all(abs(sum(h) - 1) < 1e-3 for h in heights), [sum(h) for h in heights]
    steps = [int(s.split()[-1]) for s in dict.fromkeys(seen)]
    assert steps == sorted(steps) and steps[-1] < 300
    assert len(sent) == before, "playing sent messages to the server"
    assert page.locator(READY).count() == 1  # the script is not running
    _assert_clean(page)
