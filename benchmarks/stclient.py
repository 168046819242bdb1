"""Sessions that open a page of a running Streamlit server and wait for the finished page, two kinds:

- ``ProtocolClients``: a protocol-level client, light enough for thirty sessions beside the server on two cores. It
  does what a browser with Streamlit's frontend already cached does on a fresh visit: GET the page, /_stcore/health
  and /_stcore/host-config (on a deep link first under the page's path, where they are not found: the frontend
  probes whether the path is the app's base path), open the websocket /_stcore/stream (subprotocol "streamlit",
  deflate like Chromium), send one BackMsg ``rerun_script`` (ClientState: page name, query string, no widget
  states, context info: the frames Chromium sends, recorded on this app), then read ForwardMsgs. A ``new_session``
  message starts each script run; the elements of a run are its ``delta`` messages by delta path (the frontend
  drops what a finished run did not send); ``script_finished`` says how the run ended. It does not fetch the
  frontend's static files (a browser with an empty cache fetches about ninety of them).
- ``BrowserClients``: Debian's Chromium driven by Playwright, one browser, one fresh context (no cache) per session.

A page is finished when its script run ended normally, nothing is running, and the page shows its ``marker`` text
(the takeaways box's title on a lesson). Errors: an exception element, a failed HTTP request or websocket, a page
not found, a run that ended without the marker, no finished page within the timeout.
"""
import asyncio
import contextlib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


@dataclass(frozen=True)
class Page:
    path: str  # URL path without the leading slash ("" for the main page)
    query: str  # query string without "?"
    marker: str  # text the finished page shows

    def url(self, base):
        return f"{base}/{self.path}" + (f"?{self.query}" if self.query else "")


@dataclass
class Visit:
    page: Page
    wall_s: float = None  # from the first request to the finished page; None when it never finished
    errors: list = field(default_factory=list)
    error_boxes: int = 0  # st.error boxes on the finished page (not counted as errors: a page may mean them)
    runs: int = 0  # script runs the session saw (protocol client)

    @property
    def ok(self):
        return self.wall_s is not None and not self.errors


def _texts(element):
    kind = element.WhichOneof("type")
    if kind == "markdown":
        return element.markdown.body
    if kind == "heading":
        return element.heading.body
    if kind == "alert":
        return element.alert.body
    return ""


class PageView:
    """The page a session shows, rebuilt from ForwardMsgs: the elements of the current script run by delta path."""

    def __init__(self, marker):
        self.marker = marker
        self.elements = {}
        self.runs = 0

    def feed(self, data):
        """Apply one ForwardMsg; returns None (go on), "finished", or an error text."""
        msg = ForwardMsg.FromString(data)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.elements = {}
            self.runs += 1
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self.elements[tuple(msg.metadata.delta_path)] = msg.delta.new_element
        elif kind == "page_not_found":
            return "page not found"
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                return "the script did not compile"
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return self.check()
        return None

    def of_type(self, kind):
        return [e for e in self.elements.values() if e.WhichOneof("type") == kind]

    def check(self):
        exceptions = self.of_type("exception")
        if exceptions:
            return "exception: " + exceptions[0].exception.message[:200]
        if self.of_type("progress"):
            return "a progress bar is still shown after the run"
        if not any(self.marker in _texts(e) for e in self.elements.values()):
            return f"the run finished without {self.marker!r}"
        return "finished"

    def error_boxes(self):
        return sum(1 for e in self.of_type("alert") if e.alert.format == Alert.ERROR)


def rerun_message(page, base, locale="en-US"):
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = page.query
    state.page_name = page.path
    state.widget_states.SetInParent()
    info = state.context_info
    info.timezone, info.timezone_offset, info.locale = "UTC", 0, locale
    info.url, info.is_embedded, info.color_scheme = page.url(base).split("?")[0], False, "light"
    return msg.SerializeToString()


PROBES = ("_stcore/health", "_stcore/host-config")  # the frontend asks these first under a deep link's path (404)


def _http_get(url, timeout, expect=200):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        status = err.code
    if status != expect:
        raise OSError(f"HTTP {status} for {url}")


def _page_requests(base, page):
    """(url, expected status) of the HTTP requests a browser makes before it opens the websocket."""
    probes = [(f"{base}/{page.path}/{p}", 404) for p in PROBES] if page.path else []
    return [(page.url(base), 200), *probes, *((f"{base}/{p}", 200) for p in PROBES)]


