"""The multi-objective table: run the multi-objective searchers, then report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nares_nas.errors import ConfigError
from nares_nas.suites.table2 import announce_job, searcher_folder

DEFAULT_MO_SEARCHERS: tuple[str, ...] = ("mo_random_search", "pareto_local_search", "mo_regularized_evolution",
                                         "nsga2")
"""The multi-objective searchers of ``mo-table`` by default (MO-BANANAS is slow, as BANANAS is: name it)."""


# --------------------------------------------------------------------------- running and writing
def run_mo_table(bench, out_dir: str | Path, objectives, constraints=(), *,
                 searchers: Sequence[str] = DEFAULT_MO_SEARCHERS, runs: int = 100, seed_start: int = 0,
                 budget=None, workers: int = 1, prefilter: bool = False, params: Mapping[str, Mapping] | None = None,
                 n_jobs: int = 1, backend: str = "loky", scheduler: str | None = None, resume: bool = False,
                 progress: bool = False) -> dict[str, list[Any]]:
    """Run each multi-objective searcher for seeds ``seed_start ..`` into ``out_dir/<searcher>/``."""
    from nares_nas.runs.multiobjective import run_mo_to_dir
    from nares_nas.searchers import resolve

    params = dict(params or {})
    unknown = sorted(set(params) - set(searchers))
    if unknown:
        raise ConfigError(f"parameters given for {unknown}, which are not among the searchers {list(searchers)}")
    chosen = {name: resolve(name)(**params.get(name, {})) for name in searchers}
    seeds = range(seed_start, seed_start + runs)
    if progress:
        announce_job(out_dir, chosen, seeds, budget, n_jobs=n_jobs, backend=backend)
    results = {}
    for name, searcher in chosen.items():
        results[name] = run_mo_to_dir(searcher_folder(out_dir, name), searcher, bench, objectives, constraints,
                                      seeds=seeds, budget=budget, workers=workers, prefilter=prefilter,
                                      n_jobs=n_jobs, backend=backend, scheduler=scheduler, resume=resume,
                                      progress=progress, announce=False)
    return results
