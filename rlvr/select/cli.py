"""`rlvr select ...`: offline pass-rate estimation, the selector list, and the learner simulator."""

from __future__ import annotations

import argparse
import importlib

from rlvr.cliutil import add_out, table
from rlvr.config import add_config_args, config_from_args

# action -> (module with configure(parser)/run(args), help)
ACTIONS: dict[str, tuple[str, str]] = {
    "estimate": ("rlvr.select.cli", "sample k completions per task with a model and record pass rates"),
    "list": ("rlvr.select.sim_cli", "list the registered selectors"),
    "simulate": ("rlvr.select.sim_cli", "compare selectors on a simulated learner; writes summary.csv and plots"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, (module, help_) in ACTIONS.items():
        p = sub.add_parser(action, help=help_, description=help_)
        p.set_defaults(_module=module, _action=action)
        getattr(importlib.import_module(module), f"configure_{action}")(p)


def run(args: argparse.Namespace) -> int:
    return getattr(importlib.import_module(args._module), f"run_{args._action}")(args)


def configure_estimate(parser: argparse.ArgumentParser) -> None:
    from rlvr.models.rollouts import EstimateConfig

    parser.add_argument("--tasks", required=True, nargs="+", help="task Parquet file(s)")
    add_config_args(parser, EstimateConfig)
    add_out(parser, "output Parquet: the tasks with difficulty.pass_rate/evidence filled in")


def run_estimate(args: argparse.Namespace) -> int:
    from rlvr.io.tasks import read_tasks
    from rlvr.models.backends import make_backend
    from rlvr.models.rollouts import EstimateConfig, estimate, summarize
    from rlvr.records import RolloutGroup, Task

    config = config_from_args(EstimateConfig, args)
    tasks = read_tasks(args.tasks)
    backend = make_backend(config.backend, device=config.device)
    updated, groups = estimate(tasks, backend, config)
    Task.write_parquet(args.out, updated)
    rollouts = args.out.with_name(args.out.stem + ".rollouts.parquet")
    RolloutGroup.write_parquet(rollouts, groups)
    print(table(summarize(groups), f"estimated {len(updated)} tasks -> {args.out} (rollouts: {rollouts})"))
    return 0
