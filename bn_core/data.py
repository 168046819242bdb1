"""Datasets: scikit-learn digits, TensorFlow-Playground-style 2-D sets and CSV uploads, with a seeded
stratified split and preprocessing fitted on the training split only. Pure NumPy + pandas."""
from __future__ import annotations

import functools
import io
import math
import os
import re
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


class ScalingError(ValueError):
    """Scaling gave a value that is not a finite number (e.g. the data span more than float64 can hold)."""

    def __init__(self, column: int, mode: str):
        self.column, self.mode = column, mode
        super().__init__(f"{mode} scaling of column {column} gives values that are not finite")


def _finite_or_raise(parts, mode):
    finite = np.logical_and.reduce([np.isfinite(p).all(axis=0) for p in parts])
    if not finite.all():
        raise ScalingError(int(np.argmin(finite)), mode)


def preprocess(X_train, X_test, mode: str):
    """Scale both parts with statistics of the training part only (so the test part may fall outside).

    Raises ScalingError (a ValueError) rather than return a value that is not finite; never warns."""
    if mode not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {PREPROCESSING}")
    tr, te = np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    with np.errstate(all="ignore"):  # overflow or 0/0 is refused below with a ScalingError, not warned about
        out = _scale(tr, te, mode)
    _finite_or_raise(out, mode)
    return out


def _scale(tr, te, mode):
    if mode == "raw":
        return tr.copy(), te.copy()
    if mode == "standardize":
        # Per column: first onto [0, 1] by the training range, then z-score. The same result as (x - mean) / std,
        # but squares of tiny (1e-200) values cannot underflow to a zero std and squares of huge ones cannot overflow.
        lo, span = tr.min(axis=0), tr.max(axis=0) - tr.min(axis=0)
        const = span == 0  # exact test: a constant column's float std can be a tiny nonzero
        span = np.where(const, 1.0, span)
        u_tr, u_te = (tr - lo) / span, (te - lo) / span
        mean, std = u_tr.mean(axis=0), np.where(const, 1.0, u_tr.std(axis=0))
        out = (u_tr - mean) / std, (u_te - mean) / std
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
    """Split and preprocess given arrays; labels of any values are mapped to 0..k-1 in sorted order.

    Raises ScalingError when the scaled features (in dtype) are not all finite."""
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
    with np.errstate(over="ignore"):  # raw values beyond float32's range: refused just below
        X_tr, X_te = X_tr.astype(dtype), X_te.astype(dtype)
    _finite_or_raise((X_tr, X_te), preprocessing)
    return Dataset(X_tr, y_tr, X_te, y_te, len(classes), name)


