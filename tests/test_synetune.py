"""The Syne Tune export (nares_nas/integrations/synetune.py): a round trip through Syne Tune's own reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fidelity_records import ARCH_IDS, DAYS, EPOCHS, VAL_PGD, write

import nares_nas
from nares_nas import cli
from nares_nas.integrations.synetune import EXPORTED_METRICS, FILES, HYPERPARAMETERS, export_syne_tune
from nares_nas.space import Arch


@pytest.fixture
def bench(tmp_path, fresh_home):
    return nares_nas.load(write(tmp_path / "cifar10.jsonl"))


def test_round_trip_through_syne_tune(bench, tmp_path):
    pytest.importorskip("syne_tune")  # installed without its dependencies (README): not in a tabular install
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize

    out = export_syne_tune(bench, tmp_path / "export")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    blackbox = deserialize(str(out))["cifar10"]
    assert list(blackbox.configuration_space) == list(HYPERPARAMETERS)
    assert list(blackbox.fidelity_space) == ["hp_epoch"]
    assert blackbox.fidelity_values.tolist() == list(range(1, EPOCHS + 1))
    assert blackbox.objectives_evaluations.shape == (len(ARCH_IDS), 1, EPOCHS, len(EXPORTED_METRICS) + 1)
    assert not any(name.startswith("metric_test") for name in blackbox.objectives_names)
    for row, arch_id in enumerate(ARCH_IDS):
        config = dict(zip(HYPERPARAMETERS, Arch.from_id(arch_id).to_tuple()))
        assert blackbox.hyperparameters.iloc[row].to_dict() == config
        for e in range(1, EPOCHS + 1):
            got = blackbox.objective_function(config, fidelity={"hp_epoch": e}, seed=0)
            for name in EXPORTED_METRICS:
                expected = bench.metric(arch_id, name, epochs=e)
                assert got[f"metric_{name.lower()}"] == pytest.approx(expected, rel=1e-6, abs=1e-3), (arch_id, e, name)
            assert got["metric_val_pgd_acc"] == pytest.approx(VAL_PGD[arch_id][e - 1], abs=1e-3)
            assert got["metric_elapsed_time"] == pytest.approx(e / EPOCHS * DAYS[arch_id] * 86_400, rel=1e-6)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["arch_ids"] == list(ARCH_IDS) and meta["time_attr"] == "hp_epoch"
    assert meta["metric_default"] == "metric_val_pgd_acc" and meta["synthetic"] is False


def test_cli_export(bench, tmp_path, capsys):
    pytest.importorskip("fastparquet")  # the synetune extra
    out = tmp_path / "st"
    assert cli.main(["export", "syne-tune", str(out), "--data", bench.source]) == 0
    assert f"wrote 4 architectures x {EPOCHS} epochs" in capsys.readouterr().out
    values = np.load(out / "objectives_evaluations.npy")
    assert values.dtype == np.float32 and values.shape[:4] == (1, 4, 1, EPOCHS)
