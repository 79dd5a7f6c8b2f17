"""`rlvr synth generator --generator NAME [--config k=v ...] --n N --seed S --out tasks.parquet`."""

from __future__ import annotations

import argparse

from rlvr.cliutil import add_out
from rlvr.config import add_config_args, config_with_passthrough
from rlvr.synth.shard import add_shard_args, make_sharded


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.generic import GeneratorStageConfig

    add_config_args(parser, GeneratorStageConfig, skip=("settings",))
    add_out(parser, required=False)
    add_shard_args(parser)
    parser.add_argument("--list", action="store_true", help="list registered generators and exit")
    parser.epilog = "--config KEY=VALUE items that are not settings of this command go to the generator's config"


def run(args: argparse.Namespace) -> int:
    from rlvr.records import Task
    from rlvr.synth.generic import GeneratorStageConfig, make_tasks
    from rlvr.synth.registry import generator_names, get_generator

    if args.list:
        for name in generator_names():
            print(f"{name:<28} {get_generator(name).description}")
        return 0
    if args.out is None:
        raise ValueError("--out is required: the Parquet file to write the tasks to")
    config = config_with_passthrough(GeneratorStageConfig, args, "settings")
    tasks = make_sharded(make_tasks, config, args)
    Task.write_parquet(args.out, tasks)
    print(f"wrote {len(tasks)} tasks ({config.generator}) to {args.out}")
    return 0
