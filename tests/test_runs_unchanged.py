"""Every built-in's runs stay bit for bit what they were: whole evaluation logs of 20 seeds, 1 and 3 workers.

The digests below were computed by the code of commit 9d11e16, before proposals could be handed
over in batches (``python tests/test_runs_unchanged.py`` prints them). A digest covers every
column of every log (arch, epochs from and to, worker, start, end and cost in ticks, the value's
float64 bits) and whether a budget stopped the run, so a changed trajectory, a changed
evaluation order or a changed worker assignment all change it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from nares_nas.searchers import (
    BOHB,
    NSGA2,
    Asha,
    Bananas,
    Hyperband,
    LocalSearch,
    MOBananas,
    MORandomSearch,
    MORegularizedEvolution,
    ParetoLocalSearch,
    RandomSearch,
    RegularizedEvolution,
    SuccessiveHalving,
)
from nares_nas.simulation.budget import Budget

SEEDS = range(20)
WORKERS = (1, 3)
TINY_BANANAS = {"epochs": 3, "num_layers": 2, "num_ensemble": 2}
ARCHS = Budget(archs=60)

# name: (searcher, budget); single-objective on the stand-in's VAL_PGD_ACC
SINGLE = {
    "random": (RandomSearch(), ARCHS),
    "random_cost": (RandomSearch(), Budget(cost=35.0)),
    "local": (LocalSearch(), ARCHS),
    "local_full": (LocalSearch(query_full_nbhd=True), ARCHS),
    "local_reference": (LocalSearch(reference_moves=True), ARCHS),
    "local_cost": (LocalSearch(num_init=5), Budget(cost=30.0)),
    "evolution": (RegularizedEvolution(), ARCHS),
    "evolution_small": (RegularizedEvolution(population_size=12, tournament_size=4, mutation_rate=0.5), ARCHS),
    "evolution_time": (RegularizedEvolution(population_size=8), Budget(time=14.0)),
    "successive_halving": (SuccessiveHalving(), Budget(archs=40)),
    "hyperband": (Hyperband(), Budget(cost=20.0)),
    "bohb": (BOHB(), Budget(cost=15.0)),
    "asha": (Asha(), Budget(cost=20.0)),
    "bananas": (Bananas(**TINY_BANANAS), Budget(archs=25)),
}
# name: (searcher, budget); multi-objective (VAL_PGD_ACC:max, MACS:min)
MULTI = {
    "mo_random": (MORandomSearch(), ARCHS),
    "pareto_local": (ParetoLocalSearch(), ARCHS),
    "mo_evolution": (MORegularizedEvolution(population_size=20, tournament_size=5), ARCHS),
    "nsga2": (NSGA2(population_size=10), ARCHS),
    "mo_bananas": (MOBananas(**TINY_BANANAS), Budget(archs=25)),
}

DIGESTS = {
    ('random', 1): '69c197efa9e7e10efb42692b3867f4db5ca28e74bf02387ccf2e6d502d15367e',
    ('random', 3): '6592a88bd0192d0e9f0bf9538ba9f4a37f0f870cdc05695bd78da2815a22397f',
    ('random_cost', 1): 'eeaf2be2d561814b884e673e80d07342c27f965cfe4f67295b2ecfa5fa518bb0',
    ('random_cost', 3): 'bfb7c31927b356cdb4375dc1352eabea498f45c74db10e54e3cb40179d1b2f31',
    ('local', 1): '5776426a0c0b30c9de6b2fab167a1e790f6a675c63d108a45fcefde311dc77ae',
    ('local', 3): '252ad7a94340ef808c3dd6d792aa45040ec561ff888a9e91ba0394f14b68823b',
    ('local_full', 1): '6cc7e8c29b80b71bbe79c1b62dd31b361707af491c0879b7b2f95b0bdaf08328',
    ('local_full', 3): 'fe43347927e646225430810870a1b29da8e2adf0e6136e62d53d9b96d4cef11e',
    ('local_reference', 1): '83ccb9ae3e72e4721dd49a3cfd3182702c7291df2e439107d48762dde90d7250',
    ('local_reference', 3): 'bfc0aa13d6f30a96d6b3d2d485f91c3058006d713e761e4f735a33e59bcf099f',
    ('local_cost', 1): '58539755fe603f432989659659374f7324586157e0e8986b347d365a458a1a4e',
    ('local_cost', 3): 'b9fa2d301f9c2a5257c39d94aa926140fbf7362344bf9344f1d8bc8738b2d9a0',
    ('evolution', 1): '8230889bf4f3dc2b9aff5ca7161a000f84d48ecbf13d865ad073867abea61c68',
    ('evolution', 3): '7ce40e0ad2b000e39476f8aa33904925ead71d09d21ddd430ce1a91457aa968f',
    ('evolution_small', 1): '460f18d05eeae8222d2e62d5f0681e8c6c6d42947e210b26cee124046124bebb',
    ('evolution_small', 3): '9ef17c2eada069ed86cd74204f5eddb649657546e0c6cd08c2698a54f13cd78a',
    ('evolution_time', 1): '8fa5e64622db3ae03c681b1f8600764b975aa90f8587c1d0bad47c6e63b7d891',
    ('evolution_time', 3): '063a436297a2bbeb1dfcd9ebab29e9ad440c8e91e4570829ba52495ea82f9989',
    ('successive_halving', 1): '55176af7672fabb2f54b499fd8495c384592419ca90748745359d3326236bc6a',
    ('successive_halving', 3): '382bd1fb1e43bdca1577b0b2a2203ec88f49206e478aa458866b07e2d2d628cb',
    ('hyperband', 1): '87284a8c8904a746991054f2ed41877788814a9b0653d502940460cdc6c16968',
    ('hyperband', 3): '42dd778bdee521d6c763c900afe2666db7132e1f4db5d7207a355e23a8ee92f6',
    ('bohb', 1): '4ee2779caf337e334eac3eb1d41d937f8f38186e8df772de60b69135a1c2f2ce',
    ('bohb', 3): '57860c1da2b0cc5a3e1907e6a4ce32255b464f16d57a3b8100690b247ee3b5b1',
    ('asha', 1): 'b083c4e0e30e6914442c1162d7aeb6aa078f47033f4b3d8c583599379b3a902c',
    ('asha', 3): '8d2652cb97cf63abd39bc07dc8e17798fc601d463a42afe7279754c38264f618',
    ('bananas', 1): '2422b8bedb7dd802f14e28214afb9f9c5f01e5f991c31b04cf95df7938295b26',
    ('bananas', 3): '2e9bfe887bc9365a2ed9aba0ff91da9fee2bff032b837ec3038d47788effaad9',
    ('mo_random', 1): '4672b763f6b86d3b389da945dd2c9799d4bcb23316e22fb696e80db821f71f96',
    ('mo_random', 3): '8997b1a61b4b44d4d755e1a024f4d7f4f8f722ab83dc15a6c5d5e8d38c8cbb21',
    ('pareto_local', 1): 'f38e978e0ea6dac24dd2d1fa29e006d75c8fae090516b9735c0056eeec1000c6',
    ('pareto_local', 3): '322fd379bda0e088bed9ac5b67df3bccdb7d2ec046f4ca4add252c8d128d5660',
    ('mo_evolution', 1): '1db21457aeb074430a13d71498dd5bee67acccfbc1a40e7bc55a0e2b2cee9fc0',
    ('mo_evolution', 3): '6c64233e7e9cc9fc892dcc1b54166bf32140f9a95623316a870546d6b9c17392',
    ('nsga2', 1): '88d76ffbf14a40e5182aac4704867496cc74022a17a351ea5b3d2a55fe8e25c3',
    ('nsga2', 3): '3376339ed8941d93de27ea034ca96e6dccd4b9283198f67548b4796e9280ff4f',
    ('mo_bananas', 1): '0b0c7439d33db5621ce938d90a70e549e2cc26f45f559440964e290786c8c9c6',
    ('mo_bananas', 3): 'f27c7167c0a9a1129d6332b9b6c6efcb8dfeada7570dadf1ec6e128967b356aa',
}


def digest(logs_and_stops) -> str:
    """One sha256 over whole logs and their stop flags, in run order."""
    h = hashlib.sha256()
    for log, stopped in logs_and_stops:
        for column in (log.arch_id, log.epoch_from, log.epoch_to, log.worker, log.start, log.end, log.cost):
            h.update(np.asarray(column, dtype=np.int64).tobytes())
            h.update(b"|")
        h.update(np.asarray(log.value, dtype=np.float64).tobytes())
        h.update(b"stopped" if stopped else b"ran out")
    return h.hexdigest()


def run_digest(name: str, workers: int, bench, *, compiled: bool = True) -> str:
    """The digest of ``name``'s runs of :data:`SEEDS` on ``workers`` simulated workers."""
    if name in SINGLE:
        from nares_nas.simulation.clock import simulate
        from nares_nas.simulation.model import EvaluationModel

        searcher, budget = SINGLE[name]
        model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
        runs = simulate(searcher, model, list(SEEDS), budget=budget, workers=workers, compiled=compiled)
        return digest((run.log, run.stopped) for run in runs)
    from nares_nas.pareto.problem import Problem
    from nares_nas.runs.multiobjective import ObjectiveTable, simulate_mo

    searcher, budget = MULTI[name]
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    runs = simulate_mo(searcher, problem, ObjectiveTable.from_benchmark(bench, problem), list(SEEDS),
                       budget=budget, workers=workers)
    return digest((run.log, run.stopped) for run in runs)


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.torch) if "bananas" in name else name
                                  for name in (*SINGLE, *MULTI)])
def test_whole_logs_are_those_of_the_code_before_batched_proposals(name, workers, bench):
    assert run_digest(name, workers, bench) == DIGESTS[name, workers]


@pytest.mark.parametrize("workers", WORKERS)
def test_the_python_path_of_asha_gives_the_pinned_logs_too(workers, bench):
    assert run_digest("asha", workers, bench, compiled=False) == DIGESTS["asha", workers]


if __name__ == "__main__":
    import nares_nas

    stand_in = nares_nas.load("synthetic")
    for key in [*SINGLE, *MULTI]:
        for w in WORKERS:
            print(f"    {(key, w)!r}: {run_digest(key, w, stand_in)!r},", flush=True)
