"""A persistent SQLite cache of live-trained records, safe for several writing processes.

One row per (arch_id, profile key, seed, epochs) holds the whole record JSON. The profile key is
the profile's stable hash, and every query filters by it, so records trained under another
profile (the CPU ``digits`` one, a shortened schedule, ...) never mix with NARes records.
``epochs`` is the number of epochs trained: a full training stores the profile's ``epochs``, and
every read without ``epochs`` means the full training (partial trainings have their own keys).

A record is never overwritten: putting a different record under a key the cache holds raises
:class:`~nares_nas.errors.CacheConflictError` naming both (``nares-nas cache rm`` removes one on
purpose); putting the identical record again changes nothing, so retries are safe.

The schema carries a version (SQLite's ``user_version``, :data:`SCHEMA_VERSION`). A cache written
before versions existed (version 0, no ``epochs`` column) is migrated to version 1 in place, in one
transaction that keeps every row; a cache of a newer version is refused.

Concurrency: the database runs in WAL mode with a busy timeout, every write is one immediate
transaction, and an operation that still meets "database is locked" is retried with a growing
pause. Each operation opens its own connection, so a cache object may be shared with forked or
spawned processes.
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

import orjson

from nares_nas._validation import check_int
from nares_nas.data.home import data_home
from nares_nas.data.jsonl import parse_lines
from nares_nas.data.table import Table
from nares_nas.errors import CacheConflictError, CacheError, ConfigError, DataFormatError
from nares_nas.live.profiles import PROFILES, Profile, get_profile
from nares_nas.metrics import HISTORY_KEYS
from nares_nas.space import Arch, check_arch_id

log = logging.getLogger(__name__)

CACHE_FILE = "live_cache.sqlite"
BUSY_TIMEOUT_MS = 30_000
RETRIES = 8

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    arch_id      INTEGER NOT NULL,
    profile_key  TEXT    NOT NULL,
    seed         INTEGER NOT NULL,
    epochs       INTEGER NOT NULL,
    profile_name TEXT    NOT NULL,
    device       TEXT    NOT NULL,
    created      REAL    NOT NULL,
    record       TEXT    NOT NULL,
    PRIMARY KEY (arch_id, profile_key, seed, epochs)
)
"""
_COLUMNS = "arch_id, profile_key, seed, epochs, profile_name, device, created, record"
# The columns of the unversioned table (version 0), which lacked epochs.
_V0_COLUMNS = ("arch_id", "profile_key", "seed", "profile_name", "device", "created", "record")
_KEY = "arch_id = ? AND profile_key = ? AND seed = ? AND epochs = ?"


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


