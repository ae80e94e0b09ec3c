"""The paper's Table 2 protocol: run the searchers, then report."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nares_nas._validation import check_choice
from nares_nas.data.benchmark import Benchmark
from nares_nas.errors import ConfigError
from nares_nas.progress import announce
from nares_nas.simulation.budget import equal_cost, make_budget

log = logging.getLogger(__name__)


DEFAULT_SEARCHERS: tuple[str, ...] = ("random_search", "local_search", "regularized_evolution", "bananas")


PRESETS: tuple[str, ...] = ("default", "reference", "fast")


# --------------------------------------------------------------------------- running the protocol
def preset_params(preset: str, searcher: str) -> dict[str, Any]:
    """Hyper-parameters a preset sets for one searcher (the searcher's defaults fill the rest).

    ``reference`` switches every reference behaviour on at once: each ``reference_*``
    hyper-parameter of the searcher is set True, and BANANAS uses the one-hot encoding.
    ``fast`` takes what a searcher's ``fast()`` constructor changes (BANANAS: fewer epochs per
    fit); searchers without one keep their defaults.
    """
    from nares_nas.searchers import resolve

    check_choice(preset, "preset", PRESETS)
    cls = resolve(searcher)
    defaults = cls().get_params()
    if preset == "reference":
        chosen: dict[str, Any] = {key: True for key in defaults if key.startswith("reference_")}
        if "encoding" in defaults:
            chosen["encoding"] = "onehot"
        return chosen
    if preset == "fast" and callable(getattr(cls, "fast", None)):
        return {key: value for key, value in cls.fast().get_params().items() if value != defaults[key]}
    return {}


def run_table2(bench: Benchmark, out_dir: str | Path, *, searchers: Sequence[str] = DEFAULT_SEARCHERS,
               runs: int = 400, seed_start: int = 0, budget: int | None = None, objective: str = "VAL_PGD_ACC",
               maximize: bool | None = None, preset: str = "default",
               params: Mapping[str, Mapping[str, Any]] | None = None, workers: int = 1,
               max_cost: float | str | None = None, max_time: float | None = None,
               max_total_epochs: int | None = None, from_scratch: bool = False, n_jobs: int = 1,
               backend: str = "loky", scheduler: str | None = None, resume: bool = False,
               progress: bool = False) -> dict[str, list[Any]]:
    """Run each searcher for seeds ``seed_start ..`` on ``bench`` for ``objective`` (VAL_PGD_ACC, as published).

    ``maximize`` None is the objective's own direction (:func:`~nares_nas.runs.parallel.run_direction`:
    a loss, Lipschitz constant or cost is minimised, an accuracy maximised).

    Runs go to ``out_dir/<searcher>/`` through :func:`nares_nas.runs.search.run_to_dir`
    (``resume=True`` keeps those already there): ``n_jobs`` local processes, or
    ``backend="dask"`` on the workers of the ``distributed`` scheduler at ``scheduler``; on
    ``workers`` simulated workers. ``budget`` is distinct archs per run (None: 500), and
    ``max_cost`` (GPU-days; ``"equal"``: :func:`~nares_nas.simulation.budget.equal_cost`),
    ``max_time`` and ``max_total_epochs`` limit what a run spends; with a multi-fidelity
    searcher and no limit given, every searcher gets the equal-cost budget. ``params``
    overrides the preset per searcher. Returns the harness run results per searcher, in
    seed order, for :func:`summarize` and :func:`write_report`; :func:`table2_budget` says
    which budget they ran under.
    """
    from nares_nas.runs.search import run_to_dir
    from nares_nas.searchers import resolve

    params = dict(params or {})
    unknown = sorted(set(params) - set(searchers))
    if unknown:
        raise ConfigError(f"parameters given for {unknown}, which are not among the searchers "
                          f"{list(searchers)}")
    run_budget = table2_budget(bench, searchers, budget=budget, max_cost=max_cost, max_time=max_time,
                               max_total_epochs=max_total_epochs)
    chosen = {}
    for name in searchers:  # every searcher checked before the first runs
        cls = resolve(name)
        if not getattr(cls, "single_objective", True):
            raise ConfigError(f"{name} searches several objectives at once, and Table 2 has one: compare it with "
                              f"`nares-nas mo-table --searchers {name} --objectives VAL_PGD_ACC:max,MACS:min` "
                              "(nares_nas.suites.mo_table.run_mo_table)")
        accepted = cls().get_params()
        kwargs = {**preset_params(preset, name), **params.get(name, {})}
        bad = sorted(set(kwargs) - set(accepted))
        if bad:
            raise ConfigError(f"searcher {name!r} has no hyper-parameters {bad}; "
                              f"it accepts {sorted(accepted)}")
        chosen[name] = cls(**kwargs)
    seeds = range(seed_start, seed_start + runs)
    if progress:
        announce_job(out_dir, chosen, seeds, run_budget, n_jobs=n_jobs, backend=backend)
    results = {}
    for name, searcher in chosen.items():
        log.info("running %s: %d runs, %s, preset %s, params %s", name, runs, run_budget, preset, searcher)
        results[name] = run_to_dir(searcher_folder(out_dir, name), searcher, bench, seeds=seeds,
                                   budget=run_budget, objective=objective, maximize=maximize, workers=workers,
                                   from_scratch=from_scratch, n_jobs=n_jobs, backend=backend,
                                   scheduler=scheduler, resume=resume, progress=progress, announce=False)
    return results


def searcher_folder(out_dir: str | Path, name: str) -> Path:
    """Where a table's runs of searcher ``name`` go: ``out_dir/<name>``, with characters a path may not hold
    replaced (``optuna:TPESampler`` -> ``optuna_TPESampler``)."""
    return Path(out_dir) / re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def announce_job(out_dir: str | Path, searchers: Mapping[str, Any], seeds: Sequence[int], budget: Any, *,
                 n_jobs: int = 1, backend: str = "loky") -> bool:
    """Say before a table's runs start whether they are expected to take long, all searchers together
    (:func:`nares_nas.progress.announce`); the runs already in ``out_dir/<searcher>/`` are not counted."""
    from nares_nas.runs.folder import run_path
    from nares_nas.runs.search import expected_job

    parts, processes = [], []
    for name, searcher in searchers.items():
        folder = searcher_folder(out_dir, name)
        todo = [seed for seed in seeds if not run_path(folder, seed).exists()]
        seconds, used = expected_job(searcher, todo, budget, n_jobs, backend)
        parts.append((name, len(todo), seconds))
        processes.append(used)
    return announce(parts, None if None in processes else max(processes, default=1))


def table2_budget(bench: Benchmark, searchers: Sequence[str], *, budget: int | None = None,
                  max_cost: float | str | None = None, max_time: float | None = None,
                  max_total_epochs: int | None = None):
    """The :class:`~nares_nas.simulation.budget.Budget` of a Table 2 run (see :func:`run_table2`)."""
    from nares_nas.searchers import resolve
    if max_cost == "equal":
        max_cost = equal_cost(bench)
    elif isinstance(max_cost, str):
        raise ConfigError(f"max_cost must be GPU-days or 'equal', got {max_cost!r}")
    limited = budget is not None or max_cost is not None or max_time is not None or max_total_epochs is not None
    if not limited and any(resolve(name).multi_fidelity for name in searchers):
        max_cost = equal_cost(bench)  # distinct architectures say nothing about the cost of partial trainings
    return make_budget(budget, max_cost=max_cost, max_time=max_time, max_total_epochs=max_total_epochs)
