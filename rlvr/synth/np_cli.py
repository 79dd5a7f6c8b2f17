"""`rlvr synth np --task NAME|all --n N --difficulty D --seed S --out tasks.parquet`."""

from __future__ import annotations

from rlvr.synth.command import TaskCommand


def problem_lines() -> list[str]:
    from rlvr.synth.np.base import PROBLEMS
    from rlvr.synth.np.stage import problem_names

    return [f"{name:<24} {PROBLEMS[name].sense}imize  reference: {PROBLEMS[name].solver}" for name in problem_names()]


COMMAND = TaskCommand(
    config="rlvr.synth.np.stage:NPStageConfig", make_tasks="rlvr.synth.np.stage:make_tasks", passthrough="settings",
    list_lines="rlvr.synth.np_cli:problem_lines", list_help="list the NP problems with their objective and solver",
    epilog="--config KEY=VALUE items that are not stage settings override the chosen problem's config, "
           "e.g. --task tsp --config cities=[8,12] --config sa_steps=2000",
    summary="rlvr.synth.np.stage:summarize",
)
configure, run = COMMAND.configure, COMMAND.run
