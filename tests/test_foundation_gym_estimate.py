"""The reasoning-gym family and offline pass-rate estimation."""

from __future__ import annotations

import pytest

from rlvr.cli import main
from rlvr.io.tasks import read_tasks
from rlvr.models.backends import Completion
from rlvr.models.rollouts import EstimateConfig, estimate, merge_estimate
from rlvr.records import RolloutGroup, Task
from rlvr.synth.gym import GymConfig, GymGenerator, GymStageConfig, extract_answer, make_tasks

rg = pytest.importorskip("reasoning_gym")


def test_neighbouring_seeds_do_not_overlap_unlike_reasoning_gym():
    # reasoning-gym's own seeding: seed 0 item 1 is seed 1 item 0.
    a = rg.create_dataset("basic_arithmetic", seed=0, size=5)
    b = rg.create_dataset("basic_arithmetic", seed=1, size=5)
    assert a[1]["question"] == b[0]["question"]
    ours0 = {t.prompt_text for t in make_tasks(GymStageConfig(name="basic_arithmetic", n=300, seed=0))}
    ours1 = {t.prompt_text for t in make_tasks(GymStageConfig(name="basic_arithmetic", n=300, seed=1))}
    assert len(ours0 & ours1) <= 3  # only chance collisions of tiny expressions


def test_gym_tasks_carry_provenance_and_reject_bad_configs():
    gen = GymGenerator(GymConfig("leg_counting", {"min_animals": 2, "max_animals": 3}))
    t = gen.generate(4, 9)
    assert t.kind == "gym.leg_counting" and t.provenance.seed == 4 and t.provenance.index == 9
    assert t.provenance.config_fingerprint == gen.fingerprint and t.provenance.version.startswith("1+")
    with pytest.raises(ValueError, match="unknown reasoning-gym dataset 'nope'; valid: .*leg_counting"):
        GymGenerator(GymConfig("nope"))
    with pytest.raises(ValueError, match="no reference answer"):
        GymGenerator(GymConfig("rush_hour")).generate(0, 0)
    with pytest.raises(ValueError, match="at least 1"):
        GymStageConfig(n=0)


def test_answer_extraction_conventions():
    assert extract_answer("think... <answer> 12 </answer>") == "12"
    assert extract_answer("<answer>1</answer> then <answer>2</answer>") is None  # two final answers: ambiguous
    assert extract_answer("<answer>2</answer> then <answer>2</answer>") == "2"
    assert extract_answer("so \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert extract_answer("work\n**Answer:** 7") == "7"
    assert extract_answer("no final answer") is None


def test_synth_gym_cli(tmp_path, capsys):
    out = tmp_path / "t.parquet"
    assert main(["synth", "gym", "--name", "basic_arithmetic", "--config", "min_terms=3", "--config", "max_terms=3",
                 "--n", "5", "--seed", "2", "--out", str(out)]) == 0
    tasks = read_tasks(out)
    assert len(tasks) == 5 and all(t.verifier.params["config"] == {"min_terms": 3, "max_terms": 3} for t in tasks)
    assert main(["synth", "gym", "--name", "basic_arithmetic", "--config", "bogus=1", "--n", "2", "--out", str(out)]) == 2
    assert "bogus" in capsys.readouterr().err


class ScriptedBackend:
    """Answers right on even-numbered samples, wrong (or unformatted) otherwise."""

    name = "scripted"

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        self.prompts = prompts
        return [[Completion(f"<answer>{p[-1]['content']}</answer>" if i % 2 else "no idea", 5) for i in range(n)]
                for p in prompts]


def test_estimate_records_pass_rates_and_groups():
    tasks = make_tasks(GymStageConfig(name="leg_counting", n=5, seed=0))
    backend = ScriptedBackend()
    # Make the "right" answer the gold one by putting it where the scripted backend looks.
    for t in tasks:
        t.prompt[-1] = type(t.prompt[-1])("user", str(t.answer))
    updated, groups = estimate(tasks, backend, EstimateConfig(k=4, batch_size=2), progress=False)
    assert [t.task_id for t in updated] == [t.task_id for t in tasks]
    assert all(t.difficulty.pass_rate == 0.5 and t.difficulty.evidence == 4 for t in updated)
    assert all(isinstance(g, RolloutGroup) and g.statuses.count("format_error") == 2 for g in groups)
    merged = merge_estimate(updated[0], [1.0, 1.0, 1.0, 1.0])
    assert merged.difficulty.pass_rate == 0.75 and merged.difficulty.evidence == 8
    with pytest.raises(ValueError, match="k must be at least 1"):
        EstimateConfig(k=0)


@pytest.mark.slow
def test_select_estimate_cli_with_bundled_model(tmp_path):
    tasks_path = Task.write_parquet(tmp_path / "t.parquet", make_tasks(GymStageConfig(name="leg_counting", n=3)))
    out = tmp_path / "e.parquet"
    assert main(["select", "estimate", "--tasks", str(tasks_path), "--k", "2", "--max-new-tokens", "24",
                 "--out", str(out)]) == 0
    tasks = read_tasks(out)
    assert all(t.difficulty.evidence == 2 and t.difficulty.pass_rate is not None for t in tasks)
    assert len(RolloutGroup.read_parquet(tmp_path / "e.rollouts.parquet")) == 3
