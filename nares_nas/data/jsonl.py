"""Reading and writing ``cifar10.jsonl``, the official NARes data file (spec §4).

The reader validates while it loads: a malformed line, a missing key, a wrong list length,
an unknown corruption name, a duplicate, an architecture outside the space or a physically
impossible value (an accuracy outside 0..100, a ``training_time`` that is not positive, a
non-finite number) stops it with the line number and the key; nothing is skipped silently.
``null`` stays allowed where the format allows it (a missing test value, a NaN loss of a live
training). It reads the plain file or streams it straight out of the release archive ``nares.txz``.
"""

from __future__ import annotations

import io
import json
import logging
import lzma
import math
import os
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from nares_nas._atomic import atomic_path
from nares_nas._validation import integer_problem
from nares_nas.data.records import json_object
from nares_nas.data.table import TRAIN_SCALARS, Table, empty_columns, finalize_columns
from nares_nas.errors import DataFormatError, InvalidArchError
from nares_nas.metrics import CORRUPTIONS, HISTORY_KEYS, SEVERITIES, TEST_KEYS
from nares_nas.space import KEYS, N_ARCHS, Arch, archs_by_id, macs_by_id, params_by_id

log = logging.getLogger(__name__)

MEMBER_NAME = "cifar10.jsonl"
TOP_KEYS = ("arch_id", "arch", "MACs", "Params", "train", "test_best")
TRAIN_KEYS = ("seed", "gpu_type", "timestamp", "training_time", "best_epoch", *HISTORY_KEYS)
# The file stores Params/MACs in millions rounded to 2 decimals (spec §1.3); allow that rounding.
MILLIONS_TOLERANCE = 0.0051
LEVEL_KEYS = tuple(str(s) for s in SEVERITIES)
# Accuracies and stable accuracies, in percent (spec §4 "Scale"); losses and LIP have no fixed range.
PERCENT_HISTORY_KEYS = ("train_acc", "val_acc", "pgd", "pgd_stable", "cw", "cw_stable")
PERCENT_TEST_KEYS = tuple(key for key in TEST_KEYS if key.endswith(("_acc", "_stable")))


@contextmanager
def open_lines(path: Path) -> Iterator[IO[bytes]]:
    """Open ``cifar10.jsonl``, or stream it out of a ``.txz``/``.tar.xz`` release archive."""
    if not _is_archive(path):
        with open(path, "rb") as fh:
            yield fh
        return
    try:
        with tarfile.open(path, mode="r|xz") as archive:
            names = []
            for member in archive:
                names.append(member.name)
                if member.isfile() and Path(member.name).name == MEMBER_NAME:
                    extracted = archive.extractfile(member)
                    assert extracted is not None  # a regular file member always extracts
                    yield extracted
                    return
    except (tarfile.ReadError, lzma.LZMAError, EOFError) as exc:
        raise DataFormatError(f"truncated or corrupt archive ({exc})", path=str(path)) from None
    shown = ", ".join(names[:10]) or "no members"
    raise DataFormatError(f"archive has no {MEMBER_NAME} (members: {shown})", path=str(path))


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".txz", ".tar.xz", ".tar"))


def read_source(path: str | os.PathLike, *, source: str | None = None) -> Table:
    """Parse and validate a ``cifar10.jsonl`` (or ``nares.txz``) into a :class:`Table`."""
    path = Path(path)
    try:
        with open_lines(path) as fh:
            table = parse_lines(fh, str(path))
    except (lzma.LZMAError, EOFError, tarfile.ReadError) as exc:
        raise DataFormatError(f"truncated or corrupt archive ({exc})", path=str(path)) from None
    meta = dict(table.meta, source=source or str(path.resolve()))
    return Table(table.columns, meta)


def parse_lines(lines: Iterable[bytes], path: str = "<data>") -> Table:
    """Validate JSON lines in the official schema and gather them into columns."""
    parser = _LineParser(path)
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            parser.add(number, raw)
    return parser.table()


