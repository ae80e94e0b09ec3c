"""Successive halving and Hyperband: the paper's bracket arithmetic, the rounding rule, and schedules on the clock."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nares_nas.errors import ConfigError
from nares_nas.oracle import TabularOracle
from nares_nas.searchers import Hyperband, SuccessiveHalving, resolve
from nares_nas.searchers._hyperband import (
    DEFAULT_MIN_EPOCHS,
    as_fraction,
    bracket_rungs,
    hyperband_brackets,
    max_bracket,
    round_half_up,
    rung_epochs,
)
from nares_nas.searchers.contract import check_searcher, toy_objective
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.space import N_ARCHS, SPACE


# --------------------------------------------------------------------------- the paper's arithmetic
def test_r_27_eta_3_by_hand():
    # s_max = 3; n = ceil(4/(s+1) * 3^s) = 27, 12, 6, 4; n_i = floor(n/3^i); r_i = 27 * 3^-(s-i)
    assert hyperband_brackets(1, 27, 3) == [
        [(27, 1), (9, 3), (3, 9), (1, 27)],
        [(12, 3), (4, 9), (1, 27)],
        [(6, 9), (2, 27)],
        [(4, 27)],
    ]
    # the same in units of 4 epochs: R = 108 / 4 = 27
    assert hyperband_brackets(4, 108, 3) == [[(n, 4 * r) for n, r in b] for b in hyperband_brackets(1, 27, 3)]


def test_the_papers_table_1_r_81():
    # Li et al. (2018), Table 1: R = 81, eta = 3
    assert hyperband_brackets(1, 81, 3) == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]


def test_s_max_is_exact_where_a_float_logarithm_is_not():
    import math

    assert math.floor(math.log(243, 3)) == 4  # float noise: log_3(243) = 4.999...
    assert max_bracket(1, 243, 3) == 5
    assert max_bracket(1, 242, 3) == 4
    assert max_bracket(4, 100, 3) == 2 and max_bracket(1, 100, 3) == 4 and max_bracket(34, 100, 3) == 0
    assert max_bracket(5, 5, 3) == 0


def test_rounding_on_a_non_power_case_min_4_max_100():
    # R = 25: s_max = 2; rungs 100/9 = 11.1 -> 11, 100/3 = 33.3 -> 33, 100
    # n = ceil(3/3 * 9) = 9, ceil(3/2 * 3) = ceil(4.5) = 5, ceil(3/1 * 1) = 3
    assert hyperband_brackets(4, 100, 3) == [[(9, 11), (3, 33), (1, 100)], [(5, 33), (1, 100)], [(3, 100)]]
    # the default min_epochs=4 gives the brackets above; min_epochs=1 on NARes: 100/81 = 1.23 -> 1, 100/27 = 3.7 -> 4
    assert DEFAULT_MIN_EPOCHS == 4
    assert rung_epochs(4, 100, 3) == [1, 4, 11, 33, 100]
    assert [b[0] for b in hyperband_brackets(1, 100, 3)] == [(81, 1), (34, 4), (15, 11), (8, 33), (5, 100)]


def test_halves_round_up():
    assert round_half_up(Fraction(5, 2)) == 3 and round(2.5) == 2  # not Python's banker's rounding
    assert round_half_up(Fraction(7, 2)) == 4 and round_half_up(Fraction(249, 100)) == 2
    # max 5, eta 2: 5/4 = 1.25 -> 1, 5/2 = 2.5 -> 3, 5
    assert rung_epochs(2, 5, 2) == [1, 3, 5]
    assert hyperband_brackets(1, 5, 2) == [[(4, 1), (2, 3), (1, 5)], [(3, 3), (1, 5)], [(3, 5)]]


def test_equal_rungs_merge_into_the_first():
    # eta = 6/5, max 3: s_max = 6 (1.2^6 = 2.99 <= 3); 3/1.2^(6-i) = 1.005, 1.206, 1.447, 1.736, 2.083, 2.5, 3
    assert rung_epochs(6, 3, 1.2) == [1, 1, 1, 2, 2, 3, 3]
    # n = ceil(7/7 * 1.2^6) = 3; kept: i = 0 (3 archs), i = 3 (floor(3/1.728) = 1), i = 5 (floor(3/2.488) = 1)
    assert bracket_rungs(3, 6, 3, 1.2) == [(3, 1), (1, 2), (1, 3)]
    assert max_bracket(1, 3, 1.2) == 6


@pytest.mark.parametrize(("low", "top", "eta"), [(1, 100, 3), (4, 100, 3), (3, 100, 2), (1, 200, 4), (7, 100, 2.5)])
def test_every_bracket_is_well_formed(low, top, eta):
    brackets = hyperband_brackets(low, top, eta)
    assert len(brackets) == max_bracket(low, top, eta) + 1
    for bracket in brackets:
        counts, epochs = zip(*bracket)
        assert epochs[-1] == top and list(epochs) == sorted(set(epochs))
        assert list(counts) == sorted(counts, reverse=True) and counts[-1] >= 1
    smallest = brackets[0][0][1]
    assert low <= smallest < eta * low + 1  # the smallest rung lies in [min, eta * min), rounded


def test_a_cut_bracket_keeps_at_least_one_per_rung():
    assert bracket_rungs(2, 2, 9, 3) == [(2, 1), (1, 3), (1, 9)]


# --------------------------------------------------------------------------- schedules on a tiny table
class TinyTable:
    """Nine epochs; ``values[arch][epochs]`` where given, else ``(arch * 37 % 101) / 10 + epochs / 10``.

    An epoch of arch ``a`` costs ``per_epoch.get(a, 1)`` ticks; a simulated day is 10 ticks.
    """

    max_epochs = 9
    ticks_per_day = 10
    from_scratch = False

    def __init__(self, values=None, per_epoch=None):
        self.values = values or {}
        self.per_epoch = per_epoch or {}

    def value(self, arch_id, epochs):
        given = self.values.get(arch_id, {})
        return float(given[epochs]) if epochs in given else (arch_id * 37 % 101) / 10 + epochs / 10

    def cost_ticks(self, arch_id, epochs, epoch_from=0):
        return self.per_epoch.get(arch_id, 1) * (epochs - epoch_from)


def drawn(seed, count):
    """The first ``count`` architectures a run of ``seed`` draws: one permutation of the space."""
    return (np.random.default_rng(seed).permutation(N_ARCHS) + 1)[:count].tolist()


def rows(run):
    return [(r["arch_id"], r["epoch_from"], r["epoch_to"], r["worker"], round(r["start"] * 10), round(r["end"] * 10))
            for r in run.log.rows()]


def one_bracket_table(seed=0):
    p = drawn(seed, 9)
    at_1 = [5, 7, 7, 1, 9, 7, 0, 2, 3]  # best: p4 (9), then p1, p2, p5 tie at 7: the earliest two go on
    values = {a: {1: v} for a, v in zip(p, at_1)}
    values[p[4]][3], values[p[1]][3], values[p[2]][3] = 1, 6, 6  # p1 and p2 tie: p1 was proposed first
    values[p[1]][9] = 4
    per_epoch = {a: i % 3 + 1 for i, a in enumerate(p)}
    return p, TinyTable(values, per_epoch)


def test_successive_halving_promotes_the_best_and_continues_them_on_one_worker():
    p, table = one_bracket_table()
    (run,) = simulate(SuccessiveHalving(min_epochs=1, eta=3), table, [0], budget=Budget(archs=9))
    ends = [1, 3, 6, 7, 9, 12, 13, 15, 18]  # 1 epoch each at 1, 2, 3, 1, 2, 3, ... ticks
    starts = [0] + ends[:-1]
    assert rows(run) == [(a, 0, 1, 0, s, e) for a, s, e in zip(p, starts, ends)] + [
        (p[4], 1, 3, 0, 18, 22),  # promoted best first, 2 more epochs at 2 ticks
        (p[1], 1, 3, 0, 22, 26),
        (p[2], 1, 3, 0, 26, 32),
        (p[1], 3, 9, 0, 32, 44),  # the top rung: 6 more epochs
    ]
    assert run.cost_days == pytest.approx(4.4) and not run.stopped
    assert run.trajectory().arch_ids.tolist() == [p[1]] and run.trajectory().values.tolist() == [4.0]


def test_on_two_workers_a_rung_waits_for_all_its_results():
    p, table = one_bracket_table()
    (run,) = simulate(SuccessiveHalving(min_epochs=1), table, [0], budget=Budget(archs=9), workers=2)
    assert rows(run) == [
        (p[0], 0, 1, 0, 0, 1), (p[1], 0, 1, 1, 0, 2), (p[2], 0, 1, 0, 1, 4), (p[3], 0, 1, 1, 2, 3),
        (p[4], 0, 1, 1, 3, 5), (p[5], 0, 1, 0, 4, 7), (p[6], 0, 1, 1, 5, 6), (p[7], 0, 1, 1, 6, 8),
        (p[8], 0, 1, 0, 7, 10),
        # w1 idles from 8 to 10: the rung is promoted when p8 is in
        (p[4], 1, 3, 0, 10, 14), (p[1], 1, 3, 1, 10, 14),
        (p[2], 1, 3, 0, 14, 20),
        (p[1], 3, 9, 0, 20, 32),
    ]
    assert run.cost_days == pytest.approx(4.4)


def test_hyperband_runs_its_brackets_one_after_another():
    # max 9, min 1, eta 3: brackets 9@1 -> 3@3 -> 1@9, 5@3 -> 1@9, 3@9; budget 17 = one iteration
    table = TinyTable()
    (run,) = simulate(Hyperband(min_epochs=1), table, [4], budget=Budget(archs=17))
    log = run.log
    spans = list(zip(log.epoch_from, log.epoch_to))
    assert spans == [(0, 1)] * 9 + [(1, 3)] * 3 + [(3, 9)] + [(0, 3)] * 5 + [(3, 9)] + [(0, 9)] * 3
    p = drawn(4, 17)
    assert log.arch_id[:9] == p[:9] and log.arch_id[13:18] == p[9:14] and log.arch_id[19:] == p[14:]

    def best(archs, epochs, k):
        return sorted(archs, key=lambda a: -table.value(a, epochs))[:k]  # stable: the earliest first

    assert log.arch_id[9:12] == best(p[:9], 1, 3)
    assert log.arch_id[12] == best(log.arch_id[9:12], 3, 1)[0]
    assert log.arch_id[18] == best(p[9:14], 3, 1)[0]
    # 9*1 + 3*2 + 1*6 + 5*3 + 1*6 + 3*9 epochs at one tick each
    assert sum(log.cost) == 69 and run.evaluations_per_fidelity() == {1: 9, 3: 8, 9: 5}
    assert log.start[1:] == log.end[:-1]  # one worker, back to back


def test_the_last_bracket_shrinks_to_the_budget_of_distinct_architectures():
    (run,) = simulate(Hyperband(min_epochs=1), TinyTable(), [4], budget=Budget(archs=11))
    spans = list(zip(run.log.epoch_from, run.log.epoch_to))
    # bracket 2 starts min(5, 11 - 9) = 2 archs: rungs (2, 3), (max(1, floor(2/3)) = 1, 9)
    assert spans == [(0, 1)] * 9 + [(1, 3)] * 3 + [(3, 9)] + [(0, 3)] * 2 + [(3, 9)]
    assert len(set(run.log.arch_id)) == 11 and not run.stopped


def test_overlapping_brackets_fill_idle_workers():
    table = TinyTable()
    one = [simulate(Hyperband(min_epochs=1, overlap_brackets=o), table, [2], budget=Budget(archs=40))[0]
           for o in (False, True)]
    assert one[0].log == one[1].log  # on one worker nothing is idle
    seq, over = (simulate(Hyperband(min_epochs=1, overlap_brackets=o), table, [2], budget=Budget(archs=40),
                          workers=4)[0] for o in (False, True))
    assert seq.evaluations_per_fidelity() == over.evaluations_per_fidelity()
    assert over.time_days < seq.time_days
    # sequential: bracket 2's first start is not before bracket 1's last end
    first_of_2 = seq.log.arch_id.index(drawn(2, 10)[9])
    assert seq.log.start[first_of_2] >= max(seq.log.end[:first_of_2])
    first_of_2 = over.log.arch_id.index(drawn(2, 10)[9])
    assert over.log.start[first_of_2] < max(over.log.end[:first_of_2])


@pytest.mark.parametrize("searcher", [Hyperband(), SuccessiveHalving(eta=2),
                                      Hyperband(min_epochs=2, overlap_brackets=True)], ids=repr)
@pytest.mark.parametrize("workers", [1, 3, 8])
def test_runs_never_exceed_budgets_and_respect_workers(searcher, workers):
    table = TinyTable(per_epoch={a: 1 + a % 4 for a in range(1, N_ARCHS + 1)})
    for budget in (Budget(cost=20.0), Budget(total_epochs=300), Budget(time=6.0), Budget(archs=50, cost=30.0)):
        (run,) = simulate(searcher, table, [1], budget=budget, workers=workers)
        log = run.log
        assert run.stopped
        if budget.cost is not None:
            assert sum(log.cost) <= budget.cost * 10
        if budget.total_epochs is not None:
            assert sum(t - f for f, t in zip(log.epoch_from, log.epoch_to)) <= budget.total_epochs
        if budget.time is not None:
            assert max(log.end) <= budget.time * 10
        if budget.archs is not None:
            assert len(set(log.arch_id)) <= budget.archs
        assert set(log.worker) <= set(range(workers))
        for w in set(log.worker):
            spans = sorted((s, e) for s, e, k in zip(log.start, log.end, log.worker) if k == w)
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # one evaluation at a time
        # every continuation resumes where the architecture stopped; first rungs never repeat an arch
        reached: dict[int, int] = {}
        for a, f, t in zip(log.arch_id, log.epoch_from, log.epoch_to):
            assert f == reached.get(a, 0) and t > f
            reached[a] = t


def test_a_seed_determines_the_run():
    table = TinyTable()
    a, b, c = (simulate(Hyperband(), table, [s], budget=Budget(cost=15.0), workers=3)[0] for s in (5, 5, 6))
    assert a.log == b.log and a.log.arch_id != c.log.arch_id
    together = simulate(Hyperband(), table, [5, 6], budget=Budget(cost=15.0), workers=3)
    assert together[0].log == a.log and together[1].log == c.log


@pytest.mark.parametrize("searcher", [SuccessiveHalving, Hyperband, SuccessiveHalving(n_initial=5, min_epochs=3),
                                      Hyperband(eta=2, min_epochs=4, overlap_brackets=True)], ids=repr)
def test_the_searcher_contract_on_the_clock(searcher):
    check_searcher(searcher, budget=40, seeds=(0, 1))


def test_registered_as_entry_points():
    assert resolve("hyperband") is Hyperband and resolve("successive_halving") is SuccessiveHalving
    assert Hyperband.multi_fidelity and SuccessiveHalving.multi_fidelity


def test_bad_input_is_named():
    table = TinyTable()
    cases = [
        (Hyperband(eta=1), "eta .* must be a number > 1, got 1"),
        (Hyperband(eta=True), "eta"),
        (Hyperband(min_epochs=0), "min_epochs"),
        (Hyperband(min_epochs=10), r"min_epochs \(at most max_epochs=9\) must be an integer in 1..9, got 10"),
        (Hyperband(max_epochs=10), r"max_epochs \(at most the table's 9\)"),
        (Hyperband(overlap_brackets="yes"), "overlap_brackets"),
        (SuccessiveHalving(n_initial=0), "n_initial"),
    ]
    for searcher, message in cases:
        with pytest.raises(ConfigError, match=message):
            simulate(searcher, table, [0], budget=Budget(archs=5))


@pytest.mark.parametrize("eta, exact", [(3, Fraction(3)), (np.int64(2), Fraction(2)), (1.2, Fraction(6, 5)),
                                       (np.float64(2.5), Fraction(5, 2)), (Fraction(7, 3), Fraction(7, 3))])
def test_eta_is_read_exactly(eta, exact):
    assert as_fraction(eta) == exact


@pytest.mark.parametrize("eta", [1, 0.5, Fraction(1), True, "3", None, float("inf"), float("nan")])
def test_eta_not_a_finite_number_above_one_is_one_line(eta):
    with pytest.raises(ConfigError) as error:
        as_fraction(eta)
    assert str(error.value) == f"eta (the reduction factor) must be a number > 1, got {eta!r}"


def test_a_plain_oracle_is_refused_with_a_pointer_to_the_clock():
    oracle = TabularOracle(toy_objective(), budget=10)
    with pytest.raises(ConfigError, match="simulated clock"):
        Hyperband().run(SPACE, oracle, 10, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="full trainings only"):
        Hyperband(max_epochs=100).run(SPACE, TabularOracle(toy_objective(), budget=10), 10, np.random.default_rng(0))
