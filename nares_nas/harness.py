"""Repeated runs of one searcher: seeds in parallel, each run written to a folder as it finishes.

A run is fully determined by (searcher class and hyper-parameters, seed, budget, objective
values): its generator is ``np.random.default_rng(seed)`` wherever it runs, so sequential,
process-parallel (joblib/loky) and Dask runs give identical trajectories. Workers receive only
the searcher and the (15626,) objective array, never the whole benchmark.

Folder layout written by :func:`run_to_dir`::

    DIR/config.json          what determines the runs (checked on every reuse of DIR)
    DIR/runs/seed_00042.json one finished run: trajectory, best arch, hyper-parameters
    DIR/summary.csv          one row per run in DIR, sorted by seed

Every file is written to a temporary name and moved into place, so an interrupted job leaves
only whole runs behind and ``resume=True`` continues it.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from . import __version__
from ._atomic import write_bytes_atomic
from ._rng import as_generator
from .benchmark import Benchmark
from .errors import ConfigError, DataFormatError
from .metrics import objective_metric
from .oracle import TabularOracle, Trajectory
from .searchers import Searcher, resolve, searcher_name
from .space import KEYS, N_ARCHS, SPACE, archs_by_id

log = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("loky", "dask")
SUMMARY_COLUMNS: tuple[str, ...] = ("searcher", "seed", "queries", "arch_id", *KEYS, "objective")
MAX_CHUNK = 25
"""Most runs one worker task holds: large enough to amortise dispatch, small enough to resume."""


@dataclass(frozen=True)
class RunResult:
    """One finished run as stored in ``DIR/runs/``: who ran, with which seed, and what it found."""

    searcher: str
    seed: int
    params: Mapping[str, Any]
    budget: int
    trajectory: Trajectory

    @property
    def queries(self) -> int:
        """Distinct architectures queried (the budget spent)."""
        return len(self.trajectory)

    @property
    def best_arch_id(self) -> int:
        return self.trajectory.best_arch_id

    @property
    def best_value(self) -> float:
        return self.trajectory.best_value

    def to_json(self) -> dict[str, Any]:
        traj = self.trajectory
        return {
            "searcher": self.searcher, "seed": self.seed, "params": dict(self.params),
            "budget": self.budget, "objective": traj.objective, "maximize": traj.maximize,
            "queries": self.queries, "best_arch_id": self.best_arch_id, "best_value": self.best_value,
            "arch_ids": traj.arch_ids, "values": traj.values, "best": traj.best_so_far,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], path: str = "<run>") -> RunResult:
        try:
            traj = Trajectory(np.asarray(obj["arch_ids"], dtype=np.int64),
                              np.asarray(obj["values"], dtype=np.float64),
                              str(obj["objective"]), bool(obj["maximize"]))
            result = cls(str(obj["searcher"]), int(obj["seed"]), dict(obj["params"]), int(obj["budget"]), traj)
        except KeyError as exc:
            raise DataFormatError("missing key in a run file", path=path, key=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"malformed run file: {exc}", path=path) from None
        if traj.arch_ids.shape != traj.values.shape or traj.arch_ids.ndim != 1:
            raise DataFormatError("arch_ids and values differ in length", path=path, key="values")
        return result


# --------------------------------------------------------------------------- running
def _as_searcher(searcher: Searcher | type[Searcher] | str) -> Searcher:
    if isinstance(searcher, Searcher):
        return searcher
    return resolve(searcher)()


def _fresh(searcher: Searcher) -> Searcher:
    """A new instance with the same hyper-parameters, so no state leaks from run to run."""
    return type(searcher)(**searcher.get_params())


def _run_chunk(searcher: Searcher, values: np.ndarray, seeds: Sequence[int], budget: int, objective: str,
               maximize: bool, source: str, group: int = 1) -> list[tuple[int, Trajectory]]:
    """Worker task: run ``seeds``, ``group`` at a time through ``run_many`` (top-level so that it pickles)."""
    cap = searcher.query_cap(budget)
    out = []
    for first in range(0, len(seeds), group):
        chunk = list(seeds[first:first + group])
        oracles = [TabularOracle(values, objective, maximize, cap, source) for _ in chunk]
        trajectories = _fresh(searcher).run_many(SPACE, oracles, budget, [as_generator(s) for s in chunk])
        out.extend(zip(chunk, trajectories))
    return out


def _lockstep(searcher: Searcher) -> int:
    runs = searcher.lockstep_runs
    if isinstance(runs, (bool, np.bool_)) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ConfigError(f"{type(searcher).__name__} lockstep_runs must be a positive integer, got {runs!r}")
    return int(runs)


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    seeds = list(seeds)
    for seed in seeds:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seeds must be non-negative integers, got {seed!r}")
    seeds = [int(seed) for seed in seeds]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds must be distinct")
    return seeds


def _check_run_args(values: np.ndarray, budget: int, objective: str, backend: str,
                    scheduler: str | None) -> np.ndarray:
    objective_metric(objective)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (N_ARCHS + 1,):
        raise ConfigError(f"objective values must have shape ({N_ARCHS + 1},) indexed by arch_id, "
                          f"got {values.shape}")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or not 1 <= budget <= N_ARCHS:
        raise ConfigError(f"budget must be an integer in 1..{N_ARCHS}, got {budget!r}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dask" and not scheduler:
        raise ConfigError("the dask backend needs a scheduler address (e.g. tcp://10.0.0.1:8786)")
    if backend != "dask" and scheduler:
        raise ConfigError("a scheduler address is only used with backend='dask'")
    return values


@contextlib.contextmanager
def _parallel(n_jobs: int, backend: str, scheduler: str | None) -> Iterator[tuple[Any, int]]:
    """A joblib ``Parallel`` that yields results as they finish, and its number of workers."""
    from joblib import Parallel, effective_n_jobs, parallel_config

    if backend == "dask":
        try:
            from distributed import Client
        except ImportError as exc:
            raise ConfigError("the dask backend needs dask[distributed]: pip install 'nares-nas[dask]'") from exc
        with Client(scheduler) as client, parallel_config(backend="dask"):
            workers = max(1, sum(client.ncores().values()))
            yield Parallel(n_jobs=-1, return_as="generator_unordered"), workers
        return
    if n_jobs == 0:
        raise ConfigError("n_jobs must not be 0 (1 = sequential, -1 = all cores)")
    with parallel_config(backend="loky"):
        workers = effective_n_jobs(n_jobs)
        yield Parallel(n_jobs=n_jobs, return_as="generator_unordered"), workers


def _chunks(seeds: Sequence[int], workers: int, group: int = 1) -> list[list[int]]:
    """Worker tasks of whole lockstep groups, about four per worker, at most MAX_CHUNK runs (or one group)."""
    groups = math.ceil(len(seeds) / group)
    per_task = max(1, min(max(1, MAX_CHUNK // group), math.ceil(groups / (4 * workers))))
    size = per_task * group
    return [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]


def iter_runs(searcher: Searcher | str, objective_values: np.ndarray, *, seeds: Iterable[int],
              budget: int = 500, objective: str = "VAL_PGD_ACC", maximize: bool = True, n_jobs: int = 1,
              backend: str = "loky", scheduler: str | None = None,
              source: str = "table") -> Iterator[tuple[int, Trajectory]]:
    """Yield ``(seed, trajectory)`` as runs finish (in no fixed order); see :func:`run_search`."""
    searcher = _as_searcher(searcher)
    values = _check_run_args(objective_values, budget, objective, backend, scheduler)
    seeds = _check_seeds(seeds)
    if not seeds:
        return
    from joblib import delayed

    task = delayed(_run_chunk)
    with _parallel(n_jobs, backend, scheduler) as (parallel, workers):
        # lockstep groups, but small enough that every worker gets one
        group = min(_lockstep(searcher), math.ceil(len(seeds) / workers))
        if workers == 1 and backend == "loky":  # in-process: skip joblib's dispatch entirely
            for first in range(0, len(seeds), group):
                yield from _run_chunk(searcher, values, seeds[first:first + group], budget, objective, maximize,
                                      source, group)
            return
        jobs = (task(searcher, values, chunk, budget, objective, maximize, source, group)
                for chunk in _chunks(seeds, workers, group))
        for finished in parallel(jobs):
            yield from finished


def run_search(searcher: Searcher | str, objective_values: np.ndarray, *, seeds: Iterable[int],
               budget: int = 500, objective: str = "VAL_PGD_ACC", maximize: bool = True, n_jobs: int = 1,
               backend: str = "loky", scheduler: str | None = None, source: str = "table") -> list[Trajectory]:
    """Run ``searcher`` once per seed and return the trajectories in the order of ``seeds``.

    ``objective_values`` is the (15626,) array of raw objective values by arch_id
    (``bench.metric_array(objective)``); ``maximize`` says which way is better. ``n_jobs``
    local processes (joblib/loky; 1 runs in this process), or ``backend="dask"`` with
    ``scheduler`` the address of a running ``distributed`` scheduler (its workers decide the
    parallelism). ``searcher`` may also be a registered name or ``"module:Class"``.
    """
    seeds = _check_seeds(seeds)
    found = dict(iter_runs(searcher, objective_values, seeds=seeds, budget=budget, objective=objective,
                           maximize=maximize, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                           source=source))
    return [found[seed] for seed in seeds]


# --------------------------------------------------------------------------- folders
def _json_params(searcher: Searcher) -> dict[str, Any]:
    try:
        return orjson.loads(orjson.dumps(searcher.get_params()))
    except TypeError as exc:
        raise ConfigError(f"hyper-parameters of {searcher!r} must be JSON values: {exc}") from None


def run_config(searcher: Searcher, bench: Benchmark, *, budget: int, objective: str,
               maximize: bool) -> dict[str, Any]:
    """What determines the runs of a folder (seeds aside), as written to ``config.json``."""
    values = bench.metric_array(objective)
    return {
        "searcher": searcher_name(searcher),
        "class": f"{type(searcher).__module__}:{type(searcher).__qualname__}",
        "params": _json_params(searcher),
        "budget": int(budget),
        "objective": objective_metric(objective).name,
        "direction": "max" if maximize else "min",
        "data": bench.source,
        "synthetic": bench.synthetic,
        "objective_sha1": hashlib.sha1(np.ascontiguousarray(values).tobytes()).hexdigest(),
        "version": __version__,
    }


def _run_path(out_dir: Path, seed: int) -> Path:
    return out_dir / "runs" / f"seed_{seed:05d}.json"


def _prepare_dir(out_dir: Path, config: dict[str, Any], resume: bool) -> None:
    config_path = out_dir / "config.json"
    if config_path.exists():
        try:
            existing = orjson.loads(config_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON: {exc}", path=str(config_path)) from None
        differ = [f"{key}: {existing.get(key)!r} there, {config[key]!r} now"
                  for key in config if key != "version" and existing.get(key) != config[key]]
        if differ:
            raise ConfigError(f"{out_dir} holds runs of a different configuration ({'; '.join(differ)}); "
                              "choose another output folder")
        if existing.get("version") != config["version"]:
            log.warning("%s was written by nares-nas %s (this is %s)", out_dir, existing.get("version"),
                        config["version"])
        if not resume:
            raise ConfigError(f"{out_dir} already holds runs of this configuration; "
                              "use --resume (resume=True) to continue them, or another output folder")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} is not empty and holds no config.json; choose a new or empty folder")
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        write_bytes_atomic(config_path, orjson.dumps(config, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def write_run(out_dir: str | os.PathLike, result: RunResult) -> Path:
    """Write one finished run to ``DIR/runs/seed_NNNNN.json`` atomically."""
    path = _run_path(Path(out_dir), result.seed)
    write_bytes_atomic(path, orjson.dumps(result.to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    return path


def summary_row(result: RunResult) -> dict[str, Any]:
    """One row of ``summary.csv``: the run's best arch by the objective (latest among ties)."""
    arch_id = result.best_arch_id
    return {"searcher": result.searcher, "seed": result.seed, "queries": result.queries, "arch_id": arch_id,
            **dict(zip(KEYS, archs_by_id()[arch_id - 1].tolist())), "objective": repr(result.best_value)}


