"""Self-play roles in one GRPO run (rlvr.train.roles, rlvr.train.role_rewards).

The role rewards are shown on real groups: the reward functions TRL would call score a batch of
proposer, rewriter and solver completions, and the solve rates behind them come from a stub
OpenAI-compatible server that answers each solver task correctly a known number of times (the
program or problem text says how many). A CPU run with the tiny model then trains with the roles
and TRR++ on, end to end.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from types import SimpleNamespace

import pytest
from stubserver import ChatStub, serving

from rlvr.records import Decision, Message, Provenance, RolloutGroup, Task, VerifierSpec
from rlvr.train.dynamic import trr_advantages
from rlvr.train.role_rewards import RoleRewards
from rlvr.train.roles import OnlineRoles, RolesConfig

N = 8  # solver samples


class _Solver(ChatStub):
    """Answers solver prompts right `K` of N times, K read from a `solve K/8` marker in the task."""

    def do_POST(self):
        body = self.body()
        prompt = body["messages"][-1]["content"]
        n = int(body.get("n", 1))
        k = int(re.search(r"solve (\d)/8", prompt).group(1))
        if "```python" in prompt:  # an AZR deduction task: run the program to know the right output
            code = re.search(r"```python\n(.*?)```", prompt, re.DOTALL).group(1)
            args = re.search(r"```input\n(.*?)```", prompt, re.DOTALL).group(1)
            scope: dict = {}
            exec(code, scope)  # the test's own programs
            right = f"```output\n{eval(f'f({args})', scope)!r}\n```"
            wrong = "```output\n'nope'\n```"
        else:  # an SvS variant of "What is 6 times 7?"
            right, wrong = "So \\boxed{42}", "So \\boxed{0}"
        self.send_choices([right if i < k else wrong for i in range(n)])


def program(rate: str, body: str) -> str:
    return f"I plan.\n```python\ndef f(a):\n    tag = 'solve {rate}'\n    return {body}\n```\n```input\n5\n```"


PROPOSALS = [
    (program("3/8", "a * 2"), 1 - 3 / 8, "ok"),  # learnable: 1 - rate
    (program("8/8", "a + 1"), -0.5, "wrong"),  # always solved: learnability 0
    (program("0/8", "a - 1"), -0.5, "wrong"),  # never solved: learnability 0
    ("def f(a): return a", -1.0, "format_error"),  # no blocks
    ("```python\nimport random\ndef f(a):\n    return random.random()\n```\n```input\n1\n```", -1.0, "infeasible"),
]
REWRITES = [
    ("```text\nA box holds 6 rows of 7 eggs. How many eggs? (solve 2/8)\n```", 1.0, "ok"),  # in band
    ("```text\nSeven sixes make how many? (solve 8/8)\n```", 0.0, "wrong"),  # too easy
    ("```text\nHow many days are in six weeks? (solve 0/8)\n```", 0.0, "wrong"),  # never solved
    ("I would ask about eggs.", 0.0, "format_error"),  # nothing extractable
    ("```text\nWhat is 6 times 7?\n```", 0.0, "wrong"),  # copies the parent
]


@pytest.fixture
def parent() -> Task:
    return Task(kind="math.toy", prompt=[Message("user", "What is 6 times 7?")], answer="42",
                verifier=VerifierSpec("final_answer"), provenance=Provenance("test", index=0))


def score_batch(roles: OnlineRoles, rewards, rows: list[tuple[Task, str]], step: int = 3) -> list[float]:
    """Call every reward function the way TRL does on one batch; returns the summed rewards."""
    prompts = [t.chat() for t, _ in rows]
    completions = [[{"role": "assistant", "content": c}] for _, c in rows]
    state = SimpleNamespace(global_step=step)
    total = [0.0] * len(rows)
    for fn in rewards.reward_functions():
        out = fn(prompts=prompts, completions=completions, completion_ids=[[1, 2]] * len(rows), trainer_state=state,
                 task_id=[t.task_id for t, _ in rows])
        for i, r in enumerate(out):
            total[i] += r if r is not None else 0.0
    return total


def test_role_rewards_on_real_groups_and_trr_normalisation(tmp_path, parent):
    roles = OnlineRoles(RolesConfig(propose=1, rewrite=1, solve=1, azr_kinds=("deduction",), k_references=1,
                                    solver_samples=N, timeout_s=5.0), tmp_path, seed=0)
    groups: list[RolloutGroup] = []
    other = Task(kind="np.toy", prompt=[Message("user", "Which tour is shortest? (42)")], answer="42",
                 verifier=VerifierSpec("final_answer"), provenance=Provenance("test", index=1))  # not rewritable
    rewards = RoleRewards([parent, other], None, on_groups=[groups.extend], roles=roles)
    proposer = roles.proposer_task(step=3, i=0)
    rewriter = roles.rewrite_task(parent, "6 times 7 is \\boxed{42}", 0.25, step=2, index=1)
    for t in (proposer, rewriter):
        roles.register(t)
    solves = ["\\boxed{42}", "\\boxed{41}", "\\boxed{40}", "\\boxed{42}", "\\boxed{1}"]  # 2 of 5: a rewrite parent
    batch = ([(proposer, c) for c, _, _ in PROPOSALS] + [(rewriter, c) for c, _, _ in REWRITES]
             + [(parent, c) for c in solves] + [(other, c) for c in solves])
    with serving(_Solver) as url:
        from rlvr.models.backends import OpenAIBackend

        roles.backend_factory = lambda: OpenAIBackend(url)
        total = score_batch(roles, rewards, batch)
    by_task = {g.task_id: g for g in groups}
    propose, rewrite, solve = by_task[proposer.task_id], by_task[rewriter.task_id], by_task[parent.task_id]
    # AZR learnability with format penalties, SvS band reward, the verifier for the solver
    assert propose.rewards == pytest.approx([r for _, r, _ in PROPOSALS])
    assert propose.statuses == [s for _, _, s in PROPOSALS]
    assert propose.meta["solve_rates"] == [3 / 8, 1.0, 0.0, None, None] and propose.meta["role"] == "propose"
    assert rewrite.rewards == [r for _, r, _ in REWRITES] and rewrite.statuses == [s for _, _, s in REWRITES]
    assert rewrite.meta["solve_rates"][:3] == [0.25, 1.0, 0.0] and rewrite.meta["role"] == "rewrite"
    assert rewrite.meta["parent_task_id"] == parent.task_id
    assert solve.rewards == [1.0, 0.0, 0.0, 1.0, 0.0] and solve.meta["role"] == "solve"
    assert total[:5] == pytest.approx(propose.rewards)

    # online: the three valid programs joined the buffer and the solve set; of the variants only
    # the one solved sometimes but not always did (SvS's SPA set). Provenance: step and parent.
    online = {t.provenance.generator: [] for t in roles.online}
    for t in roles.online:
        online[t.provenance.generator].append(t)
    assert len(online["azr.online"]) == 3 and len(online["svs.online"]) == 1
    assert len(roles.buffer) == 1 + 3  # the identity seed plus the valid proposals
    variant = online["svs.online"][0]
    assert variant.answer == "42" and variant.verifier.name == "final_answer"
    assert variant.provenance.parent_task_id == rewriter.task_id and variant.meta["svs_parent_task_id"] == parent.task_id
    assert variant.meta["online"] == {"step": 3, "role": "rewrite", "parent_task_id": rewriter.task_id, "completion": 5}
    for t in online["azr.online"]:
        assert t.kind == "azr.deduction" and t.provenance.parent_task_id == proposer.task_id
        assert t.meta["online"]["step"] == 3
    assert list(roles.solve_queue) == roles.online
    # the solve group at 2/5 queued a rewrite prompt built from one of its correct completions; the
    # np.toy group at 2/5 did not: its kind is not one SvS rewrites
    assert len(roles.rewrite_queue) == 1 and "\\boxed{42}" in roles.rewrite_queue[0].prompt_text
    # every proposal and variant is a decision with a reason
    reasons = [(d.stage, d.keep, d.reason) for d in roles.decisions]
    assert ("roles.rewrite", True, "in_band") in reasons and ("roles.rewrite", False, "too_easy") in reasons
    assert ("roles.rewrite", False, "unextractable") in reasons and ("roles.rewrite", False, "copies_parent") in reasons
    assert sum(r == ("roles.propose", True, "valid") for r in reasons) == 3
    assert any(s == "roles.propose" and not k and "format" in why for s, k, why in reasons)
    files = roles.write(tmp_path)
    assert len(Decision.read_parquet(files["role_decisions"])) == len(roles.decisions)

    # a checkpoint keeps the solve set, the queues and the decisions for a resumed run
    roles.save(tmp_path / "ckpt")
    again = OnlineRoles(roles.config, tmp_path, seed=0)
    again_rewards = RoleRewards([parent, other], None, roles=again)
    again.load(tmp_path / "ckpt")
    assert [t.task_id for t in again.online] == [t.task_id for t in roles.online]
    assert [t.task_id for t in again.solve_queue] == [t.task_id for t in roles.solve_queue]
    assert [t.task_id for t in again.rewrite_queue] == [t.task_id for t in roles.rewrite_queue]
    assert len(again.decisions) == len(roles.decisions) and again.counts == roles.counts
    assert all(t.task_id in again_rewards.tasks for t in roles.online)  # online tasks can be scored again
    assert again.online[0].provenance.parent_task_id == roles.online[0].provenance.parent_task_id

    # TRR++ on these groups: each (kind, role) has its own baseline and scale
    rows = [(g.task_id, r) for g in groups for r in g.rewards]
    keys = [(rewards.tasks[tid].kind, roles.role_of(tid)) for tid, _ in rows]
    adv = trr_advantages([r for _, r in rows], keys)
    per_key = defaultdict(list)
    for key, a in zip(keys, adv):
        per_key[key].append(a)
    assert set(per_key) == {("azr.deduction", "propose"), ("math.toy", "rewrite"), ("math.toy", "solve"),
                            ("np.toy", "solve")}
    for values in per_key.values():
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        assert mean == pytest.approx(0.0, abs=1e-9) and std == pytest.approx(1.0, abs=1e-3)


def test_compose_puts_role_groups_in_the_batch_and_releases_displaced_tasks(tmp_path, parent):
    from rlvr.select.base import SelectConfig, make_selector
    from rlvr.synth.toy import first_char_tasks
    from rlvr.train.loop import prompt_tokens
    from rlvr.train.tiny import make_tokenizer

    pool = first_char_tasks(6, seed=0)
    config = SelectConfig(selector="uniform", k=2)
    selector = make_selector(None, config.make_store(pool), config)
    chunk = selector.propose(4, __import__("numpy").random.default_rng(0))
    groups = [[{"prompt": pool[i].chat(), "task_id": pool[i].task_id}] * 2 for i in chunk.indices.tolist()]
    roles = OnlineRoles(RolesConfig(propose=1, rewrite=1, solve=1, k_references=1), tmp_path, max_prompt_tokens=4000)
    tok = make_tokenizer()
    roles.count_tokens = lambda task: prompt_tokens(task, tok)
    RoleRewards([*pool, parent], selector, roles=roles)
    roles.rewrite_queue.append(roles.rewrite_task(parent, "\\boxed{42}", 0.25, step=0, index=0))
    made = Task(kind="math.toy", prompt=[Message("user", "Six sevens?")], answer="42",
                verifier=VerifierSpec("final_answer"), provenance=Provenance("svs.online", parent_task_id="x"))
    roles.add_online(made, step=0, role="rewrite", parent=parent, index=0)
    trainer = SimpleNamespace(run=SimpleNamespace(selector=selector), num_generations=2)
    out = roles.compose(trainer, groups, step=1)
    assert len(out) == 4 and all(len(g) == 2 for g in out)
    assert out[0] == groups[0]
    assert [roles.role_of(g[0]["task_id"]) for g in out[1:]] == ["propose", "rewrite", "solve"]
    assert out[3][0]["task_id"] == made.task_id
    assert selector.pending == [chunk.indices.tolist()[0]]  # the three displaced tasks are free again
    assert not roles.rewrite_queue and not roles.solve_queue
    # a prompt longer than max_prompt_tokens is a decision, not a slot
    roles.max_prompt_tokens = 50
    assert roles.compose(trainer, groups, step=2) == groups
    assert roles.decisions[-1].reason == "prompt_too_long"


def test_bad_roles_config_raises():
    for kwargs in RolesConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            RolesConfig(**kwargs)
    from rlvr.train.config import TrainConfig

    with pytest.raises(ValueError, match="role group"):
        TrainConfig(prompts_per_step=2, roles={"propose": 2, "rewrite": 1})
    assert TrainConfig().roles_config() is None


def test_online_self_play_run_on_the_tiny_model(tmp_path):
    import torch

    from rlvr.synth.toy import FirstCharConfig, first_char_tasks
    from rlvr.train.config import TrainConfig
    from rlvr.train.loop import train
    from rlvr.train.tiny import make_tiny_model

    torch.set_num_threads(1)
    tasks = first_char_tasks(48, seed=1, config=FirstCharConfig(1, 30))
    cfg = TrainConfig(model="tiny", steps=4, prompts_per_step=4, num_generations=4, max_completion_length=8,
                      learning_rate=1e-3, probe_every=2, probe_k=4, save_every=2, selector="uniform", seed=0,
                      advantage="trr++", max_prompt_tokens=1500, influence=False,
                      roles={"propose": 1, "rewrite": 1, "solve": 1, "k_references": 1, "solver_samples": 4,
                             "solver_max_new_tokens": 8, "rewrite_kinds": ["toy.*"]})
    import dataclasses

    model, tok = make_tiny_model()
    first = train(dataclasses.replace(cfg, steps=2), tasks, tmp_path, model=model, tokenizer=tok)
    assert first.counts["roles_propose_groups"] == 2
    model, tok = make_tiny_model()
    result = train(cfg, tasks, tmp_path, model=model, tokenizer=tok)  # resumed from checkpoint-2
    groups = [g for g in RolloutGroup.read_parquet(tmp_path / "rollouts.parquet") if g.phase == "train"]
    assert result.counts["steps"] == 4 and len(groups) == 16
    roles = [g.meta["role"] for g in groups]
    assert roles.count("propose") == 4 and "rewrite" in roles  # a rewrite slot needs a parent first
    kinds = {g.meta["kind"] for g in groups if g.meta["role"] == "propose"}
    assert kinds == {"azr.deduction", "azr.abduction"}  # the proposer takes turns
    for g in groups:
        if g.meta["role"] == "propose":
            assert all(r in (-1.0, -0.5) or 0 < r < 1 for r in g.rewards)
            assert all(r == -1.0 for r, s in zip(g.rewards, g.statuses) if s in ("format_error", "infeasible"))
    for step in range(4):  # TRR++: per (kind, role) over the step's rows
        per_key = defaultdict(list)
        for g in groups:
            if g.step == step:
                for r, a in zip(g.rewards, g.meta["advantages"]):
                    per_key[(g.meta["kind"], g.meta["role"])].append((r, a))
        for rows in per_key.values():
            rewards = [r for r, _ in rows]
            if len(set(rewards)) < 2:
                assert all(a == 0.0 for _, a in rows)
                continue
            mean = sum(rewards) / len(rewards)
            std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1))
            assert all(a == pytest.approx((r - mean) / (std + 1e-4), abs=1e-5) for r, a in rows)
    c = result.counts
    assert c["roles_propose_groups"] == 4 and c["roles_propose_completions"] == 16
    assert (tmp_path / "role_decisions.parquet").exists() and (tmp_path / "online_tasks.parquet").exists()
    assert (tmp_path / "azr_buffer.jsonl").exists()
    assert len(Decision.read_parquet(tmp_path / "role_decisions.parquet")) >= 16


def test_role_and_dynamic_modules_import_without_torch():
    import subprocess
    import sys

    code = ("import sys; import rlvr.train.dynamic, rlvr.train.roles, rlvr.train.role_rewards, rlvr.synth.sws.judge; "
            "from rlvr.train.config import TrainConfig; TrainConfig(roles={'propose': 1}, dynamic_sampling=True); "
            "print(sorted(m for m in ('torch', 'trl', 'vllm', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