class _LineParser:
    """Accumulates validated records; the epoch count is fixed by the first record."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.epochs: int | None = None
        self.epochs_line = 0
        self.first_line: dict[int, int] = {}
        self.rows: list[dict[str, Any]] = []
        self.synthetic_lines = 0

    def error(self, line: int, key: str | None, message: str) -> DataFormatError:
        return DataFormatError(message, path=self.path, line=line, key=key)

    def add(self, line: int, raw: bytes) -> None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            found = _non_finite(raw)
            if found is not None:
                key, what = found
                raise self.error(line, key, f"{what}, not a finite number (JSON has no NaN or infinity; "
                                            "write null where the format allows a missing value)") from None
            raise self.error(line, None, f"malformed JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise self.error(line, None, f"expected a JSON object, got {type(obj).__name__}")
        for key in TOP_KEYS:
            if key not in obj:
                raise self.error(line, key, "missing key")
        arch = self._arch(line, obj["arch"])
        arch_id = self._int(line, "arch_id", obj["arch_id"])
        if arch_id != arch.arch_id:
            raise self.error(
                line, "arch_id",
                f"{arch_id} does not match architecture {arch.to_list()}, whose arch_id is {arch.arch_id}",
            )
        if arch_id in self.first_line:
            raise self.error(
                line, "arch",
                f"duplicate architecture {arch.to_list()} (arch_id {arch_id}), first on line "
                f"{self.first_line[arch_id]}",
            )
        self.first_line[arch_id] = line
        row: dict[str, Any] = {"arch_id": arch_id}
        self.synthetic_lines += obj.get("synthetic") is True
        row["MACs"] = self._stored_count(line, "MACs", obj["MACs"])
        row["Params"] = self._stored_count(line, "Params", obj["Params"])
        row.update(self._train(line, obj["train"]))
        row.update(self._test(line, obj["test_best"]))
        self.rows.append(row)

    def _arch(self, line: int, value: Any) -> Arch:
        if not isinstance(value, dict):
            raise self.error(line, "arch", f"expected an object with keys {list(KEYS)}, got {value!r}")
        missing = [k for k in KEYS if k not in value]
        if missing:
            raise self.error(line, "arch", f"missing keys {missing}")
        try:
            return Arch(*(value[k] for k in KEYS))
        except InvalidArchError as exc:
            raise self.error(line, "arch", f"outside the search space: {exc.reason}") from None

    def _stored_count(self, line: int, key: str, value: Any) -> float:
        """A stored Params/MACs value; checked against the exact counts for all rows at the end."""
        try:
            stored = float(value)
        except (TypeError, ValueError):
            raise self.error(line, key, f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(stored):
            raise self.error(line, key, f"expected a number, got {value!r}")
        return stored

    def _single(self, line: int, key: str, value: Any) -> dict:
        if not isinstance(value, list) or len(value) != 1:
            got = f"{len(value)} entries" if isinstance(value, list) else repr(value)[:40]
            raise self.error(line, key, f"expected a list with exactly one object, got {got}")
        if not isinstance(value[0], dict):
            raise self.error(line, key, f"expected an object, got {value[0]!r}"[:120])
        return value[0]

    def _train(self, line: int, value: Any) -> dict[str, Any]:
        train = self._single(line, "train", value)
        for key in TRAIN_KEYS:
            if key not in train:
                raise self.error(line, f"train[0].{key}", "missing key")
        out: dict[str, Any] = {}
        for key in HISTORY_KEYS:
            out[key] = self._history(line, key, train[key])
        out["seed"] = self._int(line, "train[0].seed", train["seed"])
        out["best_epoch"] = best = self._int(line, "train[0].best_epoch", train["best_epoch"])
        if not 0 <= best < (self.epochs or 0):
            raise self.error(line, "train[0].best_epoch", f"{best} is outside 0..{self.epochs - 1}")
        out["training_time"] = days = self._number(line, "train[0].training_time", train["training_time"])
        if not days > 0:
            raise self.error(line, "train[0].training_time",
                             f"{train['training_time']!r} is not a positive number of GPU days")
        gpu = train["gpu_type"]
        if not isinstance(gpu, str):
            raise self.error(line, "train[0].gpu_type", f"expected a string, got {gpu!r}")
        out["gpu_type"] = gpu
        stamp = train["timestamp"]
        parts = stamp.split("-") if isinstance(stamp, str) else []
        if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
            raise self.error(line, "train[0].timestamp", f"expected YYYY-MM-DD, got {stamp!r}")
        out["timestamp"] = stamp
        return out

    def _history(self, line: int, key: str, value: Any) -> np.ndarray:
        full_key = f"train[0].{key}"
        if not isinstance(value, list):
            raise self.error(line, full_key, f"expected a list of numbers, got {value!r}"[:120])
        if self.epochs is None:
            if not value:
                raise self.error(line, full_key, "expected one value per epoch, got an empty list")
            self.epochs, self.epochs_line = len(value), line
        if len(value) != self.epochs:
            raise self.error(line, full_key, f"expected {self.epochs} values (one per epoch, as on line "
                                             f"{self.epochs_line}), got {len(value)}")
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            bad = next(i for i, v in enumerate(value) if not _is_number(v))
            raise self.error(line, full_key, f"value {bad} is {value[bad]!r}, expected a number") from None
        return array

    def _int(self, line: int, key: str, value: Any) -> int:
        if integer_problem(value) is not None:
            raise self.error(line, key, f"expected an integer, got {value!r}")
        return value

    def _number(self, line: int, key: str, value: Any, optional: bool = False) -> float:
        if value is None and optional:
            return math.nan
        if not _is_number(value):
            raise self.error(line, key, f"expected a number, got {value!r}")
        return float(value)

    def _test(self, line: int, value: Any) -> dict[str, Any]:
        if value is None:
            raise self.error(line, "test_best", "must not be null")
        test = self._single(line, "test_best", value)
        out: dict[str, Any] = {
            key: self._number(line, f"test_best[0].{key}", test.get(key), optional=True)
            for key in TEST_KEYS
        }
        corruptions = test.get("corruptions")
        if corruptions:
            out["corruption_acc"], out["corruption_loss"] = self._corruptions(line, corruptions)
        return out

    def _corruptions(self, line: int, value: Any) -> tuple[np.ndarray, np.ndarray]:
        """The (19, 5) accuracy and loss arrays; a slow, precise check only when the fast read fails."""
        try:
            if len(value) == len(CORRUPTIONS):
                acc = np.array([[value[c][lvl]["acc"] for lvl in LEVEL_KEYS] for c in CORRUPTIONS], dtype=np.float64)
                loss = np.array([[value[c][lvl]["loss"] for lvl in LEVEL_KEYS] for c in CORRUPTIONS],
                                dtype=np.float64)
                if all(len(value[c]) == len(LEVEL_KEYS) for c in CORRUPTIONS):
                    return acc, loss
        except (KeyError, TypeError, ValueError, IndexError):
            pass
        return self._corruptions_checked(line, value)

    def _corruptions_checked(self, line: int, value: Any) -> tuple[np.ndarray, np.ndarray]:
        key = "test_best[0].corruptions"
        if not isinstance(value, dict):
            raise self.error(line, key, f"expected an object keyed by corruption, got {value!r}"[:120])
        unknown = sorted(set(value) - set(CORRUPTIONS))
        if unknown:
            raise self.error(line, f"{key}.{unknown[0]}",
                             f"unknown corruption; expected the 19 names {list(CORRUPTIONS)}")
        missing = [c for c in CORRUPTIONS if c not in value]
        if missing:
            raise self.error(line, key, f"missing corruptions {missing}")
        acc = np.empty((len(CORRUPTIONS), len(SEVERITIES)))
        loss = np.empty_like(acc)
        for c, name in enumerate(CORRUPTIONS):
            levels = value[name]
            if not isinstance(levels, dict) or sorted(levels) != [str(s) for s in SEVERITIES]:
                got = sorted(levels) if isinstance(levels, dict) else levels
                raise self.error(line, f"{key}.{name}", f'expected severities "1".."5", got {got!r}'[:160])
            for s, level in enumerate(SEVERITIES):
                entry = levels[str(level)]
                where = f"{key}.{name}.{level}"
                if not isinstance(entry, dict) or "acc" not in entry or "loss" not in entry:
                    raise self.error(line, where, f'expected {{"acc": ..., "loss": ...}}, got {entry!r}'[:160])
                acc[c, s] = self._number(line, f"{where}.acc", entry["acc"])
                loss[c, s] = self._number(line, f"{where}.loss", entry["loss"], optional=True)
        return acc, loss

    def table(self) -> Table:
        if not self.rows:
            raise DataFormatError("no records", path=self.path)
        order = np.argsort([row["arch_id"] for row in self.rows])
        cols = empty_columns(len(self.rows), self.epochs or 0)
        for out_row, index in enumerate(order):
            for key, value in self.rows[index].items():
                cols[key][out_row] = value
        train_acc = cols["train_acc"]
        fraction = bool(np.nanmax(train_acc) <= 1.0)
        if fraction:
            cols["train_acc"] = percent_of_fraction(train_acc)
        lines = np.array([self.first_line[int(arch_id)] for arch_id in cols["arch_id"]])
        bad = mismatched_counts(cols)
        if bad is not None:
            key, row, message = bad
            raise self.error(int(lines[row]), key, message)
        outside = first_outside_percent(cols, lines)
        if outside is not None:
            raise self.error(*outside)
        self._warn_best_epochs(cols, lines)
        meta = {"epochs": self.epochs, "train_acc_stored_as": "fraction" if fraction else "percent",
                "synthetic": self.synthetic_lines > 0}
        return Table(finalize_columns(cols), meta)

    def _warn_best_epochs(self, cols: Mapping[str, np.ndarray], lines: np.ndarray) -> None:
        """One warning for the records whose best_epoch is not a maximum of their recorded CW-40.

        The protocol selects the epoch of the best val CW-40 (spec §2.8); a record that disagrees
        is read as it stands (every metric at its best_epoch), not refused.
        """
        cw = cols["cw"]
        at_best = cw[np.arange(len(cw)), cols["best_epoch"]]
        bad = np.flatnonzero(at_best < np.fmax.reduce(cw, axis=1))
        if len(bad):
            log.warning("%s line %d: best_epoch is not a maximum of the recorded CW-40 (train[0].cw) in %d of "
                        "%d records (this is the first); their metrics are read at best_epoch as recorded",
                        self.path, lines[bad].min(), len(bad), len(cw))


def percent_of_fraction(fraction: np.ndarray) -> np.ndarray:
    """``fraction`` × 100, the decimal point moved exactly: 0.0007 gives 0.07, not 0.06999999999999999.

    A product that is within 2 ulp of a value with at most 10 decimals is that value (the file's
    fractions have 4 decimals); any other product is kept as computed.
    """
    product = fraction * 100.0
    with np.errstate(invalid="ignore", over="ignore"):
        decimal = np.round(product, 10)
        return np.where(np.abs(decimal - product) <= 2 * np.spacing(product), decimal, product)


def first_outside_percent(cols: Mapping[str, np.ndarray], lines: np.ndarray) -> tuple[int, str, str] | None:
    """(line, key, message) of the first accuracy in file order outside 0..100, or None.

    ``lines[row]`` is the file line of table row ``row``; a missing value (NaN) is not outside.
    """
    found = []
    for key in (*PERCENT_HISTORY_KEYS, *PERCENT_TEST_KEYS, "corruption_acc"):
        values = cols[key]
        with np.errstate(invalid="ignore"):
            bad = (values < 0) | (values > 100)
        rows = np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))
        if len(rows):
            row = int(rows[np.argmin(lines[rows])])
            found.append((int(lines[row]), key, row))
    if not found:
        return None
    line, key, row = min(found)
    values = cols[key][row]
    with np.errstate(invalid="ignore"):
        index = np.argwhere((values < 0) | (values > 100))[0] if values.ndim else ()
    value = float(values[tuple(index)])
    if key in PERCENT_HISTORY_KEYS:
        return line, f"train[0].{key}", f"value {int(index[0])} is {value!r}, outside 0..100 (accuracies are percent)"
    if key == "corruption_acc":
        name, level = CORRUPTIONS[index[0]], LEVEL_KEYS[index[1]]
        return line, f"test_best[0].corruptions.{name}.{level}.acc", f"{value!r} is outside 0..100 (percent)"
    return line, f"test_best[0].{key}", f"{value!r} is outside 0..100 (accuracies are percent)"


def _non_finite(raw: bytes) -> tuple[str, str] | None:
    """(key, what) of the first NaN or infinite number in a line strict JSON refuses, or None.

    Python's own parser reads ``NaN``, ``Infinity`` and overflowing numbers such as ``1e999``
    (which strict JSON and orjson refuse), so it can say where the bad number is.
    """
    try:
        return _first_non_finite(json.loads(raw), "")
    except ValueError:
        return None


def _first_non_finite(value: Any, where: str) -> tuple[str, str] | None:
    if isinstance(value, dict):
        items = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, float) and not math.isfinite(item):
                return where, f"value {i} is {_spelled(item)}"
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return (where, _spelled(value)) if isinstance(value, float) and not math.isfinite(value) else None
    for key, item in items:
        found = _first_non_finite(item, key)
        if found is not None:
            return found
    return None


def _spelled(value: float) -> str:
    return "NaN" if math.isnan(value) else ("infinite" if value > 0 else "-infinite")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_jsonl(table: Table, path: str | os.PathLike) -> Path:
    """Write ``table`` as ``cifar10.jsonl`` in the official schema, atomically.

    ``train_acc`` is written in percent like every other accuracy (the reader accepts the
    training logs' fractions too), so a written table reads back bit for bit.
    """
    path = Path(path)
    cols = table.columns
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # opened first: a path we cannot write fails at once
        lists = {name: np.asarray(cols[name]).tolist() for name in cols}
        archs = archs_by_id()[np.asarray(cols["arch_id"]) - 1].tolist()
        buffer = io.BufferedWriter(fh, buffer_size=1 << 20)
        for row in range(len(table)):
            arch_id = lists["arch_id"][row]
            train = {key: lists[key][row] for key in TRAIN_SCALARS}
            train.update({key: lists[key][row] for key in HISTORY_KEYS})
            test = {key: _none_if_nan(lists[key][row]) for key in TEST_KEYS}
            acc = lists["corruption_acc"][row]
            has_corruptions = not np.isnan(acc[0][0])
            obj = json_object(arch_id, tuple(archs[row]), int(macs_by_id()[arch_id - 1]),
                              int(params_by_id()[arch_id - 1]), train, test,
                              acc if has_corruptions else None,
                              lists["corruption_loss"][row] if has_corruptions else None,
                              table.synthetic)
            buffer.write(orjson.dumps(obj))
            buffer.write(b"\n")
        buffer.flush()
        os.fsync(fh.fileno())
    return path


def _none_if_nan(value: float) -> float | None:
    return None if value != value else value


def check_complete(table: Table, path: str) -> None:
    """Refuse a table that is not the whole space with consistent ids and counts."""
    ids = table.arch_ids
    if len(ids) != N_ARCHS:
        missing = np.setdiff1d(np.arange(1, N_ARCHS + 1), ids)
        raise DataFormatError(
            f"expected all {N_ARCHS:,} architectures, found {len(ids):,} "
            f"(first missing arch_id {int(missing[0])})", path=path,
        )
    bad = mismatched_counts(table.columns)
    if bad is not None:
        key, row, message = bad
        raise DataFormatError(f"arch_id {int(ids[row])}: {message}", path=path, key=key)


def mismatched_counts(columns: Mapping[str, np.ndarray]) -> tuple[str, int, str] | None:
    """The first stored Params/MACs value that disagrees with the exact count, or None.

    Values below 1e5 are millions (the file's unit, rounded to 2 decimals); larger ones are
    raw counts. Returns (key, row, message).
    """
    rows = columns["arch_id"] - 1
    for key, exact_all in (("MACs", macs_by_id()), ("Params", params_by_id())):
        stored = np.asarray(columns[key], dtype=np.float64)
        exact = exact_all[rows].astype(np.float64)
        millions = stored < 1e5  # raw counts are always above 2e7 in this space
        expected = np.where(millions, exact / 1e6, exact)
        tolerance = np.where(millions, MILLIONS_TOLERANCE, MILLIONS_TOLERANCE * 1e6)
        bad = np.flatnonzero(np.abs(stored - expected) > tolerance)
        if len(bad):
            row = int(bad[0])
            unit = "millions" if millions[row] else "count"
            return key, row, (f"stored {stored[row]:g} ({unit}) does not match the search space's exact "
                              f"{int(exact[row]):,}")
    return None
