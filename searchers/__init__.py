"""Search algorithms and their registry (import as ``nares_nas.searchers``).

Built-ins: :class:`RandomSearch`, :class:`LocalSearch`, :class:`RegularizedEvolution`,
:class:`SuccessiveHalving`, :class:`Hyperband`, :class:`BOHB`, :class:`Asha` and :class:`Bananas`
(Bananas is loaded on first use, so importing this package does not import torch); the
multi-objective ones :class:`MORandomSearch`, :class:`ParetoLocalSearch`,
:class:`MORegularizedEvolution`, :class:`NSGA2` and :class:`MOBananas` (loaded on first use too).
Find any searcher, built-in or plugin, with :func:`resolve`; list them with :func:`available`.
"""

from __future__ import annotations

from typing import Any

from ._asha import Asha
from ._base import Searcher, split_params
from ._bohb import BOHB
from ._evolution import RegularizedEvolution
from ._hyperband import Hyperband, SuccessiveHalving
from ._local import LocalSearch
from ._multiobjective import MORandomSearch, MORegularizedEvolution, ParetoLocalSearch
from ._nsga2 import NSGA2
from ._random import RandomSearch
from ._registry import available, register, resolve, searcher_name

__all__ = [
    "BOHB", "NSGA2", "Asha", "Bananas", "Hyperband", "LocalSearch", "MOBananas", "MORandomSearch",
    "MORegularizedEvolution", "ParetoLocalSearch", "RandomSearch", "RegularizedEvolution", "Searcher",
    "SuccessiveHalving", "available", "register", "resolve", "searcher_name", "split_params",
]


def __getattr__(name: str) -> Any:
    if name == "Bananas":
        from ._bananas import Bananas

        return Bananas
    if name == "MOBananas":
        from ._mobananas import MOBananas

        return MOBananas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
