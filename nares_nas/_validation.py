"""The checks for values a user hands in: integers (counts, seeds, arch_ids), reals in a range, booleans and
files to read.

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

import math
import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas.errors import ConfigError, PathError

MAX_SEED = 2**63 - 1
"""The largest seed: every store of a seed (run files in JSON, the live cache in SQLite) keeps a
signed 64-bit integer exactly, so a larger one would run and then fail to be written."""


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


def wanted_int(low: int | None = 1, high: int | None = None) -> str:
    """The integers ``low..high`` in words: "a positive integer", "an integer in 1..10", ..."""
    if low == 1 and high is None:
        return "a positive integer"
    if low == 0 and high is None:
        return "a non-negative integer"
    if high is None:
        return f"an integer >= {low}"
    if low is None:
        return f"an integer <= {high}"
    return f"an integer in {low}..{high}"


def check_int(value: Any, name: str, low: int | None = 1, high: int | None = None) -> int:
    """``value`` as an ``int``, or :class:`~nares_nas.errors.ConfigError` naming ``name``.

    The default bounds ask for a positive integer; ``low=0`` a non-negative one.
    """
    if integer_problem(value, low, high) is not None:
        raise ConfigError(f"{name} must be {wanted_int(low, high)}, got {value!r}")
    return int(value)


def wanted_real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
                high_open: bool = False) -> str:
    """The reals ``low..high`` in words: "a non-negative number", "a positive number", "a number in (0, 1]"."""
    if low == 0 and high is None:
        return "a positive number" if low_open else "a non-negative number"
    if low is None and high is None:
        return "a finite number"
    if high is None:
        return f"a number > {low}" if low_open else f"a number >= {low}"
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"a number in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


def check_real(value: Any, name: str, low: float | None = None, high: float | None = None, *,
               low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a ``float``: a finite real (an int, a float, a fraction or a NumPy number, never a
    ``bool``) between ``low`` and ``high`` (each bound optional, included unless ``*_open``), else
    :class:`~nares_nas.errors.ConfigError` naming ``name`` and the interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    ok = ok and math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low))
    ok = ok and (high is None or (value < high if high_open else value <= high))
    if not ok:
        raise ConfigError(f"{name} must be {wanted_real(low, high, low_open=low_open, high_open=high_open)}, "
                          f"got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else :class:`~nares_nas.errors.ConfigError` naming ``name``
    and listing them (``band must be one of sem, std, got 'iqr'``)."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed: an integer in ``0..MAX_SEED``."""
    return check_int(value, name, 0, MAX_SEED)


def check_input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` if it names an existing file, else :class:`~nares_nas.errors.PathError` saying why.

    Whether it can be read shows when it is opened (the CLI reports that ``OSError`` in one line).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise PathError(path, f"is a folder, not a {what}")
    if not path.exists():
        raise PathError(path, f"no such {what}")
    return path
