"""One slow end-to-end self-play round with the bundled SmolLM2-135M in every role.

A 135M model rarely solves anything and rarely writes a usable problem, so this test does not
ask for kept tasks: it checks that every stage of the round ran on the real model, that the
books balance (every parent task, completion and candidate accounted for) and that every drop
has a recorded reason. What the model yields is printed for the record.
"""

from __future__ import annotations

import json

import pytest

from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Decision, Task

pytest.importorskip("reasoning_gym")

SMALL = {"max_new_tokens": 64, "solve_max_new_tokens": 48, "k": 2, "batch_size": 16}


@pytest.mark.slow
def test_one_round_with_the_bundled_model(tmp_path):
    spec = {"seed": 0, "stages": [
        {"name": "arithmetic", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 10, "dataset_config": {
            "min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 1}}}],
        "rounds": {"count": 1, "stages": [
            {"name": "train", "type": "train", "inputs": ["arithmetic"], "with": {
                "model": "${policy}", "steps": 1, "prompts_per_step": 2, "num_generations": 2,
                "max_completion_length": 32, "probe_fraction": 0.0, "influence": False, "report": False,
                "save_every": 1, "save_completions": 1000, "selector": "uniform",
                "optimizer": "adafactor"}},  # no AdamW moments: keeps the test process well under 3 GB
            {"name": "svs", "type": "synth.svs", "inputs": ["train"], "with": {
                "backend": "transformers:${policy}", "n_variants": 2, "solve_min": 0.0, "solve_max": 1.0, **SMALL}},
            {"name": "sws", "type": "synth.sws", "inputs": ["train"], "with": {
                "policy_backend": "transformers:${policy}", "rule": "failing", "budget": 2, "max_weak": 2,
                "concept_max_new_tokens": 48, "answer_samples": 2, "min_agreement": 2, "answer_max_new_tokens": 48,
                **SMALL}},
            {"name": "azr", "type": "synth.azr", "with": {
                "backend": "transformers:${policy}", "kinds": ["deduction"], "n": 1, "n_samples": 2,
                "max_new_tokens": 96, "solver_max_new_tokens": 32, "timeout_s": 3}},
            {"name": "curate", "type": "curate", "inputs": ["svs", "sws", "azr"]},
        ]}}
    results = run_pipeline(Pipeline.from_mapping(spec), tmp_path)
    recs = {rec.name: rec for rec, ran in results if ran}
    assert list(recs) == ["arithmetic"] + [f"round-1/{s}" for s in ("train", "svs", "sws", "azr", "curate")]
    assert recs["round-1/svs"].config["backend"].startswith("transformers:/")  # the trained checkpoint

    svs = recs["round-1/svs"].counts
    train_tasks = len(Task.read_parquet(tmp_path / "round-1/train/tasks.parquet"))
    assert sum(svs["parent_tasks"].values()) == train_tasks
    sws = recs["round-1/sws"].counts
    assert sws["weak_tasks_used"] == sws["with_concepts"] + sws["no_concepts"]
    for name, c in (("svs", svs), ("sws", sws)):
        assert c["generated"] == c["kept"] + sum(c["dropped"].values())
        decisions = Decision.read_parquet(tmp_path / f"round-1/{name}/decisions.parquet")
        assert len(decisions) == c["generated"] and all(d.reason for d in decisions)
        assert len(Task.read_parquet(tmp_path / f"round-1/{name}/tasks.parquet")) == c["kept"]
    azr = recs["round-1/azr"].counts
    assert azr["proposals"] == azr["valid"] + azr["invalid"] == 1
    cur = recs["round-1/curate"].counts
    assert cur["in"] == svs["kept"] + sws["kept"] + azr["tasks"]
    assert cur["in"] == cur["kept"] + sum(cur["dropped"].values()) + cur["quarantined"]
    print(json.dumps({n: {k: v for k, v in r.counts.items() if k != "domains"} for n, r in recs.items()
                      if n != "arithmetic"}, indent=1, default=str))


@pytest.mark.slow
def test_svs_synthesis_with_the_bundled_model(tmp_path):
    """The bundled policy hardly ever solves a task in training, so SvS gets a hand-made ledger with one
    correct solution: whatever the model writes, each variant is kept or dropped with a reason."""
    from rlvr.records import Message, Provenance, RolloutGroup, VerifierSpec
    from rlvr.synth.svs.stage import SvSConfig, run

    parent = Task("math.word", [Message("user", "Tom has 3 boxes of 4 pens. How many pens does he have?")], "12",
                  VerifierSpec("final_answer"), Provenance("test", index=0))
    solution = "3 boxes with 4 pens each make 3 * 4 = 12 pens.\nAnswer: 12"
    texts = [solution] + ["Answer: 7"] * 3
    group = RolloutGroup(0, parent.task_id, 4, [1.0, 0.0, 0.0, 0.0], ["ok", "wrong", "wrong", "wrong"], [20] * 4,
                         meta={"completions": texts})
    Task.write_parquet(tmp_path / "train" / "tasks.parquet", [parent])
    RolloutGroup.write_parquet(tmp_path / "train" / "rollouts.parquet", [group])
    result = run(SvSConfig(n_variants=3, **SMALL), [tmp_path / "train" / "tasks.parquet"], tmp_path / "svs")
    c = result.counts
    assert c["solutions"] == 1 and c["generated"] == 3 == c["kept"] + sum(c["dropped"].values())
    decisions = Decision.read_parquet(result.files["decisions"])
    assert len(decisions) == 3 and all(d.reason for d in decisions)
    print(json.dumps({k: c[k] for k in ("generated", "kept", "dropped")}),
          [json.loads(d.evidence.detail).get("problem", "")[:120] for d in decisions])
