"""The foundation commands: info, query, data synth, data import; errors without tracebacks."""

import json
import subprocess
import sys

import pytest
from conftest import make_txz, whole_space_records

from nares_nas.cli import main


def test_query_json_on_a_file(small_jsonl, small_records, capsys):
    assert main(["query", "5,10,5,10,5,10", "--json", "--data", str(small_jsonl)]) == 0
    out = json.loads(capsys.readouterr().out)
    train = small_records[2]["train"][0]
    assert out["arch_id"] == 441
    assert out["arch"] == [5, 10, 5, 10, 5, 10]
    assert out["params"] == 46_160_474 and out["macs"] == 6_661_790_592
    assert out["metrics"]["VAL_PGD_ACC"] == train["pgd"][train["best_epoch"]]
    assert out["metrics"]["TEST_AA_ACC"] == small_records[2]["test_best"][0]["Linf_aa_acc"]
    assert out["metrics"]["MACS"] == 6_661_790_592
    assert out["synthetic"] is False


def test_query_by_id_readable_table(small_jsonl, capsys):
    assert main(["query", "--id", "441", "--data", str(small_jsonl)]) == 0
    out = capsys.readouterr().out
    assert "arch_id 441" in out and "[5,10,5,10,5,10]" in out and "46,160,474" in out
    assert "VAL_PGD_ACC" in out and "TEST_CORRUPT_ACC" in out


def test_env_var_selects_the_data(small_jsonl, monkeypatch, capsys):
    monkeypatch.setenv("NARES_NAS_DATA", str(small_jsonl))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "architectures: 5 of 15,625" in out and "synthetic: no" in out


def test_default_is_the_labelled_synthetic_stand_in(capsys):
    assert main(["query", "441", "--json"]) == 0
    captured = capsys.readouterr()
    assert "SYNTHETIC" in captured.err
    out = json.loads(captured.out)
    assert out["synthetic"] is True and "synthetic" in out["source"]
    assert main(["info"]) == 0
    captured = capsys.readouterr()
    assert "synthetic: yes" in captured.out and "SYNTHETIC stand-in" in captured.out


@pytest.mark.parametrize("argv, fragment", [
    (["query", "5,10,5,10,5,9"], "W3=9 is not one of"),
    (["query", "--id", "0"], "arch_id must be in 1..15625"),
    (["query", "--id", "-1"], "invalid architecture -1: arch_id must be in 1..15625"),
    (["query", "-1"], "invalid architecture -1: arch_id must be in 1..15625"),
    (["query", "15626"], "invalid architecture 15626: arch_id must be in 1..15625"),
    (["query", "--id", "99999"], "arch_id must be in 1..15625"),
    (["query", "441.0"], "invalid architecture '441.0'"),
    (["query"], "give exactly one of ARCH"),
    (["query", "441", "--data", "/nonexistent/cifar10.jsonl"], "/nonexistent/cifar10.jsonl: no such file"),
])
def test_errors_are_one_line_without_traceback(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_malformed_file_reports_line_and_key(tmp_path, small_jsonl, capsys):
    lines = small_jsonl.read_text().splitlines()
    record = json.loads(lines[1])
    record["train"][0]["pgd"] = record["train"][0]["pgd"][:-1]
    lines[1] = json.dumps(record)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["info", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f'{bad} line 2: key "train[0].pgd": expected 100 values' in err


def test_synth_then_import_then_default(tmp_path, fresh_home, capsys):
    out = tmp_path / "synth.jsonl"
    assert main(["data", "synth", "--out", str(out), "--seed", "3"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert len(lines) == 15625
    first = json.loads(lines[0])
    assert set(first) == {"arch_id", "arch", "MACs", "Params", "train", "test_best", "synthetic"}
    assert first["synthetic"] is True
    assert len(first["train"][0]["pgd"]) == 100 and len(first["test_best"][0]["corruptions"]) == 19
    assert main(["data", "import", str(out)]) == 0
    assert "imported 15,625 architectures" in capsys.readouterr().out
    # imported data is the default now; the stand-in stays labelled synthetic through the import
    assert main(["query", "441", "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["synthetic"] is True and "SYNTHETIC" in captured.err
    row = json.loads(lines[440])
    assert got["metrics"]["VAL_PGD_ACC"] == row["train"][0]["pgd"][row["train"][0]["best_epoch"]]


def test_download_then_import(tmp_path, fresh_home, capsys):
    payload = "".join(json.dumps(r) + "\n" for r in whole_space_records()).encode()
    archive = make_txz(tmp_path / "nares.txz", payload)
    assert main(["data", "download", "--url", archive.as_uri(), "--quiet"]) == 0
    assert "imported 15,625 architectures" in capsys.readouterr().out
    assert main(["info"]) == 0
    assert "synthetic: no" in capsys.readouterr().out


def test_console_script_debug_shows_traceback():
    done = subprocess.run([sys.executable, "-m", "nares_nas.cli", "--debug", "query", "1,2,3"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" in done.stderr
    done = subprocess.run(["nares-nas", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "nares-nas" in done.stdout


@pytest.mark.parametrize("command, metavar", [("search", "--data PATH|nares|synthetic|none"),
                                              ("table2", "--data PATH|nares|synthetic"),
                                              ("info", "--data PATH|nares|synthetic")])
def test_the_data_metavar_names_every_kind_of_value(command, metavar, capsys):
    assert main([command, "--help"]) == 0
    usage = capsys.readouterr().out
    assert metavar in usage and (command == "search") == ("|none" in usage)  # none: live search only


@pytest.mark.parametrize("argv", [["info"], ["query", "441"]])
def test_the_synthetic_notice_is_printed_once(argv, capsys):
    assert main(argv) == 0
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert first.startswith("data: SYNTHETIC stand-in data: these numbers are not NARes results")
    assert "no NARes data imported: run `nares-nas data import PATH`" in first  # the hint rides along
    assert [line for line in (captured.out + captured.err).splitlines() if "SYNTHETIC" in line] == [first]


def test_seed_ranges_join_consecutive_seeds():
    from nares_nas.commands.common import seed_ranges

    assert seed_ranges([13, 0, 1, 2, 10, 12, 3, 3]) == "0..3, 10, 12..13"
    assert seed_ranges(range(5, 6)) == "5" and seed_ranges([]) == "none"
