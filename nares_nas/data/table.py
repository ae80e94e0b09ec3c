"""The columnar NARes table and its on-disk cache.

One array per field, row ``i`` describing ``arch_id[i]``: scalars ``(n,)``, per-epoch histories
``(n, epochs)``, corruptions ``(n, 19, 5)``. On disk a table is a folder of ``.npy`` files
(``allow_pickle=False``) plus ``meta.json`` holding a CRC-32 and the shape of every array and
the fingerprint of the source it was built from; ``meta.json`` is written last and the folder
is swapped in whole, so a half-written cache never looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas.errors import CacheError
from nares_nas.metrics import CORRUPTIONS, HISTORY_KEYS, SEVERITIES, TEST_KEYS

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: built by the parser that refuses impossible values and shifts train_acc exactly
TRAIN_SCALARS: tuple[str, ...] = ("seed", "gpu_type", "timestamp", "training_time", "best_epoch")
SCALAR_COLUMNS: tuple[str, ...] = ("arch_id", "MACs", "Params", *TRAIN_SCALARS, *TEST_KEYS)
COLUMNS: tuple[str, ...] = (
    *SCALAR_COLUMNS, *HISTORY_KEYS, "corruption_acc", "corruption_loss",
)


@dataclass(frozen=True)
class Table:
    """All records of one data source as arrays, rows in ascending ``arch_id``.

    ``meta`` holds ``source`` (where the data came from), ``synthetic`` (True for the
    stand-in) and ``epochs``. Absent optional values are NaN (``test_best`` keys read with
    ``.get`` by the reference, and ``corruptions``).
    """

    columns: Mapping[str, np.ndarray]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [name for name in COLUMNS if name not in self.columns]
        if missing:
            raise CacheError(f"table is missing columns {missing}")
        n = len(self.columns["arch_id"])
        wrong = [name for name in COLUMNS if len(self.columns[name]) != n]
        if wrong:
            raise CacheError(f"columns {wrong} do not have {n} rows")

    def __len__(self) -> int:
        return len(self.columns["arch_id"])

    @property
    def arch_ids(self) -> np.ndarray:
        return self.columns["arch_id"]

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def source(self) -> str:
        return str(self.meta.get("source", "?"))

    @property
    def epochs(self) -> int:
        return int(self.columns["train_loss"].shape[1])


def empty_columns(n: int, epochs: int) -> dict[str, np.ndarray]:
    """Preallocated columns for ``n`` records of ``epochs`` epochs (NaN / zero filled)."""
    cols: dict[str, np.ndarray] = {
        "arch_id": np.zeros(n, dtype=np.int64),
        "MACs": np.full(n, np.nan),
        "Params": np.full(n, np.nan),
        "seed": np.zeros(n, dtype=np.int64),
        "gpu_type": np.full(n, "", dtype=object),
        "timestamp": np.full(n, "", dtype=object),
        "training_time": np.full(n, np.nan),
        "best_epoch": np.zeros(n, dtype=np.int64),
    }
    for key in TEST_KEYS:
        cols[key] = np.full(n, np.nan)
    for key in HISTORY_KEYS:
        cols[key] = np.full((n, epochs), np.nan)
    shape = (n, len(CORRUPTIONS), len(SEVERITIES))
    cols["corruption_acc"] = np.full(shape, np.nan)
    cols["corruption_loss"] = np.full(shape, np.nan)
    return cols


def finalize_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fix string columns to fixed-width unicode and make every array read-only."""
    out = {}
    for name, array in cols.items():
        if array.dtype == object:
            array = array.astype(str)
        array.setflags(write=False)
        out[name] = array
    return out


# --------------------------------------------------------------------------- cache on disk
def _crc(array: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def save_table(table: Table, directory: str | os.PathLike, fingerprint: Mapping[str, Any]) -> None:
    """Write ``table`` to ``directory`` atomically (build beside it, then swap in)."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        arrays = {}
        for name in COLUMNS:
            array = np.ascontiguousarray(table.columns[name])
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
            arrays[name] = {"crc32": _crc(array), "shape": list(array.shape), "dtype": array.dtype.str}
        meta = {
            "format": CACHE_FORMAT,
            "fingerprint": dict(fingerprint),
            "meta": dict(table.meta),
            "arrays": arrays,
        }
        with open(tmp / "meta.json", "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_fingerprint(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The source fingerprint a cache was built from, or None if there is no readable cache."""
    try:
        with open(Path(directory) / "meta.json", encoding="utf-8") as fh:
            return dict(json.load(fh)["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_table(directory: str | os.PathLike) -> Table:
    """Read a cached table, verifying every array's shape, dtype and CRC-32.

    Raises :class:`CacheError` naming the bad file; the caller rebuilds from the source.
    """
    directory = Path(directory)
    meta_path = directory / "meta.json"
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
        if meta.get("format") != CACHE_FORMAT:
            raise CacheError(f"{meta_path}: cache format {meta.get('format')!r}, expected {CACHE_FORMAT}")
        arrays = meta["arrays"]
    except FileNotFoundError:
        raise CacheError(f"no cache at {directory}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CacheError(f"{meta_path}: unreadable cache metadata ({exc})") from None
    columns = {}
    for name in COLUMNS:
        path = directory / f"{name}.npy"
        info = arrays.get(name)
        if info is None:
            raise CacheError(f"{meta_path}: no entry for column {name!r}")
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise CacheError(f"{path}: unreadable cache array ({exc})") from None
        if list(array.shape) != info["shape"] or array.dtype.str != info["dtype"]:
            raise CacheError(
                f"{path}: shape {array.shape} {array.dtype.str}, "
                f"expected {tuple(info['shape'])} {info['dtype']}"
            )
        if _crc(array) != info["crc32"]:
            raise CacheError(f"{path}: checksum mismatch, the cache is corrupt")
        columns[name] = array
    return Table(columns, meta.get("meta", {}))


def source_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Cheap identity of a source file: resolved path, size and modification time."""
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