def _history_length(record: Mapping[str, Any]) -> int:
    return len(record["train"][0]["train_loss"])


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    """Where two JSON values first differ, as ``train[0].training_time (0.5 vs 0.25)``; None if equal."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in [*a, *(k for k in b if k not in a)]:
            here = f"{where}.{key}" if where else str(key)
            if key not in a or key not in b:
                shown = (json.dumps(a[key]) if key in a else "absent", json.dumps(b[key]) if key in b else "absent")
                return f"{here} ({shown[0][:60]} vs {shown[1][:60]})"
            found = first_difference(a[key], b[key], here)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found is not None:
                return found
        if len(a) != len(b):
            return f"{where} ({len(a)} vs {len(b)} items)"
        return None
    if a == b and type(a) is type(b):
        return None
    return f"{where or 'the record'} ({json.dumps(a)[:60]} vs {json.dumps(b)[:60]})"


def _describe(record: Mapping[str, Any], created: float | None = None) -> str:
    train = record["train"][0]
    text = (f"gpu_type {train.get('gpu_type')!r}, timestamp {train.get('timestamp')!r}, "
            f"training_time {train.get('training_time')!r}")
    if created is not None:
        text += f", cached {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(created))}"
    return text


def _profile_option(profile: Any) -> str:
    """How ``nares-nas cache rm`` names ``profile``: its registered name, else its key."""
    return profile.name if PROFILES.get(profile.name) == profile else profile.key


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class RecordCache:
    """Live-trained records on disk, keyed by (arch_id, profile, seed, epochs).

    ``path`` defaults to :func:`default_cache_path`. Profiles are
    :class:`~nares_nas.live.profiles.Profile` values (``name``, ``key`` and ``epochs`` are read).
    Opening migrates an unversioned cache to :data:`SCHEMA_VERSION` and refuses a newer one.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._retry(self._open)

    def __repr__(self) -> str:
        return f"RecordCache({str(self.path)!r})"

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM records")[0][0])

    @property
    def schema_version(self) -> int:
        """The file's schema version (:data:`SCHEMA_VERSION` once opened)."""
        return int(self._read("PRAGMA user_version")[0][0])

    # ----------------------------------------------------------------- plumbing
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: cannot open the live cache ({exc})") from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise CacheError(f"{self.path}: live cache schema version {version} is newer than the version "
                             f"{SCHEMA_VERSION} this nares-nas reads; upgrade nares-nas, or use another cache "
                             "file (--cache PATH)")

    def _open(self) -> None:
        """Create the schema, or migrate an unversioned one, in one immediate transaction."""
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            self._refuse_newer(version)
            if version == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
                self._refuse_newer(version)
                if version < SCHEMA_VERSION:
                    self._migrate_from_0(conn)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _migrate_from_0(self, conn: sqlite3.Connection) -> None:
        """Version 0 (no ``epochs``) to 1: every row kept, ``epochs`` = its history's length.

        Rows of version 0 are full trainings, whose histories hold the profile's epochs.
        """
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "records" not in tables:
            conn.execute(_SCHEMA)
            return
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(records)"))
        if columns != _V0_COLUMNS:
            raise CacheError(f"{self.path}: an unversioned table 'records' with columns {list(columns)}; "
                             f"expected the live cache's {list(_V0_COLUMNS)}")
        rows = conn.execute(f"SELECT {', '.join(_V0_COLUMNS)} FROM records").fetchall()
        migrated = []
        for arch_id, key, seed, name, device, created, text in rows:
            where = f"{self.path} arch_id {arch_id} profile {name} seed {seed}"
            try:
                epochs = _history_length(json.loads(text))
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise CacheError(f"{where}: cannot migrate a record without a readable history ({exc!r}); "
                                 "the file is left unchanged") from None
            migrated.append((arch_id, key, seed, epochs, name, device, created, text))
        conn.execute("ALTER TABLE records RENAME TO records_v0")
        conn.execute(_SCHEMA)
        conn.executemany(f"INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", migrated)
        conn.execute("DROP TABLE records_v0")
        log.info("%s: migrated %d records to live cache schema version %d", self.path, len(migrated),
                 SCHEMA_VERSION)

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

    def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in an immediate transaction; the number of rows it changed."""
        def run() -> int:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    changed = conn.execute(sql, tuple(params)).rowcount
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                return changed

        return self._retry(run)

    @staticmethod
    def _decode(row: tuple, where: str) -> dict[str, Any]:
        try:
            return json.loads(row[0])
        except ValueError as exc:
            raise CacheError(f"{where}: corrupt record JSON ({exc})") from None

    @staticmethod
    def _epochs(profile: Any, epochs: int | None) -> int:
        """``epochs``, or the profile's (the full training) when None; within 1..profile.epochs."""
        if epochs is None:
            return int(profile.epochs)
        return check_int(epochs, f"epochs (profile {profile.name!r} trains {profile.epochs})", 1, profile.epochs)

    def _key(self, arch_id: int, profile: Any, seed: int, epochs: int | None) -> tuple[int, str, int, int]:
        return check_arch_id(arch_id), profile.key, int(seed), self._epochs(profile, epochs)

    # ----------------------------------------------------------------- API
    def put(self, record: Mapping[str, Any], profile: Any, seed: int | None = None,
            device: str | None = None, epochs: int | None = None) -> bool:
        """Store ``record`` under (its arch_id, ``profile``, ``seed``, ``epochs``); True if it was new.

        ``seed`` defaults to the record's training seed, ``device`` to its ``gpu_type``, ``epochs``
        to the profile's (a full training); the record's histories must hold ``epochs`` epochs.
        The identical record again is a no-op (False); a different one raises
        :class:`~nares_nas.errors.CacheConflictError` and leaves the stored one.
        """
        arch_id = check_record(record)
        train = record["train"][0]
        seed = int(train["seed"] if seed is None else seed)
        key = self._key(arch_id, profile, seed, epochs)
        trained = _history_length(record)
        if trained != key[3]:
            raise DataFormatError(
                f"record of arch_id {arch_id} holds {trained} epochs of history, its cache key says {key[3]} "
                f"(profile {profile.name!r} trains {profile.epochs}; pass epochs= for a partial training)",
                key="epochs")
        device = str(train.get("gpu_type", "") if device is None else device)
        try:
            text = json.dumps(record, allow_nan=False)
        except ValueError as exc:
            raise DataFormatError(f"record of arch_id {arch_id} is not strict JSON ({exc})") from None
        row = (*key, profile.name, device, time.time(), text)

        def write() -> tuple[str, float] | None:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    found = conn.execute(f"SELECT record, created FROM records WHERE {_KEY}", key).fetchone()
                    if found is None:
                        conn.execute(f"INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                return found

        found = self._retry(write)
        if found is None:
            return True
        stored = self._decode(found, f"{self.path} arch_id {arch_id}")
        new = json.loads(text)
        difference = first_difference(stored, new)
        if difference is None:
            return False
        raise CacheConflictError(
            str(self.path),
            {"arch_id": arch_id, "profile": profile.name, "profile_key": profile.key, "seed": seed,
             "epochs": key[3]},
            _describe(stored, found[1]), _describe(new), difference,
            f"remove the stored one on purpose with `nares-nas cache rm {Arch.from_id(arch_id)} --profile "
            f"{_profile_option(profile)} --seed {seed} --epochs {key[3]} --cache {self.path}`",
        )

    def get(self, arch_id: int, profile: Any, seed: int | None = None,
            epochs: int | None = None) -> dict[str, Any] | None:
        """The record of ``arch_id`` under ``profile`` and ``seed`` (None: the lowest seed) trained
        for ``epochs`` (None: the profile's full training)."""
        arch_id = check_arch_id(arch_id)
        epochs = self._epochs(profile, epochs)
        if seed is None:
            rows = self._read("SELECT record FROM records WHERE arch_id = ? AND profile_key = ? AND epochs = ? "
                              "ORDER BY seed LIMIT 1", (arch_id, profile.key, epochs))
        else:
            rows = self._read(f"SELECT record FROM records WHERE {_KEY}", (arch_id, profile.key, int(seed), epochs))
        return self._decode(rows[0], f"{self.path} arch_id {arch_id}") if rows else None

    def epochs_held(self, arch_id: int, profile: Any, seed: int) -> list[int]:
        """The epoch counts of the records held for (``arch_id``, ``profile``, ``seed``), ascending."""
        rows = self._read("SELECT epochs FROM records WHERE arch_id = ? AND profile_key = ? AND seed = ? "
                          "ORDER BY epochs", (check_arch_id(arch_id), profile.key, int(seed)))
        return [int(row[0]) for row in rows]

    def remove(self, arch_id: int, profile: Any, seed: int, epochs: int | None = None) -> bool:
        """Delete the record under (``arch_id``, ``profile``, ``seed``, ``epochs``); True if there was one."""
        return self._write(f"DELETE FROM records WHERE {_KEY}", self._key(arch_id, profile, seed, epochs)) > 0

    def records(self, profile: Any, seed: int | None = None, epochs: int | None = None) -> list[dict[str, Any]]:
        """Every record of ``profile`` (of one ``seed`` if given) trained for ``epochs`` (None: the
        full training), by arch_id then seed."""
        sql = "SELECT record FROM records WHERE profile_key = ? AND epochs = ?"
        params: list[Any] = [profile.key, self._epochs(profile, epochs)]
        if seed is not None:
            sql += " AND seed = ?"
            params.append(int(seed))
        rows = self._read(sql + " ORDER BY arch_id, seed", params)
        return [self._decode(row, str(self.path)) for row in rows]

    def entries(self, profile: Any | None = None) -> list[dict[str, Any]]:
        """One summary per row (no record body): arch_id, seed, epochs, profile, profile_key, device, created."""
        sql = "SELECT arch_id, seed, epochs, profile_name, profile_key, device, created FROM records"
        params: list[Any] = []
        if profile is not None:
            sql += " WHERE profile_key = ?"
            params.append(profile.key)
        rows = self._read(sql + " ORDER BY profile_name, profile_key, arch_id, seed, epochs", params)
        names = ("arch_id", "seed", "epochs", "profile", "profile_key", "device", "created")
        return [dict(zip(names, row)) for row in rows]

    def profile(self, key: str) -> Any | None:
        """The profile whose :attr:`~nares_nas.live.profiles.Profile.key` is ``key``, read back from
        one of its records (None when the cache holds none)."""
        for row in self._read("SELECT record FROM records WHERE profile_key = ?", (str(key),)):
            stored = self._decode(row, str(self.path)).get("profile")
            try:
                profile = Profile.from_dict(stored) if isinstance(stored, Mapping) else get_profile(str(stored))
            except ConfigError:
                continue  # a record whose profile is not readable here
            if profile.key == key:
                return profile
        return None

    def to_table(self, profile: Any, seed: int | None = None) -> Table:
        """The full-training records of ``profile`` as a :class:`~nares_nas.data.table.Table` (one row per arch).

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

    Going through :func:`nares_nas.data.jsonl.parse_lines` keeps one parser, with its validation,
    for published and live data alike. An arch_id may appear once.
    """

    table = parse_lines((orjson.dumps(record) for record in records), source)
    return Table(table.columns, {**table.meta, "source": source, "synthetic": False})
