"""SvS parents: the under-performing tasks of a training run and their correct completions.

A train stage folder holds `tasks.parquet` (the training tasks) and `rollouts.parquet` (the
ledger: every group with its rewards, statuses and, in `meta["completions"]`, the first
`save_completions` characters of each completion). SvS (arXiv 2508.14029) takes the problems the
policy solves only sometimes, 1 to 4 of 8 rollouts (solve rate in [0.125, 0.5]), and keeps their
correct rollouts as the solutions to rewrite.

Which group: a task's most recent training group, i.e. the rate of the policy closest to the one
that will train on the variants (SvS itself uses the rollouts of the current step). Its rate
leaves out rollouts whose verifier crashed (rlvr.records.RolloutGroup.pass_rate).

Which kinds are eligible: an SvS variant must keep its parent's answer while the problem around
it changes, so the parent needs one short final answer that a rewritten problem can have too.
That holds for reasoning-gym tasks with a scalar answer (arithmetic, counting, equations, word
problems), math-style tasks, and SvS/SwS tasks themselves. It does not hold for NP-hard tasks
(the answer is a solution object, and many are valid), multiple-choice tasks (the letter depends
on the option order, which a rewrite loses), Absolute Zero code tasks (the answer is tied to the
program) or answers that are lists, mappings or long text. So a parent must match one of the
`kinds` patterns AND have a short scalar answer (`is_short_answer`).

A ledger keeps only a prefix of each completion. A kept solution must still score 1.0 with the
parent's verifier; one whose final answer was cut off is dropped ("completion_cut"): set the
train stage's `save_completions` high enough (a few times max_completion_length) for SvS.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rlvr.io.tasks import read_tasks
from rlvr.records import RolloutGroup, Task
from rlvr.synth.svs.answer import is_short_answer
from rlvr.verify import verify

LEDGER = "rollouts.parquet"
EPS = 1e-9


@dataclass
class Solution:
    """One correct completion of an under-performing parent task, as the ledger kept it."""

    parent: Task
    text: str
    step: int
    completion_index: int
    pass_rate: float
    k: int


@dataclass
class Parents:
    """The solutions to rewrite, and what happened to every task and completion on the way."""

    solutions: list[Solution] = field(default_factory=list)
    tasks: Counter = field(default_factory=Counter)  # per task: selected or the reason it was not
    completions: Counter = field(default_factory=Counter)  # per correct completion: used or dropped why


def ledger_beside(tasks_path: Path) -> Path:
    """The rollout ledger of the train stage whose task table is `tasks_path`."""
    ledger = Path(tasks_path).parent / LEDGER
    if not ledger.exists():
        raise ValueError(f"{tasks_path}: no {LEDGER} beside it. SvS and SwS read a training run: give them the "
                         "train stage's task table (pipeline `inputs: [train]`, or `--run RUN_DIR` on the CLI)")
    return ledger


def load_run(tasks_paths: Sequence[Path]) -> tuple[list[Task], list[RolloutGroup]]:
    """Training tasks and their ledger rows from one or more train stage folders."""
    tasks: list[Task] = []
    groups: list[RolloutGroup] = []
    for p in tasks_paths:
        tasks.extend(read_tasks(p))
        groups.extend(RolloutGroup.read_parquet(ledger_beside(Path(p))))
    return tasks, groups


def eligible(task: Task, kinds: Sequence[str], max_answer_chars: int) -> str | None:
    """None when SvS can rewrite the task, else the reason it cannot (see the module docstring)."""
    if not any(fnmatch.fnmatchcase(task.kind, pattern) for pattern in kinds):
        return "kind_not_eligible"
    if not is_short_answer(task.answer, max_answer_chars):
        return "answer_not_short"
    return None


def latest_groups(groups: Sequence[RolloutGroup]) -> dict[str, RolloutGroup]:
    """Each task's most recent training group (ties on step: the last row written wins)."""
    latest: dict[str, RolloutGroup] = {}
    for g in groups:
        if g.phase == "train" and (g.task_id not in latest or g.step >= latest[g.task_id].step):
            latest[g.task_id] = g
    return latest


def select_parents(tasks: Sequence[Task], groups: Sequence[RolloutGroup], *, solve_min: float, solve_max: float,
                   kinds: Sequence[str], max_answer_chars: int, max_solutions: int) -> Parents:
    """Under-performing, eligible tasks and their correct, intact completions (every drop counted)."""
    latest = latest_groups(groups)
    out = Parents()
    seen: set[str] = set()
    for task in tasks:
        if task.task_id in seen:
            out.tasks["duplicate_task"] += 1
            continue
        seen.add(task.task_id)
        reason = eligible(task, kinds, max_answer_chars)
        group = latest.get(task.task_id)
        rate = group.pass_rate if group is not None else None
        if reason is None and rate is None:
            reason = "not_trained"
        elif reason is None and rate < solve_min - EPS:
            reason = "below_band"
        elif reason is None and rate > solve_max + EPS:
            reason = "above_band"
        if reason is None:
            texts = group.meta.get("completions")
            correct = [i for i, (r, s) in enumerate(zip(group.rewards, group.statuses)) if r >= 1.0 and s == "ok"]
            if not texts:
                reason = "no_completions_in_ledger"
            elif not correct:
                reason = "no_correct_completion"
        if reason is not None:
            out.tasks[reason] += 1
            continue
        used = 0
        for i in correct:
            if used >= max_solutions:
                out.completions["over_max_solutions"] += 1
                continue
            text = texts[i] if i < len(texts) else ""
            if verify(task, text).reward < 1.0:
                out.completions["completion_cut"] += 1
                continue
            out.solutions.append(Solution(task, text, group.step, i, rate, group.k))
            out.completions["used"] += 1
            used += 1
        out.tasks["selected" if used else "no_intact_completion"] += 1
    return out
