"""`rlvr run PIPELINE.yaml --out RUN_DIR`: every stage in order, skipping finished ones."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", type=Path, help="pipeline YAML (see examples/quickstart.yaml)")
    parser.add_argument("--out", required=True, type=Path, help="run directory (created if missing)")


def run(args: argparse.Namespace) -> int:
    from rlvr.pipeline import Pipeline, format_stage, run_pipeline

    pipeline = Pipeline.load(args.pipeline)
    start = time.monotonic()
    print(f"run directory: {args.out}", flush=True)
    # Each stage's summary as soon as it finishes: flushed, because stdout is block-buffered when
    # redirected to a file or a pipe, and a long run would otherwise say nothing until the end.
    run_pipeline(pipeline, args.out, on_stage=lambda rec, ran: print(format_stage(rec, ran), flush=True))
    print(f"done in {time.monotonic() - start:.1f}s; manifest: {args.out / 'manifest.json'}", flush=True)
    return 0
