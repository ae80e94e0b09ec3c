"""JSON a user reads carries the table's values without float artefacts (77.35, not 77.35000000000001).

Expected values are worked out in decimal arithmetic from what the file stores.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
from conftest import make_record, write_lines

from nares_nas.cli import main
from nares_nas.data.jsonl import read_source, write_jsonl
from nares_nas.metrics import CORRUPTIONS, round_derived

# train_acc fractions (4 decimals, as in the logs) whose product with 100 shows an artefact in binary:
# 0.5783 * 100 == 57.830000000000005 and 0.0007 * 100 == 0.06999999999999999
FRACTIONS = (0.5783, 0.0007)
# 95 corruption accuracies symmetric about 64.3: numpy's mean is 64.30000000000001
CORRUPTION_ACCS = [64.3] + [round(64.3 + sign * 0.5 * (k % 7 + 1), 2) for k in range(47) for sign in (1, -1)]


def percent(fraction: float) -> float:
    return float(Decimal(repr(fraction)) * 100)


def artefact_record() -> dict:
    record = make_record(441)
    train = record["train"][0]
    train["train_acc"][train["best_epoch"]] = FRACTIONS[0]
    train["train_acc"][(train["best_epoch"] + 1) % 100] = FRACTIONS[1]
    levels = iter(CORRUPTION_ACCS)
    for name in CORRUPTIONS:
        for level in "12345":
            record["test_best"][0]["corruptions"][name][level]["acc"] = next(levels)
    return record


def test_query_json_gives_the_files_decimals(tmp_path, capsys):
    path = write_lines(tmp_path / "cifar10.jsonl", [artefact_record()])
    assert main(["query", "441", "--json", "--data", str(path)]) == 0
    text = capsys.readouterr().out
    metrics = json.loads(text)["metrics"]
    assert metrics["TRAIN_ACC"] == percent(FRACTIONS[0]) == 57.83
    mean = sum(Decimal(repr(a)) for a in CORRUPTION_ACCS) / len(CORRUPTION_ACCS)
    assert mean == Decimal("64.3") and metrics["TEST_CORRUPT_ACC"] == float(mean)
    assert '"TRAIN_ACC": 57.83,' in text and '"TEST_CORRUPT_ACC": 64.3}' in text


def test_an_exported_table_writes_train_acc_in_percent_without_artefacts(tmp_path):
    record = artefact_record()
    table = read_source(write_lines(tmp_path / "fractions.jsonl", [record]))
    out = write_jsonl(table, tmp_path / "export.jsonl")
    written = json.loads(out.read_text())["train"][0]["train_acc"]
    assert written == [percent(v) for v in record["train"][0]["train_acc"]]
    assert "57.83," in out.read_text() and "0.07," in out.read_text()


def test_round_derived_drops_binary_noise_only():
    assert np.mean([86.0, 86.03, 86.0]) != 86.01  # the artefact this removes
    assert round_derived(np.mean([86.0, 86.03, 86.0])) == 86.01
    assert round_derived(1 / 3) == 0.333333333333  # twelve significant digits
    assert np.isnan(round_derived(float("nan")))
    rounded = round_derived(np.array([[0.1 + 0.2, 77.35000000000001]]))
    assert rounded.shape == (1, 2) and rounded.tolist() == [[0.3, 77.35]]
