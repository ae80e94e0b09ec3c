"""Protocols that run several searchers and then report: Table 2 and the multi-objective table."""
