"""Optuna samplers as searchers (nares_nas/integrations/optuna.py): contract, CLI, Table 2, workers, repeats, errors."""

from __future__ import annotations

import json
import pickle
import sys
import textwrap

import numpy as np
import pytest

from nares_nas import cli
from nares_nas.errors import ConfigError, PluginError
from nares_nas.runs.folder import read_runs
from nares_nas.runs.search import run_search
from nares_nas.searchers import resolve, searcher_name
from nares_nas.searchers.contract import check_searcher, toy_objective
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.simulation.model import as_model
from nares_nas.space import CHOICES, KEYS, SPACE

optuna = pytest.importorskip("optuna")

from nares_nas.integrations.optuna import OptunaSearcher, optuna_searcher  # noqa: E402

TPE = "optuna:TPESampler"
RANDOM = "optuna:RandomSampler"

# A user's own sampler: always the first value of every variable, so every trial after the first is a repeat.
USER_SAMPLER = textwrap.dedent('''
    import optuna

    STUDIES = []

    class FirstChoice(optuna.samplers.BaseSampler):
        def __init__(self, seed=None):
            self.seed = seed

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, name, distribution):
            if not STUDIES or STUDIES[-1] is not study:
                STUDIES.append(study)
            if isinstance(distribution, optuna.distributions.CategoricalDistribution):
                return distribution.choices[0]
            return distribution.low
''')


@pytest.fixture
def user_sampler(tmp_path, monkeypatch):
    (tmp_path / "my_samplers.py").write_text(USER_SAMPLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_samplers", raising=False)
    import my_samplers

    return my_samplers


def test_resolve_names_the_sampler_and_keeps_it_through_a_rebuild():
    cls = resolve(TPE)
    assert issubclass(cls, OptunaSearcher) and cls.name == searcher_name(cls) == TPE
    assert resolve(TPE) is cls is resolve(optuna.samplers.TPESampler) is resolve("optuna.samplers:TPESampler")
    searcher = cls(sampler_kwargs={"n_startup_trials": 5})
    assert searcher.get_params() == {"sampler_kwargs": {"n_startup_trials": 5}, "max_repeats": 10,
                                     "distributions": "categorical"}
    again = type(searcher)(**searcher.get_params())
    assert type(again) is cls and again.sampler == TPE
    copy = pickle.loads(pickle.dumps(searcher))
    assert type(copy) is cls and copy.get_params() == searcher.get_params()
    assert resolve(RANDOM) is not cls and resolve(RANDOM).name == RANDOM


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("searcher", [resolve(TPE)(), resolve(RANDOM)(), OptunaSearcher(sampler="RandomSampler"),
                                      resolve(TPE)(sampler_kwargs={"n_startup_trials": 3}, max_repeats=2),
                                      OptunaSearcher(sampler="QMCSampler", distributions="ordinal")],
                         ids=["tpe", "random", "plain-class", "tpe-kwargs", "qmc-ordinal"])
def test_contract(searcher):
    check_searcher(searcher, budget=40, seeds=(0, 1))


def test_a_users_sampler_class_is_wrapped_and_passes_the_contract(user_sampler):
    cls = resolve("my_samplers:FirstChoice")
    assert cls.name == "my_samplers:FirstChoice" and resolve(user_sampler.FirstChoice) is cls
    check_searcher(cls(max_repeats=3), budget=12, seeds=(0, 1))  # pickles by the sampler's name too


def test_runs_spend_the_budget_exactly_and_repeat():
    values = toy_objective()
    for name in (TPE, RANDOM):
        first = run_search(name, values, seeds=range(3), budget=37)
        again = run_search(resolve(name)(), values, seeds=range(3), budget=37)
        assert [len(t) for t in first] == [37, 37, 37]
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a.arch_ids, b.arch_ids)
            np.testing.assert_array_equal(a.values, b.values)
        assert len({tuple(t.arch_ids) for t in first}) == 3  # the seed matters


def test_the_sampler_seed_comes_from_the_run_generator(monkeypatch):
    seeds = []
    real = optuna.samplers.RandomSampler.__init__

    def spy(self, seed=None):
        seeds.append(seed)
        real(self, seed=seed)

    monkeypatch.setattr(optuna.samplers.RandomSampler, "__init__", spy)
    run_search(RANDOM, toy_objective(), seeds=[4, 5], budget=3)
    run_search(RANDOM, toy_objective(), seeds=[4], budget=3)
    assert seeds[0] == seeds[2] != seeds[1] and all(isinstance(s, int) for s in seeds)


