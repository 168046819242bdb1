"""The linked training timeline (saturation lesson, Playground): what the runs recorded at one step — per-layer
histograms, γ and β, the model for the decision boundary — and the steps an animation plays. No streamlit."""
import numpy as np

from lab.caches import memoized
from lab.lessons.common import hists_at, reached, record_index

MAX_FRAMES = 60  # an animation plays at most this many records (evenly spread): the figure stays small to send


def frame_steps(steps, max_frames=MAX_FRAMES):
    """At most ``max_frames`` of the recorded ``steps``, evenly spread, always with the first and the last."""
    steps = list(steps)
    if len(steps) <= max_frames:
        return steps
    picks = np.unique(np.round(np.linspace(0, len(steps) - 1, max_frames)).astype(int))
    return [steps[i] for i in picks]


def hists_of_runs(records, step):
    """Per run, the per-layer histogram counts at ``step``; None for a run that did not get that far."""
    return [hists_at(r, step) if reached(r, step) else None for r in records]


@memoized(64)
def frames(records, steps):
    """``(steps, hists)`` to animate: the frame steps and, per frame, hists_of_runs at that step. Shared: read-only."""
    picked = frame_steps(steps)
    return picked, [[None if h is None else [_frozen_copy(c) for c in h] for h in hists_of_runs(records, s)]
                    for s in picked]


def _frozen_copy(counts):
    """A read-only copy: a value whose digest lab/caches.py keeps, so that passing it on costs no hashing."""
    counts = np.array(counts)
    counts.flags.writeable = False
    return counts


def gamma_beta_at(record, step):
    """Per hidden layer, (γ, β) of every unit at the last record up to ``step``; None without BN or records."""
    i = record_index(record, step)
    if i is None or record.snapshots[i].layers[0].gamma is None:
        return None
    return [(np.asarray(ls.gamma, float), np.asarray(ls.beta, float)) for ls in record.snapshots[i].layers]


@memoized(64)
def gamma_beta_range(record):
    """((γ low, γ high), (β low, β high)) over every record of the run, padded, so that the units move on fixed axes
    as the step changes; None without BN."""
    layers = [ls for s in record.snapshots for ls in s.layers if ls.gamma is not None]
    if not layers:
        return None
    out = []
    for name, start in (("gamma", 1.0), ("beta", 0.0)):
        v = np.concatenate([np.asarray(getattr(ls, name), float) for ls in layers] + [[start]])
        v = v[np.isfinite(v)]
        lo, hi = float(v.min()), float(v.max())
        pad = max(hi - lo, 0.1) * 0.08
        out.append((lo - pad, hi + pad))
    return tuple(out)


def model_at(record, step):
    """A fresh model as it was at the last record up to ``step``, or None when the run did not keep its weights at
    every record (a large network: bn_core/train.py) or has no record yet."""
    i = record_index(record, step)
    if i is None or not record.has_weights_per_record:
        return None
    return record.build_model(i)


def predict_grid_at(record, step, points, n):
    """The classes the model at ``step`` predicts (eval mode) on the grid ``points``, as an (n, n) array; None for
    a run without weights at that step, or whose weights there are not finite."""
    if record is None or not reached(record, step):
        return None
    model = model_at(record, step)
    if model is None or not all(np.all(np.isfinite(p)) for p in model.parameters().values()):
        return None
    with np.errstate(all="ignore"):
        return model.predict(points).reshape(n, n)
