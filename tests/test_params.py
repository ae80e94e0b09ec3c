"""Hyper-parameter values typed by the searcher's annotations (nares_nas/_params.py), on the command line
and where a run starts: ``--param reference_moves=False`` is False, never the truthy string ``"False"``."""

from __future__ import annotations

import json
import logging
import re
from typing import Literal

import numpy as np
import pytest

from nares_nas import cli
from nares_nas.commands.common import parse_params
from nares_nas.commands.table2 import parse_params as parse_table2_params
from nares_nas.errors import ConfigError
from nares_nas.runs.folder import read_runs
from nares_nas.runs.search import run_search, run_to_dir
from nares_nas.searchers import Bananas, Hyperband, LocalSearch, RandomSearch, register
from nares_nas.searchers.contract import toy_objective

BOOLEAN_LINE = "must be a boolean (true or false in any case, or 1 or 0; in Python True or False), got"
BOOLEAN_RE = re.escape(BOOLEAN_LINE)


class Typed(RandomSearch):
    """Random search with one hyper-parameter of each kind --param reads (annotations are strings here)."""

    def __init__(self, count: int = 1, rate: float = 0.5, mode: Literal["a", "b", 3] = "a",
                 cap: int | None = None, label: str = "x", options: dict[str, int] | None = None,
                 flag: bool = False) -> None:
        self.count = count
        self.rate = rate
        self.mode = mode
        self.cap = cap
        self.label = label
        self.options = options
        self.flag = flag


@register("untyped_probe")
class Untyped(RandomSearch):
    """A plugin whose hyper-parameter has no annotation: read as JSON, else as text, with a warning."""

    def __init__(self, flag=False, count: int = 1) -> None:
        self.flag = flag
        self.count = count


def search(*args: str) -> int:
    return cli.main(["search", "--data", "synthetic", "--quiet", *args])


def trajectories(out) -> list[list[int]]:
    return [r.trajectory.arch_ids.tolist() for r in read_runs(out)]


# ------------------------------------------------------------------ the command line
def test_reference_moves_false_is_the_default_false(tmp_path):
    """The issue's case: with the text 'False' the reference moves ran (and overshot the budget)."""
    common = ["--algo", "local_search", "--runs", "4", "--budget", "60"]
    assert search(*common, "--out", str(tmp_path / "default")) == 0
    assert search(*common, "--param", "reference_moves=False", "--out", str(tmp_path / "false")) == 0
    assert search(*common, "--param", "reference_moves=true", "--out", str(tmp_path / "true")) == 0
    config = json.loads((tmp_path / "false" / "config.json").read_text())
    assert config["params"]["reference_moves"] is False and config["params"]["query_full_nbhd"] is False
    assert trajectories(tmp_path / "false") == trajectories(tmp_path / "default")
    assert all(len(ids) == 60 for ids in trajectories(tmp_path / "false"))  # the exact budget
    assert trajectories(tmp_path / "true") != trajectories(tmp_path / "default")  # the check can fail


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("True", True), ("TRUE", True), ("1", True), (" tRuE ", True),
    ("false", False), ("False", False), ("FALSE", False), ("0", False),
])
def test_a_boolean_accepts_true_false_in_any_case_and_1_0(text, value):
    assert parse_params([f"query_full_nbhd={text}"], LocalSearch) == {"query_full_nbhd": value}
    assert parse_params([f"reference_overshoot={text}"], Bananas) == {"reference_overshoot": value}


@pytest.mark.parametrize("text", ["maybe", "yes", "", "2", "t", "null", "[]"])
def test_anything_else_is_refused_naming_the_parameter_and_the_spellings(text, capsys):
    assert search("--algo", "local_search", "--param", f"reference_moves={text}", "--runs", "1") == 2
    err = capsys.readouterr().err
    assert err == (f"nares-nas search: error: --param 'reference_moves={text}': LocalSearch reference_moves "
                   f"{BOOLEAN_LINE} {text!r}\n")


