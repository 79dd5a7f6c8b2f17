"""`rlvr synth gym --name NAME [--config k=v ...] --n N --seed S --out tasks.parquet`."""

from __future__ import annotations

import argparse

from rlvr.cliutil import add_out
from rlvr.config import add_config_args, config_with_passthrough
from rlvr.synth.shard import add_shard_args, make_sharded


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.gym import GymStageConfig

    add_config_args(parser, GymStageConfig, skip=("dataset_config",))
    add_out(parser, required=False)
    add_shard_args(parser)
    parser.add_argument("--list", action="store_true", help="list reasoning-gym dataset names and exit")
    parser.epilog = ("--config KEY=VALUE items that are not rlvr settings go to the reasoning-gym dataset's "
                     "config, e.g. --config min_animals=3")


def run(args: argparse.Namespace) -> int:
    from rlvr.records import Task
    from rlvr.synth.gym import GymStageConfig, dataset_names, make_tasks

    if args.list:
        print("\n".join(dataset_names()))
        return 0
    if args.out is None:
        raise ValueError("--out is required: the Parquet file to write the tasks to")
    config = config_with_passthrough(GymStageConfig, args, "dataset_config")
    tasks = make_sharded(make_tasks, config, args)
    Task.write_parquet(args.out, tasks)
    print(f"wrote {len(tasks)} tasks ({config.name}) to {args.out}")
    return 0
