"""Making a FIM task set: generation, the optional difficulty filter, counts, and the pipeline stage.

The difficulty filter is Golden Goose's: sample k answers per task from a model (the
foundation's `select estimate`), drop the tasks it always solves and, optionally, those it never
solves. The estimates stay in every kept task (`difficulty.pass_rate`, `difficulty.evidence`),
and the rollouts are kept for audit.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.records import Quarantined, RolloutGroup, Task
from rlvr.rundir import StageResult, StageType
from rlvr.synth.fim.config import FimStageConfig

log = logging.getLogger(__name__)


@dataclass
class FimRun:
    tasks: list[Task]
    counts: dict[str, int]
    quarantined: list[Quarantined] = field(default_factory=list)
    rollouts: list[RolloutGroup] = field(default_factory=list)


def difficulty_filter(tasks: list[Task], backend: Any, *, k: int, drop_never_solved: bool, max_new_tokens: int,
                      temperature: float, seed: int, progress: bool = False
                      ) -> tuple[list[Task], Counter, list[RolloutGroup]]:
    """Tasks the model does not always solve (and, optionally, sometimes solves), with estimates."""
    from rlvr.models.rollouts import EstimateConfig, estimate

    cfg = EstimateConfig(k=k, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    updated, groups = estimate(tasks, backend, cfg, progress=progress)
    kept, counts = [], Counter()
    for task in updated:
        rate = task.difficulty.pass_rate
        if rate is not None and rate >= 1.0:
            counts["filter_dropped:always_solved"] += 1
        elif drop_never_solved and rate is not None and rate <= 0.0:
            counts["filter_dropped:never_solved"] += 1
        else:
            kept.append(task)
    counts["filter_kept"] = len(kept)
    return kept, counts, groups


def make_tasks(config: FimStageConfig, *, progress: bool = False, backend: Any = None,
               filter_backend: Any = None) -> FimRun:
    """Up to config.n tasks, every count, and (with filter_k > 0) the filtered set and its rollouts."""
    from tqdm.auto import tqdm

    from rlvr.synth.fim.generator import FimGenerator

    gen = FimGenerator(config.generator_config(), backend=backend)
    tasks = []
    with tqdm(total=config.n, desc=f"fim ({config.mode})", unit="task", disable=not progress) as bar:
        for task in gen.iter_tasks(config.seed, config.n):
            tasks.append(task)
            bar.update(1)
    counts = gen.report(config.seed)
    counts["tasks_generated"] = len(tasks)
    if len(tasks) < config.n:
        log.warning("the corpus yielded %d of the %d tasks asked for", len(tasks), config.n)
    rollouts: list[RolloutGroup] = []
    if config.filter_k > 0 and tasks:
        if filter_backend is None:
            spec = config.filter_backend or config.backend
            if spec == config.backend and config.mode == "llm":
                filter_backend = gen.backend()
            else:
                from rlvr.models.backends import make_backend

                filter_backend = make_backend(spec, device=config.device)
        tasks, filter_counts, rollouts = difficulty_filter(
            tasks, filter_backend, k=config.filter_k, drop_never_solved=config.drop_never_solved,
            max_new_tokens=config.filter_max_new_tokens, temperature=config.filter_temperature, seed=config.seed,
            progress=progress)
        counts.update(filter_counts)
    counts["tasks"] = len(tasks)
    return FimRun(tasks, dict(sorted(counts.items())), list(gen.quarantined), rollouts)


def summary_lines(counts: dict[str, int]) -> str:
    visited = counts.get("passages_visited", 0)
    rate = f"{counts.get('yielded_task', 0) / visited:.0%}" if visited else "n/a"
    return (f"{counts.get('tasks', 0)} tasks kept of {counts.get('tasks_generated', 0)} generated; "
            f"{counts.get('yielded_task', 0)} of {visited} passages visited yielded a task ({rate}); "
            f"{counts.get('passages_kept', 0)} of {counts.get('passages_seen', 0)} passages passed the filters")


def run_stage(config: FimStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    run = make_tasks(config)
    files = {"tasks": Task.write_parquet(out_dir / "tasks.parquet", run.tasks)}
    if run.quarantined:
        files["quarantine"] = Quarantined.write_parquet(out_dir / "quarantine.parquet", run.quarantined)
    if run.rollouts:
        files["rollouts"] = RolloutGroup.write_parquet(out_dir / "rollouts.parquet", run.rollouts)
    return StageResult(files=files, counts=run.counts, tasks=files["tasks"], summary=summary_lines(run.counts))


STAGE = StageType(FimStageConfig, run_stage, consumes_tasks=False)
