"""`rlvr train --tasks curated.parquet --selector NAME --steps N --out RUN_DIR [...]`, and the `train` stage.

The command runs the pipeline stage "train" (see `rlvr run`) into RUN_DIR: outputs go to
RUN_DIR/train/ and RUN_DIR/manifest.json records them, so `rlvr card --run RUN_DIR` finds the
value report. Killed midway (even by SIGKILL), the same command resumes from the last complete
checkpoint; run again after it finished, it does nothing and prints the summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlvr.cliutil import table
from rlvr.config import add_config_args, config_from_args, to_mapping
from rlvr.hashing import stable_hash
from rlvr.rundir import StageResult, StageType
from rlvr.train.config import TrainConfig

STAGE_NAME = "train"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", required=True, nargs="+", type=Path, help="curated task Parquet file(s)")
    parser.add_argument("--out", required=True, type=Path, help="run directory (outputs go to OUT/train/)")
    parser.add_argument("--name", default=STAGE_NAME, help="stage folder name inside the run directory")
    add_config_args(parser, TrainConfig)
    parser.epilog = ("Defaults: the bundled SmolLM2-135M-Instruct on CPU. --device cuda uses bf16 and vLLM "
                     "(colocate on one GPU, server mode on several; see README).")


def run_stage(config, inputs: list[Path], out_dir: Path) -> StageResult:
    """Pipeline entry: train on the input task tables; documents are looked up in sibling stages."""
    from rlvr.io.tasks import read_tasks
    from rlvr.train.data import load_documents
    from rlvr.train.loop import train

    tasks = read_tasks(inputs)
    folders = {p.parent for p in inputs} | {p for p in out_dir.parent.iterdir() if p.is_dir()}
    result = train(config, tasks, out_dir, docs=load_documents(sorted(folders)))
    return StageResult(files=result.files, counts=result.counts, tasks=result.files["tasks"], summary=result.summary)


def run(args: argparse.Namespace) -> int:
    from rlvr.rundir import RunDir

    config = config_from_args(TrainConfig, args)
    for p in args.tasks:
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such task file")
    run_dir = RunDir(args.out)
    fingerprint = stable_hash({"type": "train", "config": to_mapping(config)}, length=16)
    with run_dir.lock():
        rec, ran = run_dir.run_stage(args.name, "train", fingerprint, list(args.tasks),
                                     lambda d: run_stage(config, list(args.tasks), d), config=to_mapping(config))
    state = "trained" if ran else "already done (same tasks and settings); nothing to do"
    counts = {k: v for k, v in rec.counts.items() if not isinstance(v, (list, dict))}
    print(table(counts, f"rlvr train: {state} -> {args.out / args.name}"))
    print(rec.summary)
    return 0


STAGE = StageType(TrainConfig, run_stage)
