"""Local search: hill climbing at an exact budget, and the reference's moves reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.oracle import TabularOracle
from nares_nas.searchers import LocalSearch
from nares_nas.searchers._local import arch_stream, shuffle_stream
from nares_nas.searchers.contract import toy_objective
from nares_nas.space import N_ARCHS, SPACE, archs_by_id, neighbour_table


def two_peaks() -> tuple[np.ndarray, int, int]:
    """Integer landscape: a global peak A (10) and a local peak B (9) at Hamming distance 6.

    value = max(10 - 2·ham(x, A), 9 - 2·ham(x, B)), so B's neighbours (7 or less) are all
    worse than B: a hill climber that reaches B must restart. Many ties, as in NARes.
    """
    archs = archs_by_id()
    a, b = 1, N_ARCHS  # the smallest and the largest arch differ in every coordinate
    ham_a = (archs != archs[a - 1]).sum(axis=1)
    ham_b = (archs != archs[b - 1]).sum(axis=1)
    values = np.full(N_ARCHS + 1, np.nan)
    values[1:] = np.maximum(10 - 2 * ham_a, 9 - 2 * ham_b)
    return values, a, b


def run(values, searcher, budget, seed, maximize=True):
    oracle = TabularOracle(values, maximize=maximize, budget=searcher.query_cap(budget))
    return searcher.run(SPACE, oracle, budget, np.random.default_rng(seed))


class ReferenceLocalSearch:
    """A literal port of the reference (DS ``optimizer/local_search.py`` + ``metabase.py``).

    Only the random draws are ours: ``sample_arch`` and the neighbour shuffle take the same
    streams as :class:`LocalSearch` (spawned from the run's generator, drawn in chunks).
    """

    def __init__(self, values, total_queries, num_init, query_full_nbhd, rng, direction="max"):
        self.values = values
        self.total_queries = total_queries
        self.num_init = num_init
        self.query_full_nbhd = query_full_nbhd
        self.objective_direction = direction
        self.sampled_archs = {}
        self.queries = 0
        arch_rng, shuffle_rng = rng.spawn(2)
        self._archs, self._orders = arch_stream(arch_rng), shuffle_stream(shuffle_rng)

    # --- search space
    def sample_arch(self):
        return next(self._archs)

    def get_neighbors(self, arch, shuffle=False):
        neighbors = neighbour_table()[arch].tolist()
        if shuffle:
            order = next(self._orders)
            neighbors = [neighbors[i] for i in order]
        return neighbors

    # --- MetaOptimizer
    def query_metric(self, arch):
        if arch in self.sampled_archs:
            return self.sampled_archs[arch]
        metric = float(self.values[arch])
        self.sampled_archs[arch] = metric
        self.queries += 1
        return metric

    def compare_metric(self, old, new):
        cmp = lambda a, b: (a > b) - (a < b)  # noqa: E731
        return cmp(new, old) if self.objective_direction == "max" else cmp(old, new)

    # --- LocalSearch
    def run(self):
        while self.queries < self.total_queries:
            stop_flag = self._local_search()
            if stop_flag:
                break
        return list(self.sampled_archs)

    def _local_search(self):
        best_arch = None
        best_metric = None
        init_model_cnt = 0
        while init_model_cnt < self.num_init:
            arch = self.sample_arch()
            if arch not in self.sampled_archs:
                arch_metric = self.query_metric(arch)
                init_model_cnt += 1
                if best_arch is None or self.compare_metric(best_metric, arch_metric) > 0:
                    best_arch = arch
                    best_metric = arch_metric
                if self.queries >= self.total_queries:
                    return True
        while True:
            improvement = False
            for neighbor in self.get_neighbors(best_arch, shuffle=True):
                if neighbor not in self.sampled_archs:
                    neighbor_metric = self.query_metric(neighbor)
                    if self.compare_metric(best_metric, neighbor_metric):
                        best_arch = neighbor
                        best_metric = neighbor_metric
                        improvement = True
                        if not self.query_full_nbhd:
                            break
                    if self.queries >= self.total_queries:
                        return True
            if not improvement:
                break


def coarse_toy() -> np.ndarray:
    return np.round(toy_objective(3), 1)  # one decimal: ties are frequent


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("landscape", ["two_peaks", "coarse_toy"])
def test_reference_moves_match_a_literal_port_of_the_reference(landscape, full):
    values = two_peaks()[0] if landscape == "two_peaks" else coarse_toy()
    overshoots = 0
    for seed in range(12):
        port = ReferenceLocalSearch(values, 60, 10, full, np.random.default_rng(seed)).run()
        ours = run(values, LocalSearch(query_full_nbhd=full, reference_moves=True), 60, seed)
        assert ours.arch_ids.tolist() == port, seed
        np.testing.assert_array_equal(ours.values, values[port])
        overshoots += len(port) > 60
    if not full:
        assert overshoots > 0  # the first-move break skips the budget check (spec §5.4)
    else:
        assert overshoots == 0


def test_reference_moves_in_the_min_direction_match_the_port():
    values = coarse_toy()
    for seed in range(6):
        port = ReferenceLocalSearch(values, 80, 10, False, np.random.default_rng(seed), "min").run()
        ours = run(values, LocalSearch(reference_moves=True), 80, seed, maximize=False)
        assert ours.arch_ids.tolist() == port


def check_hill_climbing(ids: list[int], scores: dict[int, float], num_init: int) -> int:
    """Replay a trajectory and check every hill-climbing rule; return the number of restarts.

    Within a walk every query is an unseen neighbour of the current arch, and the walk moves
    only to a strictly better one. A query that is not a neighbour starts a restart, which is
    allowed only once the whole neighbourhood has been queried (neighbours queried by earlier
    walks are skipped, as in the reference) and none queried from here was better.
    """
    table = neighbour_table()
    pos, restarts, seen = 0, 0, set()
    while pos < len(ids):
        start = ids[pos : pos + num_init]
        seen.update(start)
        current = start[0]
        for arch in start[1:]:
            if scores[arch] > scores[current]:
                current = arch
        pos += len(start)
        queried_here: list[int] = []
        while pos < len(ids):
            arch = ids[pos]
            neighbours = set(table[current].tolist())
            if arch in neighbours:
                assert arch not in seen
                seen.add(arch)
                queried_here.append(arch)
                if scores[arch] > scores[current]:
                    current, queried_here = arch, []
                pos += 1
                continue
            assert neighbours <= seen, "restarted before the neighbourhood was queried"
            assert all(scores[n] <= scores[current] for n in queried_here)
            restarts += 1
            break
    return restarts


@pytest.mark.parametrize("num_init", [1, 10])
def test_default_climbs_strictly_and_restarts_only_at_local_optima(num_init):
    values, _, _ = two_peaks()
    restarts = 0
    for seed in range(10):
        traj = run(values, LocalSearch(num_init=num_init), 200, seed)
        assert len(traj) == 200
        ids = traj.arch_ids.tolist()
        restarts += check_hill_climbing(ids, {a: values[a] for a in ids}, num_init)
    assert restarts > 0


def test_the_replay_check_rejects_the_reference_moves():
    values, _, _ = two_peaks()
    failures = 0
    for seed in range(10):
        ids = run(values, LocalSearch(num_init=1, reference_moves=True), 200, seed).arch_ids.tolist()
        try:
            check_hill_climbing(ids, {a: values[a] for a in ids}, 1)
        except AssertionError:
            failures += 1
    assert failures > 0


def test_default_reaches_the_peak_of_its_basin_and_stops_there():
    """From a start in B's basin the climber ends on the local peak B, not on A."""
    values, a, b = two_peaks()
    landed_on_b = 0
    for seed in range(40):
        traj = run(values, LocalSearch(num_init=1), 26, seed)  # one start + at most 25 scan queries
        ids = traj.arch_ids.tolist()
        if b in ids and a not in ids:
            landed_on_b += 1
            after = ids[ids.index(b) + 1 :]
            # at B every neighbour is worse: the climber queries them and never leaves B
            assert all(values[x] < values[b] for x in after)
            assert set(after) <= set(neighbour_table()[b].tolist())
    assert landed_on_b > 0


def test_default_stops_at_exactly_the_budget_and_overshoot_is_the_reference_only():
    values = coarse_toy()
    for seed in range(20):
        assert len(run(values, LocalSearch(), 300, seed)) == 300
    assert LocalSearch().query_cap(300) == 300
    assert LocalSearch(reference_moves=True).query_cap(300) is None
    sizes = [len(run(values, LocalSearch(reference_moves=True), 300, seed)) for seed in range(20)]
    assert max(sizes) > 300 and min(sizes) >= 300


def test_default_differs_from_reference_moves():
    values = coarse_toy()
    default = run(values, LocalSearch(), 100, 0).arch_ids
    reference = run(values, LocalSearch(reference_moves=True), 100, 0).arch_ids
    assert default[:10].tolist() == reference[:10].tolist()  # same random starts
    assert default.tolist() != reference[:100].tolist()


def test_minimising_a_negated_objective_is_maximising_it():
    values = coarse_toy()
    up = run(values, LocalSearch(), 150, 4)
    down = run(-values, LocalSearch(), 150, 4, maximize=False)
    assert up.arch_ids.tolist() == down.arch_ids.tolist()
    assert up.best_arch_id == down.best_arch_id


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_num_init_must_be_a_positive_integer(bad):
    from nares_nas.errors import ConfigError

    with pytest.raises(ConfigError, match="num_init"):
        run(coarse_toy(), LocalSearch(num_init=bad), 50, 0)


@pytest.mark.parametrize("cast", [np.int64, np.int32, np.uint8])
def test_num_init_accepts_numpy_integers(cast):
    values = coarse_toy()
    expected = run(values, LocalSearch(num_init=7), 90, 2)
    got = run(values, LocalSearch(num_init=cast(7)), 90, 2)
    assert got.arch_ids.tolist() == expected.arch_ids.tolist() and len(got) == 90


def test_initial_best_is_the_first_of_equal_values_in_both_directions():
    # the reference keeps the first best of the num_init random archs ("strictly better
    # replaces"), whatever the direction; a flat landscape makes every initial arch tie
    flat = np.full(N_ARCHS + 1, np.nan)
    flat[1:] = 1.0
    for maximize in (True, False):
        oracle = TabularOracle(flat, maximize=maximize, budget=11)
        traj = LocalSearch(num_init=10).run(SPACE, oracle, 11, np.random.default_rng(5))
        assert traj.arch_ids[10] in neighbour_table()[traj.arch_ids[0]]  # it climbs from the first


def test_numpy_hyper_parameters_run_to_a_folder(tmp_path):
    import json

    import nares_nas
    from nares_nas.runs.search import run_to_dir

    bench = nares_nas.load("synthetic")
    runs = run_to_dir(tmp_path / "ls", LocalSearch(num_init=np.int64(4)), bench, seeds=[0, 1], budget=20)
    assert [len(r.trajectory) for r in runs] == [20, 20]
    assert json.loads((tmp_path / "ls" / "config.json").read_text())["params"]["num_init"] == 4
