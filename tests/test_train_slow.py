"""Slow training tests: the planted experiment with the bundled SmolLM2 through `rlvr train`, and the
zero-variance comparison of selectors on the tiny model.

The planted run is also the slow end-to-end run with the real model: SmolLM2-135M partly solves
the toy.initial tasks (about 40%), so its groups are mixed, it learns, and every output is made.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rlvr.records import RolloutGroup, Task, Value

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from rlvr.train.planted import planted_tasks

    base = tmp_path_factory.mktemp("planted")
    train_tasks, probe = planted_tasks(n_per_source=8, n_probe=12, seed=0)
    tasks = Task.write_parquet(base / "planted.parquet", train_tasks)
    probe_file = Task.write_parquet(base / "probe.parquet", probe)
    # the same shared cache conftest gives every test (module fixtures run before its autouse one)
    cache = os.environ.get("RLVR_TEST_CACHE") or str(tmp_path_factory.getbasetemp().parent / "rlvr-test-cache")
    env = {**os.environ, "RLVR_CACHE": cache, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "rlvr", "train", "--tasks", str(tasks), "--probe-tasks", str(probe_file),
           "--out", str(base / "run"), "--selector", "uniform", "--steps", "16", "--prompts-per-step", "4",
           "--num-generations", "4", "--max-completion-length", "4", "--probe-every", "4", "--probe-k", "4",
           "--save-every", "8",
           # under the suite's 3 GB per process: AdamW's two moments alone are 1 GB for 135M weights
           "--optimizer", "adafactor", "--memory-gb", "2.6"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    return base / "run" / "train", done.stdout


def _by_source(folder):
    return {v.key: v for v in Value.read_parquet(folder / "value.parquet") if v.level == "source"}


def test_planted_helpful_ranks_above_mastered_and_impossible(planted):
    folder, _ = planted
    src = _by_source(folder)
    assert set(src) == {"helpful", "poisoned", "mastered", "impossible"}
    helpful, mastered, impossible = src["helpful"], src["mastered"], src["impossible"]
    assert helpful.influence > 0
    assert helpful.meta["rank"] < mastered.meta["rank"] and helpful.meta["rank"] < impossible.meta["rank"]
    # what makes them mastered and impossible, measured rather than assumed
    assert mastered.pass_rate_first >= 0.75 and impossible.n_mixed_groups == 0 and impossible.influence == 0.0
    assert helpful.n_mixed_groups > 0 and helpful.advantage_mass > mastered.advantage_mass


def test_planted_poisoned_source_has_negative_influence(planted):
    folder, _ = planted
    poisoned = _by_source(folder)["poisoned"]
    assert poisoned.n_mixed_groups > 0  # the model does start with "A" sometimes: GRPO learns the poison
    assert poisoned.influence < 0
    report = (folder / "report.html").read_text()
    assert "Most harmful tasks" in report and "no task had negative influence" not in report


def test_bundled_model_end_to_end_outputs(planted):
    folder, stdout = planted
    assert f"report: {folder / 'report.html'}" in stdout
    groups = RolloutGroup.read_parquet(folder / "rollouts.parquet")
    train = [g for g in groups if g.phase == "train"]
    assert len(train) == 64 and any(g.mixed for g in train)
    assert {g.step for g in groups if g.phase == "probe"} == {0, 4, 8, 12, 16}
    assert all(len(g.meta["completions"]) == 4 for g in train)
    for name in ("value.parquet", "weaknesses.parquet", "tasks.parquet", "pass_rates.parquet",
                 "probe_tasks.parquet"):
        assert (folder / name).exists()
    assert (folder / "checkpoints" / "checkpoint-16" / "model.safetensors").exists()


def test_variance_and_insight_halve_zero_variance_groups(tmp_path):
    """30 CPU steps on one pool, three seeds (pool, model and sampling): the zero-variance group
    fraction of variance and of InSight (the default) is at most half of uniform's on average.
    A single 30-step run has only 120 groups; its ratio ranges about 0.3-0.55, so one seed alone
    would test the noise (benchmarks/train_overhead.py prints the per-seed figures)."""
    import torch

    from rlvr.models.backends import TransformersBackend
    from rlvr.models.rollouts import EstimateConfig, estimate
    from rlvr.synth.toy import FirstCharConfig, first_char_tasks
    from rlvr.train.config import TrainConfig
    from rlvr.train.loop import train
    from rlvr.train.tiny import make_tiny_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    fractions: dict[str, list[float]] = {"uniform": [], "variance": [], "insight": []}
    try:
        for seed in (0, 1, 2):
            pool = first_char_tasks(48, seed=seed, config=FirstCharConfig(1, 30))
            model, tok = make_tiny_model(seed=seed)
            pool, _ = estimate(pool, TransformersBackend.from_model(model, tok, batch_size=64),
                               EstimateConfig(k=8, max_new_tokens=4, seed=seed), progress=False)
            for name in fractions:
                model, tok = make_tiny_model(seed=seed)
                cfg = TrainConfig(model="tiny", steps=30, prompts_per_step=4, num_generations=4,
                                  max_completion_length=4, learning_rate=1e-4, selector=name, influence=False,
                                  report=False, probe_fraction=0.0, save_every=30, seed=seed)
                fractions[name].append(train(cfg, pool, tmp_path / f"{name}-{seed}", model=model,
                                             tokenizer=tok).counts["zero_variance_fraction"])
    finally:
        torch.set_num_threads(threads)
    mean = {name: sum(f) / len(f) for name, f in fractions.items()}
    print("zero-variance group fraction per seed:", fractions, "mean:", mean)
    assert mean["uniform"] > 0.4  # the pool has plenty of never/always-solved tasks
    assert mean["variance"] <= 0.5 * mean["uniform"]
    assert mean["insight"] <= 0.5 * mean["uniform"]
