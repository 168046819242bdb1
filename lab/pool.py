"""The server-wide training pool: one training per experiment, whoever asks, on at most one worker per CPU core.

Every session thread of the server asks the one pool for an experiment by its key and follows the Job it gets back:

    job = pool.request(config, functools.partial(bn_core.train_steps, config), total=config.steps,
                       follower=session_id, publish=freeze)
    while job.state in ("queued", "running"):
        seen = job.version
        ...draw job.latest, job.fraction, pool.queue_position(job)...
        job.touch(session_id)  # heartbeat: a session that stops touching counts as gone
        job.wait(0.5, since=seen)
    # "done": job.latest is the final value; "failed": job.error; "cancelled": nobody followed it any more

A second request for a key that is queued or running joins that same Job. The pool keeps no finished values: whoever
asks passes ``on_done``, called when the job has trained to its end and before anyone sees it "done" (keep the
value there), and ``finished``, where those values are looked up under the pool's lock (so that a job that has just
ended is never started again). When a Job's last follower leaves, it is cancelled (a queued one never starts, a
running one stops at its next value and frees its worker); a Job requested without a follower (the warm-up of the
lessons' defaults at server start) is never cancelled that way. Students (USER) go before warm-up (BACKGROUND);
first come, first served within a priority.

Workers are processes, not threads. benchmarks/pool_backends.py trains 4 distinct default experiments (1000 steps)
on 2 workers against the same 4 one after another in one thread, in the same run. Four runs on this project's
2-core machine kind, shared with other jobs (load 1.4 to 11, hence the spread):

    2 threads:   0.73-0.89x the throughput of one thread, never faster: the GIL is held for most of a small-matrix
                 step and the two threads pass it back and forth; all the training's CPU, 1.8-2.4 s, is spent in
                 the server process, whose GIL the sessions' pages need too
    2 processes: 0.81-1.90x the throughput (1.90x when the second core was free); 0.15-0.29 s of CPU in the server
                 process (receiving the values), 8-16x less than with threads

So training leaves the server process: each worker is a child process that runs the experiment's iterator and
sends every published value back pickled. Values arrive in the server as private copies, so they are safe to hand
to any session thread. To keep that cheap as a run's records pile up, objects of the ``immutable`` types (e.g.
bn_core's Snapshot, never changed once recorded) are sent once per job and referenced afterwards.
``backend="thread"`` trains in threads of the server process instead (no pickling; tests use it).

With processes, ``start`` and ``publish`` are pickled to the worker and run there: module-level functions (of a
module that does not import streamlit, or every worker imports it too) or functools.partial of them, not lambdas;
and each value (and exception) must pickle.
"""
import functools
import importlib
import io
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

USER, BACKGROUND = 0, 1
FOLLOWER_TTL = 15.0  # seconds without a touch after which a follower counts as gone
ACTIVE = ("queued", "running")

log = logging.getLogger(__name__)


def _identity(value):
    return value


def worker_count(workers=None):
    """``workers``, else env BNLAB_WORKERS, else the number of cores; never more than the cores, at least 1."""
    cores = os.cpu_count() or 1
    if workers is None:
        text = os.environ.get("BNLAB_WORKERS", "").strip()
        if text and not (text.isdigit() and int(text) > 0):
            raise ValueError(f"BNLAB_WORKERS must be a positive whole number, got {text!r}")
        workers = int(text) if text else cores
    return max(1, min(int(workers), cores))


class WorkerCrashed(RuntimeError):
    """The worker process died while training (killed, out of memory, a crash in native code)."""