def write_summary(out_dir: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """(Re)write ``DIR/summary.csv`` atomically from :func:`summary_row` rows, sorted by seed."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda row: row["seed"]))
    path = Path(out_dir) / "summary.csv"
    write_bytes_atomic(path, buffer.getvalue().encode())
    return path


def read_runs(out_dir: str | os.PathLike) -> list[RunResult]:
    """Every finished run in ``DIR/runs/``, sorted by seed (for reports such as Table 2)."""
    runs_dir = Path(out_dir) / "runs"
    if not runs_dir.is_dir():
        raise DataFormatError("no runs folder (not written by run_to_dir?)", path=str(runs_dir))
    results = []
    for path in runs_dir.glob("seed_*.json"):
        try:
            obj = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON: {exc}", path=str(path)) from None
        results.append(RunResult.from_json(obj, str(path)))
    return sorted(results, key=lambda r: r.seed)


def run_to_dir(out_dir: str | os.PathLike, searcher: Searcher | str, bench: Benchmark, *,
               seeds: Iterable[int], budget: int = 500, objective: str = "VAL_PGD_ACC", maximize: bool = True,
               n_jobs: int = 1, backend: str = "loky", scheduler: str | None = None, resume: bool = False,
               progress: bool = False) -> list[RunResult]:
    """Run ``searcher`` for ``seeds`` on ``bench`` and keep every finished run in ``out_dir``.

    A folder belongs to one configuration (:func:`run_config`); reusing it with another is
    refused, and reusing it with the same one needs ``resume=True``, which skips the seeds
    already done. Returns the runs of ``seeds`` (resumed ones included), sorted by seed;
    ``summary.csv`` covers every run in the folder. ``progress`` shows a tqdm bar on stderr.
    """
    from tqdm import tqdm

    searcher = _as_searcher(searcher)
    seeds = _check_seeds(seeds)
    out_dir = Path(out_dir)
    config = run_config(searcher, bench, budget=budget, objective=objective, maximize=maximize)
    values = _check_run_args(bench.metric_array(objective), budget, objective, backend, scheduler)
    _prepare_dir(out_dir, config, resume)

    done = {r.seed: r for r in read_runs(out_dir)}
    rows = {seed: summary_row(r) for seed, r in done.items()}
    todo = [s for s in seeds if s not in done]
    name, params = config["searcher"], config["params"]
    bar = tqdm(total=len(seeds), initial=len(seeds) - len(todo), unit="run", desc=name, file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    with bar:
        for seed, trajectory in iter_runs(searcher, values, seeds=todo, budget=budget, objective=objective,
                                          maximize=maximize, n_jobs=n_jobs, backend=backend,
                                          scheduler=scheduler, source=bench.source):
            result = RunResult(name, seed, params, budget, trajectory)
            write_run(out_dir, result)
            done[seed] = result
            rows[seed] = summary_row(result)
            bar.update(1)
            if len(rows) % MAX_CHUNK == 0:
                write_summary(out_dir, rows.values())
    write_summary(out_dir, rows.values())
    return [done[s] for s in seeds]
