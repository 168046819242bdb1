"""TrainConfig <-> URL query string, so a link opens the exact experiment. Pure functions (no streamlit).

Each knob has a short URL name, a parser and a range; a garbage value falls back to the default and is reported.
"""
import math
from dataclasses import dataclass

from bn_core import ACTIVATIONS, BN_POSITIONS, DATASETS, INITS, PREPROCESSING, TrainConfig

MODES = ("compare", "single")
MAX_DEPTH, MAX_WIDTH = 6, 512


@dataclass(frozen=True)
class Knob:
    url: str  # name in the query string
    field: str  # TrainConfig field, or "depth"/"width" (the hidden tuple) or "mode"
    kind: type  # int, float, bool or str
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


def config_values(config, mode="compare"):
    """The knob values of a config, by URL name."""
    values = {k.url: getattr(config, k.field) for k in KNOBS if k.field not in ("depth", "width", "mode")}
    values.update(mode=mode, depth=len(config.hidden), width=config.hidden[0])
    return values


def config_to_query(config, mode="compare"):
    """The query-string dict of a config (hidden layers are depth × width, the same width in every layer)."""
    return {url: KNOB_BY_URL[url].format(v) for url, v in config_values(config, mode).items()}


def query_to_config(query, base=TrainConfig()):
    """``(config, mode, bad)`` from a query-string mapping; ``bad`` lists ``(name, raw, default)`` for each value
    that was garbage and fell back to the default. Unknown names are ignored (lang, seed are the shell's)."""
    values, bad = config_values(base), []
    for url, knob in KNOB_BY_URL.items():
        raw = query.get(url)
        if raw is None:
            continue
        try:
            values[url] = knob.parse(raw)
        except ValueError:
            bad.append((url, raw, knob.format(values[url])))
    mode = values.pop("mode")
    depth, width = values.pop("depth"), values.pop("width")
    fields = {KNOB_BY_URL[url].field: v for url, v in values.items()}
    return base.replace(hidden=(width,) * depth, **fields), mode, bad
