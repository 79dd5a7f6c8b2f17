"""`rlvr synth np --task NAME|all --n N --difficulty D --seed S --out tasks.parquet`."""

from __future__ import annotations

import argparse
import time

from rlvr.cliutil import add_out
from rlvr.config import add_config_args, config_with_passthrough
from rlvr.synth.shard import add_shard_args, make_sharded


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.np.stage import NPStageConfig

    add_config_args(parser, NPStageConfig, skip=("settings",))
    add_out(parser, required=False)
    add_shard_args(parser)
    parser.add_argument("--list", action="store_true", help="list the NP problems with their objective and solver")
    parser.epilog = ("--config KEY=VALUE items that are not stage settings override the chosen problem's config, "
                     "e.g. --task tsp --config cities=[8,12] --config sa_steps=2000")


def run(args: argparse.Namespace) -> int:
    from rlvr.records import Task
    from rlvr.synth.np.stage import NPStageConfig, make_tasks, summarize

    if args.list:
        from rlvr.synth.np.base import PROBLEMS
        from rlvr.synth.np.stage import problem_names

        for name in problem_names():
            p = PROBLEMS[name]
            print(f"{name:<24} {p.sense}imize  reference: {p.solver}")
        return 0
    if args.out is None:
        raise ValueError("--out is required: the Parquet file to write the tasks to")
    config = config_with_passthrough(NPStageConfig, args, "settings")
    start = time.perf_counter()
    tasks = make_sharded(make_tasks, config, args)
    seconds = time.perf_counter() - start
    Task.write_parquet(args.out, tasks)
    print(f"wrote {len(tasks)} tasks to {args.out} in {seconds:.1f}s ({len(tasks) / max(seconds, 1e-9):.0f} tasks/s)")
    print(summarize(tasks))
    return 0
