"""Plain CSV outputs (nares_nas/_outputs.py): a data column on every row, the provenance in a sidecar."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from nares_nas._outputs import csv_text, sidecar_path, write_csv, write_frame_csv
from nares_nas._version import __version__


def test_one_data_label_goes_on_every_row_and_a_missing_value_is_blank():
    text = csv_text(["a", "b"], [[1, 0.1 + 0.2], [2, math.nan], [3, None]], "NARes (x)")
    assert text == "a,b,data\n1,0.30000000000000004,NARes (x)\n2,,NARes (x)\n3,,NARes (x)\n"


def test_each_row_gets_its_own_data_label_and_a_label_with_a_comma_is_quoted():
    text = csv_text(["a"], [[1], [2]], ["NARes (x)", "SYNTHETIC stand-in (source: synthetic (seed 0), v2)"])
    assert text == 'a,data\n1,NARes (x)\n2,"SYNTHETIC stand-in (source: synthetic (seed 0), v2)"\n'
    with pytest.raises(ValueError):
        csv_text(["a"], [[1], [2]], ["only one"])


def test_write_csv_reads_back_with_no_options_and_its_sidecar_holds_the_provenance(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b"], [[1, "x"], [2, "y"]], data=["d1", "d2"], synthetic=True,
                     notes=["first note", "second note"])
    assert path == tmp_path / "t.csv" and sidecar_path(path) == tmp_path / "t.csv.json"
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["a", "b", "data"] and frame["a"].tolist() == [1, 2]
    assert frame["data"].tolist() == ["d1", "d2"]
    meta = json.loads((tmp_path / "t.csv.json").read_text())
    assert {k: meta[k] for k in ("file", "data", "synthetic", "notes", "version")} == {
        "file": "t.csv", "data": ["d1", "d2"], "synthetic": True, "notes": ["first note", "second note"],
        "version": __version__}
    assert meta["command"] and meta["written"][:2] == "20"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.csv.json"]  # no temporary file left


def test_a_frame_is_written_without_its_index(tmp_path):
    frame = pd.DataFrame({"x": [1.5, math.nan], "y": ["p", "q"]}, index=["r1", "r2"])
    write_frame_csv(tmp_path / "f.csv", frame, data="NARes (x)", synthetic=False)
    assert (tmp_path / "f.csv").read_text() == "x,y,data\n1.5,p,NARes (x)\n,q,NARes (x)\n"
