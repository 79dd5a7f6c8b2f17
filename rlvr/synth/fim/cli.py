"""`rlvr synth fim --corpus PATH... --n N --options K --mode embedded|llm [--backend ...] --seed S --out tasks.parquet`.

Writes the tasks, plus beside them `<out>.counts.json` (every count: documents read and
quarantined, passages skipped by reason, passages dropped by reason, distractors rejected, LLM
failures, difficulty-filter drops), `<out>.quarantine.parquet` when input records were
quarantined and `<out>.rollouts.parquet` when the difficulty filter ran; prints the counts.
"""

from __future__ import annotations

import argparse
import json

from rlvr.cliutil import add_out, table
from rlvr.config import add_config_args, config_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.fim.config import FimStageConfig

    add_config_args(parser, FimStageConfig)
    add_out(parser, "output Parquet file for the tasks")
    parser.epilog = ("corpus: files or folders the readers understand, or builtin:pydocs (docstrings of the "
                     "Python standard library, NumPy, SciPy and scikit-learn). Example: rlvr synth fim "
                     "--corpus builtin:pydocs --n 50 --options 4 --seed 0 --out fim.parquet")


def run(args: argparse.Namespace) -> int:
    from rlvr.io.atomic import atomic_write_text
    from rlvr.records import Quarantined, RolloutGroup, Task
    from rlvr.synth.fim.config import FimStageConfig
    from rlvr.synth.fim.stage import make_tasks, summary_lines

    config = config_from_args(FimStageConfig, args)
    result = make_tasks(config, progress=True)
    Task.write_parquet(args.out, result.tasks)
    stem = args.out.with_suffix("")
    atomic_write_text(f"{stem}.counts.json", json.dumps(result.counts, indent=2, sort_keys=True) + "\n")
    extra = [f"{stem}.counts.json"]
    if result.quarantined:
        Quarantined.write_parquet(f"{stem}.quarantine.parquet", result.quarantined)
        extra.append(f"{stem}.quarantine.parquet")
    if result.rollouts:
        RolloutGroup.write_parquet(f"{stem}.rollouts.parquet", result.rollouts)
        extra.append(f"{stem}.rollouts.parquet")
    print(table(result.counts, "counts (documents, passages, drop reasons, rejected distractors):"))
    print(summary_lines(result.counts))
    print(f"wrote {len(result.tasks)} tasks to {args.out} (also {', '.join(extra)})")
    return 0
