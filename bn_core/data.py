"""Datasets: scikit-learn digits, TensorFlow-Playground-style 2-D sets and CSV uploads, with a seeded
stratified split and preprocessing fitted on the training split only. Pure NumPy + pandas."""
from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pandas as pd

DATASETS = ("digits", "spiral", "circles", "xor", "gaussian")  # "csv" is handled by load_csv
PREPROCESSING = ("raw", "unit", "symmetric", "standardize")  # raw | [0,1] | [-1,1] | per-feature z-score


@dataclass(frozen=True, eq=False)  # eq=False: a field-wise == on arrays is ambiguous, so identity eq/hash
class Dataset:
    """A train/test split ready for training; y holds labels 0..n_classes-1."""
    X_train: np.ndarray = field(repr=False)  # repr=False: printing a Dataset should not dump the arrays
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    n_classes: int
    name: str

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def is_2d(self) -> bool:
        """True when the decision boundary can be drawn in the input plane."""
        return self.n_features == 2


@functools.lru_cache(maxsize=1)
def _digits_cached():
    from sklearn.datasets import load_digits as sk_load_digits  # lazy: importing sklearn is slow
    X, y = sk_load_digits(return_X_y=True)
    return X.astype(np.float64), y.astype(np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: X (1797, 64) with values 0..16, y (1797,) in 0..9."""
    X, y = _digits_cached()
    return X.copy(), y.copy()  # copies, so a caller cannot corrupt the cache


# The TF Playground draws within radius 5; its noise slider tops out at 0.5, which is our noise 1.
def _spiral(rng, n0, n1, jitter):
    arms = []
    for n, turn in ((n0, 0.0), (n1, np.pi)):
        i = np.arange(n) / n
        r, t = 5 * i, 1.75 * 2 * np.pi * i + turn
        arms.append(np.column_stack([r * np.sin(t), r * np.cos(t)]) + rng.uniform(-1, 1, (n, 2)) * jitter)
    return np.vstack(arms)


def _circles(rng, n0, n1, jitter):
    r = np.concatenate([rng.uniform(3.5, 5, n0), rng.uniform(0, 2.5, n1)])  # class 0 outer ring, 1 inner disc
    a = rng.uniform(0, 2 * np.pi, n0 + n1)
    return np.column_stack([r * np.sin(a), r * np.cos(a)]) + rng.uniform(-5, 5, (n0 + n1, 2)) * jitter


def _xor(rng, n0, n1, jitter):
    mag = rng.uniform(0.3, 5.3, (n0 + n1, 2))  # kept 0.3 off the axes, as in the Playground
    sx = rng.choice([-1.0, 1.0], n0 + n1)
    sy = np.concatenate([-sx[:n0], sx[n0:]])  # class 1: x*y > 0; fixed signs keep the classes balanced
    return mag * np.column_stack([sx, sy]) + rng.uniform(-5, 5, (n0 + n1, 2)) * jitter


def _gaussian(rng, n0, n1, jitter):
    std = 0.5 + 7 * jitter  # the Playground maps noise 0..0.5 to a spread of 0.5..4
    centers = np.repeat([[-2.0, -2.0], [2.0, 2.0]], [n0, n1], axis=0)
    return centers + rng.normal(0, std, (n0 + n1, 2))


_MAKERS = {"spiral": _spiral, "circles": _circles, "xor": _xor, "gaussian": _gaussian}


def make_2d(name: str, n_samples: int = 600, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A two-class 2-D set; noise in [0, 1] scales the jitter (0 = clean). Deterministic for a seed."""
    if name not in _MAKERS:
        raise ValueError(f"unknown 2-D dataset {name!r}; expected one of {tuple(_MAKERS)}")
    if n_samples < 4:
        raise ValueError(f"n_samples must be at least 4, got {n_samples}")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be in [0, 1], got {noise}")
    rng = np.random.default_rng(seed)
    n1 = n_samples // 2
    n0 = n_samples - n1
    X = _MAKERS[name](rng, n0, n1, noise / 2)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n1])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def split(X, y, test_fraction: float = 0.25, seed: int = 0):
    """Seeded stratified split -> (X_train, y_train, X_test, y_test); every class with 2+ rows is in both parts."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = min(max(round(len(idx) * test_fraction), 1), len(idx) - 1)  # a singleton class stays in training
        test.append(idx[:k])
        train.append(idx[k:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    if not len(train) or not len(test):
        raise ValueError("too few rows for a train/test split")
    return X[train], y[train], X[test], y[test]


def preprocess(X_train, X_test, mode: str):
    """Scale both parts with statistics of the training part only (so the test part may fall outside)."""
    if mode not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {PREPROCESSING}")
    tr, te = np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    if mode == "raw":
        return tr.copy(), te.copy()
    if mode == "standardize":
        mean, std = tr.mean(axis=0), tr.std(axis=0)
        const = tr.max(axis=0) == tr.min(axis=0)  # exact test: a constant column's float std can be a tiny nonzero
        scale = np.where(const, 1.0, std)
        out = (tr - mean) / scale, (te - mean) / scale
        for part in out:
            part[:, const] = 0.0
        return out
    lo, hi = tr.min(), tr.max()
    if hi == lo:
        return np.zeros_like(tr), np.zeros_like(te)
    tr, te = (tr - lo) / (hi - lo), (te - lo) / (hi - lo)
    return (tr, te) if mode == "unit" else (2 * tr - 1, 2 * te - 1)


def dataset_from_arrays(X, y, *, name="csv", preprocessing="standardize", test_fraction=0.25, seed=0,
                        dtype=np.float32) -> Dataset:
    """Split and preprocess given arrays; labels of any values are mapped to 0..k-1 in sorted order."""
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing mode {preprocessing!r}; expected one of {PREPROCESSING}")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
    try:
        classes, labels = np.unique(y, return_inverse=True)
    except TypeError:  # mixed ints and strings do not sort together
        classes, labels = np.unique(y.astype(str), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("need at least two classes")
    X_tr, y_tr, X_te, y_te = split(X, labels.astype(np.int64), test_fraction, seed)
    X_tr, X_te = preprocess(X_tr, X_te, preprocessing)
    return Dataset(X_tr.astype(dtype), y_tr, X_te.astype(dtype), y_te, len(classes), name)


def make_dataset(name: str, *, preprocessing: str = "standardize", n_samples: int = 600, noise: float = 0.1,
                 test_fraction: float = 0.25, seed: int = 0, dtype=np.float32) -> Dataset:
    """A built-in dataset, split and preprocessed. For "digits", n_samples and noise are ignored."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS} (use load_csv for csv)")
    X, y = load_digits() if name == "digits" else make_2d(name, n_samples, noise, seed)
    return dataset_from_arrays(X, y, name=name, preprocessing=preprocessing, test_fraction=test_fraction,
                               seed=seed, dtype=dtype)