def make_dataset(name: str, *, preprocessing: str = "standardize", n_samples: int = 600, noise: float = 0.1,
                 test_fraction: float = 0.25, seed: int = 0, dtype=np.float32) -> Dataset:
    """A built-in dataset, split and preprocessed. For "digits", n_samples and noise are ignored."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS} (use load_csv for csv)")
    X, y = load_digits() if name == "digits" else make_2d(name, n_samples, noise, seed)
    return dataset_from_arrays(X, y, name=name, preprocessing=preprocessing, test_fraction=test_fraction,
                               seed=seed, dtype=dtype)


# ---- CSV upload: numeric feature columns + one label column ----
# The limits, decided here once (the upload help text in assets/i18n/*/playground.toml states them).
MAX_CSV_BYTES = 5 * 1024 * 1024  # .streamlit/config.toml lets larger files through, so this message is the one met
MAX_CSV_ROWS = 20_000  # data rows, the header not counted
MAX_CSV_COLUMNS = 256  # the features and the label
MAX_CSV_CLASSES = 100  # distinct labels; thousands means a measurement was taken for the label
MAX_CSV_ABS_VALUE = 1e38  # float32, the training dtype, holds at most 3.4e38; below it float64 squares stay finite
MIN_CSV_ROWS, MIN_CSV_ROWS_PER_CLASS = 10, 2  # enough for a stratified split with every class in both parts
MAX_SHOWN_CHARS = 40  # user text (a column name, a cell) echoed in a message is cut to this length
_NA = ["", "na", "nan", "n/a", "null", "none"]
_SEPARATORS = ",;\t"


def short_text(value) -> str:
    """User text made safe to echo in one line: control characters -> spaces, cut to MAX_SHOWN_CHARS with "…".

    The app still shows it literally (as text, never as Markdown or HTML)."""
    text = str(value)
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS - 1] + "…"
    return "".join(c if c.isprintable() else " " for c in text)


def _short_list(names, most=10) -> str:
    return ", ".join(short_text(n) for n in names[:most]) + (", …" if len(names) > most else "")


class CsvError(ValueError):
    """A problem with an uploaded CSV; the app shows "csv_error.<code>" translated and formatted with params.

    A param that echoes user text (a column name, a cell) has been through short_text already."""
    code = "error"
    template = "invalid CSV"

    def __init__(self, detail: str = "", **params):
        self.params = params
        message = self.template.format(**params)
        super().__init__(f"{message} ({detail})" if detail else message)


class CsvFileTooLargeError(CsvError):
    code, template = "file_too_large", "the file is {size_mb} MB; the limit is {limit_mb} MB"


class CsvEmptyError(CsvError):
    code, template = "empty", "the file is empty"


class CsvHeaderOnlyError(CsvError):
    code, template = "header_only", "the file has a header but no data rows"


class CsvBinaryError(CsvError):
    code, template = "binary", "the file is binary data (a spreadsheet? an image?), not CSV text"


class CsvEncodingError(CsvError):
    code, template = "encoding", "the file is neither UTF-8 nor UTF-16 text"


class CsvParseError(CsvError):
    code, template = "parse", "the file is not readable CSV (an unclosed quote?)"


class CsvRaggedRowError(CsvError):
    code, template = "ragged_row", "line {line} has {actual} fields, the header has {expected}"


class CsvUnnamedColumnError(CsvError):
    code, template = "unnamed_column", "column {position} has no name in the header"


class CsvDuplicateColumnError(CsvError):
    code, template = "duplicate_columns", "column names used more than once: {columns}"


class CsvTooLargeError(CsvError):
    code, template = "too_large", "too many {what}: {actual} (limit {limit})"


class CsvUnknownLabelError(CsvError):
    code, template = "unknown_label", "no column {column!r}; available: {available}"


class CsvTooFewFeaturesError(CsvError):
    code, template = "no_features", "the file has only the label column {label_column!r}"


class CsvTooFewRowsError(CsvError):
    code, template = "too_few_rows", "{rows} data rows; need at least {minimum}"


class CsvMissingValueError(CsvError):
    code, template = "missing", "missing value in column {column!r}, row {row}"


class CsvNonNumericError(CsvError):
    code, template = "non_numeric", "non-numeric value {value!r} in column {column!r}, row {row}"


class CsvOutOfRangeError(CsvError):
    code, template = "out_of_range", "{value!r} in column {column!r}, row {row} is not a finite number within ±{limit}"


class CsvSingleClassError(CsvError):
    code, template = "single_class", "label column {label_column!r} holds a single class"


class CsvTooManyClassesError(CsvError):
    code, template = "too_many_classes", "label column {label_column!r} has {classes} classes (limit {limit})"


class CsvSmallClassError(CsvError):
    code, template = "small_class", "class {value!r} of {label_column!r} has {count} row(s); each needs {per_class}"


class CsvScaleError(CsvError):
    code, template = "scale_overflow", "scaling column {column!r} overflows: its values span too many magnitudes"


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):  # a str is a path, not CSV text
        size = os.path.getsize(source)
        if size > MAX_CSV_BYTES:  # refuse before reading a huge file
            raise _file_too_large(size)
        with open(source, "rb") as f:
            return f.read()
    data = source.getvalue() if hasattr(source, "getvalue") else source.read()  # getvalue ignores the position
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _file_too_large(size):
    size_mb = math.ceil(size / 2**20 * 10) / 10  # rounded up: a file just over 5 MB must not read "5.0 MB"
    return CsvFileTooLargeError(size_mb=size_mb, limit_mb=MAX_CSV_BYTES // 2**20)


def _encoding(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte-order mark (Excel's "Unicode text")
        return "utf-16"
    head = data[:4096]
    if len(data) % 2 == 0 and b"\x00" in head:  # UTF-16 without a mark: every other byte of ASCII text is NUL
        if not head[1::2].strip(b"\x00"):
            return "utf-16-le"
        if not head[::2].strip(b"\x00"):
            return "utf-16-be"
    return "utf-8-sig"


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM) or UTF-16 bytes -> text; CsvError for too large, binary, other or no text."""
    if len(data) > MAX_CSV_BYTES:
        raise _file_too_large(len(data))
    encoding = _encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        binary = encoding == "utf-8-sig" and b"\x00" in data
        raise (CsvBinaryError if binary else CsvEncodingError)(str(exc)[:200]) from exc
    if "\x00" in text:  # binary files often decode "fine" in places; NUL never appears in CSV text
        raise CsvBinaryError()
    if not text.strip():
        raise CsvEmptyError()
    return text


