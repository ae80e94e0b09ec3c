import numpy as np
import pytest

from nares_nas.errors import InvalidArchError
from nares_nas.space import (
    DEPTHS,
    N_ARCHS,
    SPACE,
    SWAPPED_TIE_IDS,
    WIDTHS,
    Arch,
    arch_ids_of,
    archs_by_id,
    check_arch_id,
    check_arch_ids,
    count_macs,
    count_params,
    enumeration_order,
    neighbour_table,
    to_arch,
    to_arch_id,
)

# spec §1.3 table and §1.4 first ids
SPOT = {
    1: ([4, 8, 4, 8, 4, 8], 23_354_842, 3_361_936_896),
    2: ([4, 8, 4, 8, 5, 8], 28_075_482, 3_663_992_320),
    441: ([5, 10, 5, 10, 5, 10], 46_160_474, 6_661_790_592),
    5161: ([4, 16, 4, 14, 9, 10], 83_538_138, 11_998_878_592),
    5162: ([7, 10, 5, 12, 5, 16], 104_489_306, 12_000_111_616),
    13071: ([7, 12, 9, 8, 11, 16], 215_735_002, 19_997_993_984),
    13072: ([7, 8, 11, 16, 11, 10], 132_890_330, 20_005_575_552),
    15624: ([11, 16, 11, 16, 9, 16], 229_039_578, 36_358_138_880),
    15625: ([11, 16, 11, 16, 11, 16], 266_796_506, 38_774_320_128),
}
FIRST_IDS = {3: [4, 8, 5, 8, 4, 8], 4: [5, 8, 4, 8, 4, 8], 5: [4, 8, 5, 8, 5, 8], 8: [4, 8, 4, 8, 4, 10],
             9: [4, 10, 4, 8, 4, 8], 10: [4, 8, 4, 10, 4, 8], 100: [4, 8, 4, 10, 4, 12],
             1000: [5, 8, 7, 10, 7, 10], 1318: [4, 8, 5, 16, 5, 8], 1319: [4, 8, 4, 16, 9, 8]}


@pytest.mark.parametrize("arch_id", sorted(SPOT))
def test_spot_values_from_the_spec(arch_id):
    vector, params, macs = SPOT[arch_id]
    arch = Arch(*vector)
    assert arch.arch_id == arch_id
    assert arch.params == params
    assert arch.macs == macs
    assert Arch.from_id(arch_id) == arch


@pytest.mark.parametrize("arch_id", sorted(FIRST_IDS))
def test_first_ids_and_a_swapped_tie(arch_id):
    assert Arch.from_id(arch_id).to_list() == FIRST_IDS[arch_id]


def test_all_ids_are_a_permutation_sorted_by_macs():
    archs = archs_by_id()
    assert archs.shape == (N_ARCHS, 6)
    assert len({tuple(a) for a in archs}) == N_ARCHS
    macs = count_macs(archs)
    assert np.all(np.diff(macs) >= 0)
    assert {tuple(a) for a in archs} == {tuple(a) for a in enumeration_order()}


def test_tie_rule_172_pairs_93_swapped():
    macs = count_macs(archs_by_id())
    tied = np.flatnonzero(np.diff(macs) == 0) + 1  # id k where ids k and k+1 tie
    assert len(tied) == 172
    assert set(SWAPPED_TIE_IDS) <= set(tied.tolist())
    assert len(SWAPPED_TIE_IDS) == 93
    position = {tuple(a): i for i, a in enumerate(enumeration_order())}
    by_id = archs_by_id()
    for k in tied:
        first, second = position[tuple(by_id[k - 1])], position[tuple(by_id[k])]
        # a swapped pair is ordered against enumeration order, every other pair with it
        assert (first > second) == (int(k) in SWAPPED_TIE_IDS)


def test_param_range_and_vectorised_counts():
    params = count_params(archs_by_id())
    assert params.min() == 23_354_842 and params.max() == 266_796_506
    assert params.argmin() == 0  # min params and min MACs are the same arch


@pytest.mark.parametrize("value, expected", [
    ("5,10,5,10,5,10", 441), ("[5, 10, 5, 10, 5, 10]", 441), (441, 441), ("441", 441),
    ([5, 10, 5, 10, 5, 10], 441), ({"D1": 5, "W1": 10, "D2": 5, "W2": 10, "D3": 5, "W3": 10}, 441),
])
def test_to_arch_forms(value, expected):
    assert to_arch_id(value) == expected
    assert to_arch(value).arch_id == expected