def test_trials_in_flight_on_n_workers():
    model = as_model(toy_objective())
    for name in (TPE, RANDOM):
        searcher = resolve(name)()
        runs = simulate(searcher, model, [0, 1], budget=Budget(archs=30), workers=4)
        again = simulate(pickle.loads(pickle.dumps(searcher)), model, [0, 1], budget=Budget(archs=30), workers=4)
        for run, other in zip(runs, again):
            assert len(set(run.log.arch_id)) == len(run.log) == 30
            assert run.log == other.log
            assert run.log.start[:4] == [0, 0, 0, 0] and sorted(run.log.worker[:4]) == [0, 1, 2, 3]
        if name == TPE:  # four trials are asked before any result is told, so TPE's later choices differ
            one = simulate(searcher, model, [0], budget=Budget(archs=30), workers=1)[0]
            assert one.log.arch_id[:10] != runs[0].log.arch_id[:10] or one.log.arch_id != runs[0].log.arch_id


def test_repeats_are_free_then_an_unseen_architecture_is_proposed(user_sampler):
    searcher = resolve("my_samplers:FirstChoice")(max_repeats=3)
    values = toy_objective()
    (trajectory,) = run_search(searcher, values, seeds=[0], budget=6)
    study = user_sampler.STUDIES[-1]
    first = SPACE.arch_id(tuple(values[0] for values in CHOICES))
    assert trajectory.arch_ids[0] == first and len(set(trajectory.arch_ids)) == 6
    trials = study.trials
    # one new architecture, then per new one: 3 repeats told the cached value and 1 enqueued unseen arch
    assert len(trials) == 1 + 4 * 5
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    arch_of = [SPACE.arch_id(tuple(t.params[key] for key in KEYS)) for t in trials]
    assert [a for a in arch_of if a != first] == trajectory.arch_ids[1:].tolist()
    for trial, arch_id in zip(trials, arch_of):
        assert trial.value == values[arch_id]
    assert [trial.number for trial, a in zip(trials, arch_of) if a != first] == [4, 8, 12, 16, 20]


def test_repeats_of_an_architecture_in_flight_are_told_when_it_finishes(user_sampler):
    searcher = resolve("my_samplers:FirstChoice")(max_repeats=2)
    model = as_model(toy_objective())
    (run,) = simulate(searcher, model, [0], budget=Budget(archs=5), workers=3)
    assert len(run.log) == 5 and len(set(run.log.arch_id)) == 5
    study = user_sampler.STUDIES[-1]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    values = dict(zip(run.log.arch_id, run.log.value))
    for trial in done:
        assert trial.value == values[SPACE.arch_id(tuple(trial.params[key] for key in KEYS))]
    first = run.log.arch_id[0]
    repeats = [t for t in study.trials if SPACE.arch_id(tuple(t.params[key] for key in KEYS)) == first]
    assert len(repeats) > 1 and all(t.state == optuna.trial.TrialState.COMPLETE for t in repeats)


def same_runs(a, b) -> bool:
    """The run files of two folders are byte for byte the same."""
    files = sorted(p.name for p in (a / "runs").iterdir())
    return files == sorted(p.name for p in (b / "runs").iterdir()) and all(
        (a / "runs" / name).read_bytes() == (b / "runs" / name).read_bytes() for name in files)


def search(out, *extra):
    return cli.main(["search", "--data", "synthetic", "--algo", TPE, "--runs", "2", "--budget", "25",
                     "--param", 'sampler_kwargs={"n_startup_trials": 5}', "--out", str(out), "--quiet", *extra])