_HEADER_LINE = re.compile(r'(?:"[^"]*"|[^"\r\n])*')  # the first line; a quoted name may hold , ; tab or a newline
_QUOTED = re.compile(r'"[^"]*"')
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _separator(text: str) -> tuple[str, int]:
    """The header's separator -- the most frequent of , ; tab outside quotes, ties -> ',' -- and its field count."""
    outside = _QUOTED.sub("", _HEADER_LINE.match(text.lstrip("\r\n")).group())
    sep = max(_SEPARATORS, key=outside.count)
    return sep, outside.count(sep) + 1


def _read_rows(text: str, nrows: int | None = None) -> pd.DataFrame:
    """Every row as text cells, the header as row 0 (header=None, so pandas does not rename duplicate names)."""
    sep, width = _separator(text)
    if width > MAX_CSV_COLUMNS:  # refused before pandas builds a frame that wide
        raise CsvTooLargeError(what="columns", limit=MAX_CSV_COLUMNS, actual=width)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, header=None, nrows=nrows, dtype=str, keep_default_na=False,
                           skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise CsvEmptyError() from exc
    except Exception as exc:  # any pandas failure is a user-facing parse error
        ragged = _RAGGED.search(str(exc))
        if ragged:
            expected, line, actual = map(int, ragged.groups())
            raise CsvRaggedRowError(line=line, actual=actual, expected=expected) from exc
        raise CsvParseError(str(exc)[:200]) from exc


def _header(rows: pd.DataFrame) -> list[str]:
    columns = [str(c).strip() for c in rows.iloc[0]]
    if len(columns) > MAX_CSV_COLUMNS:
        raise CsvTooLargeError(what="columns", limit=MAX_CSV_COLUMNS, actual=len(columns))
    if "" in columns:
        raise CsvUnnamedColumnError(position=columns.index("") + 1)
    repeated = list(dict.fromkeys(c for i, c in enumerate(columns) if c in columns[:i]))
    if repeated:  # a name must say which column it is: the label selector and the loader must agree
        raise CsvDuplicateColumnError(columns=_short_list(repeated))
    return columns


def csv_columns(source: bytes | str | os.PathLike | IO) -> list[str]:
    """The column names exactly as load_csv reads them (same decoding, separator and parser), e.g. to offer the
    label column. Raises the CsvError load_csv would raise for the file itself or its header."""
    return _header(_read_rows(_decode(_read_bytes(source)), nrows=1))


def _first_bad_row(bad: np.ndarray) -> int:
    return int(np.argmax(bad)) if bad.any() else len(bad)


