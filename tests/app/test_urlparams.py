"""lab/params.py: TrainConfig <-> URL query string, and garbage values falling back to their defaults."""
import math

import pytest

from bn_core import TrainConfig, check_config
from lab.urlparams import KNOB_BY_URL, KNOBS, MAX_DEPTH, config_to_query, config_values, query_to_config

NON_DEFAULT = TrainConfig(dataset="spiral", noise=0.35, n_samples=900, preprocessing="unit", hidden=(16, 16, 16, 16),
                          activation="relu", batchnorm=False, bn_position="after", bn_momentum=0.3, bn_eps=1e-3,
                          init="he", init_sigma=0.02, lr=0.05, sgd_momentum=0.9, batch_size=32, steps=700,
                          record_every=7)


def test_every_knob_has_a_unique_url_name_and_covers_the_config():
    assert len(KNOB_BY_URL) == len(KNOBS)
    fields = {k.field for k in KNOBS}
    assert {"mode", "depth", "width"} <= fields
    config_fields = set(TrainConfig.__dataclass_fields__)
    # everything but the seed (the shell's), the split, the upload digest and the normalization variant (the
    # "beyond the paper" lesson's, not a Playground knob) is a knob
    assert config_fields - fields == {"hidden", "seed", "test_fraction", "data_id", "norm"}


@pytest.mark.parametrize("mode", ["compare", "single"])
def test_round_trip_keeps_every_value(mode):
    query = config_to_query(NON_DEFAULT, mode)
    assert all(isinstance(v, str) for v in query.values())
    config, back_mode, bad = query_to_config(query)
    assert bad == [] and back_mode == mode
    assert config == NON_DEFAULT


def test_round_trip_of_awkward_floats_is_exact():
    config = TrainConfig(lr=0.1 + 0.2, bn_eps=1.23456789e-7, init_sigma=1 / 3)
    assert query_to_config(config_to_query(config))[0] == config


def test_an_empty_query_is_the_default_experiment():
    config, mode, bad = query_to_config({})
    assert config == TrainConfig() and mode == "compare" and bad == []


def test_names_that_are_not_knobs_are_ignored():
    config, _, bad = query_to_config({"lang": "zh", "seed": "3", "whatever": "x"})
    assert config == TrainConfig() and bad == []


@pytest.mark.parametrize("name, raw", [
    ("lr", "abc"), ("lr", "nan"), ("lr", "inf"), ("lr", "0"), ("lr", "-1"), ("lr", "1e9"),
    ("depth", "99"), ("depth", "0"), ("depth", "2.5"), ("width", "1"), ("width", "100000"),
    ("act", "foo"), ("act", ""), ("data", "mnist"), ("bn", "yes"), ("mode", "both"), ("batch", "0"),
    ("steps", "5"), ("mom", "1.5"), ("eps", "0"), ("every", "-3"), ("n", "1e12"), ("noise", "-0.1"),
])
def test_a_garbage_value_falls_back_to_its_default_and_is_reported(name, raw):
    config, mode, bad = query_to_config({name: raw, "width": "8"} if name != "width" else {name: raw})
    knob = KNOB_BY_URL[name]
    default = knob.format(config_values(TrainConfig())[name])
    assert bad == [(name, raw, default)]
    assert config_values(config, mode)[name] == config_values(TrainConfig())[name]
    check_config(config)  # what falls back can train


def test_several_garbage_values_are_each_reported_and_good_ones_kept():
    config, _, bad = query_to_config({"lr": "abc", "depth": "99", "act": "foo", "width": "8", "data": "xor"})
    assert [b[0] for b in bad] == ["depth", "act", "lr"]  # in knob order
    assert config.hidden == (8, 8, 8) and config.dataset == "xor" and config.lr == TrainConfig().lr


def test_ranges_are_inclusive_and_match_the_page():
    assert query_to_config({"depth": str(MAX_DEPTH)})[0].hidden == (100,) * MAX_DEPTH
    assert query_to_config({"depth": "1"})[0].hidden == (100,)
    assert query_to_config({"lr": "1000"})[0].lr == 1000.0
    assert query_to_config({"mom": "0.99"})[0].sgd_momentum == 0.99


@pytest.mark.parametrize("raw, value", [("1", True), ("true", True), ("0", False), ("false", False)])
def test_booleans(raw, value):
    assert query_to_config({"bn": raw})[0].batchnorm is value
    assert KNOB_BY_URL["bn"].format(value) == ("1" if value else "0")


def test_integers_written_as_floats_are_accepted():
    assert query_to_config({"steps": "300.0"})[0].steps == 300


def test_log_knobs_are_the_scale_free_ones():
    assert {k.url for k in KNOBS if k.log} == {"sigma", "lr", "eps"}
    assert all(k.lo > 0 and math.isfinite(k.hi) for k in KNOBS if k.log)


def test_the_query_uses_the_base_config_for_missing_names():
    base = TrainConfig(dataset="circles", steps=123)
    config, _, _ = query_to_config({"lr": "0.2"}, base=base)
    assert config.dataset == "circles" and config.steps == 123 and config.lr == 0.2
