"""`rlvr synth generator --generator NAME [--config k=v ...] --n N --seed S --out tasks.parquet`."""

from __future__ import annotations

from rlvr.synth.command import TaskCommand


def generator_lines() -> list[str]:
    from rlvr.synth.registry import generator_names, get_generator

    return [f"{name:<28} {get_generator(name).description}" for name in generator_names()]


COMMAND = TaskCommand(
    config="rlvr.synth.generic:GeneratorStageConfig", make_tasks="rlvr.synth.generic:make_tasks",
    passthrough="settings", list_lines="rlvr.synth.generic_cli:generator_lines",
    list_help="list registered generators and exit",
    epilog="--config KEY=VALUE items that are not settings of this command go to the generator's config",
    label="generator",
)
configure, run = COMMAND.configure, COMMAND.run
