"""Every row of docs/bad-input.md, run as written: bad input gets its one-line error, never a traceback.

The table is the test's data, so the two cannot drift: each row's command line runs through
``nares_nas.cli.main`` with its placeholders made real (below), and every backticked fragment
of its last cell must appear in the error line, which is the last line on stderr.
"""

from __future__ import annotations

import builtins
import errno
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nares_nas.cli import main
from nares_nas.commands import query
from nares_nas.errors import PathError

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"
ROW = re.compile(r"^\|(?P<kind>[^|]+)\|\s*`nares-nas (?P<argv>[^`]+)`\s*\|(?P<gets>.+)\|\s*$")
FRAGMENT = re.compile(r"`([^`]+)`")
TOKEN = re.compile(r"\b(MISSING|FOLDER|FILE|NOREAD|LOCKED|NEW|LIST|NONAME|NEGATIVE|RESULTS|TABLE2)\b")

# What the files of the placeholders hold (a placeholder names a file by its extension: FILE.json).
CONTENT = {"FILE": "hello\n", "NOREAD": "{}\n", "LIST": "[1, 2]\n", "NONAME": '{"epochs": 8}\n',
           "NEGATIVE": '{"name": "mine", "epochs": -3}\n'}
# The results folders some rows resume, as the command that writes them.
WRITTEN_BY = {"RESULTS": ["search", "--algo", "random_search", "--runs", "1", "--budget", "5"],
              "TABLE2": ["table2", "--searchers", "random_search", "--runs", "2", "--budget", "5"]}


def rows() -> list[tuple[str, str, list[str]]]:
    """(section, command line, fragments) of every row of the doc's tables."""
    found, section = [], ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = ROW.match(line)
        if match:
            found.append((f"{section}: {match['kind'].strip()}", match["argv"], FRAGMENT.findall(match["gets"])))
    return found


NEEDS = {"train": "torch", "evaluate": "torch", "export": "fastparquet", "--scheduler": "distributed"}
"""A row whose command line holds the word needs the module (an extra): skipped where it is not installed."""


def params() -> list:
    """:func:`rows` as test cases, each skipped where what its command needs is not installed."""
    cases = []
    for where, argv, fragments in rows():
        missing = [module for word, module in NEEDS.items()
                   if word in shlex.split(argv) and importlib.util.find_spec(module) is None]
        marks = [pytest.mark.skip(reason=f"needs {module}, not installed") for module in missing]
        cases.append(pytest.param(where, argv, fragments, id=where, marks=marks))
    return cases


def test_the_doc_lists_its_placeholders_and_every_row_says_what_it_gets():
    text = DOC.read_text(encoding="utf-8")
    assert set(TOKEN.findall(text)) == {*CONTENT, "MISSING", "FOLDER", "LOCKED", "NEW", *WRITTEN_BY}
    for token in [*CONTENT, "MISSING", "FOLDER", "LOCKED", "NEW", *WRITTEN_BY]:
        assert f"- `{token}`" in text, f"{token} is used but not explained"
    assert len(rows()) == text.count("\n| ") - text.count("\n|---"), "a row the pattern does not read"
    assert all(fragments for _, _, fragments in rows())


def _make(token: str, path: Path, capsys) -> None:
    """Make ``path`` what ``token`` stands for."""
    if token in CONTENT:
        path.write_text(CONTENT[token], encoding="utf-8")
    elif token in ("FOLDER", "LOCKED"):
        path.mkdir()
    elif token in WRITTEN_BY:
        assert main([*WRITTEN_BY[token], "--out", str(path)]) == 0
        capsys.readouterr()


def _deny(monkeypatch, below: Path, *, writes: bool) -> None:
    """Make opening files at or ``below`` a path raise PermissionError (for writing only, with ``writes``),
    and making folders there: as a folder we may not use does for a user who is not root."""
    real_open, real_mkdir = builtins.open, os.mkdir

    def denied(path) -> bool:
        return isinstance(path, (str, os.PathLike)) and Path(os.fsdecode(path)).absolute().is_relative_to(below)

    def fake_open(file, mode="r", *args, **kwargs):
        if denied(file) and (not writes or any(c in mode for c in "wax+")):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        if denied(path) and not os.path.exists(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    if writes:
        monkeypatch.setattr(os, "mkdir", fake_mkdir)


def realize(text: str, tmp_path: Path, capsys, monkeypatch) -> str:
    """``text`` with each placeholder replaced by a path that is what it says."""
    def replace(match: re.Match) -> str:
        token = match[1]
        rest = re.match(r"(\.[a-z]+)?", text[match.end():])[0]
        path = tmp_path / f"{token.lower()}{rest}"
        if not path.exists() and token not in ("MISSING", "NEW"):
            _make(token, path, capsys)
            if token in ("NOREAD", "LOCKED"):
                _deny(monkeypatch, path, writes=token == "LOCKED")
        return str(tmp_path / token.lower())

    return TOKEN.sub(replace, text)


@pytest.mark.parametrize("where, argv, fragments", params())
def test_row(where, argv, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [realize(a, tmp_path, capsys, monkeypatch) for a in shlex.split(argv)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"nares-nas {args[0]}") and ": error: " in last
    assert sum(": error: " in line for line in err.splitlines()) == 1, err
    for fragment in fragments:
        want = TOKEN.sub(lambda m: str(tmp_path / m[1].lower()), fragment)
        assert want in last, f"{want!r} not in {last!r}"


def test_a_closed_pipe_ends_quietly():
    """The reader is gone before the command writes (as `nares-nas info | head -1` once head exits)."""
    proc = subprocess.Popen([sys.executable, "-m", "nares_nas.cli", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    with pytest.raises(PathError, match="is a folder, not a file"):
        main(["--debug", "data", "import", str(tmp_path)])
    unreadable = tmp_path / "cifar10.jsonl"
    unreadable.write_text("{}\n")
    _deny(monkeypatch, unreadable, writes=False)
    with pytest.raises(PermissionError):  # one line without --debug (the table's "unreadable" rows)
        main(["--debug", "info", "--data", str(unreadable)])


def test_an_os_error_without_a_path_is_a_bug_and_keeps_its_traceback(monkeypatch):
    def broken(args):
        raise OSError("something in our code")

    monkeypatch.setattr(query, "cmd_info", broken)
    with pytest.raises(OSError, match="something in our code"):
        main(["info"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_real_read_only_folder_is_refused_before_any_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert main(["search", "--algo", "random_search", "--out", str(locked / "out")]) == 2
    assert f"cannot write in {locked}: Permission denied" in capsys.readouterr().err
