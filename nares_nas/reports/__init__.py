"""Reports built from finished runs: tables, cost tables, anytime curves."""