def _is_probe(url, base):
    """A 404 the frontend expects: a probe under a deep link's path."""
    return url.startswith(base + "/") and url.endswith(PROBES) and url[len(base):].count("/") > 2


class ProtocolClients:
    """Protocol-level sessions (see the module's docstring)."""

    name = "protocol"

    def __init__(self, locale="en-US"):
        self.locale = locale

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def visit(self, base, page, timeout):
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        visit = Visit(page)
        t0 = time.perf_counter()
        deadline = t0 + timeout
        view = PageView(page.marker)
        try:
            for url, expect in _page_requests(base, page):
                await asyncio.to_thread(_http_get, url, max(1.0, deadline - time.perf_counter()), expect)
            ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
            async with connect(ws_url, subprotocols=["streamlit"], origin=base, max_size=None, ping_interval=None,
                               open_timeout=max(1.0, deadline - time.perf_counter())) as ws:
                await ws.send(rerun_message(page, base, self.locale))
                while True:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        raise TimeoutError
                    outcome = view.feed(await asyncio.wait_for(ws.recv(), remaining))
                    if outcome == "finished":
                        visit.wall_s = time.perf_counter() - t0
                        break
                    if outcome is not None:
                        visit.errors.append(outcome)
                        break
        except TimeoutError:
            visit.errors.append(f"no finished page within {timeout:.0f} s")
        except (OSError, WebSocketException) as exc:
            visit.errors.append(f"{type(exc).__name__}: {exc}")
        visit.runs = view.runs
        visit.error_boxes = view.error_boxes()
        return visit


@contextlib.asynccontextmanager
async def connected(base):
    """A session that stays connected and does nothing (no script run), for the duration of the ``with``. Streamlit
    compiles each page script once for as long as any session is connected, and forgets the compiled code when the
    last one leaves: one connected session is what a classroom always has."""
    from websockets.asyncio.client import connect

    async with connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"], origin=base,
                       max_size=None) as ws:
        yield ws


FINISHED_JS = """(marker) => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (document.querySelector("[data-testid='stException']")) return true;
  if (document.querySelector("[data-testid='stProgress']")) return false;
  return document.body.innerText.includes(marker);
}"""


class BrowserClients:
    """Chromium sessions: one browser, a fresh context per session (see the module's docstring)."""

    name = "browser"

    def __init__(self, locale="en-US"):
        self.locale = locale
        self._playwright = self.browser = None

    async def __aenter__(self):
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        try:
            self.browser = await self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except BaseException:
            await self._playwright.stop()
            raise
        return self

    async def __aexit__(self, *exc):
        try:
            await self.browser.close()
        finally:
            await self._playwright.stop()

    async def visit(self, base, page, timeout):
        visit = Visit(page)
        context = await self.browser.new_context(locale=self.locale, viewport={"width": 1400, "height": 1000})
        listening = [True]  # not the requests aborted when the context closes
        try:
            tab = await context.new_page()

            def error(text):
                if listening[0]:
                    visit.errors.append(text)

            tab.on("pageerror", lambda e: error(f"page error: {e}"))
            tab.on("requestfailed", lambda r: error(f"failed request {r.url}: {r.failure}")
                   if r.url.startswith(base) else None)
            tab.on("response", lambda r: error(f"HTTP {r.status} for {r.url}")
                   if r.status >= 400 and r.url.startswith(base) and not _is_probe(r.url, base) else None)
            t0 = time.perf_counter()
            await tab.goto(page.url(base), timeout=timeout * 1000)
            remaining = max(1.0, timeout - (time.perf_counter() - t0))
            await tab.wait_for_function(FINISHED_JS, arg=page.marker, timeout=remaining * 1000, polling=100)
            wall = time.perf_counter() - t0
            exceptions = await tab.locator("[data-testid='stException']").all_inner_texts()
            visit.errors.extend(f"exception: {text[:200]}" for text in exceptions)
            visit.error_boxes = await tab.locator("[data-testid='stAlertContentError']").count()
            visit.wall_s = wall
        except Exception as exc:  # Playwright's TimeoutError and navigation errors
            visit.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        finally:
            listening[0] = False
            await context.close()
        return visit


def clients(kind, locale="en-US"):
    return {"protocol": ProtocolClients, "browser": BrowserClients}[kind](locale)


async def visit_all(sessions, base, pages, timeout):
    """Open every page in its own session at once; the Visits in order."""
    return list(await asyncio.gather(*(sessions.visit(base, page, timeout) for page in pages)))
