"""How searchers are named in tables and plots."""

from __future__ import annotations

SEARCHER_LABELS: dict[str, str] = {
    "random_search": "Random Search", "local_search": "Local Search",
    "regularized_evolution": "RE", "bananas": "BANANAS", "successive_halving": "SH", "hyperband": "Hyperband",
    "asha": "ASHA", "bohb": "BOHB",
}


MO_LABELS: dict[str, str] = {"mo_random_search": "MO-RS", "pareto_local_search": "PLS",
                             "mo_regularized_evolution": "MO-RE", "nsga2": "NSGA-II", "mo_bananas": "MO-BANANAS"}


def label(searcher: str) -> str:
    return MO_LABELS.get(searcher, searcher)
