"""Progress lines and the long-job warning (nares_nas/progress.py), and the commands that print them."""

from __future__ import annotations

import io

import pytest

from nares_nas import cli
from nares_nas.progress import Progress, announce, duration, job_seconds
from nares_nas.searchers import Bananas, RandomSearch

BANANAS_RUN_S = 2692 * 2 / 16  # docs/benchmarks.md: 16 runs in 2,692 s on two processes, 8 in lockstep each


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_at_most_every_few_seconds_with_news_and_every_minute_without():
    clock, stream = Clock(), io.StringIO()
    bar = Progress("job", 10, stream=stream, clock=clock, every=5, idle=60)  # not entered: no thread ticks
    clock.now = 1
    bar.update(2)
    assert not bar.tick()  # news, but 1 s after the start
    clock.now = 5
    assert bar.tick()  # 2 of 10 in 5 s: 8 left at 2.5 s each
    clock.now = 6
    bar.update(1)
    assert not bar.tick()
    clock.now = 30
    assert bar.tick()  # 3 in 30 s: 7 left at 10 s each
    clock.now = 40
    assert not bar.tick()  # no news, 10 s after the last line
    clock.now = 96
    assert bar.tick()  # no news for over a minute: still alive
    bar.close()
    assert stream.getvalue().splitlines() == [
        "job: 2/10 runs (20%), 5 s elapsed, about 20 s left",
        "job: 3/10 runs (30%), 30 s elapsed, about 70 s left",
        "job: 3/10 runs (30%), 96 s elapsed, about 4 min left",  # 96 s / 3 * 7 = 224 s
        "job: 3/10 runs in 96 s",
    ]


def test_a_resumed_job_counts_its_pace_from_the_runs_done_now():
    clock, stream = Clock(), io.StringIO()
    bar = Progress("job", 10, done=6, unit="epoch", stream=stream, clock=clock, every=5, idle=60)
    clock.now = 8
    bar.update(2)
    assert bar.tick() and stream.getvalue() == "job: 8/10 epochs (80%), 8 s elapsed, about 8 s left\n"


def test_nothing_written_when_disabled_after_a_failure_or_when_nothing_ran():
    clock, stream = Clock(), io.StringIO()
    with pytest.raises(RuntimeError), Progress("job", 3, stream=stream, clock=clock) as bar:
        bar.update()
        raise RuntimeError
    with Progress("job", 3, done=3, stream=stream, clock=clock):  # a resume with everything done
        pass
    with Progress("job", 3, enabled=False, stream=stream, clock=clock) as bar:
        bar.update(3)
        clock.now = 100
        assert not bar.tick()
    assert stream.getvalue() == ""


def test_the_line_thread_writes_while_a_task_runs():
    import time

    stream = io.StringIO()
    with Progress("job", 1, stream=stream, every=0.02, idle=0.05):
        deadline = time.monotonic() + 10
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert stream.getvalue().splitlines()[0].startswith("job: 0/1 runs (0%), 0 s elapsed")


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (100, "100 s"), (12 * 60, "12 min"), (90 * 60, "90 min"),
                                           (4.8 * 3600, "4.8 h"), (3 * 86400, "3.0 days")])
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_bananas_expects_minutes_per_run_and_random_search_nothing():
    assert Bananas().expected_seconds(500) == pytest.approx(BANANAS_RUN_S)
    assert Bananas().expected_seconds(None) == pytest.approx(BANANAS_RUN_S)  # a cost budget: as 500
    assert Bananas(epochs=150).expected_seconds(500) == pytest.approx(BANANAS_RUN_S * 0.3)
    assert Bananas().expected_seconds(250) == pytest.approx(BANANAS_RUN_S / 4)  # each fit sees half the archs
    assert Bananas(device="cuda").expected_seconds(500) is None  # not measured
    assert RandomSearch().expected_seconds(500) == pytest.approx(RandomSearch.seconds_per_query * 500)
    assert RandomSearch().expected_seconds(None) is None  # a cost budget: not estimated
    assert job_seconds(Bananas(), 400, 500, 2) == pytest.approx(400 * BANANAS_RUN_S / 2)
    assert job_seconds(RandomSearch(), 400, 500, 2) == pytest.approx(400 * 500 * RandomSearch.seconds_per_query / 2)


def test_announce_only_a_long_job():
    stream = io.StringIO()
    assert not announce([("random_search", 400, None), ("quick", 2, 30.0)], 1, stream=stream)
    assert announce([("random_search", 400, None), ("bananas", 400, 400 * BANANAS_RUN_S / 2)], 2, stream=stream)
    line, = stream.getvalue().splitlines()
    assert line.startswith("this job is expected to take about 18.7 h in 2 processes (bananas: 400 runs, about "
                           "18.7 h; ")  # docs/benchmarks.md's "400 runs: ≈ 18.7 hours on this machine"


# --------------------------------------------------------------------------- through the commands
@pytest.mark.parametrize("out", [False, True])
def test_search_shows_progress_on_a_stderr_that_is_no_terminal(tmp_path, capsys, out):
    argv = ["search", "--algo", "random_search", "--runs", "3", "--budget", "20", "--data", "synthetic"]
    assert cli.main([*argv, *(["--out", str(tmp_path / "rs")] if out else [])]) == 0
    assert "random_search: 3/3 runs in " in capsys.readouterr().err
    assert cli.main([*argv, "--quiet"]) == 0
    assert "runs in" not in capsys.readouterr().err


def test_a_long_search_says_so_before_it_starts(tmp_path, capsys, monkeypatch):
    def never_run(*args, **kwargs):
        raise KeyboardInterrupt  # the runs would take hours: stop where they would start

    monkeypatch.setattr("nares_nas.runs.search.iter_groups", never_run)
    assert cli.main(["search", "--algo", "bananas", "--data", "synthetic", "--jobs", "2",
                     "--out", str(tmp_path / "b")]) != 0
    expected = 400 * BANANAS_RUN_S / 2 / 3600  # --runs defaults to 400; 50 lockstep groups on 2 processes
    assert f"expected to take about {expected:.1f} h in 2 processes (bananas: 400 runs" in capsys.readouterr().err


def test_table2_says_before_its_first_searcher_runs_how_long_all_take(tmp_path, capsys, monkeypatch):
    def never_run(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nares_nas.runs.search.run_to_dir", never_run)
    assert cli.main(["table2", "--data", "synthetic", "--runs", "16", "--out", str(tmp_path / "t2")]) != 0
    err = capsys.readouterr().err
    # one process; random, local search and RE expect no time worth saying; 16 BANANAS runs do
    assert f"expected to take about {16 * BANANAS_RUN_S / 60:.0f} min in one process (bananas: 16 runs" in err
