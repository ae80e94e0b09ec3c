"""A persistent SQLite cache of live-trained records, safe for several writing processes.

One row per (arch_id, profile key, seed) holds the whole record JSON. The profile key is the
profile's stable hash, and every query filters by it, so records trained under another
profile (the CPU ``digits`` one, a shortened schedule, ...) never mix with NARes records.

Concurrency: the database runs in WAL mode with a busy timeout, every write is one
``INSERT OR REPLACE`` in an immediate transaction, and a write that still meets "database is
locked" is retried with a growing pause. Each operation opens its own connection, so a cache
object may be shared with forked or spawned processes.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from ..errors import CacheError, DataFormatError
from ..home import data_home
from ..metrics import HISTORY_KEYS
from ..space import check_arch_id
from ..table import Table

log = logging.getLogger(__name__)

CACHE_FILE = "live_cache.sqlite"
BUSY_TIMEOUT_MS = 30_000
RETRIES = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    arch_id      INTEGER NOT NULL,
    profile_key  TEXT    NOT NULL,
    seed         INTEGER NOT NULL,
    profile_name TEXT    NOT NULL,
    device       TEXT    NOT NULL,
    created      REAL    NOT NULL,
    record       TEXT    NOT NULL,
    PRIMARY KEY (arch_id, profile_key, seed)
)
"""


def default_cache_path() -> Path:
    """``data_home()/live_cache.sqlite``."""
    return data_home() / CACHE_FILE


