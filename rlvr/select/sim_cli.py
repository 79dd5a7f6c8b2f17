"""`rlvr select list` and `rlvr select simulate --out DIR [--seeds 5] [--selectors uniform insight ...]`."""

from __future__ import annotations

import argparse

from rlvr.cliutil import add_out
from rlvr.config import add_config_args, config_from_args


def configure_list(parser: argparse.ArgumentParser) -> None:
    pass


def run_list(args: argparse.Namespace) -> int:
    from rlvr.select.base import get_selector_class, selector_names

    names = selector_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {get_selector_class(name).description}")
    return 0


def configure_simulate(parser: argparse.ArgumentParser) -> None:
    from rlvr.select.simulate import SimConfig

    add_config_args(parser, SimConfig)
    add_out(parser, "output folder for summary.csv, per_seed.csv, curves.csv and the PNG plots")
    parser.epilog = "The simulated learner and its assumptions are described in rlvr/select/simulate.py."


def run_simulate(args: argparse.Namespace) -> int:
    from rlvr.select.simreport import format_table, target_checks, write_outputs
    from rlvr.select.simulate import SimConfig, simulate, summarize

    config = config_from_args(SimConfig, args)
    results = simulate(config, progress=True)
    summary = summarize(results, config)
    paths = write_outputs(args.out, results, summary, config)
    start = results[0].heldout[0]
    print(f"{config.seeds} seeds x {len(config.selectors)} selectors, {config.n_train} training tasks, batch "
          f"{config.batch} x k={config.k}; held-out pass rate {start:.3f} at the start, target {config.target}")
    print(format_table(summary))
    for name, ok, detail in target_checks(summary):
        print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print(f"wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0