# ---- CSV upload: numeric feature columns + one label column ----
MAX_CSV_ROWS = 20_000
MAX_CSV_COLUMNS = 256
MAX_CSV_BYTES = 5 * 1024 * 1024
_MIN_CSV_ROWS, _MIN_PER_CLASS = 10, 2  # enough for a stratified split with every class in both parts
_NA = ["", "na", "nan", "n/a", "null", "none"]


class CsvError(ValueError):
    """A problem with an uploaded CSV; the app shows "csv_error.<code>" translated and formatted with params."""
    code = "error"
    template = "invalid CSV"

    def __init__(self, detail: str = "", **params):
        self.params = params
        message = self.template.format(**params)
        super().__init__(f"{message} ({detail})" if detail else message)


class CsvEmptyError(CsvError):
    code, template = "empty", "the file has no data rows"


class CsvParseError(CsvError):
    code, template = "parse", "the file is not readable CSV text"


class CsvNonNumericError(CsvError):
    code, template = "non_numeric", "non-numeric value {value!r} in column {column!r}, row {row}"


class CsvMissingValueError(CsvError):
    code, template = "missing", "missing value in column {column!r}, row {row}"


class CsvSingleClassError(CsvError):
    code, template = "single_class", "label column {label_column!r} holds a single class"


