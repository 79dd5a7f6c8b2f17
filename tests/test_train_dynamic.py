"""DAPO dynamic sampling and TRR++ advantages in the GRPO step (rlvr.train.dynamic), on the tiny model."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from rlvr.records import RolloutGroup
from rlvr.synth.toy import FirstCharConfig, first_char_tasks
from rlvr.train.config import TrainConfig
from rlvr.train.dynamic import concat_outputs, group_mixed, trr_advantages
from rlvr.train.loop import train
from rlvr.train.tiny import make_tiny_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def tasks():
    return first_char_tasks(48, seed=1, config=FirstCharConfig(1, 30))


def config(**kw) -> TrainConfig:
    base = dict(model="tiny", steps=4, prompts_per_step=4, num_generations=4, max_completion_length=6,
                learning_rate=1e-3, probe_every=2, probe_k=4, save_every=2, selector="uniform", seed=0)
    return TrainConfig(**{**base, **kw})


def run(tmp_path, tasks, **kw):
    model, tok = make_tiny_model()
    result = train(config(**kw), tasks, tmp_path, model=model, tokenizer=tok)
    groups = [g for g in RolloutGroup.read_parquet(tmp_path / "rollouts.parquet") if g.phase == "train"]
    return result, groups


def test_dynamic_sampling_trains_only_mixed_groups(tmp_path, tasks):
    result, groups = run(tmp_path, tasks, dynamic_sampling=True, dynamic_oversample=2.0, dynamic_max_rounds=10)
    trained = [g for g in groups if g.meta.get("trained", True)]
    dropped = [g for g in groups if not g.meta.get("trained", True)]
    assert Counter(g.step for g in trained) == {s: 4 for s in range(4)}  # every batch is full
    assert all(g.mixed for g in trained), "a zero-variance group was trained"
    assert all(any(a != 0 for a in g.meta["advantages"]) for g in trained)
    assert dropped and all(g.meta["dropped"] in ("zero_variance", "overflow") for g in dropped)
    assert all(not g.mixed for g in dropped if g.meta["dropped"] == "zero_variance")
    assert len({(g.step, g.task_id) for g in groups}) == len(groups)  # a refill never repeats a task in a step
    assert any(g.meta["round"] > 0 for g in groups), "the pool should need refills for this test to mean anything"
    c = result.counts
    assert c["zero_variance_fraction"] == 0.0 and c["groups"] == 16
    assert c["generated_groups"] == len(groups) == c["dynamic_generated_groups"]
    assert c["generated_rollouts"] == 4 * len(groups) and c["dynamic_padded_groups"] == 0
    assert c["dynamic_trained_groups"] == 16
    assert c["dynamic_filtered_groups"] == sum(not g.mixed for g in groups)
    assert c["dynamic_rounds"] >= 4 and c["generated_zero_variance_fraction"] > 0
    # the selector saw every generated group, dropped or not
    from rlvr.select.store import PassRateStore

    store = PassRateStore.load(tmp_path / "pass_rates.parquet")
    assert int(store.n_groups.sum()) == len(groups)


@pytest.mark.parametrize("advantage", ["grpo", "trr++"])
def test_rounds_exhausted_pads_with_masked_groups(tmp_path, tasks, advantage):
    result, groups = run(tmp_path, tasks, dynamic_sampling=True, dynamic_oversample=1.0, dynamic_max_rounds=1,
                         steps=2, probe_every=2, save_every=2, advantage=advantage)
    padded = [g for g in groups if g.meta.get("dropped") == "padding"]
    trained = [g for g in groups if g.meta.get("trained", True)]
    assert padded and all(not g.mixed and g.meta["advantages"] == [0.0] * 4 for g in padded)
    assert all(g.mixed for g in trained)
    assert Counter(g.step for g in groups) == {0: 4, 1: 4}  # one round: nothing more was generated
    assert result.counts["dynamic_padded_groups"] == len(padded)
    if advantage == "trr++":  # the baseline is taken over the trained rows only
        assert trained
        for step in (0, 1):
            rows = [(r, a) for g in trained if g.step == step for r, a in zip(g.rewards, g.meta["advantages"])]
            rewards = [r for r, _ in rows]
            if not rows:  # every group of the step was padding
                continue
            mean = sum(rewards) / len(rewards)
            std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1))
            assert all(a == pytest.approx((r - mean) / (std + 1e-4), abs=1e-5) for r, a in rows)


def test_trr_plus_plus_normalises_over_the_batch(tmp_path, tasks):
    _, groups = run(tmp_path, tasks, advantage="trr++", steps=2, save_every=2)
    for step in (0, 1):
        rows = [(r, a) for g in groups if g.step == step for r, a in zip(g.rewards, g.meta["advantages"])]
        rewards = [r for r, _ in rows]
        if len(set(rewards)) < 2:
            continue
        mean = sum(rewards) / len(rewards)
        std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1))
        for r, a in rows:  # one (kind, role) key: the whole batch shares the baseline
            assert a == pytest.approx((r - mean) / (std + 1e-4), abs=1e-5)
        # all-equal groups still get a signal under batch normalisation, unlike per-group GRPO
        assert any(not g.mixed and any(a != 0 for a in g.meta["advantages"]) for g in groups if g.step == step)


def test_trr_advantages_per_key_and_group_mixed():
    rewards = [1.0, 0.0, 1.0, -1.0, -0.5, 0.5, 3.0, float("nan")]
    keys = [("a", "solve")] * 3 + [("a", "propose")] * 3 + [("b", "solve")] * 2
    adv = trr_advantages(rewards, keys)
    assert adv[6] == 0.0 and adv[7] == 0.0  # one finite reward in its key; NaN row
    assert sum(adv[:3]) == pytest.approx(0.0, abs=1e-9) and sum(adv[3:6]) == pytest.approx(0.0, abs=1e-9)
    assert adv[0] == pytest.approx((1 - 2 / 3) / (math.sqrt(1 / 3) + 1e-4))
    assert adv[3] == pytest.approx((-1 + 1 / 3) / (math.sqrt(21 / 36) + 1e-4))
    assert group_mixed([0.0, 1.0]) and not group_mixed([1.0, 1.0]) and not group_mixed([0.5, float("nan")])


def test_concat_outputs_pads_prompts_left_and_completions_right():
    import torch

    a = {"prompt_ids": torch.tensor([[7, 8], [9, 9]]), "prompt_mask": torch.ones(2, 2, dtype=torch.long),
         "completion_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "completion_mask": torch.ones(2, 3, dtype=torch.long),
         "advantages": torch.tensor([0.5, -0.5]), "num_items_in_batch": torch.tensor(6)}
    b = {"prompt_ids": torch.tensor([[1, 2, 3]]), "prompt_mask": torch.ones(1, 3, dtype=torch.long),
         "completion_ids": torch.tensor([[5]]), "completion_mask": torch.ones(1, 1, dtype=torch.long),
         "advantages": torch.tensor([1.0]), "num_items_in_batch": torch.tensor(1)}
    out = concat_outputs([(a, [1]), (b, [0])], pad_token_id=0)
    assert out["prompt_ids"].tolist() == [[0, 9, 9], [1, 2, 3]]
    assert out["prompt_mask"].tolist() == [[0, 1, 1], [1, 1, 1]]
    assert out["completion_ids"].tolist() == [[4, 5, 6], [5, 0, 0]]
    assert out["completion_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert out["advantages"].tolist() == [-0.5, 1.0] and int(out["num_items_in_batch"]) == 4
    with pytest.raises(RuntimeError, match="pixel_values"):
        concat_outputs([({**a, "pixel_values": torch.zeros(2, 1)}, [0])], pad_token_id=0)


def test_resumed_dynamic_run_keeps_ledger_and_costs_consistent(tmp_path, tasks):
    kw = dict(dynamic_sampling=True, dynamic_oversample=2.0, dynamic_max_rounds=10, save_every=2)
    run(tmp_path, tasks, steps=2, **kw)
    result, groups = run(tmp_path, tasks, steps=4, **kw)  # resumes from checkpoint-2
    trained = [g for g in groups if g.meta.get("trained", True)]
    assert Counter(g.step for g in trained) == {s: 4 for s in range(4)} and all(g.mixed for g in trained)
    assert len({(g.step, g.task_id) for g in groups}) == len(groups)
    c = result.counts  # the costs before the resume are carried over, not lost or counted twice
    assert c["dynamic_steps"] == 4 and c["dynamic_generated_groups"] == len(groups) == c["generated_groups"]
    assert c["dynamic_trained_groups"] == 16
