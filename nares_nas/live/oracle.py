"""Lookup-or-train: an oracle that trains the architectures its table lacks.

:class:`LiveOracle` answers a query from the NARes table when the run uses NARes's own
training profile and the table holds the architecture, else from the live cache, else (in
live mode) trains and evaluates the architecture, stores its record in the cache and answers
from that. Budget keeping, the query log and the refusal of test-set objectives are the
plain :class:`~nares_nas.oracle.Oracle`'s, so searchers cannot tell the difference.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._optional import require
from nares_nas.data.home import data_home
from nares_nas.data.synthetic import SYNTHETIC_KIND
from nares_nas.errors import ConfigError, DataFormatError, UnknownArchError
from nares_nas.live.cache import RecordCache, records_to_table
from nares_nas.live.pipeline import DEFAULT_THREADS, LIVE_MODE, run_dir, train_and_evaluate
from nares_nas.live.profiles import PROFILES, resolve_profile
from nares_nas.metrics import MetricSpec, compute
from nares_nas.oracle import Oracle
from nares_nas.space import Arch

log = logging.getLogger(__name__)

Trainer = Callable[..., Mapping[str, Any]]


def record_metric(record: Mapping[str, Any], metric: str | MetricSpec) -> float:
    """One scalar metric of one record, derived exactly as for the whole table."""
    table = records_to_table([record], source="record")
    return float(compute(table.columns, metric)[0])


def is_nares_profile(profile: Any) -> bool:
    """True for NARes's own training protocol (the one the published table was made with)."""
    return profile == PROFILES["nares"]


def check_table(bench: Any, profile: Any) -> None:
    """Refuse a synthetic table for NARes's profile: its values must never pass for measurements.

    Under any other profile the table is not consulted, so any table (or None) is accepted.
    """
    if bench is not None and bench.synthetic and is_nares_profile(resolve_profile(profile)):
        raise ConfigError(
            f"the table {bench.source} is the {SYNTHETIC_KIND}, so it may not answer "
            "live queries under profile 'nares': import the NARes data (`nares-nas data import PATH`), pass a "
            "partial NARes-format table (--data FILE.jsonl; in Python bench=nares_nas.load(FILE)), or train "
            "every architecture (--data none; in Python bench=None)")


class LiveOracle(Oracle):
    """Table, then cache, then (with ``live=True``) training.

    ``bench`` is a :class:`~nares_nas.Benchmark` or None; it answers only under the NARes
    profile, and a synthetic one is refused there (:func:`check_table`). ``cache`` is a
    :class:`RecordCache` or its path (None: the default file).
    Trained runs go to ``runs_dir/<profile>-<key>/seed_<seed>/arch_<id>/`` (``runs_dir``
    defaults to ``data_dir/runs``, or ``data_home()/runs`` without a data folder).
    ``trainer`` has :func:`~nares_nas.live.pipeline.train_and_evaluate`'s signature (tests
    inject a fast one); ``num_threads`` (torch CPU threads) and ``compile`` (``torch.compile``) are
    passed on to it.
    """

    def __init__(
        self,
        bench: Any = None,
        *,
        profile: Any,
        objective: str = "VAL_PGD_ACC",
        maximize: bool | None = None,
        budget: int | None = None,
        data_dir: str | os.PathLike | None = None,
        cache: RecordCache | str | os.PathLike | None = None,
        live: bool = True,
        seed: int = 0,
        device: str = "auto",
        runs_dir: str | os.PathLike | None = None,
        trainer: Trainer = train_and_evaluate,
        progress: bool = False,
        num_threads: int | None = DEFAULT_THREADS,
        reference_test_set: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__(objective, maximize, budget, reference_test_set)
        self.profile = resolve_profile(profile)
        check_table(bench, self.profile)
        self.cache = cache if isinstance(cache, RecordCache) else RecordCache(cache)
        self.data_dir = None if data_dir is None else Path(data_dir)
        if runs_dir is None:
            runs_dir = (self.data_dir if self.data_dir is not None else data_home()) / "runs"
        self.runs_dir = Path(runs_dir)
        self.live = bool(live)
        if self.live and trainer is train_and_evaluate:  # before any run starts, not at its first training
            require("torch", LIVE_MODE)
        self.seed = int(seed)
        self.device = device
        self.trainer = trainer
        self.progress = progress
        self.num_threads = num_threads
        self.compile = bool(compile)
        self._values: list[float] | None = None
        self._table_source = None
        if bench is not None and is_nares_profile(self.profile):
            self._values = np.asarray(bench.metric_by_id(self.objective.name), dtype=np.float64).tolist()
            self._table_source = bench.source
        elif bench is not None:
            log.info("profile %s is not NARes's: the table %s is not consulted", self.profile.name, bench.source)
        self.trained: list[int] = []

    @property
    def source(self) -> str:
        cache = f"live cache {self.cache.path} (profile {self.profile.name})"
        return f"{self._table_source} + {cache}" if self._table_source else cache

    def lookup(self, arch_id: int) -> float:
        if self._values is not None:
            value = self._values[arch_id]
            if value == value:  # not NaN: the table holds it
                return value
        record = self.cache.get(arch_id, self.profile, self.seed)
        if record is None:
            if not self.live:
                raise UnknownArchError(
                    f"{Arch.from_id(arch_id)} (arch_id {arch_id})", self.source,
                    f"train it in live mode (nares-nas search --live, or nares-nas train "
                    f"{Arch.from_id(arch_id)} --profile {self.profile.name})",
                )
            record = self.train(arch_id)
        return record_metric(record, self.objective)

    def train(self, arch_id: int) -> Mapping[str, Any]:
        """Train and evaluate one architecture, store its record in the cache, return it."""
        arch = Arch.from_id(arch_id)
        out_dir = run_dir(self.runs_dir, self.profile, arch_id, self.seed)
        log.info("live: training %s (arch_id %d) in %s", arch, arch_id, out_dir)
        record = self.trainer(arch, self.profile, seed=self.seed, data_dir=self.data_dir,
                              out_dir=out_dir, device=self.device, progress=self.progress,
                              num_threads=self.num_threads, compile=self.compile)
        if int(record["arch_id"]) != arch_id:
            raise DataFormatError(f"the trainer returned arch_id {record['arch_id']} for arch_id {arch_id}",
                                  path=str(out_dir), key="arch_id")
        self.cache.put(record, self.profile, self.seed)
        self.trained.append(arch_id)
        return record


def make_live_oracle(
    bench: Any,
    *,
    objective: str = "VAL_PGD_ACC",
    maximize: bool | None = None,
    budget: int | None = None,
    profile: Any = "nares",
    data_dir: str | os.PathLike | None = None,
    cache_path: str | os.PathLike | None = None,
    live: bool = True,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
    num_threads: int | None = DEFAULT_THREADS,
    reference_test_set: bool = False,
    compile: bool = False,
) -> LiveOracle:
    """The oracle behind ``nares-nas search --live --data-dir DIR --profile NAME``."""
    return LiveOracle(bench, profile=profile, objective=objective, maximize=maximize, budget=budget,
                      data_dir=data_dir, cache=cache_path, live=live, seed=seed, device=device,
                      progress=progress, num_threads=num_threads, reference_test_set=reference_test_set,
                      compile=compile)