def load_csv(source: bytes | str | os.PathLike | IO, label_column: str | None = None):
    """Parse a CSV with a header -> (X float64, y int64 0..k-1, feature_names). label_column None: the last.

    Separator , ; or tab (from the header); UTF-8 (with or without a BOM) or UTF-16. Labels may be numbers (sorted
    numerically) or text (sorted as text). Raises a CsvError subclass, never a NumPy warning."""
    rows = _read_rows(_decode(_read_bytes(source)))
    columns = _header(rows)
    n = len(rows) - 1
    if n == 0:
        raise CsvHeaderOnlyError()
    if n > MAX_CSV_ROWS:
        raise CsvTooLargeError(what="rows", limit=MAX_CSV_ROWS, actual=n)
    label = columns[-1] if label_column is None else str(label_column).strip()
    if label not in columns:
        raise CsvUnknownLabelError(column=short_text(label), available=_short_list(columns))
    features = [c for c in columns if c != label]
    if not features:
        raise CsvTooFewFeaturesError(label_column=short_text(label))
    if n < MIN_CSV_ROWS:
        raise CsvTooFewRowsError(rows=n, minimum=MIN_CSV_ROWS)

    # Column by column as pandas text (a NumPy string array would be as wide as the longest cell, for every cell).
    cells = {c: rows.iloc[1:, columns.index(c)].str.strip().reset_index(drop=True) for c in features + [label]}
    missing = {c: cells[c].str.lower().isin(_NA).to_numpy() for c in cells}
    X = np.column_stack([pd.to_numeric(cells[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
                         for c in features])
    with np.errstate(invalid="ignore"):  # NaN compares False: refused as missing or non-numeric below
        in_range = np.abs(X) <= MAX_CSV_ABS_VALUE
    first = [(_first_bad_row(missing[c] | ~in_range[:, j]), j) for j, c in enumerate(features)]
    first.append((_first_bad_row(missing[label]), len(features)))
    r, j = min(first)  # row-major: the first bad cell a reader meets
    if r < n:
        column = (features + [label])[j]
        params = dict(column=short_text(column), row=r + 1)
        value = short_text(cells[column][r])
        if missing[column][r]:
            raise CsvMissingValueError(**params)
        if np.isnan(X[r, j]) and not _NUMBER.fullmatch(cells[column][r]):  # pandas gives NaN for a 400-digit number
            raise CsvNonNumericError(**params, value=value)
        raise CsvOutOfRangeError(**params, value=value, limit=f"{MAX_CSV_ABS_VALUE:g}")

    text = cells[label]
    as_numbers = pd.to_numeric(text, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    y, classes = pd.factorize(as_numbers if np.isfinite(as_numbers).all() else text.to_numpy(object), sort=True)
    if len(classes) < 2:
        raise CsvSingleClassError(label_column=short_text(label))
    if len(classes) > MAX_CSV_CLASSES:
        raise CsvTooManyClassesError(label_column=short_text(label), classes=len(classes), limit=MAX_CSV_CLASSES)
    counts = np.bincount(y)
    if counts.min() < MIN_CSV_ROWS_PER_CLASS:
        k = int(np.argmin(counts))
        raise CsvSmallClassError(label_column=short_text(label), value=short_text(text[int(np.argmax(y == k))]),
                                 count=int(counts[k]), per_class=MIN_CSV_ROWS_PER_CLASS)
    return X, y.astype(np.int64), features


def load_csv_dataset(source: bytes | str | os.PathLike | IO, label_column: str | None = None, *,
                     preprocessing: str = "standardize", test_fraction: float = 0.25, seed: int = 0,
                     dtype=np.float32) -> tuple[Dataset, list[str]]:
    """load_csv, then dataset_from_arrays -> (Dataset named "csv", feature_names). Every problem with the file,
    including features whose scaling overflows on this split, is a CsvError."""
    X, y, features = load_csv(source, label_column)
    try:
        dataset = dataset_from_arrays(X, y, name="csv", preprocessing=preprocessing, test_fraction=test_fraction,
                                      seed=seed, dtype=dtype)
    except ScalingError as err:
        raise CsvScaleError(column=short_text(features[err.column])) from err
    return dataset, features
