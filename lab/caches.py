"""Process-wide caches shared by every session of a server (Streamlit runs each session's script in a thread of one
process): a bounded, least-recently-used mapping, and functions memoized by their inputs — the figures and the
numbers a page draws — so that a page opened again, by the same student or by thirty, costs the server little more
than sending it (benchmarks/classroom.py measures it). No streamlit here.

A memoized function's key is its name and a fingerprint of its arguments: numbers and text as they are (every
label arrives already translated, so the language is part of the key), arrays by a digest of their bytes (kept
for a read-only array while it lives), a finished run by its config and how far it got, an object with a
``cache_key`` by that key, a module's function by its name. An argument with no safe fingerprint (a run still
training, a lambda, a method, a page script's own function, an unknown object) makes that call run uncached: never
a wrong figure, at worst a slow one.

Values are shared between sessions: treat them as read-only (nothing changes a figure it is handed: copies are
made from ``to_dict()``, since building a Figure from another briefly changes the other's traces).
"""
import dataclasses
import functools
import hashlib
import inspect
import threading
import weakref
from collections import OrderedDict

import numpy as np
import plotly.graph_objects as go

from bn_core import RunRecord


class BoundedCache:
    """A process-wide, thread-safe mapping that keeps its ``maxsize`` most recently used entries (sessions run in
    threads of one process). Values are shared between sessions: treat them as read-only."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self):
        with self._lock:
            self._items.clear()


class Uncacheable(Exception):
    """An argument with no safe fingerprint: the call runs without the cache."""


FIGURE_KEY = "_bnlab_key"  # attribute of a memoized figure: its key, its fingerprint when passed on to a builder


def fingerprint(value):
    """A hashable value equal for equal inputs (see the module's docstring); raises Uncacheable."""
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return value
    if isinstance(value, float):
        return value if value == value else "nan"  # NaN != NaN would make every key new
    if isinstance(value, np.generic):
        return fingerprint(value.item())
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise Uncacheable("object array")
        return ("array", value.dtype.str, value.shape, _digest(value))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(fingerprint(v) for v in value))
    if isinstance(value, dict):
        items = ((fingerprint(k), fingerprint(v)) for k, v in value.items())
        return ("dict", *sorted(items, key=lambda item: repr(item[0])))  # keys of mixed types have no order
    if hasattr(value, "cache_key"):  # an object that names its own content (e.g. a finished run of a lesson)
        return (type(value).__qualname__, fingerprint(value.cache_key))
    if isinstance(value, RunRecord):
        if value.status == "running":  # still changing: a live chart is drawn afresh
            raise Uncacheable("a run in progress")
        return ("run", fingerprint(value.config), value.status, value.steps_done, len(value.snapshots),
                fingerprint(value.divergence))
    if isinstance(value, go.Figure):
        key = getattr(value, FIGURE_KEY, None)
        if key is None:
            raise Uncacheable("a figure not made by a memoized builder")
        return ("figure", key)
    if isinstance(value, functools.partial):
        return ("partial", fingerprint(value.func), fingerprint(value.args), fingerprint(value.keywords))
    if inspect.isfunction(value) and "<" not in value.__qualname__ and value.__module__ != "__main__":
        return ("function", value.__module__, value.__qualname__)  # a module's own: same name, same code
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, *(fingerprint(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise Uncacheable(type(value).__qualname__)


_digests = {}  # id -> digest of the read-only arrays alive now (a page passes the same ones on every view)


def _frozen(array):
    """True when neither the array nor any array it views can be written to: its bytes cannot change."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return True


def _digest(array):
    frozen = _frozen(array)
    if frozen and (known := _digests.get(id(array))) is not None:
        return known
    digest = hashlib.blake2b(np.ascontiguousarray(array).view(np.uint8), digest_size=16).digest()
    if frozen:
        _digests[id(array)] = digest
        weakref.finalize(array, _digests.pop, id(array), None)  # forgotten with the array (its id may be reused)
    return digest


_building = threading.local()  # how deep this thread is inside memoized calls


def memoized(maxsize, figure=False):
    """Decorator: the function's results kept in a BoundedCache of ``maxsize``, by its arguments' fingerprints.
    Called from inside another memoized call it runs uncached (the outer result is what is kept; the inner one may
    be changed by its caller). ``figure=True``: the result is a Plotly figure (or a list of them), marked with its
    key."""
    def decorate(fn):
        cache = BoundedCache(maxsize)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            depth = getattr(_building, "depth", 0)
            try:
                key = None if depth else (fn.__module__, fn.__qualname__, fingerprint(args), fingerprint(kwargs))
            except Uncacheable:
                key = None
            value = None if key is None else cache.get(key)
            if value is not None:
                return value
            _building.depth = depth + 1
            try:
                value = fn(*args, **kwargs)
            finally:
                _building.depth = depth
            if key is not None:
                if figure:
                    _mark(value, key)
                cache.put(key, value)
            return value

        wrapper.cache = cache
        return wrapper
    return decorate


def _mark(figures, key):
    """Give a memoized figure (or each of a list of them) its key."""
    if isinstance(figures, go.Figure):
        setattr(figures, FIGURE_KEY, key)
    else:
        for i, fig in enumerate(figures):
            setattr(fig, FIGURE_KEY, (*key, i))


# Per builder (one chart): its figures for a few experiments, both languages and the slider values students try;
# most figures are tens of kB, a page's Play histograms a few hundred.
MAX_FIGURES = 64
figure_builder = memoized(MAX_FIGURES, figure=True)
MAX_SENT = 256  # figures in the plain form sent (sendable): those of every chart of every page, a few times over


class SentFigure(go.Figure):
    """A finished figure in the plain form Streamlit sends. st.plotly_chart asks a figure for ``to_dict()``, which
    deep-copies all of it (tens of ms for one with Play frames) on every view; this one hands out the form made
    once. Only for st.plotly_chart: it has no traces or layout of its own; ``source`` is the figure it shows (or a
    function that builds it), for the chart's data table."""

    def __init__(self, plain, source=None):
        super().__init__(layout={"template": "none"})  # not a copy of the default template it would never send
        self._plain = plain
        self._source = source

    def to_dict(self):
        return self._plain

    @property
    def source(self):
        return self._source() if callable(self._source) else self._source


_sent = BoundedCache(MAX_SENT)


def sendable(fig, variant=None, finish=None):
    """The figure to hand to st.plotly_chart, in plain form: ``fig`` as it is, or ``finish(plain)`` of its plain
    form (e.g. enlarged for a projector; ``variant`` names it). ``finish`` returns a new plain form and changes
    nothing it is given (the plain forms are shared). Kept per (figure, variant) when the figure is a memoized one;
    a figure joined at each view (a SentFigure) is finished at each view, from its plain form: cheap."""
    if finish is not None and variant is None:
        raise ValueError("a finished figure needs a variant name: it would take the plain figure's place")
    if isinstance(fig, SentFigure):  # already plain (joined from cached parts)
        return fig if finish is None else SentFigure(finish(fig.to_dict()), source=fig._source)
    key = getattr(fig, FIGURE_KEY, None)
    if key is None:
        return fig if finish is None else SentFigure(finish(fig.to_dict()), source=fig)
    ready = _sent.get((key, variant))
    if ready is None:
        ready = SentFigure(fig.to_dict() if finish is None else finish(fig.to_dict()), source=fig)
        _sent.put((key, variant), ready)
    return ready
