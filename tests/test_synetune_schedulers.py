"""experiments/synetune_asha_bohb.py: Syne Tune's own ASHA and BOHB on a small export, on its simulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from fidelity_records import ARCH_IDS, DAYS, EPOCHS, VAL_PGD, write

import nares_nas
from nares_nas.integrations.synetune import HYPERPARAMETERS, export_syne_tune
from nares_nas.space import Arch

pytest.importorskip("syne_tune")
pytest.importorskip("fastparquet")

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "synetune_asha_bohb.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("synetune_asha_bohb", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def blackbox(tmp_path, fresh_home):
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize

    bench = nares_nas.load(write(tmp_path / "cifar10.jsonl"))
    return deserialize(str(export_syne_tune(bench, tmp_path / "export")))["cifar10"]


@pytest.mark.parametrize("scheduler", ["ASHA", "BOHB"])
def test_a_few_trials_on_the_simulator(script, blackbox, scheduler, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # nothing may land in ~/syne-tune
    configs = {arch_id: dict(zip(HYPERPARAMETERS, Arch.from_id(arch_id).to_tuple())) for arch_id in ARCH_IDS}
    run = script.run_scheduler(blackbox, scheduler, seed=0, workers=2, max_trials=len(ARCH_IDS), min_epochs=2,
                               out_dir=tmp_path / "st", points_to_evaluate=list(configs.values()))
    results = run["results"]
    assert run["trials"] == len(ARCH_IDS) and run["path"].is_relative_to(tmp_path / "st")
    assert not (tmp_path / "home" / "syne-tune").exists()
    arch_of = {tuple(config.values()): arch_id for arch_id, config in configs.items()}
    for row in results.itertuples():
        arch_id = arch_of[tuple(getattr(row, f"config_{hp}") for hp in HYPERPARAMETERS)]
        epoch = int(row.hp_epoch)
        assert row.metric_val_pgd_acc == pytest.approx(VAL_PGD[arch_id][epoch - 1], abs=1e-3)
        assert row.metric_elapsed_time == pytest.approx(epoch / EPOCHS * DAYS[arch_id] * 86_400, rel=1e-4, abs=0.02)
    assert set(results["hp_epoch"]) >= {1, 2}  # the grace period's rung, then promotions or stops
    again = script.run_scheduler(blackbox, scheduler, seed=0, workers=2, max_trials=len(ARCH_IDS), min_epochs=2,
                                 out_dir=tmp_path / "st2", points_to_evaluate=list(configs.values()))
    columns = ["trial_id", "hp_epoch", "metric_val_pgd_acc"]
    assert again["results"][columns].equals(results[columns])
