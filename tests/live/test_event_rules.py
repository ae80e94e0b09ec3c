"""One set of event rules: the live driver and the simulated clock, given the same proposals, answer,
train and refuse the same ones and tell the searcher the same evaluations at the same steps."""

from __future__ import annotations

import pytest

from nares_nas.asktell import Proposal
from nares_nas.live.executors import InProcessExecutor
from nares_nas.searchers import Searcher
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import Simulation
from nares_nas.space import SPACE

from ._fakes import fake_seconds_per_epoch
from .test_live_search import FAKE9, VirtualExecutor, driver, trainings

HEARD: list[list[tuple[int, int]]] = []


class Recording(Searcher):
    """Proposes ``plan`` one (arch, epochs) after another, noting what it is told at each step, then waits."""

    def __init__(self, plan: tuple = ()) -> None:
        self.plan = plan

    def propose(self, space, budget, rng, *, maximize=True, max_epochs=None):
        for arch_id, epochs in self.plan:
            HEARD.append([(r.arch_id, r.epochs) for r in (yield Proposal(arch_id, epochs))])
        while True:
            results = yield None
            HEARD.append([(r.arch_id, r.epochs) for r in results])
            if not results:
                return


class FakeTable:
    """The clock's table of the fake trainer: FAKE9's epochs, its seconds per epoch as ticks (a tick a second)."""

    max_epochs = FAKE9.epochs
    ticks_per_day = 86_400
    from_scratch = False

    def value(self, arch_id: int, epochs: int) -> float:
        return 10.0 * arch_id + epochs  # values play no part in which evaluations are told when

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        return int(fake_seconds_per_epoch(arch_id)) * (epochs - epoch_from)


# repeats (1, 3), within history (1, 2) and (2, 5), promotions (1, 9) from 3 and (2, 9) from 3
PLAN = ((1, 3), (2, 3), (1, 3), (1, 2), (2, 9), (3, 4), (1, 9), (2, 5), (3, 4), (4, 2), (5, 9))


# (a cost budget is the one rule that reads differently: the clock knows a training's cost when it starts,
# live mode only when it ends, so it admits on an estimate; tests/live/test_live_search.py works that out)
# by hand, one worker: every training ends before the next proposal; the repeats and (1, 2), (2, 5) are free
TRAINED = [(1, 0, 3), (2, 0, 3), (2, 3, 9), (3, 0, 4), (1, 3, 9), (4, 0, 2), (5, 0, 9)]


@pytest.mark.parametrize(("budget", "trained"), [
    (Budget(archs=5), TRAINED),
    (Budget(archs=3), TRAINED[:5]),  # (4, 2) would be a fourth architecture
    (Budget(total_epochs=20), TRAINED[:4]),  # 3 + 3 + 6 + 4 = 16 epochs; (1, 9) from 3 adds 6 more
], ids=["archs5", "archs3", "epochs20"])
def test_the_clock_and_the_live_driver_follow_the_same_rules(tmp_path, budget, trained):
    HEARD.clear()
    sim = Simulation(FakeTable(), Recording(PLAN).propose(SPACE, None, None), workers=1, budget=budget)
    assert sim.advance() is None
    on_clock = list(HEARD)
    spans = [(r["arch_id"], r["epoch_from"], r["epoch_to"]) for r in sim.log.rows()]
    assert spans == trained and sim.stopped == (trained != TRAINED)

    HEARD.clear()
    run = driver(tmp_path, Recording(PLAN), executor=InProcessExecutor(), budget=budget, log=False).run()
    assert HEARD == on_clock
    assert [(r["arch_id"], r["epoch_from"], r["epoch_to"]) for r in run.evaluations] == spans
    assert run.stopped == sim.stopped
    trained = trainings(tmp_path)
    assert sorted((a, f, t) for a, calls in trained.items() for f, t in calls) == sorted(spans)


def test_on_two_workers_too(tmp_path):
    """Two workers on the test's virtual clock (seconds), the same proposals on the simulated one (ticks of a
    second): trainings end at distinct times, so both finish them in the same order and tell the same."""
    plan = ((1, 3), (2, 3), (3, 3), (1, 3), (4, 2), (2, 2), (5, 3), (3, 3), (6, 1))
    HEARD.clear()
    sim = Simulation(FakeTable(), Recording(plan).propose(SPACE, None, None), workers=2, budget=Budget(archs=5))
    assert sim.advance() is None
    on_clock = list(HEARD)
    spans = [(r["arch_id"], r["epoch_from"], r["epoch_to"], r["worker"]) for r in sim.log.rows()]
    # by hand (seconds an epoch: 200, 300, 400, 500, 100 for archs 1-5): 1 on w0 ends 600, 2 on w1 ends 900;
    # 3 on w0 600-1800; the repeat (1, 3) told at once; 4 on w1 900-1900; (2, 2) within 2's history; 5 on w0
    # 1800-2100; the repeat (3, 3) at once; arch 6 would be a sixth: refused, the run ends, 5 drains untold
    assert on_clock == [[], [(1, 3)], [(2, 3)], [(1, 3)], [(3, 3)], [(2, 2)], [(4, 2)], [(3, 3)]]
    assert spans == [(1, 0, 3, 0), (2, 0, 3, 1), (3, 0, 3, 0), (4, 0, 2, 1), (5, 0, 3, 0)]

    HEARD.clear()
    run = driver(tmp_path, Recording(plan), executor=VirtualExecutor(2), budget=Budget(archs=5), log=False).run()
    assert HEARD == on_clock and run.stopped and sim.stopped  # arch 6 is a sixth architecture
    assert [(r["arch_id"], r["epoch_from"], r["epoch_to"], r["worker"]) for r in run.evaluations] == spans
