"""Registered verifiers as TRL reward functions that also report every rollout group back.

`VerifierRewards(tasks, selector).reward_functions()` returns one reward function per verifier
name used by the tasks (TRL logs each function's mean reward separately, so a mixed pool shows
per-family rewards). Each function scores, with `rlvr.verify.verify`, the completions whose task
uses its verifier and returns None for the others, which TRL skips when it sums the functions.

When every one of these functions has run on a generation batch (TRL calls them in list order;
each must be passed to the trainer exactly once, in any position), the rows are grouped into
`RolloutGroup`s (step = trainer_state.global_step, k rewards, verifier statuses, completion
lengths, the selector's name and the score the task was proposed with) and handed to
`selector.observe` and to the optional `on_groups` callbacks (the train ledger). In a multi-process
run each rank sees only its slice of the batch, so the rows are first gathered from all ranks:
every rank then applies identical statistics and its selector proposes identical chunks.

Verifier statuses are kept as data: an "error" status (a crashed verifier) reaches TRL as its
Score's reward 0.0, is counted in the `select/verifier_errors` metric and in the group's
statuses, and is left out of the pass-rate belief (the store ignores it).

The dataset must carry a `task_id` column (see `sampler.tasks_dataset`); TRL passes dataset
columns to reward functions as keyword lists aligned with the completions.

TRL calls the same reward functions during evaluation and does not say which phase it is in, so
groups from an `eval_dataset` would reach the selector as training evidence (tasks outside the
store are counted and skipped). Evaluate with a separate `VerifierRewards(tasks)` (no selector),
or outside the trainer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from rlvr.records import RolloutGroup, Task
from rlvr.select.base import Selector
from rlvr.verify import verify

log = logging.getLogger(__name__)

GroupsCallback = Callable[[list[RolloutGroup]], None]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or chat messages (their contents joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in completion)
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


def _gather_rows(rows: list[tuple]) -> list[tuple]:
    """All ranks' rows in rank order (rank r holds a contiguous slice of the generation batch)."""
    try:
        from accelerate import PartialState
    except ImportError:  # accelerate ships with TRL; without it there is only one process
        return rows
    if PartialState().num_processes <= 1:
        return rows
    from accelerate.utils import gather_object

    return list(gather_object(rows))


class VerifierRewards:
    """TRL reward functions over `tasks`' verifiers that report groups to a selector (module doc)."""

    def __init__(self, tasks: Sequence[Task], selector: Selector | None = None, *,
                 on_groups: Sequence[GroupsCallback] = (), task_id_column: str = "task_id"):
        self.tasks = {t.task_id: t for t in tasks}
        self.selector = selector
        self.on_groups = list(on_groups)
        self.task_id_column = task_id_column
        self.verifier_names = sorted({t.verifier.name for t in tasks})
        if not self.verifier_names:
            raise ValueError("VerifierRewards needs at least one task")
        self._functions = [self._make_function(name) for name in self.verifier_names]
        self._called: set[str] = set()
        self._rows: dict[int, tuple[str, float, str, int]] = {}
        self.groups_seen = 0
        self.last_groups: list[RolloutGroup] = []

    def reward_functions(self) -> list[Callable[..., list[float | None]]]:
        """One function per verifier name; pass all of them to GRPOTrainer(reward_funcs=...)."""
        return list(self._functions)

    def _make_function(self, verifier_name: str) -> Callable[..., list[float | None]]:
        def reward(prompts, completions, completion_ids=None, trainer_state=None, log_metric=None, **columns):
            return self._score(verifier_name, completions, completion_ids, trainer_state, log_metric, columns)

        reward.__name__ = f"verify_{verifier_name}".replace(".", "_").replace("-", "_")
        reward.__qualname__ = reward.__name__
        return reward

    def _score(self, verifier_name: str, completions: list, completion_ids: list | None, trainer_state: Any,
               log_metric: Callable | None, columns: dict[str, list]) -> list[float | None]:
        task_ids = columns.get(self.task_id_column)
        if task_ids is None:
            raise ValueError(f"the training dataset has no {self.task_id_column!r} column; build it with "
                             "rlvr.select.sampler.tasks_dataset(tasks, store)")
        if verifier_name in self._called:
            raise RuntimeError(f"reward function for verifier {verifier_name!r} ran twice on one batch before the "
                               f"others ({', '.join(self.verifier_names)}) ran: pass every function from "
                               "reward_functions() to the trainer, each once")
        self._called.add(verifier_name)
        out: list[float | None] = []
        for row, (tid, completion) in enumerate(zip(task_ids, completions)):
            task = self.tasks.get(tid)
            if task is None:
                raise KeyError(f"task {tid!r} from the dataset is not among the tasks given to VerifierRewards")
            if task.verifier.name != verifier_name:
                out.append(None)
                continue
            score = verify(task, completion_text(completion))
            length = len(completion_ids[row]) if completion_ids is not None else 0
            self._rows[row] = (tid, float(score.reward), score.status, length)
            out.append(float(score.reward))
        if len(self._called) == len(self.verifier_names):
            self._flush(len(task_ids), trainer_state, log_metric)
        return out

    def _flush(self, n_rows: int, trainer_state: Any, log_metric: Callable | None) -> None:
        rows = [self._rows[r] for r in range(n_rows)]
        self._rows, self._called = {}, set()
        rows = _gather_rows(rows)
        step = int(getattr(trainer_state, "global_step", 0) or 0)
        groups = self.make_groups(rows, step)
        self.groups_seen += len(groups)
        self.last_groups = groups
        if self.selector is not None:
            self.selector.observe(groups)
        for callback in self.on_groups:
            callback(groups)
        if log_metric is not None and groups:
            log_metric("select/zero_std_frac", sum(not g.mixed for g in groups) / len(groups))
            log_metric("select/verifier_errors", sum(s == "error" for g in groups for s in g.statuses))
            if self.selector is not None:
                log_metric("select/pending", len(self.selector.pending))

    def make_groups(self, rows: list[tuple[str, float, str, int]], step: int) -> list[RolloutGroup]:
        """Rows (task_id, reward, status, length), consecutive per task, as RolloutGroups."""
        by_task: dict[str, list[tuple[str, float, str, int]]] = {}
        for row in rows:
            by_task.setdefault(row[0], []).append(row)
        groups = []
        for tid, members in by_task.items():
            score = None
            name = ""
            if self.selector is not None:
                name = self.selector.name
                if tid in self.selector.store:
                    s = self.selector.score_for(self.selector.store.index_of(tid))
                    score = s if s is not None and math.isfinite(s) else None
            groups.append(RolloutGroup(
                step=step, task_id=tid, k=len(members), rewards=[m[1] for m in members],
                statuses=[m[2] for m in members], completion_lengths=[m[3] for m in members],
                selector=name, selector_score=score,
            ))
        return groups
