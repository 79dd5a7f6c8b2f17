"""SwS stage A: which tasks the policy keeps failing, per domain, and the synthesis budget.

A train stage folder holds `weaknesses.parquet` (tasks failing by the SwS rule: max pass rate
< 0.5 and a negative least-squares slope over the run, see rlvr.train.value), `value.parquet`
(one row per training task with its trajectory) and `tasks.parquet`.

Two rules pick the weak tasks:
- "sws" (default): the tasks in weaknesses.parquet, the paper's rule;
- "failing": every trained task whose best group pass rate stayed below 0.5, whatever the slope.
  A short run sees each task only a few times, and a task stuck at 0 has slope 0, so the SwS rule
  finds almost nothing there; "failing" keeps those too.

Domain = the task's kind. SwS labels MATH problems with one of seven subjects by an LLM; rlvr
tasks already carry a kind that names their family and topic (gym.basic_arithmetic,
gym.gsm_symbolic, svs.variant, ...), which is what a training run mixes and what its failure
rates differ by, so no classifier is needed. Failure rate r_d = weak tasks / trained tasks of
domain d, and the synthesis budget is split over domains in proportion to r_d (largest
remainders, ties by name), as SwS does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rlvr.io.tasks import read_tasks
from rlvr.records import Task, Value
from rlvr.synth.svs.parents import ledger_beside

RULES = ("sws", "failing")


@dataclass
class Domain:
    name: str
    trained: int = 0
    weak: int = 0
    budget: int = 0
    tasks: list[Task] = field(default_factory=list)

    @property
    def failure_rate(self) -> float:
        return self.weak / self.trained if self.trained else 0.0


def _beside(tasks_path: Path, name: str) -> Path:
    ledger_beside(tasks_path)  # the same clear error when the input is not a train stage
    path = Path(tasks_path).parent / name
    if not path.exists():
        raise ValueError(f"{path}: missing; the train stage that wrote {tasks_path} did not finish")
    return path


def load_domains(tasks_paths: Sequence[Path], rule: str) -> dict[str, Domain]:
    """Weak tasks grouped by domain, with each domain's trained and weak counts."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    domains: dict[str, Domain] = {}
    for p in tasks_paths:
        values = [v for v in Value.read_parquet(_beside(p, "value.parquet")) if v.level == "task"]
        trained = {v.key: v for v in values if v.n_groups > 0}
        if rule == "sws":
            weak = read_tasks(_beside(p, "weaknesses.parquet"))
        else:
            failing = {k for k, v in trained.items() if (v.meta.get("max_pass_rate") or 0.0) < 0.5}
            weak = [t for t in read_tasks(p) if t.task_id in failing]
        per_kind = Counter(str(v.meta.get("kind", "")) for v in trained.values())
        for kind, n in per_kind.items():
            domains.setdefault(kind, Domain(kind)).trained += n
        seen = {t.task_id for d in domains.values() for t in d.tasks}
        for t in weak:
            if t.task_id in seen:
                continue
            seen.add(t.task_id)
            d = domains.setdefault(t.kind, Domain(t.kind))
            d.tasks.append(t)
            d.weak += 1
    return dict(sorted(domains.items()))


def allocate(domains: dict[str, Domain], budget: int) -> dict[str, int]:
    """Split `budget` over domains in proportion to their failure rates (largest remainders)."""
    rates = {name: d.failure_rate for name, d in domains.items() if d.tasks and d.failure_rate > 0}
    total = sum(rates.values())
    if not rates or budget <= 0:
        return {name: 0 for name in domains}
    exact = {name: budget * r / total for name, r in rates.items()}
    shares = {name: int(x) for name, x in exact.items()}
    left = budget - sum(shares.values())
    for name in sorted(exact, key=lambda n: (-(exact[n] - shares[n]), n))[:left]:
        shares[name] += 1
    out = {name: shares.get(name, 0) for name in domains}
    for name, n in out.items():
        domains[name].budget = n
    return out

