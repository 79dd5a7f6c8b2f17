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
    parser.add_argument("--worlds", nargs="?", const="all", default=None, metavar="NAMES",
                        help="run the world suite instead of one world: all (the default with the flag) or "
                             "comma-separated names; writes worlds.csv and worst_case.csv "
                             "(rlvr/select/worlds.py lists the worlds)")
    parser.epilog = ("The simulated learner and its assumptions are described in rlvr/select/simulate.py, "
                     "the world suite in rlvr/select/worlds.py.")


def run_simulate(args: argparse.Namespace) -> int:
    from rlvr.select.simreport import format_table, target_checks, write_outputs
    from rlvr.select.simulate import SimConfig, simulate, summarize

    config = config_from_args(SimConfig, args)
    if getattr(args, "worlds", None):
        return run_world_suite(config, args)
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


def run_world_suite(config, args: argparse.Namespace) -> int:
    from rlvr.io.atomic import atomic_write_text
    from rlvr.select.simreport import _csv
    from rlvr.select.worlds import format_worlds, parse_worlds, run_worlds, worst_case

    worlds = parse_worlds(args.worlds)
    rows = run_worlds(config, worlds, progress=True)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "worlds.csv", _csv(rows))
    atomic_write_text(args.out / "worst_case.csv", _csv(worst_case(rows)))
    print(f"{config.seeds} seeds x {len(rows) // len(worlds)} selectors x {len(worlds)} worlds, "
          f"{config.n_train} training tasks, target {config.target}")
    print(format_worlds(rows))
    print(f"wrote worlds.csv, worst_case.csv to {args.out}")
    return 0
