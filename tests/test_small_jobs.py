"""A small job asked to run on local processes runs in this one (runs.parallel.local_jobs)."""

from __future__ import annotations

import orjson
import pytest

from nares_nas import cli
from nares_nas.runs.parallel import SMALL_JOB_S, local_jobs
from nares_nas.searchers import Bananas, LocalSearch, RandomSearch, RegularizedEvolution
from nares_nas.simulation.budget import Budget, make_budget

ARCHS = make_budget(500)


@pytest.mark.parametrize("searcher", [RandomSearch(), LocalSearch(reference_moves=True), RegularizedEvolution()])
def test_a_job_under_the_threshold_runs_here_and_one_over_it_on_processes(searcher):
    per_run = searcher.seconds_per_query * 500
    small, large = int(SMALL_JOB_S / per_run) - 1, int(SMALL_JOB_S / per_run) + 1  # runs either side
    assert small * per_run < SMALL_JOB_S < large * per_run
    assert local_jobs(searcher, small, ARCHS, 2) == 1 and local_jobs(searcher, small, ARCHS, -1) == 1
    assert local_jobs(searcher, large, ARCHS, 2) == 2


def test_jobs_stay_as_asked_where_the_time_is_unknown_or_not_local():
    assert local_jobs(RandomSearch(), 4, Budget(cost=30.0), 2) == 2  # no count of archs to scale by
    assert local_jobs(Bananas(), 4, ARCHS, 2) == 2  # no declared cost per query
    assert local_jobs(RandomSearch(), 4, ARCHS, 2, backend="dask") == 2
    assert local_jobs(RandomSearch(), 4, ARCHS, 0) == 0  # refused later, as before


def test_a_small_cli_search_with_jobs_2_runs_in_process_and_says_so(tmp_path):
    folders = {}
    for jobs in ("1", "2"):
        folders[jobs] = tmp_path / f"jobs{jobs}"
        assert cli.main(["search", "--algo", "local_search", "--runs", "5", "--budget", "40", "--data", "synthetic",
                         "--jobs", jobs, "--out", str(folders[jobs]), "--quiet"]) == 0
    assert (folders["1"] / "summary.csv").read_bytes() == (folders["2"] / "summary.csv").read_bytes()
    for path in (folders["2"] / "runs").iterdir():
        assert orjson.loads(path.read_bytes())["execution"]["n_jobs"] == 1
