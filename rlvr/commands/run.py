"""`rlvr run PIPELINE.yaml --out RUN_DIR`: every stage in order, skipping finished ones."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", type=Path, help="pipeline YAML (see examples/quickstart.yaml)")
    parser.add_argument("--out", required=True, type=Path, help="run directory (created if missing)")


def run(args: argparse.Namespace) -> int:
    from rlvr.pipeline import Pipeline, format_summary, run_pipeline

    pipeline = Pipeline.load(args.pipeline)
    start = time.monotonic()
    results = run_pipeline(pipeline, args.out)
    print(format_summary(args.out, results))
    print(f"done in {time.monotonic() - start:.1f}s; manifest: {args.out / 'manifest.json'}")
    return 0