def test_hyperband_says_the_same_line(capsys):
    assert search("--algo", "hyperband", "--param", "overlap_brackets=maybe", "--runs", "1") == 2
    assert capsys.readouterr().err == ("nares-nas search: error: --param 'overlap_brackets=maybe': Hyperband "
                                       f"overlap_brackets {BOOLEAN_LINE} 'maybe'\n")
    assert parse_params(["overlap_brackets=False"], Hyperband) == {"overlap_brackets": False}
    with pytest.raises(ConfigError, match=f"^Hyperband overlap_brackets {BOOLEAN_RE}"):
        run_search(Hyperband(overlap_brackets="maybe"), toy_objective(), seeds=[0], budget=5)


def test_int_float_literal_optional_str_and_json_containers():
    items = ["count=-3", "rate=1e-2", "mode=b", "cap=NONE", "label=007", 'options={"k": 2}', "flag=0"]
    assert parse_params(items, Typed) == {"count": -3, "rate": 0.01, "mode": "b", "cap": None, "label": "007",
                                          "options": {"k": 2}, "flag": False}
    typed = parse_params(["rate=3", "mode=3", "cap=12", "options=null"], Typed)
    assert typed == {"rate": 3.0, "mode": 3, "cap": 12, "options": None}
    assert type(typed["rate"]) is float and type(typed["mode"]) is int


@pytest.mark.parametrize(("item", "expected"), [
    ("count=5.0", "Typed count must be an integer, got '5.0'"),
    ("count=1e3", "Typed count must be an integer, got '1e3'"),
    ("rate=fast", "Typed rate must be a number, got 'fast'"),
    ("mode=c", "Typed mode must be one of 'a', 'b', 3, got 'c'"),
    ("cap=lots", "Typed cap must be an integer or None (none or null), got 'lots'"),
    ("options=[1]", "Typed options must be a dict (as JSON) or None (none or null), got '[1]'"),
])
def test_a_value_of_the_wrong_type_is_refused_by_name(item, expected):
    with pytest.raises(ConfigError) as info:
        parse_params([item], Typed)
    assert str(info.value) == f"--param {item!r}: {expected}"


