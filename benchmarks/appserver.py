"""A real Streamlit server for the load benchmarks (classroom.py, rerun_cost.py): started on a free loopback port with
a fresh empty run store, stopped with everything it started; and what it costs, read from /proc (Linux): the server
process's own CPU time, its worker processes' CPU time, its peak memory, its threads and children over time.

Browsers and clients run on the same machine and compete for its cores: only the server's own /proc counters say
what the server spent.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
# A one-line page: the reference every page view is compared with (same Streamlit, same server options).
MINIMAL_PAGE = 'import streamlit as st\n\nst.write("Hello from a one-line page")\n'
MINIMAL_MARKER = "Hello from a one-line page"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat_fields(pid, tid=None):
    """The fields of /proc/<pid>[/task/<tid>]/stat after the command name (which may hold spaces): index 0 is the
    state (field 3 of proc(5))."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def _own_and_reaped(pid):
    """(utime+stime, cutime+cstime) of a process in seconds: its own CPU, and that of its children it has reaped."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK


def children(pid):
    """Process ids of the direct children of ``pid`` now."""
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids.extend(int(k) for k in f.read().split())
            except OSError:
                continue
    except OSError:
        pass
    return kids


def status_kb(pid, field):
    """A ``Vm...`` field of /proc/<pid>/status in kB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent so far by the server process itself and by its descendants (worker processes)."""

    own: float
    workers: float

    @property
    def total(self):
        return self.own + self.workers

    def __sub__(self, other):
        return Cpu(self.own - other.own, self.workers - other.workers)


def cpu(pid):
    """The server's CPU so far. Workers: the CPU of its live children (with what they reaped) plus what the server
    reaped of the exited ones; a child's time moves from the first sum to the second when it is reaped, so the total
    only grows."""
    own, reaped = _own_and_reaped(pid)
    live = 0.0
    for kid in children(pid):
        try:
            k_own, k_reaped = _own_and_reaped(kid)
        except (OSError, ValueError):
            continue
        live += k_own + k_reaped
    return Cpu(own, reaped + live)


class Server:
    """``with Server() as server:`` a fresh ``streamlit run <script>`` on a free loopback port, its own new process
    group (so it and any worker it starts are stopped together at the end, whatever happened), a fresh empty run
    store (BNLAB_STORE_DIR in a temporary folder), its log in that folder."""

    def __init__(self, script="app.py", cwd=ROOT, env=None, start_timeout=90, remove_cwd=False):
        self.script, self.cwd, self.start_timeout = script, Path(cwd), start_timeout
        self.remove_cwd = remove_cwd  # the script's folder is a temporary one of this Server's
        self.extra_env = dict(env or {})
        self.proc = None
        self.tmp = None

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="bnlab-bench-"))
        store = self.tmp / "store"
        store.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(BNLAB_STORE_DIR=str(store), OPENBLAS_NUM_THREADS="1", **self.extra_env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.tmp / "server.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", self.script, "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(self.port), "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false"],
                cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited at start (code {self.proc.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {self.start_timeout} s: {self.log_tail()}")
            time.sleep(0.2)

    @property
    def pid(self):
        return self.proc.pid

    def cpu(self):
        return cpu(self.pid)

    def peak_kb(self):
        """VmHWM: the server process's peak resident memory since it started."""
        return status_kb(self.pid, "VmHWM")

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=15):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def tracebacks(self):
        return self.log_text().count("Traceback (most recent call last)")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)  # the group this Server started: the server and its workers
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.proc is not None:
            try:  # a worker that outlived the server is still in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def __exit__(self, *exc):
        self.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.remove_cwd:
            shutil.rmtree(self.cwd, ignore_errors=True)


def page_server(source, name="page.py", **kwargs):
    """A Server for a page given as source text (e.g. MINIMAL_PAGE), written to a temporary folder of its own with
    the app's own Streamlit options (.streamlit/config.toml), so that a ratio compares pages, not options."""
    folder = Path(tempfile.mkdtemp(prefix="bnlab-page-"))
    (folder / name).write_text(source)
    (folder / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
    return Server(name, cwd=folder, remove_cwd=True, **kwargs)


class Sampler:
    """Samples the server every ``interval`` seconds in a thread, for a phase (``with Sampler(pid) as s:``): its
    threads (all, and those that used CPU since the last sample), its children (all, and those that used at least
    ``busy_share`` of a core since the last sample), its resident memory and that of its children. Keeps the peaks."""

    def __init__(self, pid, interval=0.25, busy_share=0.2):
        self.pid, self.interval, self.busy_share = pid, interval, busy_share
        self.peaks = {"threads": 0, "active_threads": 0, "children": 0, "busy_children": 0, "rss_mb": 0.0,
                      "rss_with_children_mb": 0.0}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def _thread_ticks(self):
        ticks = {}
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                f = _stat_fields(self.pid, tid)
            except (OSError, ValueError):
                continue
            ticks[tid] = int(f[11]) + int(f[12])
        return ticks

    def _child_ticks(self):
        ticks = {}
        for kid in children(self.pid):
            try:
                f = _stat_fields(kid)
            except (OSError, ValueError):
                continue
            ticks[kid] = int(f[11]) + int(f[12])
        return ticks

    def _run(self):
        before_threads, before_kids = {}, {}
        while not self._stop.is_set():
            try:
                threads, kids = self._thread_ticks(), self._child_ticks()
            except OSError:  # the server is gone
                return
            active = sum(1 for tid, t in threads.items() if t > before_threads.get(tid, t))
            busy = sum(1 for k, t in kids.items()
                       if k in before_kids and t - before_kids[k] >= self.busy_share * self.interval * TICK)
            rss = status_kb(self.pid, "VmRSS") / 1024
            rss_all = rss + sum(status_kb(k, "VmRSS") for k in kids) / 1024
            p = self.peaks
            p["threads"] = max(p["threads"], len(threads))
            p["active_threads"] = max(p["active_threads"], active if before_threads else 0)
            p["children"] = max(p["children"], len(kids))
            p["busy_children"] = max(p["busy_children"], busy)
            p["rss_mb"] = max(p["rss_mb"], rss)
            p["rss_with_children_mb"] = max(p["rss_with_children_mb"], rss_all)
            self.samples += 1
            before_threads, before_kids = threads, kids
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def worker_count():
    """The training pool's worker count, as the app computes it (lab/pool.py: BNLAB_WORKERS, else the cores, never
    more than the cores); the same rule here while lab/pool.py is not there."""
    try:
        from lab.pool import worker_count as pool_worker_count
    except ImportError:
        cores = os.cpu_count() or 1
        text = os.environ.get("BNLAB_WORKERS", "").strip()
        return max(1, min(int(text), cores)) if text.isdigit() and int(text) > 0 else cores
    return pool_worker_count()
