"""The shape every simple `rlvr synth FAMILY` command shares, written once.

Settings flags come from the family's stage config dataclass (rlvr.config), `--config KEY=VALUE`
items that are not settings go to the generator's own config (the `passthrough` field), `--list`
prints what the family offers, and a run writes the tasks to `--out` with one summary line.
Names are "module:attribute" strings, imported when the command runs, so `rlvr synth --help`
stays light.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from rlvr.cliutil import add_out
from rlvr.config import add_config_args, config_with_passthrough
from rlvr.registry import import_path
from rlvr.synth.shard import add_shard_args, make_sharded


@dataclass(frozen=True)
class TaskCommand:
    config: str  # "module:ConfigClass", the stage config
    make_tasks: str  # "module:function(config, progress=True, indices=None) -> list[Task]"
    passthrough: str  # the config's mapping field that collects the unknown --config items
    list_lines: str  # "module:function() -> list[str]", printed by --list
    list_help: str
    epilog: str
    label: str = ""  # config attribute named in the "wrote N tasks (...)" line
    summary: str = ""  # "module:function(tasks) -> str" printed after the line

    def configure(self, parser: argparse.ArgumentParser) -> None:
        add_config_args(parser, import_path(self.config), skip=(self.passthrough,))
        add_out(parser, unless="--list")
        add_shard_args(parser)
        parser.add_argument("--list", action="store_true", help=self.list_help)
        parser.epilog = self.epilog

    def run(self, args: argparse.Namespace) -> int:
        from rlvr.records import Task

        if args.list:
            print("\n".join(import_path(self.list_lines)()))
            return 0
        if args.out is None:
            raise ValueError("--out is required (unless --list): the Parquet file to write the tasks to")
        config = config_with_passthrough(import_path(self.config), args, self.passthrough)
        start = time.perf_counter()
        tasks = make_sharded(import_path(self.make_tasks), config, args)  # all, --shard I/N or --ray-tasks N
        seconds = time.perf_counter() - start
        Task.write_parquet(args.out, tasks)
        label = f" ({getattr(config, self.label)})" if self.label else ""
        print(f"wrote {len(tasks)} tasks{label} to {args.out} in {seconds:.1f}s "
              f"({len(tasks) / max(seconds, 1e-9):.0f} tasks/s)")
        if self.summary:
            print(import_path(self.summary)(tasks))
        return 0
