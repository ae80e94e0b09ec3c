"""The run folder: config.json (what determines the runs), runs/ (one file per run), summary.csv."""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import logging
import os
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nares_nas._atomic import write_bytes_atomic
from nares_nas._outputs import write_csv
from nares_nas._validation import check_int
from nares_nas._version import __version__
from nares_nas.data.benchmark import Benchmark
from nares_nas.data.synthetic import data_label
from nares_nas.errors import ConfigError, DataFormatError
from nares_nas.metrics import objective_direction, objective_metric
from nares_nas.runs.codec import decode_run
from nares_nas.runs.parallel import device_kind, kind_of, lockstep_size
from nares_nas.runs.record import FORMAT, RunResult
from nares_nas.searchers import Searcher, searcher_name, split_params
from nares_nas.simulation.budget import Budget, make_budget
from nares_nas.simulation.log import logged
from nares_nas.space import KEYS, archs_by_id

log = logging.getLogger(__name__)


_ACCOUNT: tuple[str, ...] = ("gpu_days", "sim_days", "evaluations")
SUMMARY_COLUMNS: tuple[str, ...] = ("searcher", "seed", "full_trainings", "distinct_archs", "arch_id", *KEYS,
                                    "objective", *_ACCOUNT)
"""The header of a single-objective folder's ``summary.csv``."""
MO_SUMMARY_COLUMNS: tuple[str, ...] = ("searcher", "seed", "queries", "infeasible", "rejected_free", "front_size",
                                       "hypervolume", "hv_regret", "igd_plus", *_ACCOUNT)
"""The header of a multi-objective folder's ``summary.csv`` (runs scored against a Pareto front)."""
SUMMARY_EVERY = 25
"""Runs of single-run tasks between rewrites of ``summary.csv`` (it is rewritten after every larger group)."""


