"""Unit tests of rlvr.train's pure parts: config -> TRL config, probe split, ledger, values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from rlvr.records import Message, Provenance, RolloutGroup, Task, VerifierSpec
from rlvr.train.config import TrainConfig
from rlvr.train.data import Keys, split_probe, task_keys
from rlvr.train.ledger import Ledger, covered_by
from rlvr.train.value import compute_values, slope, trajectory

# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("kwargs", TrainConfig.BAD_EXAMPLES)
def test_bad_train_config_raises(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_unknown_selector_and_select_setting_fail_early():
    with pytest.raises(ValueError, match="unknown selector"):
        TrainConfig(selector="nope")
    with pytest.raises(ValueError, match="unknown setting"):
        TrainConfig(select={"explor": 0.1})
    with pytest.raises(ValueError, match="num_generations"):
        TrainConfig(select={"k": 4})
    sc = TrainConfig(selector="variance", num_generations=4, select={"explore": 0.2}).select_config()
    assert (sc.selector, sc.k, sc.explore) == ("variance", 4, 0.2)


def test_cpu_grpo_config_is_what_trl_needs(tmp_path):
    from trl import GRPOConfig

    cfg = TrainConfig(prompts_per_step=4, num_generations=8, micro_batches=2, steps=7, loss_type="dr_grpo")
    kw = cfg.grpo_kwargs(str(tmp_path))
    assert (kw["use_cpu"], kw["bf16"], kw["gradient_checkpointing"]) == (True, False, False)
    assert "use_vllm" not in kw
    args = GRPOConfig(**kw)
    # one optimizer step = prompts_per_step groups of num_generations, generated together
    assert args.generation_batch_size == 32 and args.steps_per_generation == 2
    assert args.per_device_train_batch_size == 16 and args.gradient_accumulation_steps == 2
    assert (args.loss_type, args.max_steps, args.epsilon_high, args.scale_rewards) == ("dr_grpo", 7, 0.28, "group")
    assert args.ignore_data_skip and not args.remove_unused_columns


def test_cuda_config_uses_bf16_and_vllm_colocate_or_server(tmp_path):
    import trl

    fields = {f.name for f in dataclasses.fields(trl.GRPOConfig)}
    one = TrainConfig(device="cuda").grpo_kwargs(str(tmp_path), visible_gpus=1)
    assert one["bf16"] and not one["use_cpu"] and one["use_vllm"] and one["vllm_mode"] == "colocate"
    assert one["vllm_gpu_memory_utilization"] == 0.3
    several = TrainConfig(device="cuda", vllm_server_base_url="http://gpu0:8000").grpo_kwargs(str(tmp_path),
                                                                                               visible_gpus=4)
    assert several["vllm_mode"] == "server" and several["vllm_server_base_url"] == "http://gpu0:8000"
    plain = TrainConfig(device="cuda", use_vllm=False).grpo_kwargs(str(tmp_path), visible_gpus=1)
    assert "use_vllm" not in plain and plain["bf16"]
    for kw in (one, several, plain):
        assert set(kw) <= fields, f"not GRPOConfig fields: {set(kw) - fields}"
    # the same settings construct a GRPOConfig once the GPU-only switches are off (no GPU here)
    trl.GRPOConfig(**{**one, "bf16": False, "use_cpu": True})


def test_lora_config():
    assert TrainConfig().peft_config() is None
    lora = TrainConfig(lora=True, lora_r=4).peft_config()
    assert lora.r == 4 and lora.task_type == "CAUSAL_LM"


# ----------------------------------------------------------------------------- data

def _task(i: int, kind: str = "k.a", source: str = "s1", doc: str | None = None) -> Task:
    return Task(kind=kind, prompt=[Message("user", f"q{i} {kind} {source}")], answer=str(i),
                verifier=VerifierSpec("toy.first_char"), provenance=Provenance("gen." + kind, doc_id=doc),
                meta={"source": source})


def test_probe_split_is_stratified_deterministic_and_disjoint():
    tasks = ([_task(i, "k.a", "s1") for i in range(40)] + [_task(i, "k.b", "s1") for i in range(10)]
             + [_task(i, "k.a", "s2") for i in range(3)] + [_task(0, "k.c", "s3")])
    train, probe = split_probe(tasks, 0.1, 64, seed=3)
    again = split_probe(tasks, 0.1, 64, seed=3)[1]
    assert [t.task_id for t in probe] == [t.task_id for t in again]
    assert {t.task_id for t in train}.isdisjoint({t.task_id for t in probe})
    assert len(train) + len(probe) == len(tasks)
    strata = {(t.kind, t.meta["source"]) for t in probe}
    assert strata == {("k.a", "s1"), ("k.b", "s1"), ("k.a", "s2")}  # the single-task stratum stays in training
    assert sum(t.kind == "k.a" and t.meta["source"] == "s1" for t in probe) == 4
    capped = split_probe(tasks, 0.5, 5, seed=3)[1]
    assert len(capped) == 5
    assert split_probe(tasks, 0.0, 5, seed=3)[1] == []


def test_task_keys_prefer_document_source():
    from rlvr.records import Document

    t = _task(1, doc="d1")
    assert task_keys(t) == Keys("gen.k.a", "d1", "s1", "k.a")
    assert task_keys(t, {"d1": Document("d1", "text", source="book")}).source == "book"
    bare = dataclasses.replace(_task(2), meta={})
    assert task_keys(bare).source == "gen.k.a"


# ----------------------------------------------------------------------------- ledger

def _group(step: int, tid: str, rewards: list[float], phase: str = "train") -> RolloutGroup:
    k = len(rewards)
    return RolloutGroup(step=step, task_id=tid, k=k, rewards=rewards, statuses=["ok" if r else "wrong" for r in rewards],
                        completion_lengths=[3] * k, phase=phase)


def test_ledger_restore_drops_rows_after_the_checkpoint(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.add([_group(0, "a", [1, 0]), _group(0, "b", [0, 0])])
    assert ledger.add_influence(0, "a", 0.5) and not ledger.add_influence(3, "a", 1.0)
    first = ledger.flush()
    ledger.add([_group(1, "a", [1, 1])])
    second = ledger.flush()
    ledger.add([_group(2, "c", [0, 1])])  # buffered, never flushed: lost with the process
    assert [g.task_id for g in ledger.read()] == ["a", "b", "a", "c"]
    # a new process resumes from the checkpoint that covered only the first part
    again = Ledger(tmp_path / "ledger")
    assert again.rows_written == 3
    assert again.restore([first]) == 1
    assert [(g.step, g.task_id) for g in again.read()] == [(0, "a"), (0, "b")]
    assert again.read()[0].meta["influence"] == 0.5
    with pytest.raises(RuntimeError, match="gone"):
        again.restore([first, second])
    path, rows = again.consolidate(tmp_path / "rollouts.parquet")
    assert rows == 2 and len(RolloutGroup.read_parquet(path)) == 2


def test_checkpoint_coverage_rule():
    assert covered_by(_group(4, "a", [1, 0]), 5) and not covered_by(_group(5, "a", [1, 0]), 5)
    assert covered_by(_group(5, "a", [1, 0], phase="probe"), 5)


# ----------------------------------------------------------------------------- values

def test_trajectory_labels_and_slope():
    assert slope([0, 1, 2], [0.4, 0.2, 0.0]) == pytest.approx(-0.2)
    assert slope([3], [1.0]) == 0.0
    assert trajectory([], 0) == "unseen"
    assert trajectory([0.2], 0) == "seen_once"
    assert trajectory([0.2, 0.7], 0.5) == "learned"
    assert trajectory([0.8, 0.6, 0.1], -0.3) == "forgotten"
    assert trajectory([0.5, 1.0], 0.5) == "mastered"
    assert trajectory([0.0, 0.25], 0.25) == "improving"
    assert trajectory([0.25, 0.0], -0.25) == "stuck"


def test_values_sws_rule_aggregates_and_ranking():
    tasks = [_task(0, "k.a", "s1"), _task(1, "k.a", "s1"), _task(2, "k.b", "s2"), _task(3, "k.b", "s2")]
    ids = [t.task_id for t in tasks]
    keys = {t.task_id: task_keys(t) for t in tasks}
    groups = [
        _group(0, ids[0], [0, 0, 1, 0]), _group(5, ids[0], [1, 1, 0, 1]),      # learned
        _group(1, ids[1], [1, 0, 0, 0]), _group(6, ids[1], [0, 0, 0, 0]),      # SwS weakness (max .25, down)
        _group(2, ids[2], [0, 0, 0, 0]), _group(7, ids[2], [0, 0, 0, 0]),      # stuck at 0: not a SwS weakness
        _group(3, ids[3], [1, 0, 1, 0], phase="probe"),                        # probe rows are not training value
    ]
    for g, infl in zip(groups, [0.3, 0.1, -0.2, 0.0, 0.0, 0.0]):
        g.meta["influence"] = infl
    values, weak = compute_values(tasks, groups, keys, influence_on=True)
    by = {(v.level, v.key): v for v in values}
    a, b, c, d = (by[("task", i)] for i in ids)
    assert (a.trajectory, b.trajectory, c.trajectory, d.trajectory) == ("learned", "stuck", "stuck", "unseen")
    assert (a.weakness, b.weakness, c.weakness) == (False, True, False)
    assert a.n_mixed_groups == 2 and c.n_mixed_groups == 0 and c.advantage_mass == 0.0
    assert a.influence == pytest.approx(0.4) and b.influence == pytest.approx(-0.2)
    assert [w.task_id for w in weak] == [ids[1]] and weak[0].meta["train"]["pass_rates"] == [0.25, 0.0]
    s1, s2 = by[("source", "s1")], by[("source", "s2")]
    assert (s1.n_tasks, s1.n_groups, s1.meta["failure_ratio"]) == (2, 4, 0.5)
    assert s1.influence == pytest.approx(0.2) and s1.meta["rank"] == 1 and s2.meta["rank"] == 2
    assert s2.meta["seen_tasks"] == 1 and s2.pass_rate_first == 0.0
    assert {v.level for v in values} == {"task", "generator", "source", "kind"}  # no doc ids here
    assert [v.key for v in values if v.level == "task"][0] == ids[0]  # most helpful first
    # vs replacement: s1 (4 groups, +0.2) against s2's 2 groups (0.0, i.e. 0 per group) -> +0.2;
    # s2 (2 groups, 0.0) against s1's 4 groups (+0.05 per group): 0 - 2 * 0.05 = -0.1: dropping a source
    # without gradient hands its steps to the rest
    assert s1.meta["influence_vs_replacement"] == pytest.approx(0.2)
    assert s2.meta["influence_vs_replacement"] == pytest.approx(-0.1)
    for g in groups[:6]:  # per probe unit: the se comes from the same arithmetic per unit
        g.meta["influence_by_probe"] = [g.meta["influence"] / 2, g.meta["influence"] / 2 + 0.01]
        g.meta["influence"] += 0.01
    values, _ = compute_values(tasks, groups, keys, influence_on=True)
    s2 = next(v for v in values if (v.level, v.key) == ("source", "s2"))
    from rlvr.train.influence import bootstrap_se

    rest = [sum(g.meta["influence_by_probe"][u] for g in groups[:4]) for u in range(2)]
    own = [sum(g.meta["influence_by_probe"][u] for g in groups[4:6]) for u in range(2)]
    want = [o - 2 / 4 * r for o, r in zip(own, rest)]
    assert s2.meta["influence_vs_replacement"] == pytest.approx(sum(want))
    # se: the same arithmetic per probe unit, plus the bootstrap over groups: s2's own two groups
    # (both +0.01: no spread) and the rest's four, scaled by the share 2/4
    rest_groups = [g.meta["influence"] for g in groups[:4]]
    rest_var = sum(x * x for x in rest_groups) - sum(rest_groups) ** 2 / 4
    assert s2.meta["influence_vs_replacement_se"] == pytest.approx(math.sqrt(bootstrap_se(want) ** 2
                                                                             + 0.25 * rest_var))
    s1 = next(v for v in values if (v.level, v.key) == ("source", "s1"))
    assert s1.meta["influence_se_groups"] == pytest.approx(math.sqrt(rest_var))
    assert s1.meta["influence_se_probe"] == pytest.approx(bootstrap_se(rest))
    assert s1.influence_se == pytest.approx(math.hypot(math.sqrt(rest_var), bootstrap_se(rest)))


def test_group_bootstrap_is_the_resampling_variance():
    """influence_uncertainty's group part is exactly the variance of the sum when the groups are
    resampled with replacement (checked by resampling), and the probe part adds in quadrature."""
    from rlvr.train.value import influence_uncertainty

    rng = np.random.default_rng(0)
    x = rng.normal(0.01, 0.05, size=7)
    x[:3] = 0.0  # all-equal groups: no influence, but they are part of what a redraw can pick
    draws = rng.choice(x, size=(200_000, len(x)), replace=True).sum(axis=1)
    se, probe, groups = influence_uncertainty(float(x.sum()), len(x), float((x * x).sum()), None)
    assert probe is None and se == groups
    assert groups == pytest.approx(draws.std(), rel=0.01)
    se, probe, groups = influence_uncertainty(float(x.sum()), len(x), float((x * x).sum()), [0.1, -0.1, 0.05])
    assert se == pytest.approx(math.hypot(probe, groups))
    assert influence_uncertainty(0.3, 1, 0.09, None) == (0.0, None, 0.0)  # one group: a redraw gives itself


def test_values_pool_over_runs():
    from rlvr.records import Value
    from rlvr.train.value import across_runs

    def run(helpful, poisoned):
        return [Value(level="source", key="helpful", n_tasks=2, n_groups=4, n_mixed_groups=2, advantage_mass=1.0,
                      pass_rate_first=0.2, pass_rate_last=0.4, trajectory="learned", weakness=False,
                      influence=helpful, meta={"influence_vs_replacement": helpful + 0.01}),
                Value(level="source", key="poisoned", n_tasks=2, n_groups=4, n_mixed_groups=1, advantage_mass=0.5,
                      pass_rate_first=0.2, pass_rate_last=None, trajectory="stuck", weakness=True,
                      influence=poisoned),
                Value(level="task", key="t0", n_tasks=1, n_groups=1, n_mixed_groups=0, advantage_mass=0.0,
                      pass_rate_first=None, pass_rate_last=None, trajectory="unseen", weakness=False)]

    pooled = {v.key: v for v in across_runs([run(0.2, -0.1), run(0.1, -0.3), run(0.3, -0.2)])}
    assert set(pooled) == {"helpful", "poisoned"}  # only the level asked for
    h, p = pooled["helpful"], pooled["poisoned"]
    assert h.influence == pytest.approx(0.2) and h.influence_se == pytest.approx(0.1 / math.sqrt(3))
    assert h.meta["influence_vs_replacement"] == pytest.approx(0.21)
    assert h.meta["influence_vs_replacement_se"] == pytest.approx(0.1 / math.sqrt(3))
    assert (h.n_groups, h.meta["runs"], h.meta["rank"], p.meta["rank"]) == (12, 3, 1, 2)
    assert p.pass_rate_last is None and p.weakness and p.meta["influence_by_run"] == [-0.1, -0.3, -0.2]
    assert across_runs([run(0.2, -0.1)])[0].influence_se is None  # one run: no spread to measure


def test_auto_micro_batches_bound_tokens_per_slice():
    cfg = TrainConfig(prompts_per_step=4, num_generations=4, max_completion_length=96, tokens_per_micro_batch=2048)
    assert cfg.micro_batches == 0
    assert cfg.auto_micro_batches(longest_prompt=100) == 2      # 8 rows of 196 tokens per slice
    assert cfg.auto_micro_batches(longest_prompt=900) == 8      # 2 rows of 996 tokens per slice
    assert cfg.auto_micro_batches(longest_prompt=5000) == 16    # one row per slice at worst
    assert TrainConfig(micro_batches=2, prompts_per_step=4, num_generations=4).auto_micro_batches(5000) == 2


def test_prompts_longer_than_the_limit_are_left_out_and_counted():
    from rlvr.synth.toy import first_char_tasks
    from rlvr.train.loop import fit_prompts
    from rlvr.train.tiny import make_tokenizer

    tok = make_tokenizer()
    tasks = first_char_tasks(6)
    long = dataclasses.replace(tasks[0], prompt=[Message("user", "x " * 400)], task_id="")
    kept, too_long, longest = fit_prompts([*tasks, long], tok, max_tokens=200)
    assert too_long == 1 and long.task_id not in {t.task_id for t in kept} and 0 < longest <= 200
    with pytest.raises(ValueError, match="raise it"):
        fit_prompts([long], tok, max_tokens=10)
