"""Multi-objective geometry and problems: fronts, ranks, hypervolume, objectives and constraints."""
