"""What a careless user hands rlvr: broken Parquet, bad rows, huge records, wrong suffixes, repeated ids.

Each one gets an error that names the file (and the row and field when there is one), or, in
curate, a quarantine row with its reason while the good records go on; never a traceback.
"""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr.cli import main
from rlvr.io.readers import ReadOptions, read_documents
from rlvr.io.tasks import read_tasks
from rlvr.records import Message, Provenance, Quarantined, Task, VerifierSpec


def _tasks(n: int = 6) -> list[Task]:
    return [Task(kind="test.echo", prompt=[Message("system", "be brief"), Message("user", f"Say {i} and {i + 1}.")],
                 answer=str(i), verifier=VerifierSpec("final_answer"), provenance=Provenance("test", index=i))
            for i in range(n)]


def _write_rows(path, rows, schema=Task.SCHEMA):
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@pytest.fixture
def broken_files(tmp_path):
    good = Task.write_parquet(tmp_path / "good.parquet", _tasks())
    data = good.read_bytes()
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "notparquet.parquet").write_text("task_id,kind\n1,2\n")
    return tmp_path


@pytest.mark.parametrize("name", ["empty", "truncated", "notparquet"])
def test_unreadable_parquet_names_the_file_in_every_command(broken_files, name, capsys):
    path = broken_files / f"{name}.parquet"
    with pytest.raises(ValueError, match=rf"{path}: not a readable"):
        read_tasks(path)
    with pytest.raises(ValueError, match=rf"{path}: not a readable"):
        Task.read_parquet(path)
    commands = [
        ["curate", "--in", str(path), "--out", str(broken_files / "out.parquet"), "--no-progress"],
        ["verify", "--tasks", str(path), "--gold"],
        ["select", "estimate", "--tasks", str(path), "--k", "2", "--out", str(broken_files / "e.parquet")],
    ]
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{path}: not a readable" in err and "Traceback" not in err and "magic bytes" not in err.split(";")[0]


def _one_bad_row_table(tmp_path):
    rows = Task.to_arrow(_tasks()).to_pylist()
    rows[2]["answer"] = "{not json"  # row 3
    rows[4]["prompt"] = [{"role": "user", "content": None}]  # row 5
    return _write_rows(tmp_path / "bad_rows.parquet", rows)


def test_a_bad_row_is_named_by_file_row_and_field(tmp_path, capsys):
    path = _one_bad_row_table(tmp_path)
    with pytest.raises(ValueError, match=rf"{path}: row 3: field 'answer': invalid JSON"):
        read_tasks(path)
    assert main(["verify", "--tasks", str(path), "--gold"]) == 2
    assert f"{path}: row 3: field 'answer'" in capsys.readouterr().err
    quarantine: list[Quarantined] = []
    tasks = read_tasks(path, quarantine=quarantine)
    assert len(tasks) == 4
    assert [(q.file, q.line, q.field) for q in quarantine] == [(str(path), 3, "answer"), (str(path), 5, "prompt")]