def test_an_unannotated_plugin_parameter_warns_and_reads_json(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="nares_nas._params"):
        assert parse_params(["flag=false", "count=2"], Untyped) == {"flag": False, "count": 2}
        assert parse_params(["flag=False"], Untyped) == {"flag": "False"}  # not JSON: the text, as before
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("Untyped flag has no annotation: read as JSON, else as text" in w
                                      for w in warnings)
    assert "(here False)" in warnings[0] and "(here 'False')" in warnings[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert search("--algo", "untyped_probe", "--param", "flag=[1, 2]", "--runs", "1", "--budget", "5",
                      "--out", str(tmp_path / "u")) == 0
    assert any("--param 'flag=[1, 2]': Untyped flag has no annotation" in r.getMessage() for r in caplog.records)
    assert json.loads((tmp_path / "u" / "config.json").read_text())["params"]["flag"] == [1, 2]


def test_table2_params_are_typed_by_their_searcher():
    assert parse_table2_params(["local_search.reference_moves=False", "bananas.lr=1", "bananas.num_threads=null"],
                               ["local_search", "bananas"]) == {
        "local_search": {"reference_moves": False}, "bananas": {"lr": 1.0, "num_threads": None}}
    with pytest.raises(ConfigError, match=f"^--param 'local_search.query_full_nbhd=no': LocalSearch query_full_nbhd "
                                          f"{BOOLEAN_RE} 'no'$"):
        parse_table2_params(["local_search.query_full_nbhd=no"], ["local_search"])


def test_table2_pins_a_real_false(tmp_path):
    assert cli.main(["table2", "--data", "synthetic", "--out", str(tmp_path), "--runs", "2", "--budget", "30",
                     "--searchers", "local_search", "--param", "local_search.reference_moves=False"]) == 0
    config = json.loads((tmp_path / "local_search" / "config.json").read_text())
    assert config["params"]["reference_moves"] is False


def test_optuna_samplers_take_typed_params(tmp_path):
    pytest.importorskip("optuna")
    from nares_nas.searchers import resolve

    tpe = resolve("optuna:TPESampler")
    assert parse_params(['sampler_kwargs={"n_startup_trials": 3}', "max_repeats=4", "distributions=ordinal"],
                        tpe) == {"sampler_kwargs": {"n_startup_trials": 3}, "max_repeats": 4,
                                 "distributions": "ordinal"}
    assert parse_params(["sampler_kwargs=null"], tpe) == {"sampler_kwargs": None}
    with pytest.raises(ConfigError, match="sampler_kwargs must be a dict"):
        parse_params(["sampler_kwargs=n_startup_trials=3"], tpe)
    assert search("--algo", "optuna:RandomSampler", "--param", "max_repeats=4", "--runs", "1", "--budget", "5",
                  "--out", str(tmp_path / "o")) == 0
    assert json.loads((tmp_path / "o" / "config.json").read_text())["params"]["max_repeats"] == 4


# ------------------------------------------------------------------ where a run starts (the Python API)
def test_a_run_checks_what_the_constructor_stored(tmp_path, bench):
    values = toy_objective(0)
    text = LocalSearch(reference_moves="False")
    assert text.reference_moves == "False"  # stored unchanged (scikit-learn's contract)
    with pytest.raises(ConfigError, match=f"^LocalSearch reference_moves {BOOLEAN_RE} 'False'$"):
        run_search(text, values, seeds=[0], budget=10)
    with pytest.raises(ConfigError, match=f"^LocalSearch reference_moves {BOOLEAN_RE} 'False'$"):
        run_to_dir(tmp_path / "out", text, bench, seeds=[0], budget=10)
    assert not (tmp_path / "out").exists()  # refused before the folder is claimed
    with pytest.raises(ConfigError, match=r"^LocalSearch num_init must be an integer, got 2\.5$"):
        run_search(LocalSearch(num_init=2.5), values, seeds=[0], budget=10)
    with pytest.raises(ConfigError, match=r"^Typed mode must be one of 'a', 'b', 3, got 'c'$"):
        run_search(Typed(mode="c"), values, seeds=[0], budget=10)
    # Python's own booleans, NumPy's, 1/0 and NumPy integers are of their types: the runs are the default's
    same = LocalSearch(reference_moves=np.bool_(False), query_full_nbhd=0, num_init=np.int64(10))
    assert [t.arch_ids.tolist() for t in run_search(same, values, seeds=[0, 1], budget=80)] == [
        t.arch_ids.tolist() for t in run_search(LocalSearch(), values, seeds=[0, 1], budget=80)]


class Sloppy(RandomSearch):
    """A plugin whose default does not fit its annotation (``int = None``): the author's choice, left alone."""

    def __init__(self, patience: int = None) -> None:
        self.patience = patience


def test_a_default_is_left_as_its_author_wrote_it():
    values = toy_objective(0)
    assert len(run_search(Sloppy(), values, seeds=[0], budget=7)[0]) == 7
    with pytest.raises(ConfigError, match=r"^Sloppy patience must be an integer, got 'many'$"):
        run_search(Sloppy(patience="many"), values, seeds=[0], budget=7)


def test_a_folder_that_pinned_a_boolean_as_text_is_refused(tmp_path, capsys):
    """A folder written before values were typed: its config says "False", its runs used True."""
    out = tmp_path / "old"
    args = ["--algo", "local_search", "--runs", "3", "--budget", "40", "--out", str(out)]
    assert search(*args) == 0
    config = json.loads((out / "config.json").read_text())
    config["params"]["reference_moves"] = "False"  # as the old reading pinned it
    (out / "config.json").write_text(json.dumps(config))
    runs = sorted(p.read_bytes() for p in (out / "runs").iterdir())
    capsys.readouterr()
    assert search(*args, "--param", "reference_moves=False", "--resume") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines()[-1] == (
        f"nares-nas search: error: {out / 'config.json'} pins reference_moves='False', text where a boolean "
        "belongs: its runs used the text's truthy value, reference_moves=True; they cannot be resumed (run again "
        "into another output folder)")
    assert search(*args, "--param", "reference_moves=true", "--resume") == 2  # nor as what they ran
    assert "truthy value" in capsys.readouterr().err
    assert sorted(p.read_bytes() for p in (out / "runs").iterdir()) == runs  # nothing written


def test_every_builtin_parameter_is_typed():
    """No built-in searcher leaves a hyper-parameter to the JSON fallback."""
    from nares_nas._params import UNTYPED, param_types
    from nares_nas.searchers import available, resolve

    builtins = [name for name, reference in available().items() if reference.startswith("nares_nas.")]
    assert len(builtins) >= 13
    for name in builtins:
        assert UNTYPED not in param_types(resolve(name)).values(), name
