import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bn_core import data
from bn_core.data import (
    DATASETS,
    MAX_CSV_BYTES,
    MAX_CSV_COLUMNS,
    MAX_CSV_ROWS,
    PREPROCESSING,
    CsvBinaryError,
    CsvEmptyError,
    CsvEncodingError,
    CsvError,
    CsvFileTooLargeError,
    CsvHeaderOnlyError,
    CsvMissingValueError,
    CsvNonNumericError,
    CsvOutOfRangeError,
    CsvParseError,
    CsvRaggedRowError,
    CsvSingleClassError,
    CsvSmallClassError,
    CsvTooFewFeaturesError,
    CsvTooFewRowsError,
    CsvTooLargeError,
    CsvUnknownLabelError,
    dataset_from_arrays,
    load_csv,
    load_digits,
    make_2d,
    make_dataset,
    preprocess,
    split,
)

TWO_D = [n for n in DATASETS if n != "digits"]


# ---- digits ----
def test_digits_shape_and_range():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16
    assert set(np.unique(y)) == set(range(10)) and y.dtype == np.int64


def test_digits_cache_cannot_be_corrupted():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0 and y2.min() == 0


# ---- 2-D sets ----
@pytest.mark.parametrize("name", TWO_D)
def test_2d_deterministic_and_two_balanced_classes(name):
    X, y = make_2d(name, n_samples=301, seed=3)
    X2, y2 = make_2d(name, n_samples=301, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.shape == (301, 2) and y.shape == (301,)
    assert sorted(np.unique(y)) == [0, 1] and abs(np.sum(y == 0) - np.sum(y == 1)) <= 1
    assert not np.array_equal(X, make_2d(name, n_samples=301, seed=4)[0])


@pytest.mark.parametrize("name", TWO_D)
def test_2d_noise_changes_points_and_range(name):
    clean, _ = make_2d(name, noise=0.0)
    noisy, _ = make_2d(name, noise=1.0)
    assert not np.allclose(clean, noisy)
    limit = 6 if name != "gaussian" else 8  # blobs are unbounded; clean ones stay close to +-2
    assert np.abs(clean).max() <= limit
    assert np.abs(make_2d(name)[0]).max() <= 8


def test_2d_labels_follow_the_shape_when_clean():
    X, y = make_2d("xor", noise=0.0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))
    X, y = make_2d("circles", noise=0.0)
    np.testing.assert_array_equal(y, (np.hypot(X[:, 0], X[:, 1]) < 3).astype(int))
    X, y = make_2d("gaussian", noise=0.0)
    assert X[y == 1].mean() > 1.5 and X[y == 0].mean() < -1.5


@pytest.mark.parametrize("kwargs", [dict(name="moons"), dict(name="xor", noise=1.5), dict(name="xor", n_samples=2)])
def test_2d_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        make_2d(**kwargs)