def test_prompt_stored_as_a_string_is_named(tmp_path, capsys):
    rows = Task.to_arrow(_tasks()).to_pylist()
    for r in rows:
        r["prompt"] = r["prompt"][-1]["content"]
    schema = Task.SCHEMA.set(Task.SCHEMA.get_field_index("prompt"), pa.field("prompt", pa.string()))
    path = _write_rows(tmp_path / "str_prompt.parquet", rows, schema)
    with pytest.raises(ValueError, match=rf"{path}: row 1: field 'prompt': expected a list"):
        read_tasks(path)
    assert main(["curate", "--in", str(path), "--out", str(tmp_path / "o.parquet"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "field 'prompt'" in err and str(path) in err and "Traceback" not in err


ENGINES = ["memory", "local"]  # the out-of-core engine reads its inputs by its own path: same rules


@pytest.mark.parametrize("engine", ENGINES)
def test_curate_quarantines_bad_rows_and_keeps_the_rest(tmp_path, capsys, engine):
    path = _one_bad_row_table(tmp_path)
    out = tmp_path / "clean.parquet"
    assert main(["curate", "--in", str(path), "--out", str(out), "--steps", "exact", "--no-progress",
                 "--engine", engine]) == 0
    printed = capsys.readouterr().out
    assert "in 6 = kept 4 + dropped 0 + quarantined 2" in printed
    assert len(Task.read_parquet(out)) == 4
    quarantined = Quarantined.read_parquet(tmp_path / "clean.quarantine.parquet")
    assert [(q.line, q.field) for q in quarantined] == [(3, "answer"), (5, "prompt")]
    assert all(q.file == str(path) and q.reason and q.raw for q in quarantined)


@pytest.mark.parametrize("engine", ENGINES)
def test_record_size_limit_quarantines_before_the_work(tmp_path, capsys, engine):
    # A task table: one prompt of 2 MB against the default 1 MB limit.
    tasks = _tasks()
    tasks[1] = Task(kind="test.echo", prompt=[Message("user", "x " * 1_000_000)], answer="1",
                    verifier=VerifierSpec("final_answer"), provenance=Provenance("test"))
    path = Task.write_parquet(tmp_path / "big.parquet", tasks)
    out = tmp_path / "kept.parquet"
    assert main(["curate", "--in", str(path), "--out", str(out), "--steps", "exact,minhash", "--no-progress",
                 "--engine", engine]) == 0
    assert "in 6 = kept 5 + dropped 0 + quarantined 1" in capsys.readouterr().out
    [q] = Quarantined.read_parquet(tmp_path / "kept.quarantine.parquet")
    assert (q.line, q.field) == (2, "prompt") and "record too large: 2000003 bytes of prompt and answer > max_record_bytes=1000000" in q.reason
    # The limit is a setting; 0 turns it off.
    assert main(["curate", "--in", str(path), "--out", str(out), "--steps", "exact", "--max-record-bytes", "0",
                 "--no-progress", "--engine", engine]) == 0
    assert len(Task.read_parquet(out)) == 6
    capsys.readouterr()

    # A JSONL dataset: the long line is quarantined by its size, unparsed; the others are kept.
    lines = [json.dumps({"id": f"q{i}", "text": f"What is {i} plus {i}?"}) for i in range(5)]
    lines.insert(2, json.dumps({"id": "huge", "text": "word " * 300_000}))
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(lines) + "\n")
    res = read_documents(src, ReadOptions(max_record_bytes=1_000_000))
    assert [d.doc_id for d in res.documents] == ["q0", "q1", "q2", "q3", "q4"]
    [q] = res.quarantined
    assert (q.line, q.field) == (3, "<line>") and q.reason.startswith("record too large")
    kept = tmp_path / "kept.jsonl"
    assert main(["curate", "--in", str(src), "--out", str(kept), "--steps", "exact", "--no-progress",
                 "--engine", engine]) == 0
    assert "in 6 = kept 5 + dropped 0 + quarantined 1" in capsys.readouterr().out
    [q] = Quarantined.read_parquet(tmp_path / "kept.quarantine.parquet")
    assert (q.line, q.field) == (3, "<line>") and q.reason.startswith("record too large")


def test_csv_errors_point_at_the_first_line_of_a_multiline_record(tmp_path):
    path = tmp_path / "d.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerow(["a", "first line\nsecond line\nthird line"])  # lines 2-4
        w.writerow(["b", ""])  # line 5: empty text
        w.writerow(["c", "one\ntwo"])  # lines 6-7
        w.writerow(["c", "again"])  # line 8: duplicate id
    res = read_documents(path)
    assert [(q.line, q.field, q.reason.split(" (")[0]) for q in res.quarantined] == [
        (5, "text", "empty text"), (8, "id", "duplicate id 'c'")]
    assert "first at line 6" in res.quarantined[1].reason


def test_curate_writes_the_format_the_suffix_names_or_refuses(tmp_path, capsys):
    tasks_path = Task.write_parquet(tmp_path / "t.parquet", _tasks())
    out = tmp_path / "clean.csv"
    assert main(["curate", "--in", str(tasks_path), "--out", str(out), "--no-progress"]) == 2
    assert "task tables are written as Parquet" in capsys.readouterr().err
    assert not out.exists()

    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"id": f"q{i}", "text": f"What is {i} times 3?", "level": i}) + "\n"
                           for i in range(4)))
    assert main(["curate", "--in", str(src), "--out", str(out), "--steps", "exact", "--no-progress"]) == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["q0", "q1", "q2", "q3"] and rows[2]["level"] == "2"
    assert not out.read_bytes().startswith(b"PAR1")
    assert main(["curate", "--in", str(src), "--out", str(tmp_path / "clean.xlsx"), "--no-progress"]) == 2
    assert "cannot write .xlsx" in capsys.readouterr().err


def test_verify_fails_when_nothing_could_be_scored(tmp_path, capsys):
    tasks = _tasks(2)
    tpath = Task.write_parquet(tmp_path / "t.parquet", tasks)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["verify", "--tasks", str(tpath), "--completions", str(empty), "--out", str(tmp_path / "s.jsonl")]) == 1
    assert "nothing could be scored" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n" + json.dumps({"task_id": "nope", "completion": "1"}) + "\n")
    assert main(["verify", "--tasks", str(tpath), "--completions", str(bad), "--out", str(tmp_path / "s.jsonl")]) == 1
    assert "all 2 lines are errors" in capsys.readouterr().err
    one = tmp_path / "one.jsonl"
    one.write_text("{oops\n" + json.dumps({"task_id": tasks[0].task_id, "completion": "0"}) + "\n")
    assert main(["verify", "--tasks", str(tpath), "--completions", str(one), "--out", str(tmp_path / "s.jsonl")]) == 0


def test_duplicate_task_ids_are_reported_in_verify_and_refused_by_card(tmp_path, capsys):
    from rlvr.datasets_cards.card import CardOptions, build_dataset

    tasks = _tasks(3)
    twice = Task.write_parquet(tmp_path / "twice.parquet", tasks + [tasks[1]])
    assert main(["verify", "--tasks", str(twice), "--gold"]) == 0
    out = capsys.readouterr().out
    assert f"1 duplicate task row(s), each scored once: {twice}:4 repeats {twice}:2" in out
    assert "checked 3 tasks" in out
    # Two different tasks under one id: which would a completion be scored against? Refused.
    clash = Task(kind="test.echo", prompt=[Message("user", "other")], answer="9", verifier=VerifierSpec("final_answer"),
                 provenance=Provenance("test"), task_id=tasks[0].task_id)
    clashing = Task.write_parquet(tmp_path / "clash.parquet", [*tasks, clash])
    assert main(["verify", "--tasks", str(clashing), "--gold"]) == 2
    assert f"names two different tasks: {clashing}:1 and {clashing}:4" in capsys.readouterr().err

    with pytest.raises(ValueError, match=r"1 task_id\(s\) appear more than once.*rows 2 and 4"):
        build_dataset(None, tmp_path / "ds", CardOptions(), twice)
    assert not (tmp_path / "ds").exists()


def test_os_errors_are_one_line_not_a_traceback(tmp_path, capsys):
    tasks_path = Task.write_parquet(tmp_path / "t.parquet", _tasks())
    (tmp_path / "taken.parquet").mkdir()
    assert main(["curate", "--in", str(tasks_path), "--out", str(tmp_path / "taken.parquet"), "--steps", "exact",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlvr curate: error:") and "taken.parquet" in err