def arrays_sha1(*arrays: np.ndarray) -> str:
    """The SHA-1 of arrays' bytes: what ``config.json`` pins of the data a folder's runs were made on."""
    digest = hashlib.sha1()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def run_config(searcher: Searcher, bench: Benchmark | None, *, budget: Budget | int | None, objective: str,
               maximize: bool | None = None, workers: int = 1, from_scratch: bool = False,
               live: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What determines the runs of a folder (seeds aside), as written to ``config.json``.

    ``lockstep_runs`` is the group size G and ``device`` the device kind (both can change a
    result on a GPU); ``live`` what determines live-trained values (profile, training seed
    and device kind), None for table runs; ``bench`` None for live runs that consult no table.
    The budgets, the simulated ``workers``, ``from_scratch`` and the table's fidelities and
    training times (``model_sha1``) pin what the simulated clock does.
    """
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    sha1 = model_sha1 = None
    if bench is not None:
        spec = objective_metric(objective)
        sha1 = arrays_sha1(bench.metric_by_id(spec.name))
        history = bench.fidelity_matrix(spec.name) if spec.kind == "history" else bench.metric_by_id(spec.name)
        model_sha1 = arrays_sha1(history, bench.metric_by_id("TRAINING_TIME"))
    return {
        "searcher": searcher_name(searcher),
        "class": f"{type(searcher).__module__}:{type(searcher).__qualname__}",
        "params": split_params(searcher)[0],
        "lockstep_runs": lockstep_size(searcher),
        "device": device_kind(searcher),
        "budget": budget.archs,
        "max_cost": budget.cost,
        "max_time": budget.time,
        "max_total_epochs": budget.total_epochs,
        "workers": check_int(workers, "workers"),
        "from_scratch": bool(from_scratch),
        "objective": objective_metric(objective).name,
        "direction": "max" if objective_direction(objective, maximize) else "min",
        "data": None if bench is None else bench.source,
        "synthetic": None if bench is None else bench.synthetic,
        "objective_sha1": sha1,
        "model_sha1": model_sha1,
        "live": None if live is None else dict(live),
        "version": __version__,
        "format": FORMAT,
        **package_versions(searcher),
    }


def package_versions(searcher: Searcher) -> dict[str, Any]:
    """``{"packages": {name: version}}`` of the packages a searcher's results depend on (its
    ``pinned_packages``, e.g. Optuna for an Optuna sampler); nothing for a searcher that declares none."""
    names = getattr(searcher, "pinned_packages", ())
    if not names:
        return {}
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"packages": {name: installed(name) for name in names}}


_RECORDED = frozenset({"version", "format", "packages"})
"""Keys of ``config.json`` that say what wrote a folder, not what its runs are: a resume may differ there
(format 1 folders have no ``format``), and a different version of nares-nas or of a pinned package is logged."""


def _as_pinned_now(existing: Mapping[str, Any], execution_params: Collection[str]) -> dict[str, Any]:
    """A ``config.json`` as this version pins it (one written before G, the device kind and live runs
    were pinned had every hyper-parameter in ``params``; those that are execution parameters now
    leave it, and give G and the device kind where they are there)."""
    config = dict(existing)
    params = dict(config.get("params") or {})
    moved = {key: params.pop(key) for key in execution_params if key in params}
    config["params"] = params
    config.setdefault("lockstep_runs", moved.get("lockstep_runs", 1))
    if "device" not in config:
        config["device"] = kind_of(moved.get("device", "cpu"))
    config.setdefault("live", None)
    # before the simulated clock: one worker, the distinct-arch budget only, full trainings
    for key, default in (("max_cost", None), ("max_time", None), ("max_total_epochs", None), ("workers", 1),
                         ("from_scratch", False)):
        config.setdefault(key, default)
    return config


def _differences(there: Any, now: Any, key: str) -> list[str]:
    if isinstance(there, Mapping) and isinstance(now, Mapping):
        return [line for sub in dict.fromkeys([*there, *now])
                for line in _differences(there.get(sub), now.get(sub), f"{key}[{sub!r}]")]
    return [] if there == now else [f"{key}: {there!r} there, {now!r} now"]


def _check_pinned_booleans(out_dir: Path, there: Mapping[str, Any], now: Mapping[str, Any]) -> None:
    """Refuse a folder that pinned as text a hyper-parameter that is a boolean now.

    Before ``--param`` values were typed, ``reference_moves=False`` was pinned as the string
    ``"False"``, and its runs took it as the string's truthiness: the folder's runs are not of
    the value its config says, so none of them may be resumed or mixed with new ones.
    """
    for key, value in there.items():
        if isinstance(value, str) and isinstance(now.get(key), bool):
            raise ConfigError(f"{out_dir / 'config.json'} pins {key}={value!r}, text where a boolean belongs: its "
                              f"runs used the text's truthy value, {key}={bool(value)}; they cannot be resumed "
                              "(run again into another output folder)")


def open_run_dir(out_dir: str | os.PathLike, config: Mapping[str, Any], *, resume: bool,
                 execution_params: Collection[str] = ()) -> dict[int, RunResult]:
    """Claim ``out_dir`` for the runs of ``config`` (:func:`run_config`); return the runs already in it by seed.

    A folder of another configuration is refused (every key but ``version``, ``format`` and ``packages`` is
    compared, and
    ``model_sha1`` only where the folder has one: before the clock, costs changed no result;
    ``execution_params`` are the searcher's, for folders written before they were set apart),
    and one of the same needs ``resume=True``. A new folder gets ``config.json`` and ``runs/``. A run file
    of the other kind than the folder's (:func:`scored_folder`) is refused.
    """
    out_dir = Path(out_dir)
    config_path = out_dir / "config.json"
    if config_path.exists():
        try:
            existing = orjson.loads(config_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON: {exc}", path=str(config_path)) from None
        existing = _as_pinned_now(existing, execution_params)
        _check_pinned_booleans(out_dir, existing.get("params") or {}, config.get("params") or {})
        existing.setdefault("model_sha1", config.get("model_sha1"))
        differ = [line for key in config if key not in _RECORDED
                  for line in _differences(existing.get(key), config[key], key)]
        if differ:
            raise ConfigError(f"{out_dir} holds runs of a different configuration ({'; '.join(differ)}); "
                              "choose another output folder")
        if existing.get("version") != config["version"]:
            log.warning("%s was written by nares-nas %s (this is %s)", out_dir, existing.get("version"),
                        config["version"])
        if existing.get("packages") != config.get("packages"):
            log.warning("%s was written with %s (this is %s)", out_dir, existing.get("packages"),
                        config.get("packages"))
        if not resume:
            raise ConfigError(f"{out_dir} already holds runs of this configuration; "
                              "use --resume (resume=True) to continue them, or another output folder")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} is not empty and holds no config.json; choose a new or empty folder")
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        write_bytes_atomic(config_path, orjson.dumps(dict(config), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    done = {r.seed: r for r in read_runs(out_dir)}
    scored = scored_folder(config)
    for seed, run in done.items():
        if (run.scores is not None) != scored:
            kinds = ("multi-objective", "single-objective")
            raise DataFormatError(f"a {kinds[not run.scores]} run in a {kinds[not scored]} folder",
                                  path=str(run_path(out_dir, seed)))
    return done


def scored_folder(config: Mapping[str, Any]) -> bool:
    """Whether a folder's runs are scored against a Pareto front: its ``config.json`` pins objectives."""
    return bool(config.get("objectives"))


def release(out_dir: Path, keep_dir: bool) -> None:
    """Undo :func:`open_run_dir` on a new folder that got no run: its config.json, runs/ and (unless
    it was there before) the folder, each only if empty. A folder that holds anything else (a live
    run's log in progress) is kept whole, so ``resume=True`` can go on from it."""
    if any(path.name not in ("config.json", "runs") for path in out_dir.iterdir()) or any(
            (out_dir / "runs").iterdir()):
        return
    (out_dir / "config.json").unlink(missing_ok=True)
    for folder in (out_dir / "runs",) if keep_dir else (out_dir / "runs", out_dir):
        with contextlib.suppress(OSError):  # not empty: keep it
            folder.rmdir()


def run_path(out_dir: str | os.PathLike, seed: int) -> Path:
    """Where ``out_dir`` keeps the finished run of ``seed``."""
    return Path(out_dir) / "runs" / f"seed_{seed:05d}.json"


def write_run(out_dir: str | os.PathLike, result: RunResult) -> Path:
    """Write one finished run to ``DIR/runs/seed_NNNNN.json`` atomically."""
    path = run_path(Path(out_dir), result.seed)
    write_bytes_atomic(path, orjson.dumps(result.to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    return path


def summary_row(result: RunResult) -> dict[str, Any]:
    """One row of ``summary.csv`` (:func:`summary_columns`): who ran with which seed, what the run found,
    and GPU-days spent, simulated days and evaluations (blank in runs of older versions).

    A run scored against a front gives its queries, infeasible queries, free rejections and final scores;
    a single-objective run the full trainings and distinct architectures evaluated (the two differ for a
    multi-fidelity searcher) and its best arch by the objective (ties as in :attr:`Trajectory.best_arch_id`;
    none when the budget bought no full training)."""
    clock = result.clock or {}
    evaluations = clock.get("evaluations")
    row = {"searcher": result.searcher, "seed": result.seed,
           "gpu_days": repr(clock["gpu_days"]) if clock else "",
           "sim_days": repr(clock["sim_days"]) if clock else "",
           "evaluations": len(logged(evaluations, "arch_id")) if evaluations else ""}
    if result.scores is not None:
        scores = result.scores
        regret, igd, size = scores.final()
        return {**row, "queries": result.queries, "infeasible": int((~scores.feasible).sum()),
                "rejected_free": scores.rejected_free, "front_size": size, "hypervolume": repr(scores.hypervolume),
                "hv_regret": repr(regret), "igd_plus": repr(igd)}
    row.update(full_trainings=result.queries, distinct_archs=result.distinct_archs)
    if result.best_arch_id is None:
        return {**row, "arch_id": "", **dict.fromkeys(KEYS, ""), "objective": ""}
    arch_id = result.best_arch_id
    return {**row, "arch_id": arch_id, **dict(zip(KEYS, archs_by_id()[arch_id - 1].tolist())),
            "objective": repr(result.best_value)}


def summary_columns(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The header of a folder's ``summary.csv``: :data:`MO_SUMMARY_COLUMNS` where its runs are scored
    against a front (:func:`scored_folder`), else :data:`SUMMARY_COLUMNS`."""
    return MO_SUMMARY_COLUMNS if scored_folder(config) else SUMMARY_COLUMNS


def write_summary(out_dir: str | os.PathLike, rows: Iterable[Mapping[str, Any]],
                  columns: Sequence[str] = SUMMARY_COLUMNS) -> Path:
    """(Re)write ``DIR/summary.csv`` atomically from :func:`summary_row` rows, sorted by seed, a ``data``
    column last and the provenance in ``summary.csv.json`` (:func:`_summary_provenance`)."""
    rows = sorted(rows, key=lambda row: row["seed"])
    return write_csv(Path(out_dir) / "summary.csv", columns, ([row.get(c, "") for c in columns] for row in rows),
                     **_summary_provenance(out_dir))


def _summary_provenance(out_dir: str | os.PathLike) -> dict[str, Any]:
    """``summary.csv``'s data label (every row's ``data``) and notes, from the folder's ``config.json``."""
    config = orjson.loads((Path(out_dir) / "config.json").read_bytes())
    synthetic = bool(config.get("synthetic"))
    return {"data": data_label(config.get("data"), synthetic), "synthetic": synthetic,
            "notes": [f"A row per finished run of {config.get('searcher')} in runs/, sorted by seed; "
                      "config.json holds what determines the runs."]}


def read_runs(out_dir: str | os.PathLike) -> list[RunResult]:
    """Every finished run in ``DIR/runs/`` (of one objective or several), sorted by seed."""
    runs_dir = Path(out_dir) / "runs"
    if not runs_dir.is_dir():
        raise DataFormatError("no runs folder (not written by run_to_dir?)", path=str(runs_dir))
    results = [RunResult.from_json(load_run_file(path, decode=False), str(path))
               for path in runs_dir.glob("seed_*.json")]
    return sorted(results, key=lambda r: r.seed)


def load_run_file(path: str | os.PathLike, *, decode: bool = True) -> dict[str, Any]:
    """The JSON of one run file of any format; with ``decode`` its columns as plain lists
    (:func:`~nares_nas.runs.codec.decode_run`), as format 1 wrote them."""
    try:
        obj = orjson.loads(Path(path).read_bytes())
    except orjson.JSONDecodeError as exc:
        raise DataFormatError(f"not valid JSON: {exc}", path=str(path)) from None
    if not decode:
        return obj
    try:
        return decode_run(obj)
    except (KeyError, TypeError, ValueError, zlib.error, binascii.Error) as exc:
        raise DataFormatError(f"malformed run file: {exc}", path=str(path)) from None