def check_record(record: Mapping[str, Any]) -> int:
    """Refuse a record that would not load as a ``cifar10.jsonl`` line; return its arch_id."""
    try:
        arch_id = check_arch_id(record["arch_id"])
        train, test = record["train"], record["test_best"]
        if len(train) != 1 or len(test) != 1 or test[0] is None:
            raise DataFormatError("'train' and 'test_best' must be lists of one object")
        epochs = len(train[0]["train_loss"])
        lengths = {key: len(train[0][key]) for key in HISTORY_KEYS}
        if epochs == 0 or any(n != epochs for n in lengths.values()):
            raise DataFormatError(f"per-epoch lists of unequal or zero length: {lengths}")
        if not 0 <= int(train[0]["best_epoch"]) < epochs:
            raise DataFormatError(f"best_epoch {train[0]['best_epoch']} outside 0..{epochs - 1}")
    except KeyError as exc:
        raise DataFormatError("record lacks a required key", key=str(exc.args[0])) from None
    except TypeError as exc:
        raise DataFormatError(f"malformed record ({exc})") from None
    return arch_id


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class RecordCache:
    """Live-trained records on disk, keyed by (arch_id, profile, seed).

    ``path`` defaults to :func:`default_cache_path`. Profiles are
    :class:`~nares_nas.live.profiles.Profile` values (only ``name`` and ``key`` are read).
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._retry(self._create)

    def __repr__(self) -> str:
        return f"RecordCache({str(self.path)!r})"

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM records")[0][0])

    # ----------------------------------------------------------------- plumbing
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: cannot open the live cache ({exc})") from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _create(self) -> None:
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_SCHEMA)

    def _retry(self, operation, *args):
        """Run ``operation``, retrying while another process holds the lock."""
        for attempt in range(RETRIES):
            try:
                return operation(*args)
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or attempt == RETRIES - 1:
                    raise CacheError(f"{self.path}: {exc}") from None
                pause = 0.05 * 2**attempt
                log.debug("%s is locked, retrying in %.2f s", self.path, pause)
                time.sleep(pause)
            except sqlite3.DatabaseError as exc:
                raise CacheError(f"{self.path}: not a usable live cache ({exc})") from None
        raise AssertionError("unreachable")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        def run() -> list[tuple]:
            with closing(self._connect()) as conn:
                return conn.execute(sql, tuple(params)).fetchall()

        return self._retry(run)

    @staticmethod
    def _decode(row: tuple, where: str) -> dict[str, Any]:
        try:
            return json.loads(row[0])
        except ValueError as exc:
            raise CacheError(f"{where}: corrupt record JSON ({exc})") from None

    # ----------------------------------------------------------------- API
    def put(self, record: Mapping[str, Any], profile: Any, seed: int | None = None,
            device: str | None = None) -> None:
        """Store ``record`` (replacing an earlier one with the same key).

        ``seed`` defaults to the record's training seed, ``device`` to its ``gpu_type``.
        """
        arch_id = check_record(record)
        train = record["train"][0]
        seed = int(train["seed"] if seed is None else seed)
        device = str(train.get("gpu_type", "") if device is None else device)
        try:
            text = json.dumps(record, allow_nan=False)
        except ValueError as exc:
            raise DataFormatError(f"record of arch_id {arch_id} is not strict JSON ({exc})") from None
        row = (arch_id, profile.key, seed, profile.name, device, time.time(), text)

        def write() -> None:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", row)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

        self._retry(write)

    def get(self, arch_id: int, profile: Any, seed: int | None = None) -> dict[str, Any] | None:
        """The record of ``arch_id`` under ``profile`` (and ``seed``; None: the lowest seed)."""
        arch_id = check_arch_id(arch_id)
        if seed is None:
            rows = self._read("SELECT record FROM records WHERE arch_id = ? AND profile_key = ? "
                              "ORDER BY seed LIMIT 1", (arch_id, profile.key))
        else:
            rows = self._read("SELECT record FROM records WHERE arch_id = ? AND profile_key = ? AND seed = ?",
                              (arch_id, profile.key, int(seed)))
        return self._decode(rows[0], f"{self.path} arch_id {arch_id}") if rows else None

    def records(self, profile: Any, seed: int | None = None) -> list[dict[str, Any]]:
        """Every record of ``profile`` (of one ``seed`` if given), by arch_id then seed."""
        sql = "SELECT record FROM records WHERE profile_key = ?"
        params: list[Any] = [profile.key]
        if seed is not None:
            sql += " AND seed = ?"
            params.append(int(seed))
        rows = self._read(sql + " ORDER BY arch_id, seed", params)
        return [self._decode(row, str(self.path)) for row in rows]

    def entries(self, profile: Any | None = None) -> list[dict[str, Any]]:
        """One summary per row (no record body): arch_id, seed, profile, device, created."""
        sql = "SELECT arch_id, seed, profile_name, profile_key, device, created FROM records"
        params: list[Any] = []
        if profile is not None:
            sql += " WHERE profile_key = ?"
            params.append(profile.key)
        rows = self._read(sql + " ORDER BY profile_name, arch_id, seed", params)
        names = ("arch_id", "seed", "profile", "profile_key", "device", "created")
        return [dict(zip(names, row)) for row in rows]

    def to_table(self, profile: Any, seed: int | None = None) -> Table:
        """The records of ``profile`` as a :class:`~nares_nas.table.Table` (one row per arch).

        With several seeds of one architecture the lowest seed's record is used, unless
        ``seed`` picks one.
        """
        chosen: dict[int, dict[str, Any]] = {}
        for record in self.records(profile, seed):
            chosen.setdefault(int(record["arch_id"]), record)
        if not chosen:
            raise CacheError(f"{self.path} holds no records of profile {profile.name!r} ({profile.key})")
        return records_to_table(chosen.values(), source=f"{self.path}#{profile.name}")


def records_to_table(records: Iterable[Mapping[str, Any]], source: str) -> Table:
    """Records (``cifar10.jsonl`` objects) as a Table, through the tabular loader itself.

    Going through :func:`nares_nas.jsonl.parse_lines` keeps one parser, with its validation,
    for published and live data alike. An arch_id may appear once.
    """
    import orjson

    from ..jsonl import parse_lines

    table = parse_lines((orjson.dumps(record) for record in records), source)
    return Table(table.columns, {**table.meta, "source": source, "synthetic": False})
