"""Bad input on the command line gets one clear line naming the field, value or file, never a Python
comparison error or a raw pyarrow message; help says which flags are required and what a command does."""

from __future__ import annotations

import json

import pytest

from rlvr.cli import main


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err.strip()


def test_a_gym_setting_of_the_wrong_type_names_setting_type_and_value(tmp_path, capsys):
    pytest.importorskip("reasoning_gym")
    err = _error(capsys, ["synth", "gym", "--name", "basic_arithmetic", "--n", "2", "--config", "min_terms=abc",
                          "--out", str(tmp_path / "t.parquet")])
    assert "setting min_terms must be a whole number (default 2), got 'abc'" in err
    assert "not supported between" not in err and not (tmp_path / "t.parquet").exists()


def test_a_bad_number_names_the_flag_or_config_item_that_gave_it(tmp_path, capsys):
    err = _error(capsys, ["synth", "np", "--task", "tsp", "--n", "2", "--config", "difficulty=hard",
                          "--out", str(tmp_path / "t.parquet")])
    assert err == "rlvr synth: error: --config difficulty=hard: expected a number, got 'hard'"
    err = _error(capsys, ["synth", "np", "--task", "tsp", "--n", "two", "--out", str(tmp_path / "t.parquet")])
    assert err == "rlvr synth: error: --n: expected an integer, got 'two'"
    settings = tmp_path / "s.yaml"
    settings.write_text("n: lots\n")
    err = _error(capsys, ["synth", "np", "--task", "tsp", "--config", str(settings), "--out", str(tmp_path / "t")])
    assert f"{settings}: n: expected an integer, got 'lots'" in err


def test_an_absent_id_field_falls_back_to_row_numbers_as_promised(tmp_path, capsys):
    src = tmp_path / "theirs.jsonl"
    src.write_text("".join(json.dumps({"problem": f"question number {i} about apples"}) + "\n" for i in range(3)))
    out = tmp_path / "clean.jsonl"
    assert main(["curate", "--in", str(src), "--field", "problem", "--id-field", "uid", "--out", str(out),
                 "--no-progress"]) == 0
    assert len(out.read_text().splitlines()) == 3
    import pyarrow.parquet as pq

    ids = pq.read_table(tmp_path / "clean.decisions.parquet").column("task_id").to_pylist()
    assert set(ids) == {"theirs.jsonl:1", "theirs.jsonl:2", "theirs.jsonl:3"}


def test_verify_on_a_csv_names_the_file_and_what_it_expects(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    err = _error(capsys, ["verify", "--tasks", str(data), "--gold"])
    assert err.startswith(f"rlvr verify: error: {data}: not a readable") and "another format" in err
    assert "Traceback" not in err
    table = tmp_path / "other.parquet"
    import pyarrow as pa

    pq_mod = pytest.importorskip("pyarrow.parquet")
    pq_mod.write_table(pa.table({"question": ["x"]}), table)
    err = _error(capsys, ["verify", "--tasks", str(table), "--gold"])
    assert f"{table}: not a Task table: missing columns" in err


@pytest.mark.parametrize("argv,flag_help", [
    (["synth", "np", "--help"], "(required unless --list)"),
    (["synth", "gym", "--help"], "(required unless --list)"),
    (["synth", "generator", "--help"], "(required unless --list)"),
    (["verify", "--help"], "(required with --completions)"),
    (["card", "--help"], "(required when writing)"),
])
def test_help_says_when_out_is_required(argv, flag_help, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert flag_help in " ".join(capsys.readouterr().out.split())


def test_card_help_lists_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["card", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "validate" in text and "push" in text and "--tasks" in text and "Write a Hugging Face dataset" in text
    main(["--help"])
    top = capsys.readouterr().out
    line = next(ln for ln in top.splitlines() if ln.strip().startswith("card"))
    assert "write" in line and "validate or push" in line and "task table" in line
