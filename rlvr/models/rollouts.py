"""Offline pass-rate estimation: k sampled completions per task, scored by the verifiers.

A shared service below synth, curate and select: `rlvr select estimate` (rlvr.select.estimate,
the command and pipeline stage) and the synthesis families that filter by difficulty (FIM, SvS)
all call `estimate` here.

The estimate (mean reward over the k rollouts, merged with any earlier estimate by evidence)
goes into each task's `difficulty.pass_rate` and `difficulty.evidence`; the raw groups are kept
as RolloutGroup rows (phase "estimate") so selectors can start from them and anyone can audit
them. This is also the difficulty filter of Golden Goose and SwS: drop what is always solved.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass, field

from rlvr.models.backends import Backend
from rlvr.records import RolloutGroup, Task
from rlvr.verify import verify

log = logging.getLogger(__name__)


@dataclass
class EstimateConfig:
    k: int = field(default=8, metadata={"help": "completions sampled per task"})
    backend: str = field(
        default="transformers:smollm2-135m-instruct",
        metadata={"help": "transformers:MODEL, openai:MODEL@URL or vllm:MODEL"},
    )
    device: str = field(default="cpu", metadata={"help": "cpu or cuda (transformers backend)"})
    max_new_tokens: int = field(default=256, metadata={"help": "generation length limit"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    batch_size: int = field(default=8, metadata={"help": "prompts per generation call"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")


def merge_estimate(task: Task, rewards: list[float]) -> Task:
    """The task with its pass-rate estimate updated by k new rewards (pooled with earlier ones).

    `rewards` are the scored ones (RolloutGroup.scored_rewards); with none the task is unchanged."""
    if not rewards:
        return task
    d = task.difficulty
    old_n = d.evidence if d.pass_rate is not None else 0
    total = (d.pass_rate or 0.0) * old_n + sum(rewards)
    n = old_n + len(rewards)
    return dataclasses.replace(task, difficulty=dataclasses.replace(d, pass_rate=total / n, evidence=n))


def estimate(tasks: list[Task], backend: Backend, config: EstimateConfig, progress: bool = True
             ) -> tuple[list[Task], list[RolloutGroup]]:
    from tqdm.auto import tqdm

    updated: list[Task] = []
    groups: list[RolloutGroup] = []
    bar = tqdm(total=len(tasks), desc="estimate", disable=not progress, unit="task")
    for start in range(0, len(tasks), config.batch_size):
        batch = tasks[start:start + config.batch_size]
        outs = backend.generate([t.chat() for t in batch], n=config.k, max_new_tokens=config.max_new_tokens,
                                temperature=config.temperature, seed=config.seed + start)
        for task, completions in zip(batch, outs):
            scores = [verify(task, c) for c in completions]
            rewards = [s.reward for s in scores]
            group = RolloutGroup(
                step=0, task_id=task.task_id, k=len(completions), rewards=rewards,
                statuses=[s.status for s in scores],
                completion_lengths=[max(getattr(c, "n_tokens", -1), 0) for c in completions],
                selector="estimate", phase="estimate",
            )
            groups.append(group)
            updated.append(merge_estimate(task, group.scored_rewards()))
        bar.update(len(batch))
    bar.close()
    return updated, groups


def summarize(groups: list[RolloutGroup]) -> dict[str, object]:
    statuses = Counter(s for g in groups for s in g.statuses)
    rates = [r for g in groups if (r := g.pass_rate) is not None]
    return {
        "tasks": len(groups),
        "rollouts": sum(g.k for g in groups),
        "mean_pass_rate": round(sum(rates) / len(rates), 4) if rates else None,
        "always_solved": sum(1 for r in rates if r >= 1.0),
        "never_solved": sum(1 for r in rates if r <= 0.0),
        "statuses": dict(sorted(statuses.items())),
    }