class CsvTooLargeError(CsvError):
    code, template = "too_large", "too many {what}: {actual} (limit {limit})"


class CsvUnknownLabelError(CsvError):
    code, template = "unknown_label", "no column {column!r}; available: {available}"


class CsvTooFewFeaturesError(CsvError):
    code, template = "no_features", "the file has only a label column"


class CsvTooFewRowsError(CsvError):
    code, template = "too_few_rows", "{rows} rows; need at least {minimum} and {per_class} per class"


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):  # a str is a path, not CSV text
        size = os.path.getsize(source)
        if size > MAX_CSV_BYTES:  # refuse before reading a huge file
            raise CsvTooLargeError(what="bytes", limit=MAX_CSV_BYTES, actual=size)
        with open(source, "rb") as f:
            return f.read()
    data = source.getvalue() if hasattr(source, "getvalue") else source.read()  # getvalue ignores the position
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def load_csv(source: bytes | str | os.PathLike | IO, label_column: str | None = None):
    """Parse a CSV with a header -> (X float64, y int64 0..k-1, feature_names). label_column None: the last.

    Labels may be numbers (sorted numerically) or strings (sorted as text). Raises a CsvError subclass."""
    data = _read_bytes(source)
    if len(data) > MAX_CSV_BYTES:
        raise CsvTooLargeError(what="bytes", limit=MAX_CSV_BYTES, actual=len(data))
    if not data.strip():
        raise CsvEmptyError()
    if b"\x00" in data:  # binary files often decode "fine" in places, NUL never appears in CSV text
        raise CsvParseError("binary data")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvParseError("not UTF-8 text") from exc
    sep = max(",;\t", key=text.split("\n", 1)[0].count)  # the header's most frequent separator, ties -> ','
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise CsvEmptyError() from exc
    except Exception as exc:  # any pandas failure is a user-facing parse error
        raise CsvParseError(str(exc)[:200]) from exc
    if df.empty:
        raise CsvEmptyError()
    if df.shape[1] > MAX_CSV_COLUMNS:
        raise CsvTooLargeError(what="columns", limit=MAX_CSV_COLUMNS, actual=df.shape[1])
    if len(df) > MAX_CSV_ROWS:
        raise CsvTooLargeError(what="rows", limit=MAX_CSV_ROWS, actual=len(df))
    columns = [str(c).strip() for c in df.columns]
    label = columns[-1] if label_column is None else str(label_column).strip()
    if label not in columns:
        raise CsvUnknownLabelError(column=label, available=", ".join(columns))
    features = [c for c in columns if c != label]
    if not features:
        raise CsvTooFewFeaturesError()

    cells = np.char.strip(df.to_numpy(dtype=str))
    cells = np.column_stack([cells[:, [columns.index(c) for c in features]], cells[:, columns.index(label)]])
    n, d = len(cells), len(features)
    missing = np.isin(np.char.lower(cells), _NA)
    X = pd.to_numeric(cells[:, :d].ravel(), errors="coerce").astype(np.float64).reshape(n, d)
    bad = missing.copy()
    bad[:, :d] |= ~np.isfinite(X)  # inf is as useless to training as text
    if bad.any():
        r, c = np.argwhere(bad)[0]  # row-major: the first bad cell a reader meets
        column = (features + [label])[c]
        if missing[r, c]:
            raise CsvMissingValueError(column=column, row=int(r) + 1)
        raise CsvNonNumericError(column=column, row=int(r) + 1, value=str(cells[r, c])[:50])

    raw = cells[:, d]
    as_numbers = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    classes, y = np.unique(as_numbers if np.isfinite(as_numbers).all() else raw, return_inverse=True)
    if len(classes) < 2:
        raise CsvSingleClassError(label_column=label)
    if n < _MIN_CSV_ROWS or np.bincount(y).min() < _MIN_PER_CLASS:
        raise CsvTooFewRowsError(rows=n, minimum=_MIN_CSV_ROWS, per_class=_MIN_PER_CLASS)
    return X, y.astype(np.int64), features
