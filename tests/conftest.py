"""Shared fixtures: NARes-format records written from scratch (not by our writer)."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from nares_nas.metrics import CORRUPTIONS
from nares_nas.space import Arch, archs_by_id, macs_by_id, params_by_id

MISSING_EXTRAS = tuple(name for name in ("torch", "numba") if importlib.util.find_spec(name) is None)
"""The optional dependencies (extras of setup.cfg) this environment lacks: a tabular install lacks both,
and the same test command then runs the tabular tests only."""
NEEDS = {"torch": ["live", "test_surrogate.py"], "numba": ["test_compiled_asha.py"]}
"""Test folders and modules that import an extra as they load (every live-mode test trains or loads torch;
the predictor's and the compiled twin's own tests): not collected where it is missing."""
collect_ignore = [path for name in MISSING_EXTRAS for path in NEEDS[name]]


def pytest_report_header() -> str:
    if not MISSING_EXTRAS:
        return "extras: torch and numba installed, every test runs"
    return (f"extras: {' and '.join(MISSING_EXTRAS)} not installed: {', '.join(collect_ignore)} and the tests "
            f"marked {' or '.join(MISSING_EXTRAS)} are skipped")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip a test marked ``torch`` or ``numba`` where that extra is not installed."""
    for item in items:
        for name in MISSING_EXTRAS:
            if item.get_closest_marker(name):
                item.add_marker(pytest.mark.skip(reason=f"needs {name}: pip install 'nares-nas[{name}]'"))


HISTORY = ("train_loss", "train_acc", "val_loss", "val_acc", "pgd", "pgd_stable", "pgd_lip", "pgd_loss",
           "cw", "cw_stable", "cw_lip", "cw_loss")


def make_record(arch_id: int, seed: int = 0, epochs: int = 100, corruptions: bool = True) -> dict:
    """One cifar10.jsonl object in the official schema (spec §4), values drawn per arch."""
    rng = np.random.default_rng([seed, arch_id])
    arch = Arch.from_id(arch_id)
    hist = {key: np.round(rng.uniform(0, 60, epochs), 2).tolist() for key in HISTORY}
    hist["train_acc"] = np.round(rng.uniform(0.2, 0.7, epochs), 4).tolist()  # a fraction, as in the logs
    best = int(np.argmax(hist["cw"]))
    test = {
        "test_clean_acc": round(float(rng.uniform(80, 90)), 2), "test_loss": round(float(rng.uniform(0.3, 0.6)), 4),
        "Linf_fgsm_acc": 60.1, "Linf_fgsm_stable": 70.2, "Linf_pgd_acc": 55.3, "Linf_pgd_stable": 65.4,
        "Linf_pgd_lip": 30.1234, "Linf_cw_acc": 54.5, "Linf_cw_stable": 64.6, "Linf_cw_lip": 29.5,
        "Linf_aa_acc": round(float(rng.uniform(48, 53)), 2),
    }
    if corruptions:
        test["corruptions"] = {
            name: {str(s): {"acc": round(float(rng.uniform(60, 85)), 2), "loss": 0.5} for s in range(1, 6)}
            for name in CORRUPTIONS
        }
    return {
        "arch_id": arch_id,
        "arch": dict(zip(("D1", "W1", "D2", "W2", "D3", "W3"), arch.to_tuple())),
        "MACs": round(arch.macs / 1e6, 2),
        "Params": round(arch.params / 1e6, 2),
        "train": [{"seed": 42, "gpu_type": "A100", "timestamp": "2023-01-02", "training_time": 0.25,
                   "best_epoch": best, **hist}],
        "test_best": [test],
    }


def whole_space_records(epochs: int = 3) -> list[dict]:
    """All 15,625 records: one drawn record re-labelled per arch (fast), cw varying by arch."""
    template = make_record(1, epochs=epochs, corruptions=False)
    records = []
    for arch_id, arch, params, macs in zip(range(1, 15626), archs_by_id(), params_by_id(), macs_by_id()):
        record = dict(template, arch_id=arch_id, MACs=round(macs / 1e6, 2), Params=round(params / 1e6, 2),
                      arch=dict(zip(("D1", "W1", "D2", "W2", "D3", "W3"), arch.tolist())))
        train = dict(template["train"][0], cw=[arch_id % 97 / 2, 50.0, 1.0], best_epoch=1)
        record["train"] = [train]
        records.append(record)
    return records


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def make_txz(path: Path, payload: bytes, member: str = "nares/cifar10.jsonl") -> Path:
    with tarfile.open(path, "w:xz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """One data home for the session, so the synthetic stand-in is generated once."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session", autouse=True)
def _session_data_home(session_home):
    """The same for module- and session-scoped fixtures (a module's ``bench``), which load before
    any test's own fixtures run: without this they would write the stand-in's cache into the
    user's data home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NARES_NAS_HOME", str(session_home))
        patch.delenv("NARES_NAS_DATA", raising=False)
        yield


@pytest.fixture(autouse=True)
def _test_home(session_home, monkeypatch):
    """Never touch the user's data home; no NARES_NAS_DATA override."""
    monkeypatch.setenv("NARES_NAS_HOME", str(session_home))
    monkeypatch.delenv("NARES_NAS_DATA", raising=False)


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Path:
    """A data home of this test's own (for imports)."""
    home = tmp_path / "home"
    monkeypatch.setenv("NARES_NAS_HOME", str(home))
    return home


@pytest.fixture
def small_records() -> list[dict]:
    return [make_record(i) for i in (1, 2, 441, 5000, 15625)]


@pytest.fixture
def small_jsonl(tmp_path, small_records) -> Path:
    return write_lines(tmp_path / "cifar10.jsonl", small_records)


@pytest.fixture(scope="session")
def bench():
    """The synthetic stand-in, loaded once for the session (in the session's data home)."""
    import nares_nas

    return nares_nas.load("synthetic")


@pytest.fixture(scope="session")
def model(bench):
    """The clock's evaluation model of the stand-in for VAL_PGD_ACC."""
    from nares_nas.simulation.model import EvaluationModel

    return EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")


@pytest.fixture(scope="session")
def full_cost(bench) -> float:
    """GPU-days of one full training at the stand-in's mean training_time."""
    import numpy as np

    return float(np.nanmean(bench.metric_by_id("TRAINING_TIME")[1:]))