class Job:
    """One experiment's training, shared by every session that follows it. Read ``state``, ``latest``,
    ``error``, ``steps_done``, ``fraction``, ``version`` freely; change it only through its methods."""

    def __init__(self, pool, key, start, total, priority, publish):
        self.key, self.total = key, total
        self.state = "queued"  # queued | running | done | cancelled | failed
        self.latest = None  # the last published value
        self.error = None  # the exception, when failed
        self.version = 0  # grows at every new value or change of state or queue position
        self._pool, self._start, self._publish = pool, start, publish
        self._priority, self._seq = priority, 0
        self._followers = {}  # follower -> pool clock at its last touch
        self._keep = False  # requested without a follower: never cancelled for want of followers
        self._on_done = None  # called with the job when it has trained to its end, before it is "done"
        self._stop = False  # cancelled while running: the worker stops at the next value
        self._runner = None
        self._changed = threading.Condition(pool._lock)

    @property
    def steps_done(self):
        return getattr(self.latest, "steps_done", 0)  # 0 before the first value (None)

    @property
    def fraction(self):
        if self.state == "done":
            return 1.0
        return min(1.0, self.steps_done / self.total) if self.total else 0.0

    @property
    def followers(self):
        return len(self._followers)

    def touch(self, follower):
        """Heartbeat of a follower (also follows again a job still queued or running, if it had left)."""
        self._pool._touch(self, follower)

    def unfollow(self, follower):
        self._pool._unfollow(self, follower)

    def wait(self, timeout, since=None):
        """Block until ``version`` differs from ``since`` (default: its value now), at most ``timeout`` seconds.
        True if something changed. Pass ``since`` read before drawing, so a change while drawing is not missed."""
        with self._changed:
            seen = self.version if since is None else since
            return self._changed.wait_for(lambda: self.version != seen, timeout)

    def __repr__(self):
        return f"<Job {self.state} {self.steps_done}/{self.total} followers={self.followers}>"


