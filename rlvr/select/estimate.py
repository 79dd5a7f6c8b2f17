"""`rlvr select estimate` as a pipeline stage (`select.estimate`): k rollouts per task with a model.

The estimation itself (EstimateConfig, estimate, merge_estimate, summarize) is a shared service in
rlvr.models.rollouts, also used by the synthesis families that filter by difficulty.
"""

from __future__ import annotations

from pathlib import Path

from rlvr.io.tasks import read_tasks
from rlvr.models.backends import make_backend
from rlvr.models.rollouts import EstimateConfig, estimate, merge_estimate, summarize
from rlvr.records import RolloutGroup, Task
from rlvr.rundir import StageResult, StageType

__all__ = ["STAGE", "EstimateConfig", "estimate", "merge_estimate", "run_stage", "summarize"]


def run_stage(config: EstimateConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    tasks = read_tasks(inputs)
    backend = make_backend(config.backend, device=config.device)
    updated, groups = estimate(tasks, backend, config)
    tasks_path = Task.write_parquet(out_dir / "tasks.parquet", updated)
    groups_path = RolloutGroup.write_parquet(out_dir / "rollouts.parquet", groups)
    counts = summarize(groups)
    summary = (f"pass rate {counts['mean_pass_rate']} over {counts['rollouts']} rollouts; "
               f"always solved {counts['always_solved']}, never solved {counts['never_solved']}")
    return StageResult(files={"tasks": tasks_path, "rollouts": groups_path}, counts=counts, tasks=tasks_path,
                       summary=summary)


STAGE = StageType(EstimateConfig, run_stage)
