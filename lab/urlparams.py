"""Every URL parameter of the app in one declarative table, and the one parser of query strings. Pure functions
(no streamlit): the shell's parameters (language, seed, presentation mode, hidden knobs, challenge) and the
Playground's knobs (TrainConfig <-> URL, so a link
opens the exact experiment).

Each parameter has a short URL name, a parser and a range; a garbage value falls back to the default and is reported
as ``(name, raw, default)``; names not in the table are ignored.
"""
import math
from dataclasses import dataclass

from bn_core import ACTIVATIONS, BN_POSITIONS, DATASETS, INITS, PREPROCESSING, TrainConfig
from lab.i18n import DEFAULT_LANG, LANGS

MODES = ("compare", "single")
MAX_DEPTH, MAX_WIDTH = 6, 512
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Knob:
    url: str  # name in the query string
    field: str  # TrainConfig field, or "depth"/"width" (the hidden tuple) or "mode"; the shell's: its state key
    kind: type  # int, float, bool, str, or tuple (a comma list of ``choices``)
    lo: float = -math.inf  # numeric range, inclusive
    hi: float = math.inf
    choices: tuple = ()
    log: bool = False  # a log-scale slider in the app

    def parse(self, raw):
        """The value for a query-string text; ValueError when it is not a valid value of this knob."""
        if self.kind is str:
            if raw not in self.choices:
                raise ValueError(raw)
            return raw
        if self.kind is tuple:
            items = tuple(dict.fromkeys(item.strip() for item in raw.split(",") if item.strip()))
            if not set(items) <= set(self.choices):
                raise ValueError(raw)
            return items
        if self.kind is bool:
            if raw not in ("0", "1", "true", "false"):
                raise ValueError(raw)
            return raw in ("1", "true")
        value = float(raw)
        if self.kind is int:
            if not value.is_integer():
                raise ValueError(raw)
            value = int(value)
        if not (math.isfinite(value) and self.lo <= value <= self.hi):
            raise ValueError(raw)
        return value

    def format(self, value):
        if self.kind is bool:
            return "1" if value else "0"
        if self.kind is tuple:
            return ",".join(value)
        if self.kind is float:
            return repr(float(value))  # shortest text that reads back to the same float
        return str(value)


KNOBS = (
    Knob("mode", "mode", str, choices=MODES),
    Knob("data", "dataset", str, choices=DATASETS + ("csv",)),
    Knob("noise", "noise", float, 0.0, 1.0),
    Knob("n", "n_samples", int, 100, 5000),
    Knob("prep", "preprocessing", str, choices=PREPROCESSING),
    Knob("depth", "depth", int, 1, MAX_DEPTH),
    Knob("width", "width", int, 2, MAX_WIDTH),
    Knob("act", "activation", str, choices=ACTIVATIONS),
    Knob("init", "init", str, choices=INITS),
    Knob("sigma", "init_sigma", float, 1e-4, 10.0, log=True),
    Knob("lr", "lr", float, 1e-5, 1e3, log=True),
    Knob("mom", "sgd_momentum", float, 0.0, 0.99),
    Knob("batch", "batch_size", int, 1, 1024),
    Knob("steps", "steps", int, 10, 20000),
    Knob("bn", "batchnorm", bool),
    Knob("bnpos", "bn_position", str, choices=BN_POSITIONS),
    Knob("bnmom", "bn_momentum", float, 0.0, 1.0),
    Knob("eps", "bn_eps", float, 1e-10, 1.0, log=True),
    Knob("every", "record_every", int, 1, 1000),
)
KNOB_BY_URL = {k.url: k for k in KNOBS}

N_CHALLENGES = 3  # len(lab/lessons/challenges.py CHALLENGES): that module imports this one (a test checks)

# The shell's parameters, kept on every page (the sidebar writes them back into the URL). present: projector mode;
# hide: Playground knobs not drawn (their values still come from the URL); challenge: a Playground challenge, 0 = none.
SHELL_PARAMS = (
    Knob("lang", "lang", str, choices=LANGS),
    Knob("seed", "seed", int, 0, MAX_SEED),
    Knob("present", "present", bool),
    Knob("hide", "hide", tuple, choices=tuple(KNOB_BY_URL)),
    Knob("challenge", "challenge", int, 0, N_CHALLENGES),
)
SHELL_DEFAULTS = {"lang": DEFAULT_LANG, "seed": 0, "present": False, "hide": (), "challenge": 0}
PARAMS = SHELL_PARAMS + KNOBS
PARAM_BY_URL = {p.url: p for p in PARAMS}
assert len(PARAM_BY_URL) == len(PARAMS), "URL names must be unique"


def parse_query(query, params, defaults):
    """``(values, bad)``: the typed value of each of ``params`` (its value in ``query``, else ``defaults[url]``), and
    ``(name, raw, default text)`` for each value in the query that was garbage and fell back to its default."""
    values, bad = {}, []
    for p in params:
        raw = query.get(p.url)
        values[p.url] = defaults[p.url]
        if raw is None:
            continue
        try:
            values[p.url] = p.parse(str(raw))
        except ValueError:
            bad.append((p.url, str(raw), p.format(defaults[p.url])))
    return values, bad


def config_values(config, mode="compare"):
    """The knob values of a config, by URL name."""
    values = {k.url: getattr(config, k.field) for k in KNOBS if k.field not in ("depth", "width", "mode")}
    values.update(mode=mode, depth=len(config.hidden), width=config.hidden[0])
    return values


def config_to_query(config, mode="compare"):
    """The query-string dict of a config (hidden layers are depth × width, the same width in every layer)."""
    return {url: KNOB_BY_URL[url].format(v) for url, v in config_values(config, mode).items()}


def values_to_config(values, base=TrainConfig()):
    """``(config, mode)`` from typed knob values by URL name (the widgets' values, or a parsed query)."""
    values = dict(values)
    mode = values.pop("mode")
    depth, width = values.pop("depth"), values.pop("width")
    fields = {KNOB_BY_URL[url].field: knob.kind(values[url]) for url, knob in KNOB_BY_URL.items() if url in values}
    return base.replace(hidden=(int(width),) * int(depth), **fields), mode


def query_to_config(query, base=TrainConfig()):
    """``(config, mode, bad)`` from a query-string mapping (see parse_query). Names that are not knobs are ignored
    (lang, seed, ... are the shell's)."""
    values, bad = parse_query(query, KNOBS, config_values(base))
    return *values_to_config(values, base), bad
