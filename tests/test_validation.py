"""The checks behind every count, seed and arch_id a user hands in, and every file named to be read."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nares_nas._rng import as_generator
from nares_nas._validation import (
    MAX_SEED,
    check_choice,
    check_input_file,
    check_int,
    check_real,
    check_seed,
    integer_problem,
)
from nares_nas.errors import ConfigError, PathError


@pytest.mark.parametrize("value", [1, 7, np.int64(7), np.int8(3), np.uint64(2**40)])
def test_python_and_numpy_integers_pass_as_ints(value):
    assert check_int(value, "n") == int(value) and type(check_int(value, "n")) is int


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (0, {}, "n must be a positive integer, got 0"),
    (True, {}, "n must be a positive integer, got True"),
    (np.bool_(True), {}, "n must be a positive integer"),
    (3.0, {}, "n must be a positive integer, got 3.0"),
    ("3", {}, "n must be a positive integer, got '3'"),
    (-1, {"low": 0}, "n must be a non-negative integer, got -1"),
    (11, {"low": 1, "high": 10}, "n must be an integer in 1..10, got 11"),
    (1, {"low": 2}, "n must be an integer >= 2, got 1"),
])
def test_everything_else_is_refused_by_name(value, kwargs, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_int(value, "n", **kwargs)


def test_the_problem_alone():
    assert integer_problem(5, 1, 9) is None and integer_problem(5.0) == "not an integer"
    assert integer_problem(0, 1, 9) == "not in 1..9" and integer_problem(10, None, 9) == "not <= 9"


def test_seeds_go_through_it():
    assert as_generator(np.int64(3)).integers(100) == np.random.default_rng(3).integers(100)
    for bad in (-1, True, 2.0, None):
        with pytest.raises(ConfigError, match="seed"):
            as_generator(bad)


def test_a_seed_fits_a_signed_64_bit_integer():
    assert check_seed(MAX_SEED) == 2**63 - 1 and check_seed(np.uint64(7)) == 7
    for bad in (-1, 2**63, 2**64, 1.0, True):
        with pytest.raises(ConfigError, match=r"seed must be an integer in 0\.\.9223372036854775807"):
            check_seed(bad)
    with pytest.raises(ConfigError, match="seed"):
        as_generator(2**63)  # numpy would take it; the run files could not keep it


def test_a_file_to_read_is_there_and_not_a_folder(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    assert check_input_file(tmp_path / "a.jsonl") == tmp_path / "a.jsonl"
    for path, message in [(tmp_path / "b.jsonl", "no such file"), (tmp_path, "is a folder, not a file"),
                          (tmp_path / "a.jsonl" / "c", "no such file")]:
        with pytest.raises(PathError) as info:
            check_input_file(path)
        assert str(info.value) == f"{path}: {message}" and isinstance(info.value, OSError)
    with pytest.raises(PathError, match="no such checkpoint file"):
        check_input_file(tmp_path / "x.pth", "checkpoint file")


@pytest.mark.parametrize("value, low, high, options, want", [
    (0.5, 0, 1, {}, 0.5), (1, 0, 1, {"low_open": True}, 1.0), (np.float32(0.25), 0, 1, {}, 0.25),
    (0, 0, None, {}, 0.0), (-3, None, 0, {}, -3.0), (7, None, None, {}, 7.0),
    (Fraction(3, 2), 1, None, {"low_open": True}, 1.5),
])
def test_check_real_takes_finite_reals_in_range_as_floats(value, low, high, options, want):
    got = check_real(value, "x", low, high, **options)
    assert got == want and type(got) is float


@pytest.mark.parametrize("value, low, high, options, message", [
    (0.0, 0, 1, {"low_open": True}, "x must be a number in (0, 1], got 0.0"),
    (1.5, 0, 1, {}, "x must be a number in [0, 1], got 1.5"),
    (1.0, 0, 1, {"high_open": True}, "x must be a number in [0, 1), got 1.0"),
    (-1, 0, None, {}, "x must be a non-negative number, got -1"),
    (0, 0, None, {"low_open": True}, "x must be a positive number, got 0"),
    (True, None, None, {}, "x must be a finite number, got True"),
    (float("nan"), None, None, {}, "x must be a finite number, got nan"),
    (float("inf"), 0.0, None, {}, "x must be a non-negative number, got inf"),
    ("0.5", 0, 1, {}, "x must be a number in [0, 1], got '0.5'"),
    (2, None, 1, {}, "x must be a number in (-inf, 1], got 2"),
    (1, 1, None, {"low_open": True}, "x must be a number > 1, got 1"),
    (Fraction(1, 2), 1, None, {}, "x must be a number >= 1, got Fraction(1, 2)"),
])
def test_check_real_names_the_interval_and_the_value(value, low, high, options, message):
    with pytest.raises(ConfigError) as error:
        check_real(value, "x", low, high, **options)
    assert str(error.value) == message


def test_check_choice_returns_a_choice_and_names_every_choice_otherwise():
    assert check_choice("reset", "NSGA2 mutation", ("step", "reset")) == "reset"
    with pytest.raises(ConfigError) as error:
        check_choice("flip", "NSGA2 mutation", ("step", "reset"))
    assert str(error.value) == "NSGA2 mutation must be one of step, reset, got 'flip'"
    with pytest.raises(ConfigError, match=r"^x must be one of 1, 2, got \[1\]$"):
        check_choice([1], "x", iter([1, 2]))
