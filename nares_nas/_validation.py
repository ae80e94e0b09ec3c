"""The one check for integers a user hands in (counts, seeds and arch_ids), and the one for booleans.

An integer is a Python ``int`` or a NumPy integer (``np.int64`` and friends); ``bool`` is
refused although it subclasses ``int``, and so is every float, even ``5.0``. Each caller
turns the reason into the error that fits (``ConfigError`` for a parameter,
``InvalidArchError`` for an architecture), and gets a plain ``int`` back.

A boolean is ``True``/``False`` (NumPy's too) or ``1``/``0``; on a command line, one of those
spelled in any case (``false``, ``FALSE``, ``0``). Text is never a boolean in Python: the string
``"False"`` is truthy, so judging it by its truthiness is how ``--param reference_moves=False``
once switched the reference moves on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError


def integer_problem(value: Any, low: int | None = None, high: int | None = None) -> str | None:
    """Why ``value`` is not an integer in ``low..high`` (either bound optional), or None if it is."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return "not an integer"
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            return f"not >= {low}"
        if low is None:
            return f"not <= {high}"
        return f"not in {low}..{high}"
    return None


BOOLEAN = "a boolean (true or false in any case, or 1 or 0; in Python True or False)"
"""What a boolean may be, as every message about one says it."""
_BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False}


def boolean_text(text: str) -> bool | None:
    """The boolean a command line's ``text`` spells (any case, or 1/0), else None."""
    return _BOOLEAN_WORDS.get(text.strip().lower())


def boolean_value(value: Any) -> bool | None:
    """``value`` as a ``bool`` where it is ``True``/``False`` (NumPy's too) or ``1``/``0``, else None."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    return None


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a ``bool``, or :class:`~nares_nas.errors.ConfigError` naming ``name`` and what is accepted."""
    flag = boolean_value(value)
    if flag is None:
        raise ConfigError(f"{name} must be {BOOLEAN}, got {value!r}")
    return flag


def check_int(value: Any, name: str, low: int | None = 1, high: int | None = None) -> int:
    """``value`` as an ``int``, or :class:`~nares_nas.errors.ConfigError` naming ``name``.

    The default bounds ask for a positive integer; ``low=0`` a non-negative one.
    """
    problem = integer_problem(value, low, high)
    if problem is not None:
        if low == 1 and high is None:
            wanted = "a positive integer"
        elif low == 0 and high is None:
            wanted = "a non-negative integer"
        elif high is None:
            wanted = f"an integer >= {low}"
        elif low is None:
            wanted = f"an integer <= {high}"
        else:
            wanted = f"an integer in {low}..{high}"
        raise ConfigError(f"{name} must be {wanted}, got {value!r}")
    return int(value)
