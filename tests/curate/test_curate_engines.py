"""The out-of-core engines decide exactly what the in-memory runner decides, on task tables and on text."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest
from conftest import shared_file
from planted import farm_task, gym_tasks, light_edit, read_benchmark, task

from rlvr.cli import main
from rlvr.curate.config import CurateConfig
from rlvr.curate.engine import LocalEngine
from rlvr.curate.runner import build_steps, curate_files
from rlvr.curate.stream import ItemSource
from rlvr.records import Task

STEPS = "exact,structural,decontam,minhash"
PROSE = [
    "The committee met on 12 March 1998 and agreed to publish the annual report in two volumes, the first "
    "covering finance and the second covering the work of the regional offices over the previous year. "
    "Members also asked the secretary to circulate the minutes well before the next meeting, so that the "
    "smaller branches could send their comments in writing instead of travelling to the capital.",
    "Rivers carry sediment from the mountains to the sea, and where the current slows near the coast the "
    "sand and silt settle out to form broad deltas that shift their channels every few decades.",
    "A good bread dough needs time more than it needs effort: after a short knead, leave it covered for an "
    "hour and the gluten will develop on its own while the yeast fills it with small bubbles.",
]


def _decision_set(table) -> set[tuple]:
    out = set()
    for d in table.to_pylist():
        ev = d["evidence"]
        score = None if ev["score"] is None else round(ev["score"], 9)
        out.add((d["task_id"], d["stage"], d["keep"], d["reason"], ev["matched_id"], ev["source"], score,
                 ev["detail"]))
    return out


@pytest.fixture
def task_files(tmp_path):
    rng = random.Random(11)
    farms = [farm_task(c, h) for c in range(1, 6) for h in range(1, 5)]
    gym = gym_tasks(40, seed=4)
    a = farms + gym
    b = [task(light_edit(t.prompt_text, rng)[0], t.answer, kind=t.kind) for t in gym[:10]] + farms[:3]
    b.append(farm_task(2, 2, name="Ahmed"))  # structural duplicate of farm_task(2, 2)
    gsm8k = read_benchmark(shared_file("benchmarks", "gsm8k_test.jsonl"))
    b += [task(r["question"], r["answer"]) for r in gsm8k[:3]]  # contaminated
    b.append(task(light_edit(gsm8k[3]["question"], rng)[0], gsm8k[3]["answer"]))
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    Task.write_parquet(paths[0], a)
    Task.write_parquet(paths[1], b)
    return paths


@pytest.fixture
def text_files(tmp_path):
    rng = random.Random(3)
    rows = [{"id": f"p{i}", "text": t} for i, t in enumerate(PROSE)]
    # Near copies of prose that differ in a number: duplicates of text (the numbers guard is off for plain text).
    rows.append({"id": "p0-year", "text": PROSE[0].replace("1998", "1999")})
    rows.append({"id": "p1-edit", "text": PROSE[1].replace("every few decades", "every few decades or so")})
    rows += [{"id": f"q{i}", "text": f"Question {i}: how many legs do {i} cats and {i + 2} birds have?"}
             for i in range(20)]
    rows.append({"id": "q3-upper", "text": rows[-17]["text"].upper()})
    first = tmp_path / "one.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{not json\n" + json.dumps({"id": "x"}) + "\n")
    second = tmp_path / "two.jsonl"  # an id seen in the first file again: quarantined, as the readers do
    second.write_text(json.dumps({"id": "p2", "text": PROSE[2]}) + "\n"
                      + json.dumps({"id": "r1", "text": light_edit(PROSE[2], rng)[0]}) + "\n")
    return [first, second]


def _bench() -> list[str]:
    return ["--benchmarks", str(shared_file("benchmarks", "gsm8k_test.jsonl"))]


def _memory(paths, out, config_args):
    assert main(["curate", "--in", *map(str, paths), "--out", str(out), "--steps", STEPS, "--no-progress",
                 *_bench(), *config_args]) == 0
    return pq.read_table(out.with_name(out.name.split(".")[0] + ".decisions.parquet"))


@pytest.mark.parametrize("kind", ["tasks", "text"])
def test_local_engine_equals_memory(kind, task_files, text_files, tmp_path, capsys):
    paths = task_files if kind == "tasks" else text_files
    suffix = ".parquet" if kind == "tasks" else ".jsonl"
    mem = _memory(paths, tmp_path / f"mem{suffix}", [])
    mem_printed = capsys.readouterr().out
    local = _memory(paths, tmp_path / f"local{suffix}", ["--engine", "local", "--batch-size", "7",
                                                         "--work-dir", str(tmp_path / "work")])
    local_printed = capsys.readouterr().out
    assert _decision_set(local) == _decision_set(mem)
    if kind == "tasks":
        assert pq.read_table(tmp_path / "local.parquet").equals(pq.read_table(tmp_path / "mem.parquet"))
    else:
        assert (tmp_path / "local.jsonl").read_text() == (tmp_path / "mem.jsonl").read_text()
    # The same books (the timing column aside).
    strip = [line.split("(")[0] for line in mem_printed.splitlines() if not line.startswith("wrote")]
    assert [line.split("(")[0] for line in local_printed.splitlines() if not line.startswith("wrote")] == strip
    if kind == "text":
        near = {d["task_id"]: d for d in mem.to_pylist() if d["reason"] == "near_duplicate"}
        assert {"p0-year", "p1-edit"} <= set(near)
        assert all("numbers guard off (plain text)" in d["evidence"]["source"] for d in near.values())
        quarantine = pq.read_table(tmp_path / "local.quarantine.parquet").to_pylist()
        assert any("duplicate id 'p2'" in q["reason"] for q in quarantine)
        assert any("invalid JSON" in q["reason"] for q in quarantine)


def test_numbers_guard_stays_on_for_task_tables(tmp_path):
    story = ("A farmer keeps animals on a small hill farm far from the nearest town, and every morning she walks "
             "the fields to count them before the market opens. Today she counts {} cows and 7 hens in the lower "
             "field, and none of them are missing. How many legs do the animals in the lower field have?")
    a, b = task(story.format(12), 62), task(story.format(13), 66)
    path = tmp_path / "t.parquet"
    Task.write_parquet(path, [a, b])
    config = CurateConfig(steps=["minhash"], engine="local", same_answer=False)
    result, _ = curate_files([path], config, tmp_path / "k.parquet", tmp_path / "d.parquet", None)
    assert result.counts["kept"] == 2
    loose = CurateConfig(steps=["minhash"], engine="local", same_answer=False, same_numbers=False)
    result, _ = curate_files([path], loose, tmp_path / "k.parquet", tmp_path / "d.parquet", None)
    assert result.counts["kept"] == 1
    assert "numbers guard off (set)" in str(pq.read_table(tmp_path / "d.parquet").to_pylist())


def test_engine_keeps_one_batch_of_records_and_reads_inputs_in_batches(task_files, tmp_path):
    config = CurateConfig(steps=["exact", "minhash"], engine="local", batch_size=5)
    source = ItemSource(task_files, config)
    sizes = [b.num_rows for b in source.batches()]
    assert max(sizes) <= 5 and sum(sizes) == source.n_rows
    engine = LocalEngine(config, tmp_path / "w")
    result = engine.run(source, build_steps(config))
    assert (tmp_path / "w" / "shingles.u64").exists() and list((tmp_path / "w" / "bands").glob("part-*.arrow"))
    assert result.counts["in"] == source.n_rows


def test_steps_that_need_all_items_refuse_the_out_of_core_engines():
    with pytest.raises(ValueError, match="--engine memory"):
        CurateConfig(steps=["exact", "semantic"], engine="local")
    with pytest.raises(ValueError, match="lsh_redis"):
        CurateConfig(steps=["minhash"], engine="local", lsh_redis="redis://localhost:6379/0")


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray (2 CPUs, a small object store: the test stays well under 3 GB)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, object_store_memory=200 * 1024 * 1024, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tasks", "text"])
def test_ray_engine_equals_local(kind, local_ray, task_files, text_files, tmp_path):
    paths = task_files if kind == "tasks" else text_files
    suffix = ".parquet" if kind == "tasks" else ".jsonl"
    out = {}
    for engine in ("local", "ray"):
        config = CurateConfig(steps=STEPS.split(","), engine=engine, batch_size=9, benchmarks=_bench()[1:],
                              paraphrase=False)
        result, files = curate_files(paths, config, tmp_path / f"{engine}{suffix}",
                                     tmp_path / f"{engine}.decisions.parquet", None)
        out[engine] = (result.counts, _decision_set(pq.read_table(files["decisions"])))
    assert out["ray"] == out["local"]
    kept = [d for d in out["ray"][1] if d[2] and d[1] == "minhash"]
    assert len(kept) == out["ray"][0]["kept"]
    if kind == "tasks":
        assert out["ray"][0]["dropped"]["contaminated_ngram"] == 4


def test_pipeline_stage_runs_the_local_engine(tmp_path):
    from rlvr.pipeline import Pipeline, run_pipeline

    counts = {}
    for engine in ("memory", "local"):
        spec = {"seed": 0, "stages": [
            {"name": "arith", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 20}},
            {"name": "arith_again", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 10}},
            {"name": "curate", "type": "curate", "with": {"steps": ["exact", "minhash"], "engine": engine}}]}
        rec, ran = run_pipeline(Pipeline.from_mapping(spec), tmp_path / engine)[-1]
        assert ran
        counts[engine] = rec.counts
    assert counts["local"] == counts["memory"] == {"in": 30, "kept": 20, "dropped": {"duplicate_id": 10},
                                                   "quarantined": 0}