@pytest.mark.parametrize("value, fragment", [
    ("5,10,5,10,5", "6 comma-separated"), ("6,10,5,10,5,10", "D1=6"), ([5, 9, 5, 10, 5, 10], "W1=9"),
    (0, "1..15625"), (15626, "1..15625"), ("a,b,c,d,e,f", "integers"), (3.5, "must be an integer"),
    ([5, 10, 5, 10, 5, True], "W3=True"), (-1, "1..15625"), ("-1", "1..15625"), (" +0 ", "1..15625"),
    (True, "must be an integer"), (np.bool_(False), "must be an integer"), (441.0, "must be an integer"),
    (np.float32(2.0), "must be an integer"), (np.int64(-5), "1..15625"), ("\u00b2", "integers"),
    ([5.0, 10, 5, 10, 5, 10], "D1=5.0"), (None, "expected"),
])
def test_invalid_archs_name_the_problem(value, fragment):
    with pytest.raises(InvalidArchError, match=fragment.replace("[", r"\[")):
        to_arch(value)


def test_arch_is_immutable_and_hashable():
    arch = Arch(5, 10, 5, 10, 5, 10)
    with pytest.raises(AttributeError):
        arch.D1 = 4
    assert {arch: 1}[Arch.parse("5,10,5,10,5,10")] == 1
    assert str(arch) == "5,10,5,10,5,10"
    assert arch.channels == (160, 320, 640)


def test_neighbours_are_the_24_one_step_changes_in_reference_order():
    table = neighbour_table()
    arch = Arch(5, 10, 5, 10, 5, 10)
    got = [Arch.from_id(int(i)).to_list() for i in table[arch.arch_id]]
    expected = []
    for col, allowed in enumerate((DEPTHS, WIDTHS) * 3):
        for value in allowed:
            if value != arch.to_list()[col]:
                vector = arch.to_list()
                vector[col] = value
                expected.append(vector)
    assert got == expected
    # every neighbour relation is symmetric and differs in exactly one coordinate
    archs = archs_by_id()
    rows = np.repeat(np.arange(1, N_ARCHS + 1), 24)
    cols = table[1:].ravel()
    assert np.all((archs[rows - 1] != archs[cols - 1]).sum(axis=1) == 1)
    assert (table[cols] == rows[:, None]).any(axis=1).all()


def test_uniform_sampling_from_a_generator():
    rng = np.random.default_rng(0)
    ids = SPACE.sample(rng, size=200_000)
    assert ids.min() >= 1 and ids.max() <= N_ARCHS
    # every coordinate value about equally often
    first = archs_by_id()[ids - 1][:, 0]
    counts = np.array([(first == d).sum() for d in DEPTHS])
    assert np.all(np.abs(counts / len(ids) - 0.2) < 0.01)
    assert SPACE.sample(np.random.default_rng(3)) == SPACE.sample(np.random.default_rng(3))
    nb = SPACE.random_neighbour(441, np.random.default_rng(1))
    assert nb in set(SPACE.neighbours(441).tolist())


BAD_IDS = [-1, 0, N_ARCHS + 1, True, np.bool_(True), 2.0, np.float64(7.0), "441", None]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_every_space_method_refuses_ids_outside_the_space(bad):
    rng = np.random.default_rng(0)
    for call in (lambda: SPACE.random_neighbour(bad, rng), lambda: SPACE.neighbours(bad),
                 lambda: SPACE.arch(bad), lambda: Arch.from_id(bad), lambda: check_arch_id(bad)):
        with pytest.raises(InvalidArchError):
            call()


@pytest.mark.parametrize("cast", [np.int64, np.int32, np.uint16])
def test_numpy_integer_ids_are_accepted(cast):
    assert check_arch_id(cast(441)) == 441 and type(check_arch_id(cast(441))) is int
    assert SPACE.arch(cast(441)) == Arch(5, 10, 5, 10, 5, 10) and to_arch_id(cast(441)) == 441
    assert SPACE.neighbours(cast(441)).tolist() == SPACE.neighbours(441).tolist()
    assert SPACE.random_neighbour(cast(441), np.random.default_rng(2)) == SPACE.random_neighbour(
        441, np.random.default_rng(2))
    assert Arch(*(cast(v) for v in (5, 10, 5, 10, 5, 10))).arch_id == 441


def test_vectorised_ids_refuse_rows_and_ids_outside_the_space():
    rows = np.array([[5, 10, 5, 10, 5, 10], [4, 8, 4, 8, 4, 8]])
    assert arch_ids_of(rows).tolist() == [441, 1]
    assert check_arch_ids(np.array([441, 1], dtype=np.int32)).tolist() == [441, 1]
    for bad, fragment in [(np.array([[5, 10, 5, 10, 5, 10], [6, 10, 5, 10, 5, 10]]), "D1=6"),
                          (np.array([[5, 10, 5, 10, 5, 9]]), "W3=9"), (rows[:, :5], "six values"),
                          (rows.astype(float), "integer rows")]:
        with pytest.raises(InvalidArchError, match=fragment):
            arch_ids_of(bad)
    for bad in (np.array([441, 0]), np.array([-1]), np.array([N_ARCHS + 1]), np.array([1.0]), rows):
        with pytest.raises(InvalidArchError):
            check_arch_ids(bad)
