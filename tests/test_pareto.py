"""nares_nas.pareto.problem: objectives, constraints, exact fronts, ranks and scores, by hand and by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nares_nas.errors import ConfigError, MetricError
from nares_nas.pareto import geometry
from nares_nas.pareto.geometry import attainment, first_dominators, hypervolume
from nares_nas.pareto.problem import Constraint, Objective, Problem, pareto_front, parse_constraint, parse_objectives
from nares_nas.space import N_ARCHS


class FakeBench:
    """A table of a few architectures: metric arrays by arch_id, NaN where absent."""

    source = "fake"
    synthetic = False
    provenance = "fake table"

    def __init__(self, arrays: dict[str, dict[int, float]]) -> None:
        ids = sorted(next(iter(arrays.values())))
        self.arch_ids = np.array(ids, dtype=np.int64)
        self._arrays = {}
        for name, values in arrays.items():
            array = np.full(N_ARCHS + 1, np.nan)
            for arch_id, value in values.items():
                array[arch_id] = value
            self._arrays[name] = array

    def metric_by_id(self, name: str) -> np.ndarray:
        return self._arrays[name]


def bench_of(acc: list[float], macs: list[float], third: list[float] | None = None, start: int = 1) -> FakeBench:
    ids = range(start, start + len(acc))
    arrays = {"VAL_PGD_ACC": dict(zip(ids, acc)), "MACS": dict(zip(ids, macs)),
              "TRAINING_TIME": dict(zip(ids, [0.5] * len(acc))), "TEST_PGD_ACC": dict(zip(ids, acc))}
    if third is not None:
        arrays["PARAMS"] = dict(zip(ids, third))
    return FakeBench(arrays)


def dominates(a, b, maximize) -> bool:
    a = [x if m else -x for x, m in zip(a, maximize)]
    b = [x if m else -x for x, m in zip(b, maximize)]
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def brute_ranks(points, maximize) -> list[int]:
    """Peel fronts one at a time: rank 1 are those nothing dominates, and so on."""
    left, rank, ranks = set(range(len(points))), 1, [0] * len(points)
    while left:
        front = {i for i in left if not any(dominates(points[j], points[i], maximize) for j in left)}
        for i in front:
            ranks[i] = rank
        left -= front
        rank += 1
    return ranks


# --------------------------------------------------------------------------- parsing
def test_objectives_parse_with_directions():
    parsed = parse_objectives("val_pgd_acc:max, MACS:MIN")
    assert parsed == (Objective("VAL_PGD_ACC", True), Objective("MACS", False))
    assert [str(o) for o in parsed] == ["VAL_PGD_ACC:max", "MACS:min"]
    assert len(parse_objectives(["VAL_PGD_ACC:max", "MACS:min", "PARAMS:min"])) == 3


@pytest.mark.parametrize("text, words", [
    ("FOO:max,MACS:min", "unknown metric 'FOO'"),
    ("TEST_PGD_ACC:max,MACS:min", "TEST_PGD_ACC is measured on the test set"),
    ("VAL_PGD_ACC:max", "needs two or three objectives, got one"),
    ("VAL_PGD_ACC:max,VAL_PGD_ACC:min", "VAL_PGD_ACC is given twice"),
    ("VAL_CLEAN_ACC:max,VAL_TEST_ACC:max", "VAL_TEST_ACC has the same values as VAL_CLEAN_ACC"),
    ("VAL_PGD_ACC,MACS:min", "give its direction"),
    ("VAL_PGD_ACC:up,MACS:min", "give its direction"),
    ("VAL_PGD_ACC:max,MACS:min,PARAMS:min,VAL_CW_ACC:max", "at most 3 objectives"),
    ("", "give two or three"),
    ("VAL_PGD_ACC:max,,MACS:min", "give two or three"),
])
def test_bad_objectives_say_what_is_wrong_in_one_line(text, words):
    with pytest.raises((ConfigError, MetricError)) as info:
        parse_objectives(text)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_test_metrics_are_allowed_outside_search():
    parsed = parse_objectives("TEST_PGD_ACC:max,MACS:min", search=False)
    assert parsed[0] == Objective("TEST_PGD_ACC", True)
    assert parse_constraint("TEST_AA_ACC>=50", search=False) == Constraint("TEST_AA_ACC", ">=", 50.0)


@pytest.mark.parametrize("text, expected", [
    ("MACS<=1e10", Constraint("MACS", "<=", 1e10)), ("params < 5e7", Constraint("PARAMS", "<", 5e7)),
    ("VAL_PGD_ACC>=36.5", Constraint("VAL_PGD_ACC", ">=", 36.5)), ("TRAINING_TIME>0.1", Constraint(
        "TRAINING_TIME", ">", 0.1)),
])
def test_constraints_parse(text, expected):
    assert parse_constraint(text) == expected


@pytest.mark.parametrize("text", ["MACS", "MACS<=", "MACS=<1e10", "MACS==3", "<=5", "MACS<=abc", "MACS<=inf",
                                  "MACS<=1e10 and PARAMS<=3"])
def test_malformed_constraints_are_refused_in_one_line(text):
    with pytest.raises(ConfigError) as info:
        parse_constraint(text)
    assert "expected METRIC OP NUMBER" in str(info.value) and "\n" not in str(info.value)


def test_constraints_on_unknown_or_test_metrics_are_refused_in_search():
    with pytest.raises(MetricError, match="unknown metric 'FLOPS'"):
        parse_constraint("FLOPS<=1")
    with pytest.raises(MetricError, match="may not be a search constraint"):
        parse_constraint("TEST_AA_ACC>=50")


def test_constraint_semantics_by_hand():
    values = np.array([1.0, 2.0, 3.0, np.nan])
    assert Constraint("MACS", "<=", 2).holds(values).tolist() == [True, True, False, False]
    assert Constraint("MACS", "<", 2).holds(values).tolist() == [True, False, False, False]
    assert Constraint("MACS", ">=", 2).holds(values).tolist() == [False, True, True, False]
    assert Constraint("MACS", ">", 2).holds(values).tolist() == [False, False, True, False]
    assert Constraint("MACS", "<=", 1).free and not Constraint("VAL_PGD_ACC", "<=", 1).free


def test_a_constraint_no_architecture_meets_is_refused():
    bench = bench_of([30, 31, 32], [5e9, 6e9, 7e9])
    with pytest.raises(ConfigError, match=r"no architecture of the table meets the constraint MACS<=1000 "
                                          r"\(MACS ranges 5e\+09..7e\+09\)"):
        Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", ["MACS<=1000"])
    with pytest.raises(ConfigError, match="meets all the constraints together: MACS<=5.5e\\+09 and MACS>=6.5e\\+09"):
        Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", ["MACS<=5.5e9", "MACS>=6.5e9"])


# --------------------------------------------------------------------------- fronts and ranks
@pytest.mark.parametrize("seed", range(4))
def test_exact_front_and_ranks_match_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = 40
    acc = rng.integers(30, 36, n).astype(float).tolist()  # few distinct values: many ties and equal vectors
    macs = rng.integers(1, 6, n).astype(float).tolist()
    params = rng.integers(1, 4, n).astype(float).tolist()
    bench = bench_of(acc, macs, params, start=100)
    for objectives, columns, maximize in (("VAL_PGD_ACC:max,MACS:min", (acc, macs), (True, False)),
                                          ("VAL_PGD_ACC:max,MACS:min,PARAMS:max", (acc, macs, params),
                                           (True, False, True))):
        problem = Problem.from_benchmark(bench, objectives)
        points = list(zip(*columns))
        ranks = brute_ranks(points, maximize)
        assert problem.ranks()[100:100 + n].tolist() == ranks
        assert sorted(problem.exact_front().tolist()) == [100 + i for i, r in enumerate(ranks) if r == 1]
        assert problem.ranks()[:100].tolist() == [0] * 100  # no record: no rank


def test_equal_vectors_are_all_on_the_front():
    bench = bench_of([35, 35, 34, 36], [2, 2, 1, 3])
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    assert problem.exact_front().tolist() == [4, 1, 2, 3]  # best VAL first; the tie 1, 2 by arch_id


def test_front_order_best_first_then_ties_then_arch_id():
    # three with acc 36 (MACS 2, 2, 1): the one of MACS 1 dominates; acc 37 is best
    bench = bench_of([36, 36, 36, 37, 30], [2, 2, 1, 5, 0.5])
    front = pareto_front(bench, "VAL_PGD_ACC:max,MACS:min")
    assert front.frame["arch_id"].tolist() == [4, 3, 5]
    assert front.frame.columns.tolist() == ["arch_id", "D1", "W1", "D2", "W2", "D3", "W3", "VAL_PGD_ACC", "MACS"]
    assert front.ranks.loc[[1, 2, 3, 4, 5]].tolist() == [2, 2, 1, 1, 1]
    assert front.ranks.isna().sum() == N_ARCHS - 5
    # minimising the first objective reverses the order
    assert pareto_front(bench, "MACS:min,VAL_PGD_ACC:max").frame["arch_id"].tolist() == [5, 3, 4]


def test_constraints_are_respected_by_the_front():
    bench = bench_of([30, 31, 32, 33], [1, 2, 3, 4])  # every arch on the unconstrained front
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", ["MACS<3", "VAL_PGD_ACC>30"])
    assert problem.exact_front().tolist() == [2]
    assert problem.feasible[1:5].tolist() == [False, True, False, False]
    assert problem.free_feasible[1:5].tolist() == [True, True, False, False]  # MACS alone
    # the normalisation is the whole table's, before constraints
    assert problem.low.tolist() == [30, 1] and problem.high.tolist() == [33, 4]


# --------------------------------------------------------------------------- scores
def test_hypervolume_of_2d_fronts_by_hand():
    # staircase under the reference point (1.1, 1.1): 1.1 x 0.6 + 0.6 x 0.5
    assert hypervolume([[0.0, 0.5], [0.5, 0.0]]) == pytest.approx(0.96)
    assert hypervolume([[0.0, 0.0]]) == pytest.approx(1.21)
    assert hypervolume([[0.2, 0.3], [0.5, 0.5]]) == pytest.approx(0.9 * 0.8)  # dominated point adds nothing
    assert hypervolume(np.empty((0, 2))) == 0.0


def test_problem_scores_by_hand():
    # acc 30..40 and MACS 0..10 normalise to (40 - acc) / 10 and MACS / 10
    bench = bench_of([40, 30, 35, 30, 38], [10, 0, 5, 10, 8])
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    assert problem.reference_point.tolist() == [1.1, 1.1]
    assert problem.normalise([[35, 5]]).tolist() == [[0.5, 0.5]]
    # exact front: (0, 1), (1, 0), (0.5, 0.5), (0.2, 0.8); its HV by strips along the first objective
    hv = 0.2 * 0.1 + 0.3 * 0.3 + 0.5 * 0.6 + 0.1 * 1.1
    assert problem.exact_hypervolume == pytest.approx(hv)
    score = problem.score([3, 4])  # found (0.5, 0.5) and (1, 1): the second is dominated
    assert score.front_size == 1 and score.hypervolume == pytest.approx(0.36)
    assert score.hv_regret == pytest.approx(hv - 0.36)
    # IGD+ (minimised): mean over the exact points of the distance to (0.5, 0.5) counted where it is worse
    d = [np.hypot(0.5, 0.0), np.hypot(0.0, 0.5), 0.0, np.hypot(0.3, 0.0)]
    assert score.igd_plus == pytest.approx(np.mean(d))
    empty = problem.score([])
    assert empty.hypervolume == 0.0 and empty.hv_regret == pytest.approx(hv) and empty.front_size == 0


def test_the_reference_point_never_depends_on_the_run():
    bench = bench_of([40, 30, 35, 30, 38, 31], [10, 0, 5, 10, 8, 9])
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    good = problem.score([3])
    # a run that also found bad architectures scores exactly the same (they cannot move the reference)
    assert problem.score([3, 4, 6]) == good
    again = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    assert again.score([3]) == good and again.reference_point.tolist() == [1.1, 1.1]
    assert problem.to_dict()["reference_point"] == [1.1, 1.1]


def test_infeasible_architectures_never_count_in_a_found_front():
    bench = bench_of([40, 30, 35], [10, 0, 5])
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", ["MACS>=1"])
    assert problem.found_front([1, 2, 3]).tolist() == [1, 3]
    assert problem.score([2]).front_size == 0 and problem.score([2]).hypervolume == 0.0
    assert problem.anytime([2, 3]).front_size.tolist() == [0, 1]


def straightforward(problem: Problem, ids) -> tuple[list, list, list]:
    """The per-query recomputation: score every prefix from scratch."""
    scores = [problem.score(ids[:i + 1]) for i in range(len(ids))]
    return [s.hv_regret for s in scores], [s.igd_plus for s in scores], [s.front_size for s in scores]


@pytest.mark.parametrize("seed", range(3))
def test_anytime_scores_equal_the_straightforward_recomputation(seed):
    rng = np.random.default_rng(seed)
    n = 60
    acc = rng.integers(30, 40, n).astype(float).tolist()
    macs = rng.integers(0, 8, n).astype(float).tolist()
    params = rng.integers(0, 3, n).astype(float).tolist()
    bench = bench_of(acc, macs, params)
    for objectives in ("VAL_PGD_ACC:max,MACS:min", "VAL_PGD_ACC:max,MACS:min,PARAMS:min"):
        problem = Problem.from_benchmark(bench, objectives, ["MACS<=6"])
        ids = rng.permutation(np.arange(1, n + 1))
        ids = np.concatenate([ids, ids[:5]])  # repeats count once
        anytime = problem.anytime(ids)
        regret, igd, size = straightforward(problem, ids)
        np.testing.assert_allclose(anytime.hv_regret, regret, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(anytime.igd_plus, igd, rtol=1e-12, atol=1e-15)
        assert anytime.front_size.tolist() == size
        assert anytime.hv_regret[-1] == pytest.approx(0.0, abs=1e-12)  # everything found: no regret


def test_first_dominators_blocks_agree_with_brute_force(monkeypatch):
    monkeypatch.setattr(geometry, "_BLOCK", 7)  # several blocks
    points = np.random.default_rng(5).integers(0, 4, (30, 2)).astype(float)
    strict, weak = first_dominators(points)
    for j, p in enumerate(points):
        s = [i for i, q in enumerate(points) if (q <= p).all() and (q < p).any()]
        w = [i for i, q in enumerate(points) if i != j and (q <= p).all()]
        assert strict[j] == (s[0] if s else 30) and weak[j] == (w[0] if w else 30)


def test_attainment_levels_by_hand():
    # set 1: (0, 1), (1, 0); set 2: (0.5, 0.5)
    eaf = attainment([[0, 1], [1, 0], [0.5, 0.5]], [1, 1, 2], [0, 100])
    best = sorted(map(tuple, eaf[eaf[:, 2] == 0][:, :2].tolist()))
    worst = sorted(map(tuple, eaf[eaf[:, 2] == 100][:, :2].tolist()))
    assert best == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    assert worst == [(0.5, 1.0), (1.0, 0.5)]


def test_test_counterparts_rescore_the_same_architectures():
    bench = bench_of([40, 30, 35], [10, 0, 5])
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", search=True)
    test = problem.rescored(bench)
    assert [str(o) for o in test.objectives] == ["TEST_PGD_ACC:max", "MACS:min"]
    assert test.score([1, 2, 3]).hv_regret == 0.0


@pytest.fixture(scope="module")
def stand_in():
    import nares_nas

    return nares_nas.load("synthetic")


def test_the_stand_ins_front_against_a_sweep(stand_in):
    problem = Problem.from_benchmark(stand_in, "VAL_PGD_ACC:max,MACS:min")
    acc, macs = stand_in.metric_by_id("VAL_PGD_ACC")[1:], stand_in.metric_by_id("MACS")[1:]
    # a sweep from the best accuracy down: an accuracy's cheapest archs are on the front iff they are
    # cheaper than every arch of a better accuracy (equal vectors all on it)
    order = np.lexsort((macs, -acc))
    front, cheapest_above = [], np.inf
    for _, group in itertools.groupby(order.tolist(), key=lambda j: acc[j]):
        group = list(group)
        cheapest = macs[group[0]]
        if cheapest < cheapest_above:
            front += [j + 1 for j in group if macs[j] == cheapest]
        cheapest_above = min(cheapest_above, cheapest)
    assert sorted(problem.exact_front().tolist()) == sorted(front)
    ranks = problem.ranks()
    assert (ranks[problem.exact_front()] == 1).all() and (ranks[1:] >= 1).all()
    assert (ranks == 1).sum() == len(front)
