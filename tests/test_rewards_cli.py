"""`rlvr verify --completions` reports the `ambiguous` status and the NP score's recorded facts."""

from __future__ import annotations

import json

from rlvr.cli import main
from rlvr.records import Task
from rlvr.synth.np.base import PROBLEMS, NPGenerator


def test_verify_command_reports_ambiguous_and_beats_reference(tmp_path, capsys):
    problem = PROBLEMS["np.max_clique"]
    task = NPGenerator(problem, problem.config_cls()).generate(0, 0)
    gold = problem.render(task.answer["solution"])
    tpath = Task.write_parquet(tmp_path / "t.parquet", [task])
    comps = tmp_path / "c.jsonl"
    lines = [f"Answer: {gold}", f"Answer: {gold} or [0]", "Answer: [0]", "no answer"]
    comps.write_text("".join(json.dumps({"task_id": task.task_id, "completion": c}) + "\n" for c in lines))
    out = tmp_path / "s.jsonl"
    assert main(["verify", "--tasks", str(tpath), "--completions", str(comps), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ambiguous", "ok", "format_error"]
    assert [r["reward"] for r in rows] == [1.0, 0.0, 0.0, 0.0]  # [0] is a trivial answer: normalized to 0
    assert rows[0]["beats_reference"] is False and rows[0]["objective"] == task.answer["value"]
    assert "ambiguous" in capsys.readouterr().out