class TrainingPool:
    def __init__(self, workers=None, *, backend="process", immutable=(), preload=(),
                 follower_ttl=FOLLOWER_TTL, clock=time.monotonic, reap_every=1.0):
        """``immutable``: types whose objects never change once yielded (sent once per job, see above).
        ``preload``: modules each worker process imports when it starts, before the first job (e.g. "bn_core").
        ``follower_ttl`` seconds without a touch and a follower counts as gone; ``clock`` tells the time."""
        if backend not in ("process", "thread"):
            raise ValueError(f"backend must be 'process' or 'thread', got {backend!r}")
        self.workers, self.backend = worker_count(workers), backend
        self.follower_ttl, self._clock = follower_ttl, clock
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a job was queued, or the pool closes
        self._jobs = {}  # key -> queued or running Job
        self._queue = []  # queued Jobs, small: a scan finds the next
        self._seq = self._started = self._busy = 0
        self._closed = False
        self._closing = threading.Event()
        self._runners = [_ProcessRunner(immutable, preload) if backend == "process" else _ThreadRunner()
                         for _ in range(self.workers)]
        self._threads = [threading.Thread(target=self._serve, args=(r,), name=f"training-worker-{i}", daemon=True)
                         for i, r in enumerate(self._runners)]
        self._threads.append(threading.Thread(target=self._reap, args=(reap_every,), name="training-reaper",
                                              daemon=True))
        for thread in self._threads:
            thread.start()

    # --- what sessions call ---

    def request(self, key, start, *, total, priority=USER, follower=None, publish=_identity, on_done=None,
                finished=None):
        """The Job training ``key``: the one already queued or running, else a job already done when
        ``finished(key)`` gives its value, else a new one in the queue. ``on_done(job)``: see the module's
        docstring (the first request's is kept)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the training pool is shut down")
            job = self._jobs.get(key)
            if job is None and finished is not None and (value := finished(key)) is not None:
                return self._done_job(key, value)
            if job is None:
                job = self._jobs[key] = Job(self, key, start, total, priority, publish)
                self._enqueue(job, priority)
                self._work.notify()
            elif job.state == "queued" and priority < job._priority:
                self._enqueue(job, priority)  # a student asks for what was warming up: it moves up
            job._on_done = job._on_done or on_done
            if follower is None:
                job._keep = True
            else:
                job._followers[follower] = self._clock()
            return job

    def active(self, key):
        """The queued or running Job of ``key``, or None."""
        with self._lock:
            return self._jobs.get(key)

    def queue_position(self, job):
        """How many queued jobs will start before this one (0 once it runs or is over)."""
        with self._lock:
            if job.state != "queued":
                return 0
            return sum((j._priority, j._seq) < (job._priority, job._seq) for j in self._queue)

    def stats(self):
        with self._lock:
            return {"started": self._started, "running": self._busy, "queued": len(self._queue),
                    "workers": self.workers, "backend": self.backend}

    def worker_pids(self):
        """Process ids of the worker processes alive now (none with threads): for CPU and memory accounting."""
        return [r.pid for r in self._runners if getattr(r, "pid", None)]

    def expire_followers(self):
        """Drop followers not touched for ``follower_ttl``, cancelling jobs left with none (the reaper thread calls
        this every ``reap_every`` seconds)."""
        with self._lock:
            now = self._clock()
            stopping = []
            for job in list(self._jobs.values()):
                for follower in [f for f, t in job._followers.items() if now - t > self.follower_ttl]:
                    del job._followers[follower]
                stopping.append(self._cancel_if_unfollowed(job))
        _stop_all(stopping)

    def shutdown(self, wait=True):
        """Cancel queued and running jobs and stop the workers (joined when ``wait``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stopping = [self._cancel(job) for job in list(self._jobs.values())]
            self._work.notify_all()
        self._closing.set()
        _stop_all(stopping)
        if wait:
            for thread in self._threads:
                thread.join()

    # --- inside the pool (callers hold no lock unless said) ---

    def _done_job(self, key, value):  # lock held
        job = Job(self, key, None, 0, USER, None)
        job.state, job.latest = "done", value
        return job

    def _enqueue(self, job, priority):  # lock held
        if job in self._queue:
            self._queue.remove(job)
        self._seq += 1
        job._priority, job._seq = priority, self._seq
        self._queue.append(job)
        self._queue_changed()

    def _queue_changed(self):  # lock held: every queued job's position may have moved
        for job in self._queue:
            self._signal(job)

    @staticmethod
    def _signal(job):  # lock held
        job.version += 1
        job._changed.notify_all()

    def _touch(self, job, follower):
        with self._lock:
            if job.state in ACTIVE:
                job._followers[follower] = self._clock()

    def _unfollow(self, job, follower):
        with self._lock:
            job._followers.pop(follower, None)
            stopping = self._cancel_if_unfollowed(job)
        _stop_all([stopping])

    def _cancel_if_unfollowed(self, job):  # lock held. Returns (job, runner) when a running job must be stopped.
        if job._followers or job._keep or job.state not in ACTIVE:
            return None
        return self._cancel(job)

    def _cancel(self, job):  # lock held. Returns (job, runner) for a running job: tell its runner, lock released.
        was = job.state
        job.state = "cancelled"
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
        self._signal(job)
        if was == "queued":
            self._queue.remove(job)
            self._queue_changed()
            job._start = job._publish = None
            return None
        job._stop = True
        return job, job._runner

    def _next_job(self, runner):
        with self._lock:
            while not self._queue and not self._closed:
                self._work.wait()
            if self._closed:
                return None
            job = min(self._queue, key=lambda j: (j._priority, j._seq))
            self._queue.remove(job)
            job.state, job._runner = "running", runner
            self._started += 1
            self._busy += 1
            self._signal(job)
            self._queue_changed()
            return job

    def _update(self, job, value):
        """A worker's new value for ``job``. Returns True when the job should stop."""
        with self._lock:
            if job.state == "running":
                job.latest = value
                self._signal(job)
            return job._stop

    def _finish(self, job, state, error):
        with self._lock:
            self._busy -= 1
            job._runner = None
            if job.state == "running":  # else it was cancelled meanwhile, and stays so
                job.state, job.error = state, error
                if self._jobs.get(job.key) is job:
                    del self._jobs[job.key]
            job._start = job._publish = None  # e.g. uploaded data held by the start function
            job._followers.clear()
            self._signal(job)

    def _serve(self, runner):
        """A worker slot's thread: take the next job, train it on this slot's runner, repeat until shutdown."""
        try:
            runner.start()  # a process is ready (its imports done) before the first student asks
        except OSError as exc:
            log.warning("could not start a training worker process (will retry at the first job): %s", exc)
        try:
            while (job := self._next_job(runner)) is not None:
                try:
                    state, error = runner.run(job, self)
                except Exception as exc:  # the worker could not be started, the job not be sent
                    state, error = "failed", exc
                if state == "done" and job._on_done is not None:
                    try:  # before the state says done: whoever then looks for the value finds it kept
                        job._on_done(job)
                    except Exception:
                        log.exception("keeping the finished run of %r failed", job.key)
                self._finish(job, state, error)
        finally:
            runner.close()

    def _reap(self, every):
        while not self._closing.wait(every):
            self.expire_followers()


def _check_importable(*functions):
    """The worker process imports functions by module and name; it does not run the server's __main__."""
    for fn in functions:
        while isinstance(fn, functools.partial):
            fn = fn.func
        if getattr(fn, "__module__", None) == "__main__":
            raise ValueError(f"{fn!r} is defined in __main__, which a training worker process does not run: "
                             "define it in a module")


def _stop_all(stopping):
    """Tell the runners of cancelled running jobs to stop them (without the pool's lock: a runner may block)."""
    for item in stopping:
        if item is not None:
            job, runner = item
            runner.stop(job)


class _ThreadRunner:
    """Trains in the worker slot's own thread of the server process."""

    def run(self, job, pool):
        if job._stop:
            return "cancelled", None
        try:
            values = iter(job._start())
            try:
                for value in values:
                    if pool._update(job, job._publish(value)):
                        return "cancelled", None
            finally:
                _close(values)
        except Exception as exc:
            return "failed", exc
        return "done", None

    def start(self):
        pass

    def stop(self, job):
        pass  # run() sees job._stop at the next value

    def close(self):
        pass


class _ProcessRunner:
    """Trains in a child process of its own, started at first use and again if it dies. The slot's thread sends it
    one job at a time and receives that job's values; a stop may come from any thread."""

    # -c, not multiprocessing's spawn: that would run the server's own __main__ (Streamlit's CLI) in every worker.
    CHILD = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); from lab.pool import _worker_main; "
             "_worker_main(int(sys.argv[2]), json.loads(sys.argv[3]))")

    def __init__(self, immutable, preload):
        self._immutable, self._preload = tuple(immutable), list(preload)
        self._send_lock = threading.Lock()  # a job (slot thread) and a stop (any thread) never interleave
        self._job = None  # the job the child is training
        self._proc = self._conn = None

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self):
        with self._send_lock:
            self._ensure_started()

    def _ensure_started(self):
        if self._proc is not None and self._proc.poll() is None:
            return
        self._discard()
        ours, theirs = socket.socketpair()
        # One BLAS thread per worker, set before NumPy loads (see lab/__init__.py for why).
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with theirs:
            self._proc = subprocess.Popen([sys.executable, "-c", self.CHILD, json.dumps(sys.path),
                                           str(theirs.fileno()), json.dumps(self._preload)],
                                          pass_fds=(theirs.fileno(),), env=env)
        self._conn = Connection(ours.detach())

    def run(self, job, pool):
        _check_importable(job._start, job._publish)
        with self._send_lock:
            if job._stop:
                return "cancelled", None
            self._ensure_started()
            self._conn.send(("job", job._seq, job._start, job._publish, self._immutable))
            self._job = job
        received = {}
        try:
            while True:
                kind, payload = self._conn.recv()
                if kind == "value":
                    pool._update(job, _RefUnpickler(io.BytesIO(payload), received).load())
                elif kind == "error":
                    return "failed", _load_error(payload)
                else:
                    return ("done" if kind == "done" else "cancelled"), None
        except (EOFError, OSError):
            with self._send_lock:
                self._job = None
                pid, code = self._proc.pid, self._end_child()
            log.warning("training worker process %s exited with code %s", pid, code)
            return "failed", WorkerCrashed(f"the training worker process exited with code {code}")
        except BaseException:  # e.g. a value that does not unpickle here: out of step with the child, replace it
            with self._send_lock:
                self._job = None
                self._proc.kill()
                self._end_child()
            raise
        finally:
            with self._send_lock:
                self._job = None

    def stop(self, job):
        with self._send_lock:
            if self._job is job:
                try:
                    self._conn.send(("stop", job._seq))
                except OSError:
                    pass  # the child is gone: run() reports it

    def close(self):
        with self._send_lock:
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
            self._end_child()

    def _end_child(self, timeout=10):
        """Wait for the child to exit (kill it after ``timeout``), forget it, and return its exit code."""
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                code = self._proc.wait()
        self._discard()
        return code

    def _discard(self):
        if self._conn is not None:
            self._conn.close()
        self._conn = self._proc = None


