"""The simulated clock: event schedules hand-checked on a tiny constructed table."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.errors import BudgetExhaustedError, ConfigError, InvalidArchError
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import ClockOracle, Proposal, Simulation


class TinyTable:
    """Four epochs; arch ``a`` costs ``per_epoch[a]`` ticks an epoch; value ``10 * a + epochs``."""

    max_epochs = 4
    ticks_per_day = 10

    def __init__(self, per_epoch: dict[int, int], from_scratch: bool = False) -> None:
        self.per_epoch = per_epoch
        self.from_scratch = from_scratch

    def value(self, arch_id: int, epochs: int) -> float:
        return 10.0 * arch_id + epochs

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        return self.per_epoch[arch_id] * (epochs - epoch_from)


def scripted(script, heard):
    """A searcher that proposes ``script`` in order (None = wait) and records what it hears."""
    for step in script:
        heard.append((yield step))
    heard.append((yield None))


def simulate(script, per_epoch, workers=1, budget=None, from_scratch=False):
    heard = []
    budget = budget or Budget(archs=100)
    sim = Simulation(TinyTable(per_epoch, from_scratch), scripted(script, heard), workers=workers, budget=budget)
    assert sim.advance() is None
    return sim, heard


def rows(sim):
    return [(r["arch_id"], r["epoch_from"], r["epoch_to"], r["worker"], r["start"], r["end"]) for r in sim.log.rows()]


def test_two_workers_take_proposals_as_they_free_up():
    # arch 1: 3 ticks/epoch, arch 2: 1, arch 3: 2; full training = 4 epochs
    sim, heard = simulate([Proposal(1), Proposal(2), Proposal(3)], {1: 3, 2: 1, 3: 2}, workers=2)
    # t=0: 1 -> w0 (ends 12), 2 -> w1 (ends 4); t=4: 2 done, 3 -> w1 (ends 12); t=12: both end, w0 first
    assert rows(sim) == [(1, 0, 4, 0, 0.0, 1.2), (2, 0, 4, 1, 0.0, 0.4), (3, 0, 4, 1, 0.4, 1.2)]
    assert heard[0] == [] and [r.arch_id for r in heard[1]] == [2]
    assert [r.arch_id for r in heard[2]] == [1, 3]  # equal end times: worker order
    assert sim.now == 12 and sim.spent_days == pytest.approx(2.4)


def test_completions_come_before_starts_at_the_same_instant():
    # arch 5 ends at t=4 on w0 while w1 is busy until 8: the next proposal starts on w0 at 4
    sim, heard = simulate([Proposal(5), Proposal(6), Proposal(7)], {5: 1, 6: 2, 7: 1}, workers=2)
    assert rows(sim)[2] == (7, 0, 4, 0, 0.4, 0.8)
    assert [r.arch_id for r in heard[1]] == [5]


def test_one_worker_runs_everything_back_to_back():
    sim, heard = simulate([Proposal(1), Proposal(2)], {1: 2, 2: 3})
    assert rows(sim) == [(1, 0, 4, 0, 0.0, 0.8), (2, 0, 4, 0, 0.8, 2.0)]
    assert [[(r.arch_id, r.epochs, r.score) for r in h] for h in heard[:2]] == [[(1, 4, 14.0)], [(2, 4, 24.0)]]


def test_a_promotion_continues_from_the_furthest_finished_epoch():
    sim, heard = simulate([Proposal(1, 1), Proposal(1, 3), Proposal(1)], {1: 5})
    assert rows(sim) == [(1, 0, 1, 0, 0.0, 0.5), (1, 1, 3, 0, 0.5, 1.5), (1, 3, 4, 0, 1.5, 2.0)]
    assert [r.score for h in heard for r in h] == [11.0, 13.0, 14.0]
    assert sim.spent_days == pytest.approx(2.0)  # 4 epochs x 5 ticks, each paid once


def test_from_scratch_charges_every_evaluation_in_full():
    sim, _ = simulate([Proposal(1, 1), Proposal(1, 3)], {1: 5}, from_scratch=True)
    assert rows(sim) == [(1, 0, 1, 0, 0.0, 0.5), (1, 0, 3, 0, 0.5, 2.0)]


def test_known_and_in_flight_proposals_are_free():
    # 2 workers: 1 starts on w0; 1 again while in flight (free, heard once); then 1 at 2 epochs (free:
    # it trained to 4 already) once it is known
    sim, heard = simulate([Proposal(1), Proposal(1), None, Proposal(1), Proposal(1, 2)], {1: 1}, workers=2)
    assert len(sim.log) == 1
    assert [[(r.arch_id, r.epochs) for r in h] for h in heard] == [[], [], [(1, 4)], [(1, 4)], [(1, 2)]]
    assert heard[4][0].score == 12.0


def test_budgets_stop_before_they_would_be_exceeded():
    per_epoch = {1: 1, 2: 1, 3: 1}
    script = [Proposal(1), Proposal(2), Proposal(3)]
    sim, _ = simulate(script, per_epoch, budget=Budget(archs=2))
    assert [r[0] for r in rows(sim)] == [1, 2] and sim.stopped
    sim, _ = simulate(script, per_epoch, budget=Budget(cost=1.1))  # 11 ticks: two 4-tick trainings
    assert [r[0] for r in rows(sim)] == [1, 2] and sim.spent_days == pytest.approx(0.8)
    sim, _ = simulate(script, per_epoch, budget=Budget(total_epochs=11))
    assert [r[0] for r in rows(sim)] == [1, 2]
    sim, _ = simulate(script, per_epoch, workers=2, budget=Budget(time=0.8))  # third would end at 0.8
    assert [r[0] for r in rows(sim)] == [1, 2, 3]
    sim, _ = simulate(script, per_epoch, workers=2, budget=Budget(time=0.79))
    assert [r[0] for r in rows(sim)] == [1, 2]


def test_work_in_flight_finishes_when_the_budget_stops_a_run():
    sim, _ = simulate([Proposal(1), Proposal(2), Proposal(3)], {1: 5, 2: 1, 3: 1}, workers=2, budget=Budget(archs=2))
    assert [r[0] for r in rows(sim)] == [1, 2] and sim.now == 20
    assert not np.isnan(sim.log.value).any()


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match="epochs must be an integer in 1..4, got 5"):
        simulate([Proposal(1, 5)], {1: 1})
    with pytest.raises(InvalidArchError):
        simulate([Proposal(0)], {1: 1})
    with pytest.raises(ConfigError, match="workers"):
        simulate([], {}, workers=0)
    assert Budget().unlimited and not Budget(time=1.0).unlimited
    with pytest.raises(ConfigError, match=r"budget buys no evaluation: max_cost 0.3 GPU-days does not pay the "
                                          r"first proposal \(arch_id 1, 4 epochs, 0.4 GPU-days\)"):
        simulate([Proposal(1)], {1: 1}, budget=Budget(cost=0.3))
    with pytest.raises(ConfigError, match="max_cost"):
        Budget(cost=-1.0)
    with pytest.raises(ConfigError, match=r"max_time \(simulated days\) must be finite \(a limit\), got inf"):
        Budget(time=float("inf"))


def test_a_blocking_searcher_keeps_one_evaluation_in_flight():
    sim = Simulation(TinyTable({1: 1, 2: 2, 3: 1}), None, workers=3, budget=Budget(archs=2))
    oracle = ClockOracle(sim)
    assert oracle.query(1) == 14.0 and oracle.query(2) == 24.0 and oracle.query(1) == 14.0
    with pytest.raises(BudgetExhaustedError):
        oracle.query(3)
    assert rows(sim) == [(1, 0, 4, 0, 0.0, 0.4), (2, 0, 4, 0, 0.4, 1.2)]
    assert oracle.trajectory().arch_ids.tolist() == [1, 2]


def test_incumbent_returns_end_days_and_the_best_so_far_per_evaluation_that_counts():
    """ClockRun.incumbent() as documented (README's Fidelity and cost snippet, the docstring)."""
    from nares_nas.simulation.clock import ClockRun
    from nares_nas.simulation.log import EvaluationLog

    log = EvaluationLog(ticks_per_day=10)
    for arch_id, epochs, worker, start, end, value in [(1, 4, 0, 0, 12, 14.0),   # full, ends at t=12 on w0
                                                        (2, 2, 1, 0, 4, 50.0),    # partial, the first to end
                                                        (3, 4, 1, 4, 12, 30.0),   # full, t=12 too, after w0
                                                        (4, 4, 0, 12, 20, 20.0)]:  # full, worse
        for column, item in (("arch_id", arch_id), ("epoch_from", 0), ("epoch_to", epochs), ("worker", worker),
                             ("start", start), ("end", end), ("cost", end - start), ("value", value)):
            getattr(log, column).append(item)
    run = ClockRun(seed=0, log=log, max_epochs=4, objective="VAL_PGD_ACC", maximize=True, stopped=False)
    days, best = run.incumbent()
    assert days.tolist() == [1.2, 1.2, 2.0] and best.tolist() == [14.0, 30.0, 30.0]  # full trainings only
    days, best = run.incumbent(any_fidelity=True)
    assert days.tolist() == [0.4, 1.2, 1.2, 2.0] and best.tolist() == [50.0, 50.0, 50.0, 50.0]
    minimising = ClockRun(seed=0, log=log, max_epochs=4, objective="VAL_LOSS", maximize=False, stopped=False)
    assert minimising.incumbent()[1].tolist() == [14.0, 14.0, 14.0]


def test_incumbent_of_a_simulated_search_as_the_readme_shows(bench):
    from nares_nas.runs.search import simulate_search
    from nares_nas.simulation.model import evaluation_model

    model = evaluation_model(bench, "VAL_PGD_ACC")
    runs = simulate_search("regularized_evolution", model, seeds=range(2), budget=Budget(cost=8.0), workers=2)
    for run in runs:
        days, best = run.incumbent()  # one entry per full training, in the order they finished
        assert len(days) == len(best) == len(run.trajectory()) and np.all(np.diff(days) >= 0)
        assert best.tolist() == run.trajectory().best_so_far.tolist() and days[-1] == run.time_days


@pytest.mark.parametrize("script", ["bench_clock.py", "bench_pareto.py"])
def test_benchmark_help_names_no_issue_numbers(script):
    """A user reading --help has no use for the project's issue numbers."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / script
    result = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout
    assert not re.search(r"issue\s*#?\d", result.stdout, re.IGNORECASE)
