"""`rlvr synth azr --out tasks.parquet [--source selfplay|seeds] [--backend ...] [--rounds R] ...`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlvr.cliutil import add_out, table
from rlvr.config import add_config_args, config_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.azr.stage import AZRStageConfig

    add_config_args(parser, AZRStageConfig)
    add_out(parser, "output Parquet file of tasks (proposals.parquet and, by default, azr_buffer.jsonl go beside it)",
            unless="--isolation")
    parser.add_argument("--isolation", action="store_true", help="print what the sandbox isolates here and exit")
    parser.epilog = ("selfplay proposes programs with the policy (default: the bundled SmolLM2-135M), validates them "
                     "in the sandbox and keeps the valid ones; seeds builds tasks from rlvr's bundled programs.")


def run(args: argparse.Namespace) -> int:
    from rlvr.synth.azr.stage import BUFFER_NAME, AZRStageConfig
    from rlvr.synth.azr.stage import run as run_azr

    if args.isolation:
        from rlvr.synth.sandbox import run_python

        result = run_python("print('ok')")
        print(f"sandbox: {result.status}; layers: {', '.join(result.isolation)}")
        return 0 if result.ok else 1
    if args.out is None:
        raise ValueError("--out is required: the Parquet file to write the tasks to")
    config = config_from_args(AZRStageConfig, args)
    out: Path = args.out
    buffer = Path(config.buffer) if config.buffer else out.parent / BUFFER_NAME
    result = run_azr(config, out.parent / f".{out.stem}.azr", buffer_path=buffer)
    # The stage writes fixed names into a folder; the CLI promises --out, so move the files there.
    result.files["tasks"].replace(out)
    rows = {k: v for k, v in result.counts.items() if k != "rounds"}
    if "proposals" in result.files:
        proposals = out.with_name(out.stem + ".proposals.parquet")
        result.files["proposals"].replace(proposals)
        rows["proposals file"] = str(proposals)
        rows["buffer"] = str(buffer)
        for i, r in result.counts.get("rounds", {}).items():
            if r["invalid_reasons"]:
                rows[f"invalid reasons (round {i})"] = json.dumps(r["invalid_reasons"])
    result.files["tasks"].parent.rmdir()
    print(table(rows, f"{result.summary}\nwrote {out}"))
    return 0
