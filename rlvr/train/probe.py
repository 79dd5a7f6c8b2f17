"""The probe set: held-out tasks the policy is evaluated on every M steps, never trained on.

Each evaluation samples k completions per probe task from the live policy (same temperature and
length limit as training), scores them with the tasks' verifiers, and records one `RolloutGroup`
per task with phase "probe" and the task's kind and source in `meta`, so pass-rate curves per kind
and per source fall out of the ledger. Generation runs inside `torch.random.fork_rng`, so probing
does not change the random stream training samples from (a run with probes makes the same training
rollouts as one without).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rlvr.hashing import seed_int
from rlvr.records import RolloutGroup, Task, pooled_pass_rate
from rlvr.train.data import Keys
from rlvr.verify import verify

log = logging.getLogger(__name__)


class Probe:
    def __init__(self, tasks: Sequence[Task], keys: dict[str, Keys], *, k: int, max_new_tokens: int,
                 temperature: float, seed: int, keep_chars: int = 0, batch_size: int = 32):
        self.tasks = list(tasks)
        self.keys = keys
        self.k = k
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.keep_chars = keep_chars
        self.batch_size = batch_size
        self.seconds = 0.0
        self.evaluations = 0
        self._latest: list[tuple[Task, list[str], list[float], list[bool]]] = []

    def latest(self) -> list[tuple[Task, list[str], list[float], list[bool]]]:
        """(task, completions, rewards, finished) of the latest evaluation: the influence's probe rollouts."""
        return self._latest

    def evaluate(self, model: Any, tokenizer: Any, step: int) -> list[RolloutGroup]:
        """k samples per probe task from the current policy, scored; one group per task."""
        import torch

        from rlvr.models.backends import TransformersBackend

        if not self.tasks:
            return []
        start = time.perf_counter()
        backend = TransformersBackend.from_model(model, tokenizer, batch_size=self.batch_size)
        was_training = model.training
        model.eval()
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                outs = backend.generate([t.chat() for t in self.tasks], n=self.k, max_new_tokens=self.max_new_tokens,
                                        temperature=self.temperature, seed=seed_int("probe", self.seed, step, bits=31))
        finally:
            model.train(was_training)
        groups = []
        self._latest = []
        for task, completions in zip(self.tasks, outs):
            scores = [verify(task, c) for c in completions]
            self._latest.append((task, [str(c) for c in completions], [s.reward for s in scores],
                                 [not c.truncated for c in completions]))
            keys = self.keys[task.task_id]
            meta: dict[str, Any] = {"kind": keys.kind, "source": keys.source,
                                    "truncated": [bool(c.truncated) for c in completions]}
            if self.keep_chars:
                meta["completions"] = [str(c)[: self.keep_chars] for c in completions]
            groups.append(RolloutGroup(
                step=step, task_id=task.task_id, k=len(completions), rewards=[s.reward for s in scores],
                statuses=[s.status for s in scores], completion_lengths=[max(c.n_tokens, 0) for c in completions],
                selector="probe", phase="probe", meta=meta,
            ))
        self.seconds += time.perf_counter() - start
        self.evaluations += 1
        log.info("probe at step %d: pass rate %.3f over %d tasks", step, pass_rate(groups), len(groups))
        return groups


def pass_rate(groups: Sequence[RolloutGroup]) -> float:
    """Pooled pass rate of the scored rollouts (RolloutGroup.pass_rate's rule); NaN when there are none."""
    rate = pooled_pass_rate(groups)
    return float("nan") if rate is None else rate


def curves(groups: Sequence[RolloutGroup], by: str) -> dict[str, list[tuple[int, float]]]:
    """Probe pass rate over steps per value of meta[by] ("kind" or "source"), plus "all"."""
    acc: dict[tuple[str, int], list[float]] = defaultdict(list)
    for g in groups:
        if g.phase != "probe":
            continue
        acc[(str(g.meta.get(by, "?")), g.step)].extend(g.scored_rewards())
        acc[("all", g.step)].extend(g.scored_rewards())
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (key, step), rewards in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if not rewards:  # every verifier call of this point crashed: no rate to plot
            continue
        out[key].append((step, sum(rewards) / len(rewards)))
    return dict(out)
