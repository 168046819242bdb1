"""What several lessons share: the paper's network, reading a record at a step, and the sentences every lesson says
the same way (a run that diverged, a layer's name). No streamlit."""
import numpy as np

from bn_core import TrainConfig, load_data
from lab.caches import memoized
from lab.i18n import t

# The paper's Figure 1 network on the bundled digits: 3 hidden layers × 100 sigmoid units, BN before the sigmoid,
# mini-batches of 60. Lessons vary a knob or two of it.
PAPER_NET = TrainConfig(dataset="digits", hidden=(100, 100, 100), activation="sigmoid", batchnorm=True,
                        bn_position="before", preprocessing="standardize", init="normal", init_sigma=0.1, lr=0.5,
                        batch_size=60)


def bn_pair(config):
    """(with BN, without BN) of a config: same seed, so the same initial weights and the same mini-batches."""
    return config.replace(batchnorm=True), config.replace(batchnorm=False)


def last(record, metric):
    """The last finite recorded value of a metric (a diverged run: its last good record); NaN without one."""
    values = record.metric(metric)
    values = values[np.isfinite(values)]
    return float(values[-1]) if len(values) else float("nan")


def recorded_steps(*records):
    """Every step at which any of the runs recorded, in order (a diverged or stopped run records fewer)."""
    return sorted({int(s) for r in records if r is not None for s in r.steps})


def record_index(record, step):
    """The index of the last record at or before ``step``; None when the run has no record yet."""
    if record is None or not record.snapshots:
        return None
    return max(0, int(np.searchsorted(record.steps, step, side="right")) - 1)


def reached(record, step):
    """True when the run recorded ``step`` or later (a run that diverged or stopped earlier did not)."""
    return record is not None and bool(record.snapshots) and int(record.steps[-1]) >= step


def hists_at(record, step):
    """Per hidden layer, the activation-input histogram counts on HIST_EDGES at the last record at or before
    ``step``; None when the run has no record yet."""
    i = record_index(record, step)
    if i is None:
        return None
    return [record.dist_series(layer)[1][i] for layer in range(record.n_layers)]


def preselect(state, key, owner, default):
    """Set widget ``key`` to ``default`` when what it belongs to (``owner``: a run, a layer) changed since the last
    rerun, or on a first visit; otherwise keep the user's choice. ``state`` is st.session_state or any dict."""
    if state.get(f"{key}__owner") != owner or key not in state:
        state[f"{key}__owner"] = owner
        state[key] = default


def layer_title(i):
    """"Layer 3" for index 2: hidden layers are counted from 1 on every page."""
    return t("common.layer", n=i + 1)


def layer_titles(n):
    return [layer_title(i) for i in range(n)]


def divergence_message(name, record):
    """"<name> diverged at step N (why). <the fix>", or None when the run did not diverge."""
    if record is None or record.divergence is None:
        return None
    d = record.divergence
    return t("common.diverged", name=name, step=d.step, reason=t(f"divergence.{d.reason}"),
             fix=t("common.diverged_fix"))


def divergence_messages(names, records):
    return [m for name, r in zip(names, records) if (m := divergence_message(name, r)) is not None]


def metric_text():
    """The words of a loss-and-accuracy chart (lab.figures.common.metric_curves), in the user's language."""
    return dict(titles=(t("common.loss_title"), t("common.accuracy_title")),
                axis=dict(x=t("common.step"), loss=t("common.loss"), accuracy=t("common.accuracy"),
                          train=t("common.train"), test=t("common.test")),
                divergence_text=t("common.diverged_short", step="{step}"))  # the figure fills in each run's step


@memoized(8)
def dataset(config):
    """bn_core.load_data(config), kept for every session (the Playground asks for it on every rerun): read-only."""
    return load_data(config)
