"""`rlvr synth FAMILY ...`: one subcommand per task family, each in its family's module."""

from __future__ import annotations

import argparse
import importlib

# family -> (module providing configure(parser) and run(args), one-line help)
FAMILIES: dict[str, tuple[str, str]] = {
    "gym": ("rlvr.synth.gym_cli", "tasks from any reasoning-gym dataset (extra: gym)"),
    "azr": ("rlvr.synth.azr.cli", "Absolute Zero code tasks: self-play proposals validated in the sandbox"),
    "np": ("rlvr.synth.np_cli", "NP-hard optimisation tasks (NP-Engine): clique, colouring, TSP, knapsack, ..."),
    "fim": ("rlvr.synth.fim.cli", "Golden Goose fill-in-the-middle multiple choice from raw text (embedded or LLM)"),
    "svs": ("rlvr.synth.svs.cli", "SvS variants: rewrite a run's correct solutions into new problems, same answer"),
    "sws": ("rlvr.synth.sws.cli", "SwS: new problems aimed at the concepts behind a run's persistent failures"),
    "generator": ("rlvr.synth.generic_cli", "any registered generator by name (see --list), including your own"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for family, (module, help_) in FAMILIES.items():
        p = sub.add_parser(family, help=help_, description=help_)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)


def run(args: argparse.Namespace) -> int:
    return importlib.import_module(args._module).run(args)
