"""The one loop that keeps runs in a folder: claim it, skip the seeds already done, write each run as it finishes.

Single-objective (:func:`~nares_nas.runs.search.run_to_dir`), multi-objective
(:func:`~nares_nas.runs.multiobjective.run_mo_to_dir`) and live searches
(:func:`~nares_nas.runs.live.run_live_to_dir`) differ only in how their runs are made: each hands this
loop a *producer*, a function of the seeds left that yields groups of finished :class:`RunResult`
(a lockstep group, or one live run) as they finish. The loop gives every kind the same guarantees: a
folder of another configuration is refused, a finished run is never computed or written again, each
run file is written atomically as soon as its group finishes, ``summary.csv`` is rebuilt from every
run in the folder, and a new folder that got no run before a failure is released, so a retry is not
refused. Files are written behind the loop on one thread (:class:`~nares_nas._atomic.WriteBehind`), in
order; a failed write fails the job, and the writes already queued finish first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nares_nas._atomic import WriteBehind
from nares_nas.progress import Progress
from nares_nas.runs.folder import (
    SUMMARY_EVERY,
    open_run_dir,
    release,
    summary_columns,
    summary_row,
    write_run,
    write_summary,
)
from nares_nas.runs.record import RunResult

Producer = Callable[..., Iterable[Sequence[RunResult]]]
"""Called with ``seeds=``, makes their runs, yielding each group of finished runs as it finishes."""


def _silent(todo: list[int]) -> Progress:
    return Progress("runs", len(todo), enabled=False)


def run_into(out_dir: str | os.PathLike | None, config: Mapping[str, Any] | None, seeds: Sequence[int],
             produce: Producer, *, resume: bool = False, execution_params: Collection[str] = (),
             progress: Callable[[list[int]], Progress] = _silent, summary_every: int = SUMMARY_EVERY,
             kept: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """The runs of ``seeds`` (resumed ones included), in that order; each new one kept in ``out_dir``.

    ``config`` is what the folder pins (:func:`~nares_nas.runs.folder.run_config`), checked by
    :func:`~nares_nas.runs.folder.open_run_dir` with ``resume`` and ``execution_params``; the seeds
    already in the folder are skipped and ``produce`` is called once with the others (``seeds=``);
    ``progress`` makes the progress report of those seeds. ``summary.csv`` is rewritten after every
    group of several runs, every ``summary_every`` runs of one, and at the end. ``kept(run)`` is called
    once a run's file is written (a live run's log in progress may go then, not before). ``out_dir``
    None keeps nothing: the runs are only returned (``config`` may then be None).
    """
    out = None if out_dir is None else Path(out_dir)
    done: dict[int, RunResult] = {}
    fresh = existed = False
    if out is not None:
        fresh, existed = not (out / "config.json").exists(), out.exists()
        done = open_run_dir(out, config, resume=resume, execution_params=execution_params)
    columns = summary_columns(config or {})
    rows = {seed: summary_row(r) for seed, r in done.items()}
    todo = [s for s in seeds if s not in done]
    written: list[int] = []  # seeds whose run file is written (on the writer's thread)

    def keep(result: RunResult) -> None:
        write_run(out, result)
        written.append(result.seed)
        if kept is not None:
            kept(result)

    try:
        # the next runs compute while the last are encoded and fsynced, in the order submitted
        with progress(todo) as bar, WriteBehind() as writer:
            unsummarised = 0
            for group in produce(seeds=todo):
                for result in group:
                    if out is not None:
                        writer.submit(keep, result)
                        rows[result.seed] = summary_row(result)
                    done[result.seed] = result
                bar.update(len(group))
                unsummarised += len(group)
                if out is not None and (len(group) > 1 or unsummarised >= summary_every):
                    writer.submit(write_summary, out, list(rows.values()), columns)
                    unsummarised = 0
    except BaseException:
        if fresh and not written:
            release(out, existed)  # a job that failed before its first run leaves nothing to refuse a retry
        raise
    if out is not None:
        write_summary(out, rows.values(), columns)
    return [done[s] for s in seeds]
