"""Bridges to other tools (Syne Tune); each imports its tool lazily, behind an optional extra."""
