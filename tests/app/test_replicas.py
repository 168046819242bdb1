"""Several replicas behind nginx, sharing one Redis run store (issue 12 §2): deploy/serve.sh twice on loopback ports,
a private redis-server, and nginx running deploy/nginx.conf (rendered with this test's ports and paths) in front.

- a browser session through nginx keeps its state: across reruns, a download, and a websocket reconnect after an
  nginx reload, every request of the session reaches one replica, while fresh browsers are spread over both;
- a run trained through replica A is served by replica B from the store, without training;
- killing replica A mid-run loses no finished run, and a new session through nginx gets a working page from B.

Training is counted, not timed: each replica logs ``bnlab: training started <run key>`` to stderr when it starts
training a task and ``bnlab: served from store <run key>`` when it takes a finished run from the store (run key:
lab.store.run_key of the task's key). Skipped where nginx, redis-server or chromium is missing; under CI=true those
fail (.ci/run installs them). Every process is started in its own process group and the whole group is stopped.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from conftest import require, require_binary
from test_browser import pick_language

from lab.i18n import translate
from lab.lessons.playground import run_plan
from lab.store import RedisStore, run_key
from lab.urlparams import query_to_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "deploy" / "serve.sh"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX, REDIS_SERVER, CHROMIUM = "/usr/sbin/nginx", "/usr/bin/redis-server", "/usr/bin/chromium"
# The browser reaches nginx by a name, as students do (resolved to the loopback): Streamlit accepts a websocket whose
# Origin is not localhost only when nginx passes the Host on.
SITE = "bnlab.test"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--host-resolver-rules=MAP {SITE} 127.0.0.1"]
TRAINING, SERVED = "bnlab: training started", "bnlab: served from store"  # the replicas' log lines (see above)
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGE_TIMEOUT_MS = int(os.environ.get("BROWSER_TIMEOUT_MS", 180_000))
START_TIMEOUT = 120.0  # seconds for a process to answer (a replica imports numpy, pandas, plotly, streamlit)

# A small, quick Playground experiment (digits, one narrow layer, 100 steps); each test its own seed, so no two tests
# share a run. Every select box at its first choice, so that a select box falling back to its first choice after a
# language switch (seen on Streamlit 1.67) changes nothing here: this test is about the proxy.
SMALL = {"data": "digits", "prep": "raw", "init": "truncated_normal", "depth": "1", "width": "8", "steps": "100",
         "every": "10"}
# Long enough to be killed while it trains (minutes on one core); never finishes within the test.
LONG = {"data": "digits", "depth": "6", "width": "512", "steps": "20000", "every": "1000"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout, what, interval=0.1, explain=None):
    """Poll ``condition()`` until it returns something true (returned); fail with ``what`` (and ``explain()``, e.g.
    a log's tail) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}" + (f"\n{explain()}" if explain else ""))
        time.sleep(interval)


def group_alive(pgid):
    """True while a process of the group ``pgid`` is alive (zombies, already dead, do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class Process:
    """A program in its own process group (with everything it starts), stdout and stderr to files."""

    def __init__(self, name, args, folder, **options):
        self.name = name
        self.stdout, self.stderr = folder / f"{name}.out", folder / f"{name}.err"
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                          start_new_session=True, **options)

    def log(self):
        return self.stderr.read_text(errors="replace")

    def tail(self, chars=3000):
        return f"--- {self.name} stderr ---\n{self.log()[-chars:]}"

    def kill(self):
        """SIGKILL the whole group at once: a crash of the machine or container, as the others see it."""
        self._signal(signal.SIGKILL)
        self._reap(10)

    def stop(self, grace=10):
        """SIGTERM the group, then SIGKILL what is left after ``grace`` seconds; never leaves a process behind."""
        self._signal(signal.SIGTERM)
        if not self._reap(grace):
            self._signal(signal.SIGKILL)
            self._reap(10)

    def _signal(self, sig):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def _reap(self, timeout):
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        while group_alive(self.popen.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.popen.poll() is not None and not group_alive(self.popen.pid)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def start_redis(folder, stack):
    import redis

    port = free_port()
    server = Process("redis", [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(folder), "--maxmemory", "256mb",
                               "--maxmemory-policy", "allkeys-lru"], folder)
    stack.callback(server.stop)
    url = f"redis://127.0.0.1:{port}/0"

    def ping():
        if server.popen.poll() is not None:
            pytest.fail(f"redis-server exited\n{server.tail()}")
        with contextlib.suppress(redis.RedisError):
            return redis.Redis.from_url(url, socket_timeout=2).ping()

    wait_until(ping, START_TIMEOUT, "redis-server to answer")
    return url


def start_replica(name, folder, store_url, stack):
    """deploy/serve.sh on a free loopback port, sharing the store at ``store_url``."""
    port = free_port()
    nowhere = "http://127.0.0.1:9"  # a closed loopback port: any HTTP request a replica makes goes nowhere
    env = {**os.environ, "BNLAB_PORT": str(port), "BNLAB_ADDRESS": "127.0.0.1", "BNLAB_PYTHON": sys.executable,
           "BNLAB_STORE": store_url, "BNLAB_WORKERS": "1", "PYTHONUNBUFFERED": "1",
           "BNLAB_WARMUP": "0",  # no background training of the lessons' defaults: the tests count their own runs
           "HTTP_PROXY": nowhere, "HTTPS_PROXY": nowhere, "http_proxy": nowhere, "https_proxy": nowhere}
    replica = Process(name, [str(SERVE)], folder, env=env)
    stack.callback(replica.stop)
    replica.port, replica.url = port, f"http://127.0.0.1:{port}"
    return replica


def wait_healthy(replica):
    def healthy():
        if replica.popen.poll() is not None:
            pytest.fail(f"replica {replica.name} exited with {replica.popen.returncode}\n{replica.tail()}")
        return http_ok(f"{replica.url}/_stcore/health")

    wait_until(healthy, START_TIMEOUT, f"replica {replica.name} to answer /_stcore/health", interval=0.3)


def render_nginx_conf(text, prefix, port, upstreams, shutdown_timeout="1s"):
    """deploy/nginx.conf with this test's listen port, replicas and paths (all under ``prefix``), unchanged otherwise.
    Each replaced line must be in the file exactly once, so a change to the file cannot silently escape the test."""
    temp_paths = "".join(f"    {kind}_temp_path {prefix}/{kind}_temp;\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    replacements = [
        (r"^pid .*;$", f"pid {prefix}/nginx.pid;"),
        (r"^error_log .*;$", f"error_log {prefix}/error.log warn;"),
        (r"^worker_shutdown_timeout .*;$", f"worker_shutdown_timeout {shutdown_timeout};"),
        (r"^http \{$", "http {\n" + temp_paths),
        (r"^    access_log /dev/stdout bnlab;$", f"    access_log {prefix}/access.log bnlab;"),
        (r"^        server app:8501;$", "\n".join(f"        server {u};" for u in upstreams)),
        (r"^        listen 80;$", f"        listen 127.0.0.1:{port};"),
    ]
    for pattern, line in replacements:
        text, found = re.subn(pattern, lambda _, line=line: line, text, flags=re.MULTILINE)
        assert found == 1, f"deploy/nginx.conf: expected one line matching {pattern!r}, found {found}"
    return text


def start_nginx(folder, upstreams, stack):
    # nginx's workers run as an unprivileged user when the test runs as root: the prefix must be reachable by them.
    prefix = Path(tempfile.mkdtemp(prefix="bnlab-nginx-"))
    stack.callback(shutil.rmtree, prefix, ignore_errors=True)
    prefix.chmod(0o755)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(NGINX_CONF.read_text(), prefix, port, upstreams))
    args = [NGINX, "-p", f"{prefix}/", "-c", str(conf), "-e", f"{prefix}/error.log"]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t rejects the rendered deploy/nginx.conf:\n{checked.stderr}"
    proxy = Process("nginx", [*args, "-g", "daemon off;"], folder)
    stack.callback(proxy.stop)
    proxy.port, proxy.url, proxy.prefix = port, f"http://127.0.0.1:{port}", prefix
    proxy.site = f"http://{SITE}:{port}"  # the same nginx, by name, for the browser
    proxy.access_log = prefix / "access.log"

    def healthy():
        if proxy.popen.poll() is not None:
            pytest.fail(f"nginx exited\n{(prefix / 'error.log').read_text(errors='replace')}")
        return http_ok(f"{proxy.url}/_stcore/health")

    wait_until(healthy, START_TIMEOUT, "nginx to answer")
    return proxy


@contextlib.contextmanager
def stopped_cleanly_on_sigterm():
    """While the processes run, SIGTERM to pytest (e.g. from `timeout`) raises KeyboardInterrupt, so the finally
    clauses stop them instead of leaving them behind."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Redis, replicas A and B (deploy/serve.sh) and nginx in front; everything stopped afterwards."""
    require_binary(NGINX, "the replica test needs nginx (apt-get install nginx)")
    require_binary(REDIS_SERVER, "the replica test needs redis-server (apt-get install redis-server)")
    folder = tmp_path_factory.mktemp("replicas")
    with contextlib.ExitStack() as stack, stopped_cleanly_on_sigterm():
        store_url = start_redis(folder, stack)
        a = start_replica("A", folder, store_url, stack)
        b = start_replica("B", folder, store_url, stack)
        wait_healthy(a)
        wait_healthy(b)
        proxy = start_nginx(folder, [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], stack)
        yield {"A": a, "B": b, "nginx": proxy, "store": store_url, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    sync_api = require("playwright.sync_api", "the replica test drives a browser with playwright")
    require_binary(CHROMIUM, "the replica test needs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def session(browser, lang="en"):
    """A fresh browser session (its own cookies), closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
    try:
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
    finally:
        context.close()


# --- what the pages show --------------------------------------------------------------------------------------


def playground_url(base, knobs, seed, lang="en"):
    return f"{base}/playground?{urlencode({**knobs, 'lang': lang, 'seed': seed})}"


def run_keys(knobs, seed):
    """The store's keys of the runs the Playground trains for this link (compare mode: with and without BN)."""
    config, mode, bad = query_to_config(knobs)
    assert not bad
    configs, _ = run_plan(config.replace(seed=seed), mode)
    return configs, [run_key(c) for c in configs]


def page_configs(page):
    """The configs of the runs the Playground on screen trains, read from its address bar."""
    shown = dict(parse_qsl(urlsplit(page.url).query))
    config, mode, _ = query_to_config(shown)
    return run_plan(config.replace(seed=int(shown["seed"])), mode)[0]


def settle(page):
    page.wait_for_selector(READY, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(500)  # a rerun may follow the first (e.g. the URL being written back)
    page.wait_for_selector(READY, timeout=PAGE_TIMEOUT_MS)


def assert_clean(page):
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.all_inner_texts()
    assert not page.errors


def open_finished_playground(page, url):
    """Open a Playground link and wait until its runs are finished and drawn (the export button appears)."""
    page.goto(url)
    page.wait_for_selector("[data-testid='stDownloadButton']", timeout=PAGE_TIMEOUT_MS)
    settle(page)
    assert_clean(page)


def download_export(page, lang="en"):
    """The bytes of the Playground's CSV export: served by the replica that holds the session (/media/...)."""
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        page.get_by_role("button", name=translate(lang, "playground.export")).click()
    try:
        return Path(download.value.path()).read_bytes()
    except Exception as exc:  # the browser got no file: the request reached a replica without this session
        pytest.fail(f"the Playground's export did not download ({exc})")


def seed_field(page):
    return page.locator("[data-testid='stSidebar'] [data-testid='stNumberInputField']")


def switch_language(page, lang):
    """Pick ``lang`` in the sidebar and wait for the Playground in it."""
    pick_language(page, lang, translate(lang, "playground.title"))
    settle(page)


def press_train_text(lang):
    return translate(lang, "playground.press_train").split("**")[0]  # the text before the bold button name


def wait_for_note(page, text):
    """Wait for the note with ``text``, or fail at once, with its text, on an exception on the page."""
    page.locator("[data-testid='stException']").or_(alert_with(page, text)).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    settle(page)
    assert_clean(page)


def alert_with(page, text):
    return page.locator("[data-testid='stAlert']").filter(has_text=text)


# --- what the logs say ----------------------------------------------------------------------------------------


def count(replica, line, key):
    return sum(1 for text in replica.log().splitlines() if line in text and key in text)


ACCESS = re.compile(r'"(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d+) route=(?P<route>\S+) '
                    r'upstream=(?P<upstream>.*) (?P<seconds>[\d.]+)$')


def access_log(proxy):
    """nginx's access log: (method, path, status, route, [replica addresses tried]) per finished request."""
    if not proxy.access_log.exists():
        return []
    rows = []
    for line in proxy.access_log.read_text(errors="replace").splitlines():
        m = ACCESS.search(line)
        if m:
            rows.append((m["method"], m["path"], int(m["status"]), m["route"], m["upstream"].split(", ")))
    return rows


def wait_stored(store, configs):
    """Wait until the finished runs of ``configs`` are in the store (a replica may store a run after drawing it)."""
    wait_until(lambda: all(store.get(c) is not None for c in configs), 10, "the finished runs to be in the store")


def route_cookie(page):
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert "bnlab_route" in cookies, f"nginx set no route cookie: {cookies}"
    return cookies["bnlab_route"]


# --- the tests ------------------------------------------------------------------------------------------------


def test_a_session_through_nginx_stays_on_one_replica_and_keeps_its_state(cluster, browser):
    a, b, proxy = cluster["A"], cluster["B"], cluster["nginx"]
    replicas = {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}
    seed, changed_seed = 3, 4
    _, changed_keys = run_keys(SMALL, changed_seed)
    with session(browser) as page:
        open_finished_playground(page, playground_url(proxy.site, SMALL, seed))
        route = route_cookie(page)
        first_export = download_export(page)  # /media/...: only the replica holding the session has it
        assert first_export.count(b"\n") > 10

        # Reruns: another language, then another seed, which this session does not train until Train is pressed.
        switch_language(page, "zh")
        seed_field(page).fill(str(changed_seed))
        seed_field(page).press("Enter")
        wait_for_note(page, press_train_text("zh"))

        # Reload nginx: its old workers close the websocket (worker_shutdown_timeout) and the page reconnects. The
        # next rerun tells whether the session survived: in its own replica the Playground still waits for Train;
        # another replica would start a new session, which opens the link in the address bar afresh and trains it
        # at once (a first load autostarts): the note would be gone and the results drawn.
        with page.expect_websocket(timeout=60_000):  # the page's new websocket
            os.kill(proxy.popen.pid, signal.SIGHUP)
        page.wait_for_timeout(1500)
        settle(page)
        switch_language(page, "en")
        assert alert_with(page, press_train_text("en")).count() == 1, "the session's state was lost in the reconnect"
        assert page.locator("[data-testid='stDownloadButton']").count() == 0
        assert seed_field(page).input_value() == str(changed_seed)
        assert not any(count(r, TRAINING, key) for r in (a, b) for key in changed_keys)

        # Back to the trained seed: redrawn at once, and its export is served again by the session's replica.
        seed_field(page).fill(str(seed))
        seed_field(page).press("Enter")
        page.wait_for_selector("[data-testid='stDownloadButton']", timeout=PAGE_TIMEOUT_MS)
        settle(page)
        assert download_export(page) == first_export
        assert_clean(page)

    # Every request of the session (page, scripts, both websockets, both downloads) went to one replica.
    def session_rows():
        rows = [r for r in access_log(proxy) if r[3] == route]
        return rows if sum(1 for r in rows if r[1].startswith("/_stcore/stream")) >= 2 else None

    rows = wait_until(session_rows, 30, "nginx to log the session's two websockets")
    served = {r[4][-1] for r in rows}
    assert len(served) == 1 and served <= replicas, f"one session was served by {served}"
    downloads = [r for r in rows if r[1].startswith("/media/")]
    assert len(downloads) >= 2 and all(r[2] == 200 for r in downloads), downloads
    assert all(len(r[4]) == 1 for r in rows)  # no retries: the replica was up all along

    # ...while browsers without the cookie are spread over both replicas (else stickiness would prove nothing).
    for _ in range(20):
        assert http_ok(f"{proxy.url}/")
    fresh = [r for r in access_log(proxy) if r[1] == "/" and r[3] != route]
    assert {r[4][-1] for r in fresh} == replicas, f"20 browsers without the cookie, all sent to one replica: {fresh}"


def test_a_run_trained_through_one_replica_is_served_by_the_other_from_the_store(cluster, browser):
    a, b = cluster["A"], cluster["B"]
    seed = 11
    configs, keys = run_keys(SMALL, seed)
    with session(browser) as page:
        open_finished_playground(page, playground_url(a.url, SMALL, seed))
        assert page_configs(page) == configs  # the runs the keys above name
        export_a = download_export(page)
    for key in keys:
        wait_until(lambda key=key: count(a, TRAINING, key) >= 1, 10, f"replica A to log {TRAINING!r} {key}",
                   explain=a.tail)
        assert count(a, TRAINING, key) == 1
    store = RedisStore(cluster["store"])
    try:
        wait_stored(store, configs)
    finally:
        store.close()

    with session(browser) as page:
        open_finished_playground(page, playground_url(b.url, SMALL, seed))
        export_b = download_export(page)
    for key in keys:
        assert count(b, TRAINING, key) == 0, f"replica B trained {key} again"
        assert count(b, SERVED, key) >= 1, f"replica B did not log taking {key} from the store"
        assert count(a, TRAINING, key) == 1
    assert export_b == export_a


def test_killing_a_replica_mid_run_loses_no_finished_run_and_nginx_serves_from_the_other(cluster, browser):
    a, b, proxy = cluster["A"], cluster["B"], cluster["nginx"]
    seed = 21
    configs, keys = run_keys(SMALL, seed)
    long_configs, long_keys = run_keys(LONG, seed)
    with session(browser) as page:
        open_finished_playground(page, playground_url(a.url, SMALL, seed))
    store = RedisStore(cluster["store"])
    try:
        wait_stored(store, configs)
        with session(browser) as page:
            page.goto(playground_url(a.url, LONG, seed))
            wait_until(lambda: any(count(a, TRAINING, key) for key in long_keys), PAGE_TIMEOUT_MS / 1000,
                       f"replica A to log {TRAINING!r} for the long run", explain=a.tail)
            a.kill()
        assert a.popen.poll() is not None and not http_ok(f"{a.url}/_stcore/health")
        assert all(store.get(c) is None for c in long_configs)  # killed mid-run: nothing half-done was stored
        assert all(store.get(c) is not None for c in configs), "killing replica A lost a finished run"
    finally:
        store.close()

    # A new session through nginx: replica A is gone, so B serves it, and takes the finished run from the store.
    with session(browser) as page:
        open_finished_playground(page, playground_url(proxy.site, SMALL, seed))
        assert page.locator("h1").first.inner_text().startswith(translate("en", "playground.title"))
        route = route_cookie(page)
    for key in keys:
        assert count(b, TRAINING, key) == 0, f"replica B trained {key}, which A had finished"
        assert count(b, SERVED, key) >= 1
    rows = [r for r in access_log(proxy) if r[3] == route]
    assert rows and {r[4][-1] for r in rows} == {f"127.0.0.1:{b.port}"}, rows
    assert http_ok(f"{proxy.url}/_stcore/health")
