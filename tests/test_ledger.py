"""The event rules (nares_nas.simulation.ledger), worked out by hand on small runs."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.simulation.ledger import IN_FLIGHT, IN_HISTORY, Ledger, Refused
from nares_nas.simulation.log import CORE_COLUMNS, LIVE_COLUMNS, EvaluationLog


def told(ledger):
    return [(r.arch_id, r.epochs, r.score) for r in ledger.news()]


def test_what_is_free_in_flight_and_told():
    ledger = Ledger(9)
    assert ledger.answer(4, 3) is None  # never seen: it must train
    ledger.start(4, 3, 3, 30)
    assert ledger.answer(4, 3) is IN_FLIGHT and ledger.n_archs == 1 and told(ledger) == []
    ledger.finish(4, 3, 0.5)
    assert ledger.answer(4, 3) == 0.5  # a repeat: its score again
    assert ledger.answer(4, 2) is IN_HISTORY  # trained to 3 epochs, so 2 is in its history
    assert ledger.answer(4, 9) is None  # beyond it: a promotion trains
    ledger.tell(4, 2, 0.25)
    assert told(ledger) == [(4, 3, 0.5), (4, 2, 0.25)] and told(ledger) == []
    assert (ledger.epochs, ledger.spent) == (3, 30)


def test_an_answer_from_outside_counts_the_architecture_and_its_history():
    ledger = Ledger(9, archs=1)
    ledger.count(7, 5)  # e.g. a cached record of 5 epochs
    assert ledger.n_archs == 1 and ledger.answer(7, 4) is IN_HISTORY and ledger.answer(7, 6) is None
    assert ledger.epochs == 0  # nothing was sent to train
    with pytest.raises(Refused) as refused:
        ledger.answer(8, 1)  # a second architecture is one more than the budget
    assert refused.value.kind == "archs"


@pytest.mark.parametrize(("limits", "added", "cost", "end", "kind"), [
    ({"cost": 100}, 1, 61, 0, "cost"),  # 40 spent + 61 > 100
    ({"total_epochs": 10}, 7, 0, 0, "epochs"),  # 4 charged + 7 > 10
    ({"time": 50}, 1, 0, 51, "time"),  # would end at 51 > 50
])
def test_a_budget_refuses_what_it_cannot_pay(limits, added, cost, end, kind):
    ledger = Ledger(9, **limits)
    ledger.start(1, 4, 4, 40)
    with pytest.raises(Refused) as refused:
        ledger.admit(added, cost, end)
    assert refused.value.kind == kind
    ledger.admit(added - 1 if kind == "epochs" else added, 60 if kind == "cost" else cost,
                 50 if kind == "time" else end)  # exactly at the limit: paid


def test_admit_run_is_admit_on_each_new_architecture_in_turn():
    rng = np.random.default_rng(3)
    for _ in range(200):
        limits = {key: int(rng.integers(0, 400)) if rng.random() < 0.6 else None
                  for key in ("archs", "total_epochs", "cost", "time")}
        ledger = Ledger(4, **limits)
        if limits["archs"] != 0:  # one architecture trained before the batch
            ledger.start(99, 4, 4, int(rng.integers(0, 30)))
        costs = rng.integers(1, 40, size=int(rng.integers(0, 30)))
        start = int(rng.integers(0, 50))
        expected, spent, epochs, now = 0, ledger.spent, ledger.epochs, start
        for cost in costs.tolist():  # the rules by hand, one architecture after another
            if limits["archs"] is not None and ledger.n_archs + expected >= limits["archs"]:
                break
            if limits["cost"] is not None and spent + cost > limits["cost"]:
                break
            if limits["total_epochs"] is not None and epochs + 4 > limits["total_epochs"]:
                break
            if limits["time"] is not None and now + cost > limits["time"]:
                break
            expected, spent, epochs, now = expected + 1, spent + cost, epochs + 4, now + cost
        assert ledger.admit_run(costs, 4, start) == expected


def test_the_log_schema_holds_the_live_columns_where_a_run_has_them():
    rows = [{"arch_id": 3, "epoch_from": 0, "epoch_to": 2, "worker": 0, "start": 0.5, "end": 0.75, "cost": 0.25,
             "value": 40.0, "source": "trained", "pid": 17, "order": 1, "step": 0, "told": True},
            {"arch_id": 4, "epoch_from": 0, "epoch_to": 2, "worker": -1, "start": 0.6, "end": 0.6, "cost": 0.0,
             "value": 41.0, "source": "cache", "pid": None, "order": 0, "step": 1, "told": True}]
    columns = EvaluationLog.from_rows(rows).columns()  # days already: nothing divided
    assert tuple(columns) == CORE_COLUMNS + LIVE_COLUMNS
    assert columns["start"] == [0.5, 0.6] and columns["pid"] == [17, None] and columns["step"] == [0, 1]
    old = [{k: v for k, v in r.items() if k != "step"} for r in rows]  # a log of a version before "step"
    assert "step" not in EvaluationLog.from_rows(old).columns()
    clock = EvaluationLog(10, [3], [0], [2], [0], [5], [8], [3], [40.0]).columns()  # ticks: 10 a day
    assert tuple(clock) == CORE_COLUMNS and (clock["start"], clock["end"], clock["cost"]) == ([0.5], [0.8], [0.3])
