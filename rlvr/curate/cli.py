"""`rlvr curate`: keep or drop every task (or record), with a reason, and print the books.

    rlvr curate --in tasks.parquet [more.parquet ...] --out curated.parquet \\
        [--steps exact,structural,decontam,minhash,semantic] [--benchmarks gsm8k_test.jsonl ...]
    rlvr curate --in their_dataset.jsonl --field problem --id-field uid --out clean.jsonl ...

Writes the kept records to --out, one Decision per item and step to --decisions (default
OUT_STEM.decisions.parquet) and unusable input rows to OUT_STEM.quarantine.parquet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlvr.config import add_config_args, config_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.curate.config import CurateConfig

    parser.add_argument("--in", dest="inputs", nargs="+", required=True, metavar="PATH",
                        help="rlvr task Parquet files, or JSONL/Parquet/CSV/saved HF datasets (with --field)")
    parser.add_argument("--out", required=True, type=Path, help="kept records (task Parquet, or the input's rows)")
    parser.add_argument("--decisions", type=Path, help="Decision Parquet (default: OUT_STEM.decisions.parquet)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_args(parser, CurateConfig)


def _beside(out: Path, suffix: str) -> Path:
    return out.with_name(out.name.split(".")[0] + suffix)


def run(args: argparse.Namespace) -> int:
    from rlvr.curate.config import CurateConfig
    from rlvr.curate.items import check_out_path, load_inputs
    from rlvr.curate.runner import curate, format_report, write_outputs

    config = config_from_args(CurateConfig, args)
    decisions = args.decisions or _beside(args.out, ".decisions.parquet")
    if config.engine != "memory":  # out of core: rlvr.curate.engine
        from rlvr.curate.runner import curate_files

        result, files = curate_files(args.inputs, config, args.out, decisions,
                                     _beside(args.out, ".quarantine.parquet"), progress=not args.no_progress)
    else:
        inputs = load_inputs(args.inputs, config)
        check_out_path(inputs, args.out)  # before any work: the suffix must name a format we write
        result = curate(inputs, config, progress=not args.no_progress)
        files = write_outputs(inputs, result, args.out, decisions, _beside(args.out, ".quarantine.parquet"))
    print(format_report(result))
    print("wrote " + ", ".join(f"{name}: {path}" for name, path in files.items()))
    return 0