# --- the worker process ---

def _worker_main(fd, preload=()):
    """A worker process: train the jobs the server sends, one at a time, until it says stop or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then closes this worker
    for module in preload:
        importlib.import_module(module)
    conn = Connection(fd)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            message = pickle.loads(data)
        except Exception as exc:  # a job whose start function cannot be imported here: only a job is that big
            conn.send(("error", _dump_error(exc)))
            continue
        if message is None:
            return
        if message[0] == "job" and _train_one(conn, *message[1:]):
            return  # (a "stop" here is for a job already over)


def _train_one(conn, job_id, start, publish, immutable):
    """Send each published value; stop at the first value after a stop. Returns True if the server went away."""
    immutable = frozenset(immutable)
    sent = {}  # id -> immutable object already sent for this job (kept alive so ids are not reused)
    stopped = gone = False
    try:
        values = iter(start())
        try:
            for value in values:
                buffer = io.BytesIO()
                _RefPickler(buffer, immutable, sent).dump(publish(value))
                conn.send(("value", buffer.getvalue()))
                while not (stopped or gone) and conn.poll():
                    message = conn.recv()
                    gone = message is None
                    stopped = message == ("stop", job_id)
                if stopped or gone:
                    break
        finally:
            _close(values)
    except (EOFError, OSError):
        return True
    except Exception as exc:
        conn.send(("error", _dump_error(exc)))
    else:
        conn.send(("stopped" if stopped or gone else "done", None))
    return gone


class _RefPickler(pickle.Pickler):
    """Pickles objects of the immutable types in full the first time in a job, as a reference afterwards."""

    def __init__(self, file, immutable, sent):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._immutable, self._sent, self._fresh = immutable, sent, None

    def persistent_id(self, obj):
        if type(obj) not in self._immutable or obj is self._fresh:
            return None
        key = id(obj)
        if key in self._sent:
            return key
        self._sent[key] = self._fresh = obj  # pickled in full next, inside its own (key, obj) id
        return key, obj


class _RefUnpickler(pickle.Unpickler):
    def __init__(self, file, received):
        super().__init__(file)
        self._received = received

    def persistent_load(self, pid):
        if isinstance(pid, tuple):
            key, obj = pid
            self._received[key] = obj
            return obj
        return self._received[pid]


def _dump_error(exc):
    """The exception, rebuilt in the server without calling its __init__ (e.g. ConfigError's takes other
    arguments than its args), with the worker's traceback as a note."""
    trace = "".join(traceback.format_exception(exc))
    try:
        return pickle.dumps((type(exc), exc.args, vars(exc), trace))
    except Exception:
        return pickle.dumps((RuntimeError, (f"{type(exc).__name__}: {exc}",), {}, trace))


def _load_error(payload):
    cls, args, state, trace = pickle.loads(payload)
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    exc.add_note(f"in the training worker process:\n{trace}")
    return exc


def _close(values):
    close = getattr(values, "close", None)
    if close is not None:
        close()