def test_search_cli_pins_sampler_kwargs_and_repeats_exactly(tmp_path, capsys):
    assert search(tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert "optuna:TPESampler" in out and "SYNTHETIC" in out
    assert search(tmp_path / "b") == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["searcher"] == TPE and config["params"]["sampler_kwargs"] == {"n_startup_trials": 5}
    a = read_runs(tmp_path / "a")
    assert [r.queries for r in a] == [25, 25]
    assert same_runs(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a" / "summary.csv").read_text() == (tmp_path / "b" / "summary.csv").read_text()
    assert search(tmp_path / "a", "--resume") == 0  # rebuilt from config.json's params: the same folder
    assert cli.main(["search", "--data", "synthetic", "--algo", TPE, "--runs", "2", "--budget", "25",
                     "--out", str(tmp_path / "a"), "--resume"]) != 0
    assert "sampler_kwargs" in capsys.readouterr().err  # other sampler_kwargs: another configuration


def test_search_on_local_processes_equals_in_process(tmp_path):
    seq = run_search(RANDOM, toy_objective(), seeds=range(2), budget=15)
    par = run_search(RANDOM, toy_objective(), seeds=range(2), budget=15, n_jobs=2)
    for a, b in zip(seq, par):
        np.testing.assert_array_equal(a.arch_ids, b.arch_ids)


def test_table2_takes_optuna_searchers(tmp_path, capsys):
    def table2(out):
        return cli.main(["table2", "--data", "synthetic", "--out", str(out), "--runs", "2", "--budget", "20",
                         "--searchers", f"regularized_evolution,{TPE},{RANDOM}",
                         "--param", f'{TPE}.sampler_kwargs={{"n_startup_trials": 4}}'])

    assert table2(tmp_path / "a") == 0
    console = capsys.readouterr().out
    assert TPE in console and RANDOM in console and "SYNTHETIC" in console
    assert table2(tmp_path / "b") == 0
    for folder, name in (("optuna_TPESampler", TPE), ("optuna_RandomSampler", RANDOM)):
        a = read_runs(tmp_path / "a" / folder)
        assert [r.searcher for r in a] == [name, name] and [r.queries for r in a] == [20, 20]
        assert same_runs(tmp_path / "a" / folder, tmp_path / "b" / folder)
    config = json.loads((tmp_path / "a" / "optuna_TPESampler" / "config.json").read_text())
    assert config["params"]["sampler_kwargs"] == {"n_startup_trials": 4}
    table = json.loads((tmp_path / "a" / "table2.json").read_text())
    assert TPE in json.dumps(table)
    assert (tmp_path / "a" / "table2.md").read_text() == (tmp_path / "b" / "table2.md").read_text()


# ------------------------------------------------------------------ bad input: one line naming the fix
def test_unknown_sampler():
    with pytest.raises(PluginError, match=r"unknown Optuna sampler 'NoSuch'; optuna.samplers has: .*TPESampler"):
        resolve("optuna:NoSuch")
    with pytest.raises(PluginError, match="unknown Optuna sampler"):
        run_search(OptunaSearcher(sampler="NoSuch"), toy_objective(), seeds=[0], budget=3)
    with pytest.raises(PluginError, match="not a concrete subclass"):
        resolve("optuna.samplers:BaseSampler")


@pytest.mark.parametrize("kwargs, message", [
    ({"n_startup": 3}, r"TPESampler takes no parameter 'n_startup'; its parameters: .*n_startup_trials"),
    ({"seed": 3}, r"must not set 'seed'"),
    ("n_startup_trials=3", r"sampler_kwargs must be a dict"),
])
def test_bad_sampler_kwargs(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        run_search(resolve(TPE)(sampler_kwargs=kwargs), toy_objective(), seeds=[0], budget=3)


def test_bad_wrapper_params_and_missing_sampler_arguments():
    with pytest.raises(ConfigError, match="distributions must be one of categorical, ordinal"):
        run_search(resolve(TPE)(distributions="int"), toy_objective(), seeds=[0], budget=3)
    with pytest.raises(ConfigError, match="max_repeats"):
        run_search(resolve(TPE)(max_repeats=0), toy_objective(), seeds=[0], budget=3)
    with pytest.raises(ConfigError, match="GridSampler needs 'search_space' in sampler_kwargs"):
        run_search("optuna:GridSampler", toy_objective(), seeds=[0], budget=3)


def test_cli_errors_are_one_line(tmp_path, capsys):
    for extra in (["--algo", "optuna:NoSuch"],
                  ["--algo", TPE, "--param", 'sampler_kwargs={"n_startup": 3}'],
                  ["--algo", TPE, "--param", "n_startup_trials=3"]):
        assert cli.main(["search", "--data", "synthetic", "--runs", "1", "--budget", "3", *extra]) != 0
        err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("notice:")]
        assert len(err) == 1 and err[0].startswith("nares-nas search: error: "), err


def test_optuna_not_installed(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    monkeypatch.delitem(sys.modules, "optuna.samplers", raising=False)
    with pytest.raises(PluginError, match=r"need Optuna, which is not installed: pip install 'nares-nas\[optuna\]'"):
        resolve(TPE)
    with pytest.raises(PluginError, match="not installed"):
        run_search(OptunaSearcher(), toy_objective(), seeds=[0], budget=3)
    assert cli.main(["search", "--data", "synthetic", "--algo", TPE, "--runs", "1", "--budget", "3"]) != 0
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("notice:")]
    assert len(err) == 1 and "pip install 'nares-nas[optuna]'" in err[0]
    assert resolve("regularized_evolution").name == "regularized_evolution"  # the rest works without it


def test_optuna_searcher_of_a_class_is_cached():
    assert optuna_searcher("TPESampler") is optuna_searcher(TPE) is resolve(TPE)


# --------------------------------------------------------------------------- several objectives
def test_a_multi_objective_study_is_told_the_score_vectors(monkeypatch):
    import nares_nas
    from nares_nas.pareto.problem import Problem
    from nares_nas.runs.multiobjective import run_mo_search
    from nares_nas.space import arch_ids_of

    bench = nares_nas.load("synthetic")
    problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")
    studies = []
    create = optuna.create_study

    def recording(**kwargs):
        studies.append(create(**kwargs))
        return studies[-1]

    monkeypatch.setattr(optuna, "create_study", recording)
    runs = run_mo_search("optuna:NSGAIISampler", bench, problem.objectives, problem.constraints, seeds=[0, 1],
                         budget=40)
    assert len(studies) == 2
    for run, study in zip(runs, studies):
        assert [d.name for d in study.directions] == ["MAXIMIZE", "MAXIMIZE"]
        assert len(set(run.arch_ids.tolist())) == len(run.arch_ids) == 40
        for trial in study.trials:  # every trial complete, told (VAL_PGD_ACC, -MACS) of its architecture
            arch_id = int(arch_ids_of(np.asarray([[trial.params[key] for key in KEYS]]))[0])
            assert trial.values == [bench.metric(arch_id, "VAL_PGD_ACC"), -bench.metric(arch_id, "MACS")]
    again = run_mo_search("optuna:NSGAIISampler", bench, problem.objectives, problem.constraints, seeds=[0, 1],
                          budget=40)
    assert [r.arch_ids.tolist() for r in again] == [r.arch_ids.tolist() for r in runs]


def test_multi_objective_contract():
    check_searcher(optuna_searcher("NSGAIISampler"), budget=30)


def test_a_vector_told_to_a_one_objective_study_is_refused():
    from nares_nas.asktell import Result

    proposals = OptunaSearcher(sampler="RandomSampler").propose(SPACE, 5, np.random.default_rng(0))
    first = next(proposals)
    with pytest.raises(ConfigError, match=r"told a score vector .* maximize=\(True,\) \* k"):
        proposals.send([Result(first.arch_id, None, np.array([1.0, -2.0]))])


def test_search_cli_with_objectives(tmp_path, capsys):
    out = tmp_path / "mo"
    assert cli.main(["search", "--data", "synthetic", "--algo", "optuna:NSGAIISampler", "--objectives",
                     "VAL_PGD_ACC:max,MACS:min", "--runs", "2", "--budget", "30", "--out", str(out), "--quiet"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    header, *rows = (out / "summary.csv").read_text().splitlines()
    assert "hv_regret" in header.split(",") and len(rows) == 2


def test_searchers_lists_the_optuna_samplers_and_how_to_use_them(capsys):
    import shlex

    assert cli.main(["searchers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("optuna:NAME "))
    assert row.split()[1:3] == ["nares_nas.integrations.optuna:OptunaSearcher", "one+several"]
    assert "sampler_kwargs=None, max_repeats=10, distributions='categorical'" in row
    usage = lines[-1]
    assert usage.startswith("optuna:NAME is the sampler NAME of optuna.samplers")
    # the example it gives runs as written
    example = shlex.split(usage.split(": --algo ", 1)[1])
    assert cli.main(["search", "--algo", *example, "--runs", "1", "--budget", "12", "--data", "synthetic",
                     "--quiet"]) == 0
    assert "sampler_kwargs={'n_startup_trials': 10}" in capsys.readouterr().out
