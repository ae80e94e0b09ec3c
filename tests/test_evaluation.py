"""The fidelity rule and the cost model (nares_nas/simulation/model.py) on a table worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from fidelity_records import ARCH_IDS, BEST, CW, DAYS, EPOCHS, SELECTED, VAL_PGD, write

import nares_nas
from nares_nas.errors import ConfigError, MetricError, UnknownArchError
from nares_nas.fidelity import fidelity_matrix, fidelity_values, selected_epochs
from nares_nas.simulation.model import Evaluation, EvaluationModel


@pytest.fixture
def bench(tmp_path, fresh_home):
    return nares_nas.load(write(tmp_path / "cifar10.jsonl"))


def test_selected_epochs_by_hand():
    cw = np.array([CW[a] for a in ARCH_IDS], dtype=float)
    best = np.array([BEST[a] for a in ARCH_IDS])
    got = selected_epochs(cw, best)
    assert got.dtype == np.int64
    assert got.tolist() == [SELECTED[a] for a in ARCH_IDS]
    # the recorded best_epoch wins over the rounded first maximum (epoch 1 for arch 1)
    assert int(np.argmax(cw[0])) == 1 and got[0, -1] == BEST[1] == 3


def test_selected_epochs_never_pick_nan_after_epoch_0():
    cw = np.array([[np.nan, 5.0, np.nan, 7.0], [3.0, np.nan, np.nan, np.nan]])
    assert selected_epochs(cw, np.array([3, 0])).tolist() == [[0, 1, 1, 3], [0, 0, 0, 0]]


def test_benchmark_fidelity_values(bench):
    matrix = bench.fidelity_matrix("VAL_PGD_ACC")
    assert matrix.shape == (15626, EPOCHS) and not matrix.flags.writeable
    assert np.isnan(matrix[5]).all()  # not in the table
    for arch_id in ARCH_IDS:
        assert matrix[arch_id].tolist() == VAL_PGD[arch_id]
        assert bench.selected_epochs()[arch_id].tolist() == SELECTED[arch_id]
        for e in range(1, EPOCHS + 1):
            assert bench.metric(arch_id, "VAL_PGD_ACC", epochs=e) == VAL_PGD[arch_id][e - 1]
            assert bench.metric(arch_id, "BEST_EPOCH", epochs=e) == SELECTED[arch_id][e - 1]
    # at e = E exactly the table's value, through every entry point
    np.testing.assert_array_equal(matrix[:, -1], bench.metric_by_id("VAL_PGD_ACC"))
    np.testing.assert_array_equal(bench.metric_by_id("VAL_CW_ACC", epochs=EPOCHS), bench.metric_by_id("VAL_CW_ACC"))
    for e in range(1, EPOCHS + 1):
        expected = [VAL_PGD[a][e - 1] for a in ARCH_IDS]
        assert bench.metric_by_row("VAL_PGD_ACC", epochs=e).tolist() == expected
        assert bench.metrics([4, 1], "VAL_PGD_ACC", epochs=e).tolist() == [expected[3], expected[0]]
        assert bench.metric_by_id("VAL_PGD_ACC", epochs=e)[list(ARCH_IDS)].tolist() == expected
        np.testing.assert_array_equal(fidelity_values(bench.table.columns, "VAL_CW_ACC", e),
                                      fidelity_matrix(bench.table.columns, "VAL_CW_ACC")[:, e - 1])


def test_free_metrics_are_the_same_at_every_fidelity(bench):
    for name in ("MACS", "PARAMS"):
        assert (bench.fidelity_matrix(name)[1] == bench.metric(1, name)).all()
        assert bench.metric(2, name, epochs=1) == bench.metric(2, name)


def test_fidelity_bad_input(bench):
    with pytest.raises(ConfigError, match=r"epochs must be an integer in 1\.\.6, got 0"):
        bench.metric(1, "VAL_PGD_ACC", epochs=0)
    with pytest.raises(ConfigError, match="got 7"):
        bench.metric_by_id("VAL_PGD_ACC", epochs=7)
    with pytest.raises(ConfigError, match="got 2.0"):
        bench.metric_by_row("VAL_PGD_ACC", epochs=2.0)
    with pytest.raises(ConfigError, match="not both"):
        bench.metric(1, "VAL_PGD_ACC", epoch=2, epochs=3)
    for name in ("TEST_AA_ACC", "TRAINING_TIME", "TEST_CORRUPT_ACC"):
        with pytest.raises(MetricError, match=f"^{name} has no per-epoch history.*VAL_PGD_ACC") as info:
            bench.metric(1, name, epochs=3)
        assert "\n" not in str(info.value)
    with pytest.raises(MetricError, match="no per-epoch history"):
        bench.fidelity_matrix("TEST_PGD_ACC")


def test_cost_model_by_hand(bench):
    model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
    assert model.max_epochs == EPOCHS and model.ticks_per_day == 86_400 * EPOCHS
    seconds = {a: round(DAYS[a] * 86_400) for a in ARCH_IDS}  # 0.01 day = 864 s: exact
    assert seconds == {1: 21_600, 2: 6_048, 3: 51_840, 4: 864}
    for arch_id in ARCH_IDS:
        for e in range(1, EPOCHS + 1):
            assert model.value(arch_id, e) == VAL_PGD[arch_id][e - 1]
            assert model.cost_ticks(arch_id, e) == seconds[arch_id] * e == model.elapsed(arch_id, e)
            assert model.cost(arch_id, e) == pytest.approx(e / EPOCHS * DAYS[arch_id], rel=1e-12)
        assert model.elapsed(arch_id, 0) == 0
    assert model.cost(2, EPOCHS) == 0.07  # a full training is its training_time exactly
    # continuing from e1 to e2 pays (e2 - e1)/E of the training time
    assert model.cost_ticks(1, 5, 2) == 21_600 * 3 == model.elapsed(1, 5) - model.elapsed(1, 2)
    assert model.evaluate(1, 5, epoch_from=2) == Evaluation(1, 2, 5, 0.125, 18.0)
    assert model.evaluate(3, 2) == Evaluation(3, 0, 2, 0.2, 1.0)
    assert model.evaluate(1, 4).epochs == 4
    assert model.days(model.ticks(1.5)) == 1.5


def test_from_scratch_charges_every_epoch(bench):
    model = EvaluationModel.from_benchmark(bench, "VAL_CW_ACC", from_scratch=True)
    evaluation = model.evaluate(1, 5, epoch_from=2)
    assert evaluation == Evaluation(1, 0, 5, pytest.approx(5 / 6 * 0.25), 30.0)
    assert model.cost_ticks(1, 5, 2) == 21_600 * 5
    assert evaluation.to_dict() == {"arch_id": 1, "epoch_from": 0, "epoch_to": 5, "cost": evaluation.cost,
                                    "value": 30.0}


def test_free_objective_costs_nothing(bench):
    model = EvaluationModel.from_benchmark(bench, "PARAMS")
    assert model.free and model.cost_ticks(3, 6) == 0 and model.elapsed(3, 6) == 0
    assert model.value(3, 1) == model.value(3, 6) == bench.metric(3, "PARAMS")


def test_evaluation_model_bad_input(bench):
    model = EvaluationModel.from_benchmark(bench)
    with pytest.raises(ConfigError, match=r"epochs must be an integer in 1\.\.6, got 7"):
        model.evaluate(1, 7)
    with pytest.raises(ConfigError, match=r"epoch_from .* in 0\.\.3, got 4"):
        model.evaluate(1, 4, epoch_from=4)
    with pytest.raises(ConfigError, match="epoch_from"):
        model.cost_ticks(1, 4, -1)
    with pytest.raises(UnknownArchError, match="arch_id 5"):
        model.value(5, 3)
    with pytest.raises(UnknownArchError, match="arch_id 5.*live mode"):
        model.cost_ticks(5, 3)
    times = bench.metric_by_id("TRAINING_TIME").copy()
    times[2] = np.nan
    with pytest.raises(UnknownArchError, match="arch_id 2.*no training_time"):
        EvaluationModel(bench.fidelity_matrix("VAL_PGD_ACC"), times).cost(2, 3)
    with pytest.raises(ConfigError, match=r"shape \(15626, epochs\)"):
        EvaluationModel(np.zeros((4, 6)), times)
    with pytest.raises(MetricError, match="^TRAINING_TIME has no per-epoch history"):
        EvaluationModel.from_benchmark(bench, "TRAINING_TIME")
    with pytest.raises(MetricError, match="test set"):
        EvaluationModel.from_benchmark(bench, "TEST_PGD_ACC")


def test_a_pickled_model_carries_its_arrays_and_answers_the_same(bench):
    import pickle

    from nares_nas.simulation import model as evaluation

    model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC", from_scratch=True)
    state = model.__getstate__()
    assert "_values" not in state and "_seconds" not in state  # a task carries arrays, not Python lookups
    evaluation._UNPICKLED.clear()
    first, second = (pickle.loads(pickle.dumps(model)) for _ in range(2))
    assert first._values is second._values  # a process builds a model's lookups once
    for copy in (first, second):
        assert copy.from_scratch and copy.max_epochs == EPOCHS and copy.source == model.source
        for arch_id in ARCH_IDS:
            for e in range(1, EPOCHS + 1):
                assert copy.value(arch_id, e) == model.value(arch_id, e)
                assert copy.cost_ticks(arch_id, e, e - 1) == model.cost_ticks(arch_id, e, e - 1)
    with pytest.raises(UnknownArchError, match="arch_id 5"):
        first.value(5, 3)


def test_the_lookups_are_made_only_when_a_value_or_cost_is_read(bench):
    import pickle

    model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
    values, seconds = model.arrays()  # what compiled code reads
    assert values[4].tolist()[:3] == [30, 31, 2] and seconds[2] == round(0.07 * 86_400)
    assert "_values" not in vars(model) and "_seconds" not in vars(model)
    copy = pickle.loads(pickle.dumps(model))  # a model whose lookups were never made pickles too
    assert model.value(4, 2) == copy.value(4, 2) == 31 and "_values" in vars(model)
    assert model.cost_ticks(2, 3) == 3 * 6_048 and "_seconds" in vars(model)
