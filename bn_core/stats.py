"""Distribution statistics of a layer's values: percentiles, fixed-bin histograms, saturation, drift.

Everything here is a pure function of arrays (the recorder in probe.py calls it; lessons may too).
"""
import functools
from dataclasses import dataclass

import numpy as np

PERCENTILES = (1, 15, 50, 85, 99)
HIST_EDGES = np.linspace(-10.0, 10.0, 81)  # fixed bins so histograms compare across steps and runs
N_BINS = len(HIST_EDGES) - 1
assert np.array_equal(HIST_EDGES, np.arange(-40, 41) / 4)  # the multiples of 1/4: see fine_bins
FINE_PER_UNIT = 64  # fine bins, 16 per histogram bin, to find percentiles without sorting every value
FINE_LIMIT = int(HIST_EDGES[-1]) * FINE_PER_UNIT
FINE_BINS = 2 * FINE_LIMIT + 2
SATURATION_SHARE = 0.1  # "saturated": the derivative is below 10% of its maximum

# |x| beyond which sigmoid'(x) < 10% of sigmoid'(0) = 0.25, and tanh'(x) < 10% of tanh'(0) = 1.
SIGMOID_SATURATION_X = float(np.log((1 + np.sqrt(1 - SATURATION_SHARE)) / (1 - np.sqrt(1 - SATURATION_SHARE))))
TANH_SATURATION_X = float(np.arctanh(np.sqrt(1 - SATURATION_SHARE)))


def low_gradient_mask(activation, x):
    """True where the activation's derivative at x is below 10% of its maximum (saturated, or off for ReLU)."""
    if activation == "sigmoid":
        return np.abs(x) > SIGMOID_SATURATION_X
    if activation == "tanh":
        return np.abs(x) > TANH_SATURATION_X
    return x <= 0  # relu: derivative 0; leaky_relu: 0.01, i.e. 1% of its maximum


@dataclass
class DistSummary:
    """A distribution of values over (probe examples × units) of one layer."""

    percentiles: np.ndarray  # at PERCENTILES
    mean: float
    std: float
    hist: np.ndarray  # counts on HIST_EDGES, values outside the range counted in the end bins

    @classmethod
    def of(cls, values):
        return cls.of_many([values])[0]

    @classmethod
    def of_many(cls, arrays):
        """The summary of each array, computed in one pass over all their values: a snapshot needs two per layer,
        and a few NumPy operations on many values cost less than many operations on few."""
        parts = len(arrays)
        sizes = np.array([np.size(a) for a in arrays])
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        v = np.concatenate([np.ravel(a) for a in arrays])
        # Each array gets a range of fine bins of its own, after the previous array's: the bins order the values
        # within each array and keep the arrays apart.
        bins = fine_bins(v)
        bins += np.repeat(np.arange(parts) * FINE_BINS, sizes)
        counts = np.bincount(bins, minlength=parts * FINE_BINS)
        per_array = counts.reshape(parts, FINE_BINS)
        hist = per_array[:, 1:-1].reshape(parts, N_BINS, -1).sum(axis=2)  # 16 fine bins make one histogram bin
        hist[:, 0] += per_array[:, 0]  # and the end bins take everything beyond ±10
        hist[:, -1] += per_array[:, -1]
        means = np.add.reduceat(v, starts, dtype=np.float64) / sizes  # float32 sums of large values could overflow
        centered = v - np.repeat(means, sizes)  # float64
        stds = np.sqrt(np.add.reduceat(centered * centered, starts) / sizes)
        percentiles = binned_percentiles(v, bins, counts, starts, sizes, PERCENTILES)
        return [cls(p, float(m), float(s), h) for p, m, s, h in zip(percentiles, means, stds, hist)]

    def is_finite(self):
        return bool(np.isfinite(self.percentiles).all() and np.isfinite(self.mean) and np.isfinite(self.std))


def fine_bins(v):
    """The fine bin of each value: bin i in 1..1280 holds ((i − 641)/64, (i − 640)/64], bin 0 everything ≤ −10 and
    bin 1281 everything > 10. Exact, edges included: 64·v is exact in binary floating point, and ⌈64·v⌉ names the
    1/64-interval that v lies in. As the histogram bins are (edge, next edge], so are these."""
    limit = (FINE_LIMIT + 1) / FINE_PER_UNIT  # beyond ±10 it is the end bins anyway: clamp, so nothing overflows
    t = np.minimum(v, limit)  # (a Python float keeps float32 as float32)
    np.maximum(t, -limit, out=t)
    t *= FINE_PER_UNIT
    np.ceil(t, out=t)
    bins = t.astype(np.intp)
    bins += FINE_LIMIT
    return np.maximum(bins, 0, out=bins)


def binned_percentiles(v, bins, counts, starts, sizes, percentiles):
    """np.percentile's default (linear interpolation) of each part ``v[start:start + size]``, given the bin of each
    value and the counts per bin (bins in value order, each part's after the previous part's). Only the values in
    the few bins holding the order statistics needed are sorted, not all of them: same result, less work."""
    per_part = [_interpolation(int(n), tuple(percentiles)) for n in sizes]
    offsets = np.repeat(starts, len(percentiles))
    lo = np.concatenate([p[0] for p in per_part]) + offsets
    hi = np.concatenate([p[1] for p in per_part]) + offsets
    frac = np.array([p[2] for p in per_part])
    ranks = np.concatenate([lo, hi])  # of each order statistic needed, among all values sorted by (part, value)
    where = np.searchsorted(np.cumsum(counts), ranks, side="right")  # the bin holding each
    needed = np.zeros(len(counts), dtype=bool)
    needed[where] = True
    if counts[needed].sum() > len(v) // 2:  # most values in those few bins (e.g. beyond ±10): sort them all
        ordered = np.concatenate([np.sort(v[s:s + n]) for s, n in zip(starts, sizes)])
        at = ordered[ranks]
    else:
        skipped = np.where(needed, 0, counts)
        skipped_below = np.cumsum(skipped) - skipped  # values in bins left out, below each bin
        keep = needed[bins]
        picked, picked_bins = v[keep], bins[keep]
        at = picked[np.lexsort((picked, picked_bins))][ranks - skipped_below[where]]  # by bin, then value
    at = at.astype(np.float64)
    a, b = at[:len(lo)].reshape(frac.shape), at[len(lo):].reshape(frac.shape)
    return a + (b - a) * frac


def sorted_percentiles(s, percentiles):
    """np.percentile's default (linear interpolation) for data already sorted along axis 0."""
    lo, hi, frac = _interpolation(s.shape[0], tuple(percentiles))
    a, b = s[lo].astype(np.float64), s[hi].astype(np.float64)
    return a + (b - a) * frac.reshape((-1,) + (1,) * (s.ndim - 1))


@functools.lru_cache(maxsize=32)
def _interpolation(n, percentiles):
    """Indices of the two order statistics around each percentile of n sorted values, and the weight between."""
    pos = np.asarray(percentiles, dtype=float) / 100 * (n - 1)
    lo = np.floor(pos).astype(int)
    return lo, np.minimum(lo + 1, n - 1), pos - lo


def wasserstein_drift(sorted_now, sorted_prev, prev_std):
    """How far a layer's distribution moved between two records of the same probe examples: per unit, the 1-D
    Wasserstein distance between the two empirical distributions (the mean gap of the values sorted per unit),
    averaged over units, in units of the earlier layer-wide spread ``prev_std``."""
    gap = sorted_now - sorted_prev
    return float(np.abs(gap, out=gap).mean(dtype=np.float64) / (prev_std + 1e-8))
