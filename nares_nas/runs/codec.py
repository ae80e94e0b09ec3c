"""Compact, exact encoding of a run file's numeric columns (run-file format 2).

A column is stored as one JSON object ``{"dtype", "shape", "zlib"}``: its values as the
narrowest little-endian integer type that holds them, zlib-compressed and base64-encoded, so a
run of 5,000 evaluations takes tens of kilobytes instead of hundreds. Encoding never loses a
bit: floats that are whole numbers of ``1/scale`` (days that are ticks of the simulated clock,
``scale`` = ticks per day; table values recorded with a few decimals, ``scale`` = 10**d) are
stored as those integers when dividing them back gives the very same float, and every other
float column keeps its IEEE bytes (``dtype`` ``<f8``). ``delta`` stores the differences of a
non-decreasing column (start times). Other columns (text, None) stay plain JSON lists.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from nares_nas.simulation.log import TIME_COLUMNS, LogColumns

LEVEL = 1
"""zlib level: 400 ASHA runs' columns compress 4 % larger than at level 3 in 60 % of its time, and
10 % larger than at level 6 in a quarter of its time (docs/benchmarks.md)."""
MAX_DECIMALS = 6
_INT_TYPES = (np.int8, np.int16, np.int32, np.int64)
_NUMBERS = (int, float, np.integer, np.floating)


def _narrow(ints: np.ndarray) -> np.ndarray:
    """``ints`` as the narrowest signed integer type that holds every one."""
    if not ints.size:
        return ints.astype("<i1")
    low, high = int(ints.min()), int(ints.max())
    for kind in _INT_TYPES:
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return ints.astype(np.dtype(kind).newbyteorder("<"))
    raise ValueError("integers beyond int64")  # unreachable for int64 input


def _as_scaled(values: np.ndarray, scales: Sequence[int]) -> tuple[np.ndarray, int] | None:
    """``(ints, scale)`` with ``ints / scale`` bitwise equal to ``values`` for the first scale that works."""
    if not values.size or not np.isfinite(values).all():
        return None
    for scale in scales:
        scaled = values * scale
        if np.abs(scaled).max() >= 2.0 ** 53:
            continue
        ints = np.rint(scaled)
        if np.array_equal(ints / scale, values):
            return ints.astype(np.int64), scale
    return None


def encode_array(values: Any, *, delta: bool = False) -> dict[str, Any]:
    """One numeric column (or an ``(n, k)`` block) as a compact JSON object, exactly.

    Integers are narrowed; floats become integers of ``1/scale`` (``scale`` = 10**d for the fewest
    decimals d ≤ :data:`MAX_DECIMALS`) when that round-trips bit for bit, else stay float64.
    ``delta`` stores differences along the first axis (for a sorted integer column).
    """
    array = np.asarray(values)
    out: dict[str, Any] = {"shape": list(array.shape)}
    if array.dtype.kind == "f" or array.dtype == object:
        array = array.astype(np.float64)
        scaled = _as_scaled(array, [10 ** d for d in range(MAX_DECIMALS + 1)])
        if scaled is None:
            data = array.astype("<f8")
        else:
            data, out["scale"] = scaled
    elif array.dtype.kind in "iub":
        data = array.astype(np.int64)
    else:
        raise TypeError(f"not a numeric column: {array.dtype}")
    if data.dtype.kind == "i":
        if delta and data.ndim == 1 and data.size:
            data = np.diff(data, prepend=0)
            out["delta"] = True
        data = _narrow(data)
    out["dtype"] = data.dtype.str
    out["zlib"] = base64.b64encode(zlib.compress(np.ascontiguousarray(data).tobytes(), LEVEL)).decode("ascii")
    return out


def decode_array(obj: Mapping[str, Any], columns: Mapping[str, Any] | None = None) -> np.ndarray:
    """The column :func:`encode_array` stored: int64, or float64 when it was a float column; a column
    stored ``"after"`` others of the same scale (:func:`encode_columns`) adds their integers from ``columns``."""
    raw = zlib.decompress(base64.b64decode(obj["zlib"]))
    data = np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    if data.dtype.kind == "f":
        return data.astype(np.float64)
    ints = data.astype(np.int64)
    if obj.get("delta"):
        ints = np.cumsum(ints)
    for key in obj.get("after", ()):
        ints = ints + _integers(columns[key])
    scale = obj.get("scale")
    return ints if scale is None else ints / scale


def _integers(obj: Mapping[str, Any]) -> np.ndarray:
    """An encoded integer column before its scale divides it (the ticks of a time column)."""
    return decode_array({**obj, "scale": None})


def is_encoded(obj: Any) -> bool:
    """Whether ``obj`` is a column written by :func:`encode_array`."""
    return isinstance(obj, Mapping) and "zlib" in obj and "dtype" in obj


def _numeric(column: Sequence[Any]) -> bool:
    """A column every entry of which is a number (or a list of numbers: a value vector); the entries'
    types are collected first (a set of a few), since a log column holds thousands of entries."""
    if isinstance(column, np.ndarray):
        return column.dtype.kind in "iubf"
    first = column[0] if len(column) else 0
    entries = chain.from_iterable(column) if isinstance(first, (list, tuple, np.ndarray)) else column
    return all(issubclass(kind, _NUMBERS) and not issubclass(kind, bool) for kind in set(map(type, entries)))


def _ticks(column: np.ndarray, ticks_per_day: int | None) -> np.ndarray | None:
    """A numeric time column as whole clock ticks (None unless every entry is one exactly)."""
    if ticks_per_day is None:
        return None
    scaled = _as_scaled(column.astype(np.float64), [ticks_per_day])
    return None if scaled is None else scaled[0]


def encode_columns(columns: Mapping[str, Sequence[Any]], ticks_per_day: int | None = None) -> dict[str, Any]:
    """An evaluation log's columns, each numeric one encoded exactly.

    Times that are whole clock ticks (``ticks_per_day`` given) are stored as ticks: ``start`` as
    differences when it never decreases, and ``end`` as ``end - start - cost`` (zero where an
    evaluation ran without a pause, as on the simulated clock) with ``"after": ["start", "cost"]``.
    A log's :class:`~nares_nas.simulation.log.LogColumns` hands over its arrays and its ticks as
    they are (the same encoding, no list made and no day computed).
    """
    if isinstance(columns, LogColumns) and ticks_per_day == columns.ticks_per_day:
        held_ticks = {key: columns.ticks(key) for key in TIME_COLUMNS} if ticks_per_day else {}
        raw = {key: held_ticks[key] if key in held_ticks else columns.held(key) for key in columns}
    else:
        held_ticks, raw = {}, dict(columns)
    arrays = {key: np.asarray(column) for key, column in raw.items() if len(column) and _numeric(column)}
    ticks = {key: held_ticks[key] if held_ticks else _ticks(arrays[key], ticks_per_day)
             for key in TIME_COLUMNS if key in arrays}
    encoded: dict[str, Any] = {}
    for key, column in raw.items():
        if key not in arrays:
            encoded[key] = list(column)
            continue
        if ticks.get(key) is None:
            encoded[key] = encode_array(arrays[key])
            continue
        ints = ticks[key]
        if key == "end" and ticks.get("start") is not None and ticks.get("cost") is not None:
            encoded[key] = {**encode_array(ints - ticks["start"] - ticks["cost"]), "after": ["start", "cost"]}
        else:
            encoded[key] = encode_array(ints, delta=key == "start" and bool(np.all(np.diff(ints) >= 0)))
        encoded[key]["scale"] = ticks_per_day
    return encoded


def decode_columns(columns: Mapping[str, Any]) -> dict[str, list]:
    """:func:`encode_columns` undone: every column as a plain list (value vectors as lists of floats)."""
    decoded: dict[str, Any] = {}
    for key, column in columns.items():
        decoded[key] = decode_array(column, columns) if is_encoded(column) else column
    return {key: value.tolist() if isinstance(value, np.ndarray) else value for key, value in decoded.items()}


def decode_run(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A run file's JSON of any format with every encoded column as a plain list (format 1's shape)."""
    plain = {key: decode_array(value).tolist() if is_encoded(value) else value for key, value in obj.items()}
    clock = plain.get("clock")
    if isinstance(clock, Mapping) and isinstance(clock.get("evaluations"), Mapping):
        plain["clock"] = {**clock, "evaluations": decode_columns(clock["evaluations"])}
    return plain