# ---- split ----
def test_split_is_stratified_disjoint_and_complete():
    X = np.arange(200, dtype=float).reshape(100, 2)  # row i is identified by X[i, 0]
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X_tr, y_tr, X_te, y_te = split(X, y, test_fraction=0.2, seed=1)
    assert len(X_tr) + len(X_te) == 100
    ids_tr, ids_te = set(X_tr[:, 0]), set(X_te[:, 0])
    assert not ids_tr & ids_te and ids_tr | ids_te == set(X[:, 0])
    np.testing.assert_array_equal(np.bincount(y_te), [12, 6, 2])
    np.testing.assert_array_equal(y[(X_tr[:, 0] // 2).astype(int)], y_tr)  # labels travel with their rows
    again = split(X, y, test_fraction=0.2, seed=1)
    np.testing.assert_array_equal(again[2], X_te)
    assert set(split(X, y, test_fraction=0.2, seed=2)[2][:, 0]) != ids_te  # another seed picks other rows


def test_split_keeps_tiny_classes_in_both_parts():
    y = np.array([0] * 8 + [1] * 2)
    _, y_tr, _, y_te = split(np.zeros((10, 1)), y, test_fraction=0.1)
    assert set(y_tr) == {0, 1} and set(y_te) == {0, 1}


@pytest.mark.parametrize("fraction", [0, 1, 1.5])
def test_split_bad_fraction_raises(fraction):
    with pytest.raises(ValueError):
        split(np.zeros((10, 1)), np.arange(10) % 2, test_fraction=fraction)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=2, max_size=60), st.floats(0.05, 0.95), st.integers(0, 10**6))
def test_split_property(labels, fraction, seed):
    y = np.array(labels)
    if all(np.bincount(y)[np.unique(y)] < 2):
        return  # no class can give a row to the test part
    X = np.arange(len(y), dtype=float)[:, None]
    X_tr, y_tr, X_te, y_te = split(X, y, fraction, seed)
    assert len(X_tr) and len(X_te)
    assert sorted(np.concatenate([X_tr[:, 0], X_te[:, 0]])) == list(range(len(y)))
    for c in np.unique(y):
        if np.sum(y == c) >= 2:
            assert c in y_tr and c in y_te


# ---- preprocessing ----
@pytest.fixture
def parts():
    rng = np.random.default_rng(0)
    X_tr = rng.normal(3, 2, (200, 4)) * [1, 10, 0.1, 1]
    X_te = rng.normal(3, 4, (80, 4)) * [1, 10, 0.1, 1]  # wider, so it falls outside the training range
    return X_tr, X_te


def test_unit_and_symmetric_ranges_use_training_statistics(parts):
    X_tr, X_te = parts
    u_tr, u_te = preprocess(X_tr, X_te, "unit")
    assert u_tr.min() == 0 and u_tr.max() == 1
    lo, hi = X_tr.min(), X_tr.max()
    np.testing.assert_allclose(u_te, (X_te - lo) / (hi - lo))
    s_tr, s_te = preprocess(X_tr, X_te, "symmetric")
    assert s_tr.min() == -1 and s_tr.max() == 1
    np.testing.assert_allclose(s_te, 2 * u_te - 1)
    assert s_te.min() < -1 or s_te.max() > 1


def test_standardize_uses_training_statistics(parts):
    X_tr, X_te = parts
    z_tr, z_te = preprocess(X_tr, X_te, "standardize")
    np.testing.assert_allclose(z_tr.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z_tr.std(axis=0), 1)
    np.testing.assert_allclose(z_te, (X_te - X_tr.mean(0)) / X_tr.std(0))
    assert abs(z_te.std(axis=0).mean() - 1) > 0.3


def test_raw_is_unchanged_and_inputs_are_not_mutated(parts):
    X_tr, X_te = parts
    before = X_tr.copy()
    r_tr, r_te = preprocess(X_tr, X_te, "raw")
    np.testing.assert_array_equal(r_tr, X_tr)
    np.testing.assert_array_equal(r_te, X_te)
    for mode in PREPROCESSING:
        preprocess(X_tr, X_te, mode)
    np.testing.assert_array_equal(X_tr, before)


@pytest.mark.parametrize("mode", PREPROCESSING)
def test_constant_features_give_no_nan(mode):
    X_tr = np.column_stack([np.full(50, 0.1), np.linspace(0, 1, 50)])
    X_te = np.column_stack([np.full(10, 0.7), np.linspace(0, 1, 10)])
    out = preprocess(X_tr, X_te, mode)
    assert all(np.isfinite(o).all() for o in out)
    if mode == "standardize":
        assert (out[0][:, 0] == 0).all() and (out[1][:, 0] == 0).all()
    all_const = preprocess(np.full((5, 2), 3.0), np.ones((2, 2)), mode)
    assert all(np.isfinite(o).all() for o in all_const)


def test_standardized_digits_have_no_nan():
    ds = make_dataset("digits")
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()


def test_unknown_mode_raises_naming_it(parts):
    with pytest.raises(ValueError, match="minmax"):
        preprocess(*parts, "minmax")


# ---- make_dataset / dataset_from_arrays ----
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_make_dataset_honours_dtype(dtype):
    ds = make_dataset("spiral", dtype=dtype)
    assert ds.X_train.dtype == dtype and ds.X_test.dtype == dtype
    assert ds.y_train.dtype == np.int64 and ds.is_2d and ds.n_features == 2 and ds.n_classes == 2
    assert len(ds.X_train) + len(ds.X_test) == 600 and ds.name == "spiral"


def test_make_dataset_digits():
    ds = make_dataset("digits", preprocessing="unit", n_samples=10, noise=0.9)
    assert len(ds.X_train) + len(ds.X_test) == 1797  # n_samples and noise are ignored
    assert ds.n_features == 64 and not ds.is_2d and ds.n_classes == 10
    assert ds.X_train.min() == 0 and ds.X_train.max() == 1


@pytest.mark.parametrize("kwargs", [dict(name="csv"), dict(name="moons"), dict(name="xor", preprocessing="pca")])
def test_make_dataset_unknown_raises(kwargs):
    with pytest.raises(ValueError):
        make_dataset(**kwargs)


def test_dataset_from_arrays_maps_labels_in_sorted_order():
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.array(["dog", "cat", "emu", "cat"] * 5)
    ds = dataset_from_arrays(X, y, preprocessing="raw", test_fraction=0.25)
    assert ds.n_classes == 3 and ds.name == "csv" and ds.X_train.dtype == np.float32
    X_all = np.vstack([ds.X_train, ds.X_test])
    y_all = np.concatenate([ds.y_train, ds.y_test])
    expect = {"cat": 0, "dog": 1, "emu": 2}
    for row, label in zip(X_all, y_all):
        assert expect[y[int(row[0]) // 2]] == label


def test_dataset_with_a_single_class_raises():
    with pytest.raises(ValueError):
        dataset_from_arrays(np.zeros((10, 2)), np.ones(10))


# ---- CSV ----
def csv_bytes(rows, header="x1,x2,label"):
    return (header + "\n" + "\n".join(rows) + "\n").encode()


GOOD_ROWS = [f"{i},{i * 0.5},{'cat' if i % 2 else 'dog'}" for i in range(12)]


def test_csv_happy_path_with_string_labels():
    X, y, names = load_csv(csv_bytes(GOOD_ROWS))
    assert names == ["x1", "x2"] and X.dtype == np.float64 and y.dtype == np.int64
    assert X.shape == (12, 2) and X[3, 1] == 1.5
    np.testing.assert_array_equal(y, [1, 0] * 6)  # cat=0, dog=1 (sorted)


def test_csv_label_column_by_name_and_sources(tmp_path):
    raw = csv_bytes([f"{i % 3},{i},{i * 2}" for i in range(12)], header=" cls , a, b")
    X, y, names = load_csv(raw, label_column="cls")
    assert names == ["a", "b"]
    np.testing.assert_array_equal(y, [0, 1, 2] * 4)
    np.testing.assert_array_equal(X[:, 0], np.arange(12))
    path = tmp_path / "d.csv"
    path.write_bytes(raw)
    for source in (path, str(path), io.BytesIO(raw), io.StringIO(raw.decode())):
        np.testing.assert_array_equal(load_csv(source, label_column="cls")[1], y)


def test_csv_numeric_labels_sort_numerically_and_semicolons_and_bom():
    rows = [f"{i};{[2, 10, 9][i % 3]}" for i in range(12)]
    X, y, names = load_csv(b"\xef\xbb\xbf" + csv_bytes(rows, header="f;target"))
    assert names == ["f"]
    np.testing.assert_array_equal(y, [0, 2, 1] * 4)  # 2 < 9 < 10, not "10" < "2" < "9"


def raises(exc_type, source, **kwargs):
    with pytest.raises(exc_type) as info:
        load_csv(source, **kwargs)
    assert isinstance(info.value, CsvError) and isinstance(info.value, ValueError)
    assert type(info.value) is exc_type
    return info.value


@pytest.mark.parametrize("source", [b"", b"  \n\n"])
def test_csv_empty(source):
    err = raises(CsvEmptyError, source)
    assert err.code == "empty" and err.params == {}


@pytest.mark.parametrize("source", [b"x1,x2,label\n", b"x1,x2,label\n\n\n"])
def test_csv_header_only(source):  # was "empty"; now a code of its own, so the message can say "add data rows"
    err = raises(CsvHeaderOnlyError, source)
    assert err.code == "header_only" and err.params == {}


# These were all "parse"; binary data and a text encoding other than UTF-8/16 now have codes (and advice) of their own.
@pytest.mark.parametrize("source", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                                    b"a,b,c\n" + b"1,\x00\x01,\x02\x03\n" * 20])  # the last one is valid UTF-8
def test_csv_binary(source):
    assert raises(CsvBinaryError, source).code == "binary"


def test_csv_not_utf8_text():
    assert raises(CsvEncodingError, "x,y\n1,\xe9t\xe9\n".encode("latin-1")).code == "encoding"


def test_csv_unclosed_quote_is_a_parse_error():
    assert raises(CsvParseError, b'a,b\n1,"2\n').code == "parse"


def test_csv_ragged_row_says_which_line():  # was the generic "parse"
    err = raises(CsvRaggedRowError, csv_bytes(GOOD_ROWS + ["1,2,cat,9"]))
    assert err.code == "ragged_row" and err.params == {"line": 14, "actual": 4, "expected": 3}


def test_csv_non_numeric_cell_names_its_row_and_column():
    rows = list(GOOD_ROWS)
    rows[6] = "6,abc,dog"
    rows[9] = "oops,4.5,cat"
    err = raises(CsvNonNumericError, csv_bytes(rows))
    assert err.code == "non_numeric"
    assert err.params == {"column": "x2", "row": 7, "value": "abc"}


def test_csv_infinite_feature_is_out_of_range():  # was "non_numeric": inf is a number, just not a usable one
    rows = list(GOOD_ROWS)
    rows[0] = "inf,0,dog"
    err = raises(CsvOutOfRangeError, csv_bytes(rows))
    assert err.params == {"column": "x1", "row": 1, "value": "inf", "limit": "1e+38"}


@pytest.mark.parametrize("bad_row, column",
                         [("3,,cat", "x2"), ("3,NaN,cat", "x2"), ("3,1,", "label"), ("3,1", "label")])
def test_csv_missing_value(bad_row, column):
    rows = list(GOOD_ROWS)
    rows[3] = bad_row
    err = raises(CsvMissingValueError, csv_bytes(rows))
    assert err.code == "missing" and err.params == {"column": column, "row": 4}


def test_csv_single_class():
    err = raises(CsvSingleClassError, csv_bytes([f"{i},{i},same" for i in range(12)]))
    assert err.code == "single_class" and err.params == {"label_column": "label"}


def test_csv_too_many_rows():
    err = raises(CsvTooLargeError, csv_bytes([f"{i % 7},{i % 2}" for i in range(MAX_CSV_ROWS + 1)], header="a,b"))
    assert err.code == "too_large"
    assert err.params == {"what": "rows", "limit": MAX_CSV_ROWS, "actual": MAX_CSV_ROWS + 1}


def test_csv_too_many_columns():
    n = MAX_CSV_COLUMNS + 1
    header = ",".join(f"c{i}" for i in range(n))
    err = raises(CsvTooLargeError, csv_bytes([",".join(["1"] * n)] * 12, header=header))
    assert err.params == {"what": "columns", "limit": MAX_CSV_COLUMNS, "actual": n}


def test_csv_too_many_bytes(tmp_path):  # was too_large with what="bytes"; now sizes in MB, not a byte count
    raw = b"a,b\n" + b"1,0\n" * (MAX_CSV_BYTES // 4)
    err = raises(CsvFileTooLargeError, raw)
    assert err.params == {"size_mb": 5.1, "limit_mb": 5} and len(raw) == MAX_CSV_BYTES + 4
    path = tmp_path / "big.csv"
    path.write_bytes(raw)
    assert raises(CsvFileTooLargeError, path).params == err.params


def test_csv_unknown_label_column():
    err = raises(CsvUnknownLabelError, csv_bytes(GOOD_ROWS), label_column="target")
    assert err.code == "unknown_label"
    assert err.params == {"column": "target", "available": "x1, x2, label"}


def test_csv_label_only():
    err = raises(CsvTooFewFeaturesError, csv_bytes(["a", "b"] * 6, header="label"))
    assert err.code == "no_features" and err.params == {"label_column": "label"}


def test_csv_too_few_rows():
    err = raises(CsvTooFewRowsError, csv_bytes(GOOD_ROWS[:9]))
    assert err.code == "too_few_rows" and err.params == {"rows": 9, "minimum": 10}


def test_csv_a_class_with_one_row():  # was "too_few_rows" although the file had enough rows
    err = raises(CsvSmallClassError, csv_bytes(GOOD_ROWS + ["1,1,emu"]))
    assert err.code == "small_class"
    assert err.params == {"label_column": "label", "value": "emu", "count": 1, "per_class": 2}


def test_csv_errors_have_distinct_codes_and_readable_messages():
    classes = [c for c in vars(data).values() if isinstance(c, type) and issubclass(c, CsvError) and c is not CsvError]
    assert len(classes) >= 9 and len({c.code for c in classes}) == len(classes)
    assert "x2" in str(CsvNonNumericError(column="x2", row=3, value="abc"))


def test_csv_result_feeds_dataset_from_arrays():
    X, y, _ = load_csv(csv_bytes(GOOD_ROWS))
    ds = dataset_from_arrays(X, y, seed=1)
    assert ds.n_classes == 2 and set(ds.y_test) == {0, 1} and ds.is_2d
