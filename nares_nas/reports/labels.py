"""How searchers are named in tables and plots: one map for single- and multi-objective searchers."""

from __future__ import annotations

LABELS: dict[str, str] = {
    "random_search": "Random Search", "local_search": "Local Search",
    "regularized_evolution": "RE", "bananas": "BANANAS", "successive_halving": "SH", "hyperband": "Hyperband",
    "asha": "ASHA", "bohb": "BOHB",
    "mo_random_search": "MO-RS", "pareto_local_search": "PLS", "mo_regularized_evolution": "MO-RE",
    "nsga2": "NSGA-II", "mo_bananas": "MO-BANANAS",
}


def label(searcher: str) -> str:
    """The searcher's name in tables and plots (its registry name where it has no label)."""
    return LABELS.get(searcher, searcher)
