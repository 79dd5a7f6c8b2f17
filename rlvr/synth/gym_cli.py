"""`rlvr synth gym --name NAME [--config k=v ...] --n N --seed S --out tasks.parquet`."""

from __future__ import annotations

from rlvr.synth.command import TaskCommand

COMMAND = TaskCommand(
    config="rlvr.synth.gym:GymStageConfig", make_tasks="rlvr.synth.gym:make_tasks", passthrough="dataset_config",
    list_lines="rlvr.synth.gym:dataset_names", list_help="list reasoning-gym dataset names and exit",
    epilog="--config KEY=VALUE items that are not rlvr settings go to the reasoning-gym dataset's config, "
           "e.g. --config min_animals=3",
    label="name",
)
configure, run = COMMAND.configure, COMMAND.run
