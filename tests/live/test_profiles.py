"""A profile read from a user's JSON is refused by field, never with a TypeError."""

from __future__ import annotations

import pytest

from nares_nas.errors import ConfigError
from nares_nas.live.profiles import DIGITS, Profile


@pytest.mark.parametrize("values, message", [
    ({"epochs": 8}, "a profile needs a 'name'"),
    ({"name": "mine", "epochs": -3}, "Profile.epochs must be a positive int, got -3"),
    ({"name": "mine", "lr": "fast"}, "Profile.lr must be a number, got 'fast'"),
    ({"name": "mine", "momentum": None}, "Profile.momentum must be a number, got None"),
    ({"name": "mine", "lr_gamma": True}, "Profile.lr_gamma must be a number, got True"),
    ({"name": "mine", "val_fraction": "0.1"}, "Profile.val_fraction must be a number"),
    ({"name": "mine", "hflip": "no"}, "Profile.hflip must be true or false, got 'no'"),
    ({"name": "mine", "corruptions": 1}, "Profile.corruptions must be true or false, got 1"),
])
def test_bad_fields_are_named(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Profile.from_dict(values)


def test_a_written_profile_reads_back():
    assert Profile.from_dict(DIGITS.to_dict()) == DIGITS
