"""Runs of a searcher: the run record, the run folder, parallel dispatch and the runner."""
