"""`rlvr synth svs --run RUN_DIR [--train NAME] [--backend SPEC] ...`: SvS variants from a training run.

Reads the train stage recorded in RUN_DIR/manifest.json (the last one, or --train NAME), writes
into RUN_DIR/<--name>/ (default svs/) and records the stage in the manifest, so a second
identical call is a no-op and `rlvr card --run RUN_DIR` sees it. `run_after_train` is shared with
`rlvr synth sws`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvr.cliutil import table
from rlvr.config import add_config_args, config_from_args, to_mapping


def add_run_args(parser: argparse.ArgumentParser, default_name: str) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run directory holding a finished train stage")
    parser.add_argument("--train", default="", help="name of the train stage to read (default: the last one)")
    parser.add_argument("--name", default=default_name, help="stage folder name for the outputs")


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.svs.stage import SvSConfig

    add_run_args(parser, "svs")
    add_config_args(parser, SvSConfig)
    parser.epilog = ("The backend writes and solves the variants (default: the bundled SmolLM2-135M). For real use "
                     "point it at the trained policy, e.g. --backend transformers:RUN_DIR/train/checkpoints/"
                     "checkpoint-N, or at a server: --backend openai:MODEL@http://HOST:PORT/v1.")


def train_tasks_path(run_dir: Any, train: str) -> Path:
    """The task table of the named (or the last finished) train stage of a run directory."""
    names = [n for n in run_dir.stage_names() if run_dir.record(n).kind == "train" and run_dir.record(n).status == "done"]
    if train:
        if train not in names:
            raise ValueError(f"{run_dir.path}: no finished train stage named {train!r}; train stages: {names or 'none'}")
        names = [train]
    if not names:
        raise ValueError(f"{run_dir.path}: no finished train stage in its manifest; run `rlvr train --out "
                         f"{run_dir.path} ...` (or a pipeline with a train stage) first")
    path = run_dir.tasks_path(names[-1])
    if path is None or not path.exists():
        raise ValueError(f"{run_dir.path}: train stage {names[-1]!r} has no task table; re-run it")
    return path


def run_after_train(args: argparse.Namespace, config: Any, kind: str,
                    fn: Callable[[Any, list[Path], Path], Any]) -> int:
    """Run `fn(config, [train tasks], stage_dir)` as stage `args.name` of the run and print its counts."""
    from rlvr.hashing import stable_hash
    from rlvr.rundir import RunDir

    if not args.run.exists():
        raise FileNotFoundError(f"{args.run}: no such run directory")
    run_dir = RunDir(args.run)
    inputs = [train_tasks_path(run_dir, args.train)]
    fingerprint = stable_hash({"type": kind, "config": to_mapping(config)}, length=16)
    with run_dir.lock():
        rec, ran = run_dir.run_stage(args.name, kind, fingerprint, inputs, lambda d: fn(config, inputs, d),
                                     config=to_mapping(config))
    state = "done" if ran else "already done (same inputs and settings); nothing to do"
    rows = {k: v for k, v in rec.counts.items()}
    print(table(rows, f"rlvr synth {kind.split('.')[-1]}: {state} -> {args.run / args.name}"))
    print(rec.summary)
    return 0


def run(args: argparse.Namespace) -> int:
    from rlvr.synth.svs.stage import SvSConfig
    from rlvr.synth.svs.stage import run as run_svs

    return run_after_train(args, config_from_args(SvSConfig, args), "synth.svs", run_svs)
