"""`rlvr curate` end to end, on rlvr task tables and on datasets made elsewhere, and the pipeline stage."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest
from planted import farm_task, gym_tasks, light_edit, task

from rlvr.cli import main
from rlvr.curate.config import CurateConfig
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Decision, Quarantined, Task


@pytest.fixture
def task_files(tmp_path):
    rng = random.Random(5)
    farms = [farm_task(c, h) for c in range(1, 6) for h in range(1, 6)]
    gym = gym_tasks(30, seed=3)
    a = farms + gym
    b = [task(light_edit(t.prompt_text, rng)[0], t.answer, kind=t.kind) for t in gym[:8]] + farms[:3]
    b.append(farm_task(2, 2, name="Ahmed"))  # the same instance as farm_task(2, 2): structural duplicate
    pa_, pb = tmp_path / "a.parquet", tmp_path / "b.parquet"
    Task.write_parquet(pa_, a)
    Task.write_parquet(pb, b)
    return pa_, pb, a, b


def test_cli_on_task_tables_prints_the_books(task_files, tmp_path, capsys):
    pa_, pb, a, b = task_files
    out = tmp_path / "curated.parquet"
    code = main(["curate", "--in", str(pa_), str(pb), "--out", str(out), "--steps", "exact,structural,minhash",
                 "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "duplicate_id=3" in printed and "structural_duplicate=1" in printed and "near_duplicate=" in printed
    assert f"in {len(a) + len(b)} = kept" in printed
    kept = Task.read_parquet(out)
    decisions = Decision.read_parquet(tmp_path / "curated.decisions.parquet")
    dropped = [d for d in decisions if not d.keep]
    assert len(kept) + len(dropped) == len(a) + len(b)
    assert {d.stage for d in decisions} == {"input", "exact", "structural", "minhash"}
    kept_ids = {t.task_id for t in kept}
    assert all(d.evidence.matched_id in kept_ids for d in dropped if d.stage != "input")
    # Same inputs, same settings: the same bytes.
    again = tmp_path / "again.parquet"
    main(["curate", "--in", str(pa_), str(pb), "--out", str(again), "--steps", "exact,structural,minhash",
          "--no-progress"])
    assert again.read_bytes() == out.read_bytes()
    assert (tmp_path / "again.decisions.parquet").read_bytes() == (tmp_path / "curated.decisions.parquet").read_bytes()


def test_cli_on_a_foreign_dataset_keeps_its_ids_and_fields(tmp_path, capsys):
    rows = [{"uid": f"q{i}", "problem": f"How many legs do {i} cats and {i + 2} birds have together?", "level": i}
            for i in range(12)]
    rows.append({"uid": "q3-copy", "problem": rows[3]["problem"].upper() + "  ", "level": 99})
    rows.append({"uid": "broken", "level": 1})  # no text: quarantined, not dropped silently
    src = tmp_path / "theirs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "clean.jsonl"
    code = main(["curate", "--in", str(src), "--field", "problem", "--id-field", "uid", "--out", str(out),
                 "--steps", "exact,minhash", "--no-progress"])
    assert code == 0
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["uid"] for r in kept} == {f"q{i}" for i in range(12)}
    assert all(set(r) == {"uid", "problem", "level"} for r in kept)
    decisions = {d.task_id: d for d in Decision.read_parquet(tmp_path / "clean.decisions.parquet")}
    assert decisions["q3-copy"].reason == "exact_duplicate" and decisions["q3-copy"].evidence.matched_id == "q3"
    quarantined = Quarantined.read_parquet(tmp_path / "clean.quarantine.parquet")
    assert len(quarantined) == 1 and quarantined[0].field == "problem"
    assert "quarantined=1" in capsys.readouterr().out


def test_quality_field_ranks_duplicates_of_a_foreign_dataset(tmp_path):
    from rlvr.curate.items import load_inputs
    from rlvr.curate.runner import curate

    src = tmp_path / "rated.jsonl"
    rows = [{"id": "a", "text": "What is 2 + 2?", "score": 0.2}, {"id": "b", "text": "what is 2+2", "score": 0.9},
            {"id": "c", "text": "What is 2 + 3?", "score": 0.5}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = CurateConfig(steps=["exact"], quality_field="score")
    result = curate(load_inputs([src], config), config)
    decisions = {d["task_id"]: d for d in result.decisions.to_pylist()}
    assert decisions["b"]["keep"] and not decisions["a"]["keep"] and decisions["a"]["evidence"]["matched_id"] == "b"
    assert decisions["c"]["keep"]


def test_cli_errors_are_one_line_with_the_fix(tmp_path, task_files, capsys):
    pa_, *_ = task_files
    assert main(["curate", "--in", str(pa_), "--out", str(tmp_path / "o.parquet"), "--steps", "decontam"]) == 2
    assert "--benchmarks" in capsys.readouterr().err
    theirs = tmp_path / "t.jsonl"
    theirs.write_text(json.dumps({"id": 1, "question": "q"}) + "\n")
    assert main(["curate", "--in", str(pa_), str(theirs), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "mix" in capsys.readouterr().err


def test_pipeline_stage_curates_upstream_tables(tmp_path, task_files):
    pa_, pb, a, b = task_files
    pipeline = Pipeline.from_mapping({
        "seed": 0,
        "stages": [
            {"name": "arith", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 20}},
            {"name": "arith_again", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 10}},
            {"name": "curate", "type": "curate", "with": {"steps": ["exact", "minhash"]}},
        ],
    })
    results = run_pipeline(pipeline, tmp_path / "run")
    rec, ran = results[-1]
    assert ran and rec.counts["in"] == 30 and rec.counts["kept"] == 20
    assert rec.counts["dropped"] == {"duplicate_id": 10}
    assert "in 30 = kept 20" in rec.summary
    kept = Task.read_parquet(tmp_path / "run" / "curate" / "tasks.parquet")
    assert len(kept) == 20
    assert pq.read_table(tmp_path / "run" / "curate" / "decisions.parquet").num_rows == 30 + 20
    results = run_pipeline(pipeline, tmp_path / "run")
    assert results[-1][1] is False, "an identical re-run is skipped"


def test_steps_survive_pickling_for_other_workers(tmp_path):
    """What Ray Data's map_batches needs: a step pickled to another process scores a record batch
    exactly as the original does."""
    import pickle

    from rlvr.curate.items import items_from_tasks
    from rlvr.curate.runner import build_steps

    tasks = gym_tasks(20, seed=4)
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"id": f"b{i}", "question": t.prompt_text}) + "\n" for i, t in enumerate(tasks[:3])))
    config = CurateConfig(steps=["exact", "structural", "decontam", "minhash"], benchmarks=[str(bench)])
    batch = items_from_tasks(tasks).to_batches()[0]
    for step in build_steps(config):
        clone = pickle.loads(pickle.dumps(step))
        assert clone.score(batch).equals(step.score(batch)), step.name


def test_config_rejects_bad_settings():
    for kwargs in CurateConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            CurateConfig(**kwargs)
    assert CurateConfig(steps=["exact,minhash"]).step_names() == ["exact", "minhash"]
    assert CurateConfig(benchmarks=["x.jsonl"]).step_names() == ["exact", "structural", "decontam", "minhash"]
