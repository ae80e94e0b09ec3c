"""A profile read from a user's JSON is refused by field, never with a TypeError."""

from __future__ import annotations

import re

import pytest

from nares_nas.errors import ConfigError
from nares_nas.live.profiles import DIGITS, Profile


@pytest.mark.parametrize("values, message", [
    ({"epochs": 8}, "a profile needs a 'name'"),
    ({"name": "mine", "epochs": -3}, "Profile.epochs must be a positive integer, got -3"),
    ({"name": "mine", "epochs": 8.0}, "Profile.epochs must be a positive integer, got 8.0"),
    ({"name": "mine", "aa_targets": 10}, "Profile.aa_targets (10 classes) must be an integer in 1..9, got 10"),
    ({"name": "mine", "crop_padding": -1}, "Profile.crop_padding must be a non-negative integer, got -1"),
    ({"name": "mine", "split_seed": -1}, "Profile.split_seed must be an integer in 0..9223372036854775807, got -1"),
    ({"name": "mine", "lr": "fast"}, "Profile.lr must be a positive number, got 'fast'"),
    ({"name": "mine", "lr": float("inf")}, "Profile.lr must be a positive number, got inf"),
    ({"name": "mine", "momentum": None}, "Profile.momentum must be a non-negative number, got None"),
    ({"name": "mine", "lr_gamma": True}, "Profile.lr_gamma must be a number in (0, 1], got True"),
    ({"name": "mine", "val_fraction": "0.1"}, "Profile.val_fraction must be a number in (0, 1), got '0.1'"),
    ({"name": "mine", "hflip": "no"}, "Profile.hflip must be a boolean (true or false in any case, or 1 or 0; "
                                      "in Python True or False), got 'no'"),
    ({"name": "mine", "corruptions": 2}, "Profile.corruptions must be a boolean"),
    ({"name": "mine", "lr_milestones": [75, 90.0]}, "Profile.lr_milestones must be a sequence of integers"),
])
def test_bad_fields_are_named(values, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        Profile.from_dict(values)


def test_a_boolean_field_is_stored_as_a_bool():
    zero = Profile.from_dict({"name": "mine", "hflip": 0})
    assert zero.hflip is False and zero.key == Profile.from_dict({"name": "mine", "hflip": False}).key


def test_a_written_profile_reads_back():
    assert Profile.from_dict(DIGITS.to_dict()) == DIGITS
