"""Any Optuna sampler as a proposing searcher, through Optuna's ask/tell interface.

:class:`OptunaSearcher` runs one in-memory study per run: it asks a trial, suggests the six
decision variables, proposes that architecture, and tells the trial its score (larger is
better whatever the objective's direction, so every study maximises). Several trials are in
flight on N simulated workers (Optuna lets trials run concurrently); each is told when its
result arrives. Optuna is imported lazily: ``pip install 'nares-nas[optuna]'``.

The decision variables are **categorical** by default (``suggest_categorical("D1", (4, 5, 7,
9, 11))``, ``("W1", (8, 10, 12, 14, 16))``, ...). The values are ordinal but irregular: D's
set cannot be written as ``suggest_int`` with a step, and an integer range over 4..11 would
propose depths outside the space. As categoricals, TPE keeps a density per value (and
random, grid, brute-force, QMC, GP and NSGA-II samplers handle them too). A sampler that models
only numbers (CMA-ES) samples categoricals independently at random; for it
``distributions="ordinal"`` suggests each variable's level index as ``suggest_int(key, 0, 4)``
(equal spacing between levels, an assumption the space does not make).

Budget: proposing an architecture already evaluated is answered from the run's own record
and told at once (free); one in flight is told when its result arrives. After
``max_repeats`` consecutive trials that asked no new architecture, the next trial is a
uniformly drawn unseen architecture, put to the study with ``study.enqueue_trial`` (so the
trial holds the parameters it was evaluated at), and a converged sampler still spends its
budget. The sampler's ``seed`` is drawn from the run's generator; nothing else is random.

:func:`optuna_searcher` turns a sampler (``"TPESampler"``, ``"optuna:TPESampler"``, a
``"module:Class"`` string or a class) into a searcher class with the sampler fixed, so that
``resolve("optuna:TPESampler")`` works like any searcher name.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from typing import Any, ClassVar

import numpy as np

from nares_nas._validation import check_int
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.errors import ConfigError, PluginError
from nares_nas.searchers import Searcher
from nares_nas.space import CHOICES, KEYS, N_ARCHS, SearchSpace, arch_ids_of

PREFIX = "optuna:"
MAX_REPEATS = 10
"""Default consecutive trials without a new architecture before a uniform unseen one is proposed."""
DISTRIBUTIONS: tuple[str, ...] = ("categorical", "ordinal")
INSTALL = "pip install 'nares-nas[optuna]'"


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise PluginError(f"the Optuna searchers need Optuna, which is not installed: {INSTALL}") from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
    return optuna


def sampler_names() -> list[str]:
    """The concrete sampler classes of ``optuna.samplers``, sorted."""
    samplers = _optuna().samplers
    return sorted(name for name in samplers.__all__ if not name.startswith("Base")
                  and isinstance(getattr(samplers, name, None), type)
                  and issubclass(getattr(samplers, name), samplers.BaseSampler))


def sampler_class(spec: str | type) -> tuple[str, type]:
    """``(canonical name, class)`` of a sampler: ``"TPESampler"``, ``"optuna:TPESampler"``, ``"module:Class"``
    or a class (a subclass of ``optuna.samplers.BaseSampler``, a user's own included).

    The canonical name is ``"optuna:NAME"`` for a class that ``optuna.samplers`` exports,
    else ``"module:Class"``.
    """
    samplers = _optuna().samplers
    if isinstance(spec, str):
        name = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
        if ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                obj: Any = importlib.import_module(module_name)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except Exception as exc:  # a user's module: report any failure as its own
                raise PluginError(f"sampler {spec!r} failed to load: {type(exc).__name__}: {exc}") from exc
        else:
            obj = getattr(samplers, name, None) if name in sampler_names() else None
            if obj is None:
                raise PluginError(f"unknown Optuna sampler {name!r}; optuna.samplers has: "
                                  f"{', '.join(sampler_names())} (or give 'module:Class' of your own sampler)")
    else:
        obj = spec
    if not (isinstance(obj, type) and issubclass(obj, samplers.BaseSampler)) or inspect.isabstract(obj):
        raise PluginError(f"sampler {spec!r} is {obj!r}, not a concrete subclass of optuna.samplers.BaseSampler")
    if getattr(samplers, obj.__name__, None) is obj:
        return PREFIX + obj.__name__, obj
    return f"{obj.__module__}:{obj.__qualname__}", obj


def _check_sampler_kwargs(name: str, cls: type, kwargs: Any) -> bool:
    """Whether ``cls`` takes a ``seed``; raises ConfigError for keyword arguments it does not take."""
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise ConfigError(f"OptunaSearcher sampler_kwargs must be a dict of keyword arguments, got {kwargs!r}")
    signature = inspect.signature(cls)
    params = signature.parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    takes_seed = "seed" in params or takes_any
    if "seed" in kwargs:
        raise ConfigError(f"{name} sampler_kwargs must not set 'seed': each run seeds its sampler from the run's "
                          "generator (choose the runs' seeds instead)")
    named = [p for p in params if params[p].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                     inspect.Parameter.KEYWORD_ONLY)]
    unknown = sorted(set(kwargs) - set(named)) if not takes_any else []
    if unknown:
        raise ConfigError(f"{name} takes no parameter {', '.join(map(repr, unknown))}; its parameters: "
                          f"{', '.join(p for p in named if p != 'seed') or 'none'}")
    missing = [p for p in named if params[p].default is params[p].empty and p not in kwargs and p != "seed"]
    if missing:
        raise ConfigError(f"{name} needs {', '.join(map(repr, missing))} in sampler_kwargs "
                          "(e.g. --param sampler_kwargs='{...}')")
    return takes_seed


class OptunaSearcher(Searcher):
    """An Optuna sampler over the six decision variables, one in-memory study per run.

    ``sampler`` names the sampler (``"TPESampler"``, ``"optuna:TPESampler"``, or a
    ``"module:Class"`` of any ``optuna.samplers.BaseSampler`` subclass); ``sampler_kwargs``
    its keyword arguments except ``seed`` (drawn from the run's generator where the sampler
    takes one; JSON values, as they are pinned in ``config.json``). ``max_repeats``
    consecutive trials without a new architecture trigger a uniformly drawn unseen one;
    ``distributions`` is ``"categorical"`` (the values) or ``"ordinal"`` (level indices
    0..4, for samplers that model only numbers). See the module docstring.
    """

    multi_objective: ClassVar[bool] = True
    """One objective or several: with ``maximize=(True,) * k`` (a multi-objective run) the study has k
    maximised directions and each trial is told the score vector (Optuna takes ``-inf`` for an
    infeasible architecture), so NSGAIISampler, TPESampler and the others that support several
    objectives search the trade-off."""
    pinned_packages: ClassVar[tuple[str, ...]] = ("optuna",)
    """Packages whose version a run folder records (``config.json``'s ``packages``): a sampler's draws
    may change from one Optuna release to the next."""
    sampler_spec: ClassVar[str | None] = None
    """The canonical sampler name of a class made by :func:`optuna_searcher` (None here)."""

    def __init__(self, sampler: str = "TPESampler", sampler_kwargs: dict[str, Any] | None = None,
                 max_repeats: int = MAX_REPEATS, distributions: str = "categorical") -> None:
        self.sampler = sampler
        self.sampler_kwargs = {} if sampler_kwargs is None else sampler_kwargs
        self.max_repeats = max_repeats
        self.distributions = distributions

    def _build(self, rng: np.random.Generator) -> Any:
        """A sampler for one run, seeded from ``rng``; raises ConfigError/PluginError for bad parameters."""
        check_int(self.max_repeats, "OptunaSearcher max_repeats")
        if self.distributions not in DISTRIBUTIONS:
            raise ConfigError(f"OptunaSearcher distributions must be one of {', '.join(DISTRIBUTIONS)}, "
                              f"got {self.distributions!r}")
        name, cls = sampler_class(self.sampler)
        takes_seed = _check_sampler_kwargs(name, cls, self.sampler_kwargs)
        kwargs = dict(self.sampler_kwargs)
        if takes_seed:
            kwargs["seed"] = int(rng.integers(0, 2**32))
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}(**{self.sampler_kwargs!r}) failed: {exc}") from exc

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator, *,
                maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        optuna = _optuna()
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        sampler_rng, unseen_rng = rng.spawn(2)
        k = len(maximize) if isinstance(maximize, tuple) else 1  # objectives (scores larger-is-better)
        study = optuna.create_study(sampler=self._build(sampler_rng), directions=["maximize"] * k)
        ordinal = self.distributions == "ordinal"
        dist = optuna.distributions
        distributions = {key: dist.IntDistribution(0, len(values) - 1) if ordinal
                         else dist.CategoricalDistribution(values) for key, values in zip(KEYS, CHOICES)}
        level_of = [{value: i for i, value in enumerate(values)} for values in CHOICES]
        known: dict[int, Any] = {}  # arch_id -> what the study is told: a score, or k of them
        waiting: dict[int, list[Any]] = {}  # arch_id in flight -> its trials
        proposed: set[int] = set()
        repeats = 0

        def hear(results: list[Result]) -> None:
            for result in results:
                if k == 1 and np.ndim(result.score):
                    raise ConfigError(f"{type(self).__name__} was told a score vector for arch {result.arch_id} but "
                                      "proposes for one objective: pass maximize=(True,) * k for k objectives")
                known[result.arch_id] = result.score if k == 1 else np.asarray(result.score, dtype=float).tolist()
                for trial in waiting.pop(result.arch_id, ()):
                    study.tell(trial, known[result.arch_id])

        while len(proposed) < budget:
            if repeats >= self.max_repeats:
                arch_id = _draw_unseen(unseen_rng, proposed)
                row = space.arch(arch_id).to_tuple()
                study.enqueue_trial({key: level_of[i][row[i]] if ordinal else row[i] for i, key in enumerate(KEYS)})
            trial = study.ask(distributions)
            values = [trial.params[key] for key in KEYS]
            if ordinal:
                values = [choices[level] for choices, level in zip(CHOICES, values)]
            arch_id = int(arch_ids_of(np.asarray([values]))[0])
            if arch_id in known:  # a repeat: its value is free
                study.tell(trial, known[arch_id])
                repeats += 1
                continue
            waiting.setdefault(arch_id, []).append(trial)
            if arch_id in proposed:  # in flight: told when it finishes
                repeats += 1
                continue
            repeats = 0
            proposed.add(arch_id)
            hear((yield Proposal(arch_id)))


def _draw_unseen(rng: np.random.Generator, seen: set[int]) -> int:
    """A uniformly drawn arch_id not in ``seen`` (rejection while few are seen, else from the rest)."""
    if len(seen) < N_ARCHS // 2:
        while True:
            arch_id = int(rng.integers(1, N_ARCHS + 1))
            if arch_id not in seen:
                return arch_id
    rest = np.setdiff1d(np.arange(1, N_ARCHS + 1), np.fromiter(seen, dtype=np.int64, count=len(seen)))
    return int(rest[rng.integers(len(rest))])


def _rebuild(spec: str, params: dict[str, Any]) -> OptunaSearcher:
    return optuna_searcher(spec)(**params)


def optuna_searcher(sampler: str | type) -> type[OptunaSearcher]:
    """The searcher class of one sampler: :class:`OptunaSearcher` with ``sampler`` fixed.

    Its ``name`` (what results are filed under) is the sampler's canonical name,
    ``"optuna:TPESampler"`` or ``"module:Class"``; its hyper-parameters are
    ``sampler_kwargs``, ``max_repeats`` and ``distributions``. The same sampler always gives
    the same class, and its instances pickle (they are rebuilt from the sampler's name).
    """
    return _made(sampler_class(sampler)[0])


@functools.cache
def _made(spec: str) -> type[OptunaSearcher]:
    def __init__(self, sampler_kwargs: dict[str, Any] | None = None, max_repeats: int = MAX_REPEATS,
                 distributions: str = "categorical") -> None:
        OptunaSearcher.__init__(self, spec, sampler_kwargs, max_repeats, distributions)

    def __reduce_ex__(self, protocol: int) -> Any:  # the class is made at run time: rebuild it by its sampler
        return _rebuild, (spec, self.get_params())

    short = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    cls = type(f"OptunaSearcher[{short}]", (OptunaSearcher,), {
        "__init__": __init__, "__reduce_ex__": __reduce_ex__, "__module__": __name__,
        "__qualname__": f"OptunaSearcher[{short}]",
        "__doc__": f"Optuna's {short} as a searcher (see :class:`OptunaSearcher`).",
        "name": spec, "sampler_spec": spec,
    })
    return cls


def __getattr__(name: str) -> type[OptunaSearcher]:
    """A sampler's searcher class by its qualified name, so the ``"nares_nas.integrations.optuna:
    OptunaSearcher[TPESampler]"`` that a folder's ``config.json`` pins resolves as ``module:Class``."""
    if name.startswith("OptunaSearcher[") and name.endswith("]"):
        return optuna_searcher(name[len("OptunaSearcher["):-1])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def adapt(spec: object) -> type[Searcher] | None:
    """The searcher registry's hook (entry point group ``nares_nas.searcher_adapters``): ``"optuna:NAME"``
    or an Optuna sampler class as a searcher class; None for anything else (imports nothing new)."""
    if isinstance(spec, str):
        return optuna_searcher(spec) if spec.startswith(PREFIX) else None
    samplers = sys.modules.get("optuna.samplers")  # a sampler class exists only once Optuna is imported
    if samplers is not None and isinstance(spec, type) and issubclass(spec, samplers.BaseSampler):
        return optuna_searcher(spec)
    return None
